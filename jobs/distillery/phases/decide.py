"""Deciding: given what has been observed of the current attempt, which step starts, waits, or how
the run ended. The plan is a small DAG (machine.plan); a size sweep's candidates run side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from distillery.api.spec import DistillationRunSpec
from distillery.phases.machine import (
    COMPLETED,
    EVALUATE,
    FAILED,
    GATES_FAILED,
    INTERRUPTED,
    INVALID_SPEC,
    NOT_PROMOTED,
    NOTHING_COLLECTED,
    PUBLISH,
    SWEEP,
    PhaseOutcome,
    State,
    Step,
    gates_passed,
    is_done,
    not_promoted,
    plan,
)


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


def publish_blocked(observed: Mapping[str, PhaseOutcome]) -> bool:
    return gates_passed(observed.get(EVALUATE)) is False or gates_passed(observed.get(SWEEP)) is False


def failure_decision(step: Step, outcome: PhaseOutcome) -> Decision:
    if outcome.state is State.BUDGET_EXCEEDED:
        message = outcome.message or "the budget was exhausted before any teacher record was kept"
        return Decision(Action.FAILED, step.name, NOTHING_COLLECTED, message)
    return Decision(Action.FAILED, step.name, outcome.reason or FAILED, outcome.message or "phase failed")


def tolerated(step: Step, outcome: PhaseOutcome | None) -> bool:
    """A candidate that failed is out of the sweep, not the end of the run (an interrupt still is)."""
    return (
        step.candidate is not None
        and outcome is not None
        and outcome.state is not State.RUNNING
        and not is_done(step, outcome)
        and outcome.reason != INTERRUPTED
    )


class _Graph:
    """The plan with what has been observed of it: which steps are done, settled, ready."""

    def __init__(self, spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome]) -> None:
        self.steps = plan(spec)
        self.by_name = {step.name: step for step in self.steps}
        self.observed = observed

    def done(self, name: str) -> bool:
        return is_done(self.by_name[name], self.observed.get(name))

    def settled(self, name: str) -> bool:
        """Done, out of the sweep (tolerated failure), or never to start because of one."""
        step = self.by_name[name]
        outcome = self.observed.get(name)
        if is_done(step, outcome) or tolerated(step, outcome):
            return True
        return outcome is None and any(self.settled(p) and not self.done(p) for p in step.after)

    def reachable(self, step: Step) -> bool:
        """Every step it comes after is done (a sweep: every candidate settled, one of them done)."""
        if step.name == SWEEP:
            return all(self.settled(p) for p in step.after) and any(self.done(p) for p in step.after)
        return all(self.done(p) for p in step.after)


def reachable(spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome], step: Step) -> bool:
    """Whether `step` counts given `observed`: the steps it comes after are done (or, for the
    sweep, settled); what a step left behind before an earlier step was rerun does not count."""
    return _Graph(spec, observed).reachable(step)


def _all_candidates_failed(graph: _Graph) -> Decision | None:
    sweep = graph.by_name.get(SWEEP)
    if sweep is None or not all(graph.settled(p) for p in sweep.after) or graph.reachable(sweep):
        return None
    failures = [
        failure_decision(step, outcome)
        for step in graph.steps
        if tolerated(step, outcome := graph.observed.get(step.name)) and outcome is not None
    ]
    first = failures[0]
    detail = "; ".join(f"{f.phase}: {f.message}" for f in failures)
    return Decision(Action.FAILED, first.phase, first.reason, f"every candidate failed ({detail})")


def next_step(spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome]) -> Decision:
    """Given the observed outcomes of the current attempt's steps, what happens next.

    A step counts only once the steps it comes after are done (what a later step left behind
    before an earlier one was rerun is stale). A failure ends the run, except a candidate's
    (tolerated: that candidate is out of the sweep). Otherwise the first step that can start
    starts, even while others run (the candidates' Jobs run side by side); else wait.
    """
    graph = _Graph(spec, observed)
    start: Decision | None = None
    wait: Decision | None = None
    for step in graph.steps:
        if not graph.reachable(step):
            continue
        outcome = observed.get(step.name)
        if outcome is None:
            if step.name == PUBLISH and publish_blocked(observed):
                return Decision(Action.SUCCEEDED, reason=GATES_FAILED, message="not published: a gate failed")
            start = start or Decision(Action.START, step.name)
        elif outcome.state is State.RUNNING:
            wait = wait or Decision(Action.WAIT, step.name)
        elif not is_done(step, outcome) and not tolerated(step, outcome):
            return failure_decision(step, outcome)
    if start or wait:
        return start or wait  # type: ignore[return-value]
    if lost := not_promoted(observed.get(PUBLISH)):
        return Decision(Action.SUCCEEDED, reason=NOT_PROMOTED, message=lost.reason or "not promoted")
    return _all_candidates_failed(graph) or Decision(Action.SUCCEEDED, reason=COMPLETED)


def invalid_spec(message: str) -> Decision:
    """A spec no phase can work with (bad manifest, contract that does not compile)."""
    return Decision(Action.FAILED, None, INVALID_SPEC, message)


def resumable(spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome]) -> dict[str, PhaseOutcome]:
    """The observations a resumed attempt keeps: finished steps whose predecessors are kept.

    A step that was running (or failed) when the attempt stopped is run again; the steps after
    it are dropped even if they left something behind, since their inputs are about to change.
    """
    kept: dict[str, PhaseOutcome] = {}
    for step in plan(spec):
        outcome = observed.get(step.name)
        if is_done(step, outcome) and all(p in kept for p in step.after):
            kept[step.name] = outcome  # type: ignore[assignment]
    return kept
