"""A size sweep (student.candidates) as the phase machine sees it: the selection rule, each
candidate's status, and the chosen candidate's steps standing in for the run's train / evaluate.

The rule: the smallest candidate (parameter count measured from the loaded model) that passes
every gate; ties (or unknown sizes) by spec order; none passing: no candidate is chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.api.status import CandidateResults, CandidateStatus
from distillery.api.summaries import CandidateOutcome, EvaluateResult, SweepResult, TrainResult
from distillery.phases.machine import (
    EVALUATE,
    SWEEP,
    TRAIN,
    PhaseOutcome,
    State,
    candidate_steps,
    is_done,
    job_name,
)

RULE = "smallest parameter count among candidates that pass every gate; ties by spec order"


def choose(candidates: Sequence[CandidateOutcome]) -> CandidateOutcome | None:
    """The selection rule over candidates in spec order (None: no candidate passed every gate)."""
    passing = [(index, c) for index, c in enumerate(candidates) if c.gates_passed is True]
    if not passing:
        return None
    unknown = float("inf")  # a size that was not measured ranks after every measured one
    return min(
        passing, key=lambda item: (unknown if item[1].parameters is None else item[1].parameters, item[0])
    )[1]


def sweep_result(observed: Mapping[str, PhaseOutcome]) -> SweepResult | None:
    outcome = observed.get(SWEEP)
    result = outcome.result if outcome is not None else None
    return result if isinstance(result, SweepResult) else None


def chosen_candidate(observed: Mapping[str, PhaseOutcome]) -> str | None:
    """The candidate the sweep chose (None: no sweep, not finished, or none passed)."""
    result = sweep_result(observed)
    return result.chosen if result is not None else None


def chosen_view(spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome]) -> dict[str, PhaseOutcome]:
    """The observations with the chosen candidate's train / evaluate as the run's own (so the
    summary, artifacts and kubectl columns show the challenger); unchanged without candidates."""
    if not spec.student.candidates:
        return dict(observed)
    view = {name: outcome for name, outcome in observed.items() if layout.split_step(name)[1] is None}
    chosen = chosen_candidate(observed)
    if chosen is not None:
        train, evaluate = (step.name for step in candidate_steps(chosen))
        for phase, step in ((TRAIN, train), (EVALUATE, evaluate)):
            if step in observed:
                view[phase] = observed[step]
    result = sweep_result(observed)
    if result is not None and chosen is None and EVALUATE not in view:
        # none passed: the run's gates_passed is the sweep's (False), like a plain run's failed gates
        view[EVALUATE] = PhaseOutcome(
            State.SUCCEEDED, result=EvaluateResult(gates_passed=result.gates_passed)
        )
    return view


def _phase(outcomes: tuple[PhaseOutcome | None, PhaseOutcome | None], steps) -> tuple[str, str | None]:
    (train, evaluate), (train_step, evaluate_step) = outcomes, steps
    for step, outcome, running, finished in (
        (evaluate_step, evaluate, "Evaluating", "Evaluated"),
        (train_step, train, "Training", "Trained"),
    ):
        if outcome is None:
            continue
        if outcome.state is State.RUNNING:
            return running, None
        if is_done(step, outcome):
            return finished, None
        return "Failed", outcome.message or outcome.reason
    return "Pending", None


def candidate_statuses(
    spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome], *, run: str, attempt: int
) -> list[CandidateStatus]:
    """status.candidates, in spec order (empty without candidates)."""
    judged = {c.name: c for c in (sweep_result(observed) or SweepResult()).candidates}
    chosen = chosen_candidate(observed)
    statuses = []
    for candidate in spec.student.candidates:
        steps = candidate_steps(candidate.name)
        outcomes = (observed.get(steps[0].name), observed.get(steps[1].name))
        train = outcomes[0].result if outcomes[0] is not None else None
        evaluate = outcomes[1].result if outcomes[1] is not None else None
        train = train if isinstance(train, TrainResult) else None
        evaluate = evaluate if isinstance(evaluate, EvaluateResult) else None
        finished = [o is not None and o.state is not State.RUNNING for o in outcomes]
        phase, message = _phase(outcomes, steps)
        outcome = judged.get(candidate.name)
        statuses.append(
            CandidateStatus(
                name=candidate.name,
                base_model=candidate.base_model,
                phase=phase,  # type: ignore[arg-type]
                message=message,
                train_job=job_name(run, attempt, steps[0].name) if outcomes[0] is not None else None,
                evaluate_job=job_name(run, attempt, steps[1].name) if outcomes[1] is not None else None,
                parameters=train.parameters if train else None,
                final_loss=train.final_loss if train else None,
                contract_pass_rate=evaluate.contract_pass_rate.student if evaluate else None,
                latency_p95_ms=outcome.latency_p95_ms if outcome else None,
                cost_per_1k_requests_usd=outcome.cost_per_1k_requests_usd if outcome else None,
                gates_passed=evaluate.gates_passed if evaluate else None,
                chosen=candidate.name == chosen,
                results=CandidateResults(
                    train=train if finished[0] else None, evaluate=evaluate if finished[1] else None
                ),
            )
        )
    return statuses
