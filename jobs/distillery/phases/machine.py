"""Phases, steps and outcomes: what a run goes through and how a step's end is read.

A run is a small DAG of steps, each declaring the steps it comes after: collect -> curate -> train
-> evaluate [-> publish]; with student.candidates, train-<c> -> evaluate-<c> per candidate (the
candidates side by side), then sweep (after every evaluate) [-> publish]. Given what has been
observed of each step of the current attempt (running, succeeded, failed, budget exceeded),
`next_step` (decide.py) says what to do next and `derive_status` (status.py) writes the run's
status from the same observations. No I/O happens here: callers read summaries / Job states and
pass them in, so the operator and `distillery run` can never disagree about what a run's state means.
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
    SweepResult,
    parse_result,
    parse_summary,
)

COLLECT, CURATE, TRAIN, EVALUATE, PUBLISH = layout.PHASES
SWEEP = layout.SWEEP

# Condition types (one per phase, plus the run as a whole).
COLLECTED = "Collected"
CURATED = "Curated"
TRAINED = "Trained"
EVALUATED = "Evaluated"
PUBLISHED = "Published"
SWEPT = "Swept"
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
    """One step of a run: its name, the run phase while it runs, its condition, its inputs, the steps
    it comes after, and (size sweep) the job it runs (`phase`) for which candidate."""

    name: str
    run_phase: Phase
    condition: str
    needs: tuple[Requirement, ...] = ()
    after: tuple[str, ...] = ()
    phase: str = ""
    candidate: str | None = None

    @property
    def job(self) -> str:
        """The `distillery-job` phase this step runs (train for train-<c>)."""
        return self.phase or self.name


def _train_step(name: str, candidate: str | None = None) -> Step:
    needs = (Requirement(CURATE, layout.CURATE_TRAIN), Requirement(CURATE, layout.CURATE_VALIDATION, True))
    condition = f"{TRAINED}-{candidate}" if candidate else TRAINED
    return Step(name, "Training", condition, needs, (CURATE,), TRAIN if candidate else "", candidate)


def _evaluate_step(name: str, train: str, candidate: str | None = None) -> Step:
    needs = (Requirement(train, layout.TRAIN_ADAPTER), Requirement(CURATE, layout.CURATE_TRAIN))
    condition = f"{EVALUATED}-{candidate}" if candidate else EVALUATED
    return Step(name, "Evaluating", condition, needs, (train,), EVALUATE if candidate else "", candidate)


STEPS: dict[str, Step] = {
    COLLECT: Step(COLLECT, "Collecting", COLLECTED),
    CURATE: Step(CURATE, "Curating", CURATED, (Requirement(COLLECT, layout.COLLECT_TEACHER),), (COLLECT,)),
    TRAIN: _train_step(TRAIN),
    EVALUATE: _evaluate_step(EVALUATE, TRAIN),
    PUBLISH: Step(
        PUBLISH,
        "Publishing",
        PUBLISHED,
        (Requirement(EVALUATE, layout.EVALUATE_REPORT_JSON), Requirement(TRAIN, layout.TRAIN_ADAPTER)),
        (EVALUATE,),
    ),
}


def candidate_steps(candidate: str) -> tuple[Step, Step]:
    """train-<c> and evaluate-<c>: the candidate's own train and evaluate Jobs and directories."""
    train = layout.candidate_step(TRAIN, candidate)
    return _train_step(train, candidate), _evaluate_step(
        layout.candidate_step(EVALUATE, candidate), train, candidate
    )


def sweep_steps(candidates: list[str], publish: bool) -> tuple[Step, ...]:
    """The steps after curate of a size sweep: each candidate's pair, sweep, then publish."""
    pairs = [step for name in candidates for step in candidate_steps(name)]
    evaluates = tuple(step.name for step in pairs if step.phase == EVALUATE)
    sweep = Step(SWEEP, "Sweeping", SWEPT, (), evaluates)
    steps = (*pairs, sweep)
    if publish:
        steps += (Step(PUBLISH, "Publishing", PUBLISHED, (Requirement(SWEEP, layout.SUMMARY),), (SWEEP,)),)
    return steps


def plan(spec: DistillationRunSpec) -> tuple[Step, ...]:
    """The steps this run goes through, in the order a one-at-a-time runner takes them."""
    candidates = [candidate.name for candidate in spec.student.candidates]
    if candidates:
        return (STEPS[COLLECT], STEPS[CURATE], *sweep_steps(candidates, spec.publish.enabled))
    names = [COLLECT, CURATE, TRAIN, EVALUATE] + ([PUBLISH] if spec.publish.enabled else [])
    return tuple(STEPS[name] for name in names)


def step_named(spec: DistillationRunSpec, name: str) -> Step:
    """The step of this run's plan called `name` (KeyError naming the plan when there is none)."""
    for step in plan(spec):
        if step.name == name:
            return step
    raise KeyError(f"no step {name!r} in this run's plan ({', '.join(s.name for s in plan(spec))})")


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
    """A phase's summary.json (typed: unknown keys raise pydantic.ValidationError); `phase` may be a
    candidate's step (train-<c>), read as its phase."""
    return outcome_from_result(parse_summary(layout.split_step(phase)[0], dict(summary)))


def outcome_from_message(phase: str, message: Mapping[str, Any]) -> PhaseOutcome:
    """A phase's compact result (a container's termination message, or status.results)."""
    return outcome_from_result(parse_result(layout.split_step(phase)[0], dict(message)))


def records_kept(outcome: PhaseOutcome) -> int:
    """How many usable teacher records a collect outcome reports."""
    return outcome.result.collected if isinstance(outcome.result, CollectResult) else 0


def gates_passed(outcome: PhaseOutcome | None) -> bool | None:
    """Whether an evaluate (or sweep: its chosen candidate's) outcome says every gate passed
    (None: it does not say)."""
    result = outcome.result if outcome is not None else None
    return result.gates_passed if isinstance(result, EvaluateResult | SweepResult) else None


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


def not_promoted(outcome: PhaseOutcome | None) -> PublishResult | None:
    """The publish result when the phase finished without promoting (None otherwise)."""
    result = outcome.result if outcome is not None and outcome.state is State.SUCCEEDED else None
    return result if isinstance(result, PublishResult) and result.promoted is False else None
