"""Phases, outcomes and decisions: which phase runs next, and when a run succeeded or failed.

A run is a fixed sequence of phases (collect -> curate -> train -> evaluate [-> publish]). Given
what has been observed of each phase of the current attempt (running, succeeded, failed, budget
exceeded), `next_step` says what to do next and `derive_status` writes the run's status (phase,
conditions, jobs, artifacts, numbers) from the same observations. No I/O happens here: callers
read summaries / Job states and pass them in, so the operator and `distillery run` can never
disagree about what a run's state means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.api.status import Phase
from distillery.api.summaries import (
    CollectResult,
    EvaluateResult,
    PhaseResult,
    PublishResult,
    parse_result,
    parse_summary,
)

COLLECT, CURATE, TRAIN, EVALUATE, PUBLISH = layout.PHASES

# Condition types (one per phase, plus the run as a whole).
COLLECTED = "Collected"
CURATED = "Curated"
TRAINED = "Trained"
EVALUATED = "Evaluated"
PUBLISHED = "Published"
COMPLETE = "Complete"

# Condition reasons.
COMPLETED = "Completed"
RUNNING = "Running"
IN_PROGRESS = "InProgress"
FAILED = "Failed"
BUDGET_EXCEEDED = "BudgetExceeded"
NOTHING_COLLECTED = "NothingCollected"
INVALID_SPEC = "InvalidSpec"
INPUT_MISSING = "InputMissing"
GATES_FAILED = "GatesFailed"
INTERRUPTED = "Interrupted"
NOT_PROMOTED = "NotPromoted"  # published phase ran; the challenger lost to the champion


class State(StrEnum):
    """What is observed of one phase of the current attempt."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    BUDGET_EXCEEDED = "BudgetExceeded"


@dataclass(frozen=True)
class PhaseOutcome:
    """One phase's observed state; `result` is the phase's own report when it wrote one."""

    state: State
    reason: str = ""
    message: str = ""
    result: PhaseResult | None = field(default=None)

    @classmethod
    def running(cls) -> PhaseOutcome:
        return cls(State.RUNNING, RUNNING)

    @classmethod
    def failed(cls, message: str, reason: str = FAILED) -> PhaseOutcome:
        return cls(State.FAILED, reason, message)


@dataclass(frozen=True)
class Requirement:
    """An artifact a phase reads, written by an earlier phase (a key ending in / is a directory)."""

    phase: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class Step:
    """One phase of a run: its name, the run phase while it runs, its condition, its inputs."""

    name: str
    run_phase: Phase
    condition: str
    needs: tuple[Requirement, ...] = ()


STEPS: dict[str, Step] = {
    COLLECT: Step(COLLECT, "Collecting", COLLECTED),
    CURATE: Step(CURATE, "Curating", CURATED, (Requirement(COLLECT, layout.COLLECT_TEACHER),)),
    TRAIN: Step(
        TRAIN,
        "Training",
        TRAINED,
        (Requirement(CURATE, layout.CURATE_TRAIN), Requirement(CURATE, layout.CURATE_VALIDATION, True)),
    ),
    EVALUATE: Step(
        EVALUATE,
        "Evaluating",
        EVALUATED,
        (Requirement(TRAIN, layout.TRAIN_ADAPTER), Requirement(CURATE, layout.CURATE_TRAIN)),
    ),
    PUBLISH: Step(
        PUBLISH,
        "Publishing",
        PUBLISHED,
        (Requirement(EVALUATE, layout.EVALUATE_REPORT_JSON), Requirement(TRAIN, layout.TRAIN_ADAPTER)),
    ),
}


def plan(spec: DistillationRunSpec) -> tuple[Step, ...]:
    """The phases this run goes through, in order."""
    names = [COLLECT, CURATE, TRAIN, EVALUATE] + ([PUBLISH] if spec.publish.enabled else [])
    return tuple(STEPS[name] for name in names)


def job_name(run: str, attempt: int, phase: str) -> str:
    """Deterministic name of a phase's Job: `<run>-a<attempt>-<phase>` (a retry never makes two)."""
    return f"{run}-a{attempt}-{phase}"


def attempt_layout(spec: DistillationRunSpec, namespace: str, run: str, attempt: int) -> layout.AttemptLayout:
    """Where attempt `attempt` keeps its artifacts: <storage.uri>/<namespace>/<run>/a<attempt>/."""
    return layout.AttemptLayout(spec.storage.uri, namespace, run, attempt)


# --- reading observations ----------------------------------------------------------------------

_STATES = {
    "Succeeded": State.SUCCEEDED,
    "BudgetExceeded": State.BUDGET_EXCEEDED,
    "Failed": State.FAILED,
    "Interrupted": State.FAILED,
}


def outcome_from_result(result: PhaseResult) -> PhaseOutcome:
    """A phase that reported its result has finished; the result's status says how."""
    state = _STATES[result.status]
    reason = {State.SUCCEEDED: COMPLETED, State.BUDGET_EXCEEDED: BUDGET_EXCEEDED}.get(state, FAILED)
    if result.status == "Interrupted":
        reason = INTERRUPTED
    return PhaseOutcome(state, reason, result.reason or "", result)


def outcome_from_summary(phase: str, summary: Mapping[str, Any]) -> PhaseOutcome:
    """A phase's summary.json (typed: unknown keys raise pydantic.ValidationError)."""
    return outcome_from_result(parse_summary(phase, dict(summary)))


def outcome_from_message(phase: str, message: Mapping[str, Any]) -> PhaseOutcome:
    """A phase's compact result (a container's termination message, or status.results)."""
    return outcome_from_result(parse_result(phase, dict(message)))


def records_kept(outcome: PhaseOutcome) -> int:
    """How many usable teacher records a collect outcome reports."""
    return outcome.result.collected if isinstance(outcome.result, CollectResult) else 0


def gates_passed(outcome: PhaseOutcome | None) -> bool | None:
    """Whether an evaluate outcome says every gate passed (None: it does not say)."""
    result = outcome.result if outcome is not None else None
    return result.gates_passed if isinstance(result, EvaluateResult) else None


# --- deciding ----------------------------------------------------------------------------------


def is_done(step: Step, outcome: PhaseOutcome | None) -> bool:
    """Finished well enough for the next phase to start (a budget stop keeps what was collected)."""
    if outcome is None:
        return False
    if outcome.state is State.SUCCEEDED:
        return True
    return outcome.state is State.BUDGET_EXCEEDED and step.name == COLLECT and records_kept(outcome) > 0


def has_warning(step: Step, outcome: PhaseOutcome | None) -> bool:
    """Done, but not everything went as asked (e.g. collect stopped by its budget)."""
    return is_done(step, outcome) and outcome is not None and outcome.state is not State.SUCCEEDED


class Action(StrEnum):
    START = "Start"
    WAIT = "Wait"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class Decision:
    """What to do next; `phase` is the phase to start / waited on / that failed."""

    action: Action
    phase: str | None = None
    reason: str = ""
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.action in (Action.SUCCEEDED, Action.FAILED)


def not_promoted(outcome: PhaseOutcome | None) -> PublishResult | None:
    """The publish result when the phase finished without promoting (None otherwise)."""
    result = outcome.result if outcome is not None and outcome.state is State.SUCCEEDED else None
    return result if isinstance(result, PublishResult) and result.promoted is False else None


def publish_blocked(observed: Mapping[str, PhaseOutcome]) -> bool:
    return gates_passed(observed.get(EVALUATE)) is False


def failure_decision(step: Step, outcome: PhaseOutcome) -> Decision:
    if outcome.state is State.BUDGET_EXCEEDED:
        message = outcome.message or "the budget was exhausted before any teacher record was kept"
        return Decision(Action.FAILED, step.name, NOTHING_COLLECTED, message)
    return Decision(Action.FAILED, step.name, outcome.reason or FAILED, outcome.message or "phase failed")


def next_step(spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome]) -> Decision:
    """Given the observed outcomes of the current attempt's phases, what happens next."""
    for step in plan(spec):
        outcome = observed.get(step.name)
        if step.name == PUBLISH and outcome is None and publish_blocked(observed):
            return Decision(Action.SUCCEEDED, reason=GATES_FAILED, message="not published: a gate failed")
        if outcome is None:
            return Decision(Action.START, step.name)
        if outcome.state is State.RUNNING:
            return Decision(Action.WAIT, step.name)
        if not is_done(step, outcome):
            return failure_decision(step, outcome)
    if lost := not_promoted(observed.get(PUBLISH)):
        return Decision(Action.SUCCEEDED, reason=NOT_PROMOTED, message=lost.reason or "not promoted")
    return Decision(Action.SUCCEEDED, reason=COMPLETED)


def invalid_spec(message: str) -> Decision:
    """A spec no phase can work with (bad manifest, contract that does not compile)."""
    return Decision(Action.FAILED, None, INVALID_SPEC, message)


def resumable(spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome]) -> dict[str, PhaseOutcome]:
    """The observations a resumed attempt keeps: finished phases only, up to the first unfinished.

    A phase that was running (or failed) when the attempt stopped is run again; the phases after
    it are dropped even if they left something behind, since their inputs are about to change.
    """
    kept: dict[str, PhaseOutcome] = {}
    for step in plan(spec):
        outcome = observed.get(step.name)
        if not is_done(step, outcome):
            break
        kept[step.name] = outcome  # type: ignore[assignment]
    return kept
