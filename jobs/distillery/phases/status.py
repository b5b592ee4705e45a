"""The status of a run derived from its observed phase outcomes (phase, conditions, numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.api.status import (
    Artifacts,
    Condition,
    DistillationRunStatus,
    Phase,
    PhaseJobs,
    PhaseResults,
    Published,
    Summary,
)
from distillery.api.summaries import (
    CollectResult,
    CurateResult,
    EvaluateResult,
    PhaseResult,
    PublishResult,
    SweepResult,
    TrainResult,
)
from distillery.phases.candidates import candidate_statuses, chosen_candidate, chosen_view
from distillery.phases.decide import Action, Decision, failure_decision, next_step, publish_blocked
from distillery.phases.machine import (
    COLLECT,
    COMPLETE,
    COMPLETED,
    CURATE,
    EVALUATE,
    GATES_FAILED,
    IN_PROGRESS,
    NOT_PROMOTED,
    PUBLISH,
    RUNNING,
    SWEEP,
    TRAIN,
    PhaseOutcome,
    State,
    Step,
    attempt_layout,
    is_done,
    job_name,
    not_promoted,
    plan,
    step_named,
)

R = TypeVar("R", bound=PhaseResult)


def _result(observed: Mapping[str, PhaseOutcome], phase: str, model: type[R]) -> R | None:
    outcome = observed.get(phase)
    result = outcome.result if outcome is not None else None
    return result if isinstance(result, model) else None


def summarize(observed: Mapping[str, PhaseOutcome]) -> dict[str, Any]:
    """The numbers of status.summary (field names as in api.status.Summary), from phase results."""
    values: dict[str, Any] = {}
    if collect := _result(observed, COLLECT, CollectResult):
        values |= {
            "prompts": collect.prompts,
            "collected": collect.collected,
            "teacher_cost_usd": collect.cost_usd,
            "teacher_tokens": collect.tokens.total,
        }
    if curate := _result(observed, CURATE, CurateResult):
        values |= {"examples": curate.train, "rejected": curate.rejected}
    if train := _result(observed, TRAIN, TrainResult):
        values["final_loss"] = train.final_loss
    if evaluate := _result(observed, EVALUATE, EvaluateResult):
        rates = evaluate.contract_pass_rate
        values |= {
            "contract_pass_rate": rates.student,
            "base_pass_rate": rates.base,
            "teacher_pass_rate": rates.teacher,
            "verdict": evaluate.verdict,
            "gates_passed": evaluate.gates_passed,
        }
    return {key: value for key, value in values.items() if value is not None}


def results(observed: Mapping[str, PhaseOutcome]) -> dict[str, Any]:
    """status.results: each finished phase's compact result, as the phase reported it."""
    return {
        name: outcome.result
        for name, outcome in observed.items()
        if outcome.result is not None and outcome.state is not State.RUNNING
    }


def _sweep_message(result: SweepResult) -> str:
    if result.chosen is None:
        return f"no candidate passed every gate ({len(result.candidates)} compared)"
    size = next((c.parameters for c in result.candidates if c.name == result.chosen), None)
    return f"chose {result.chosen}" + (f" ({size:,} parameters)" if size else "")


def _done_message(step: Step, outcome: PhaseOutcome) -> str:
    numbers = summarize({step.job: outcome})
    parts: list[str] = []
    if step.name == SWEEP and isinstance(outcome.result, SweepResult):
        parts.append(_sweep_message(outcome.result))
    elif step.job == COLLECT and "collected" in numbers:
        parts.append(f"{numbers['collected']}/{numbers.get('prompts', '?')} collected")
        if "teacher_cost_usd" in numbers:
            parts.append(f"${numbers['teacher_cost_usd']:.4f}")
    elif step.job == CURATE and "examples" in numbers:
        parts.append(f"{numbers['examples']} training examples, {numbers.get('rejected', 0)} rejected")
    elif step.job == TRAIN and "final_loss" in numbers:
        parts.append(f"final loss {numbers['final_loss']:.4g}")
    elif step.job == EVALUATE and "contract_pass_rate" in numbers:
        parts.append(f"student pass rate {numbers['contract_pass_rate']:.2f}")
        if "verdict" in numbers:
            parts.append(f"verdict {numbers['verdict']}")
    elif step.name == PUBLISH and isinstance(outcome.result, PublishResult):
        parts.append(publish_message(outcome.result))
    if outcome.state is State.BUDGET_EXCEEDED:
        parts.append("stopped by the budget, what was collected is kept")
    return ", ".join(parts) or outcome.message or "done"


def publish_message(result: PublishResult) -> str:
    """'v3 promoted ...' or 'not promoted ...', with the compared numbers side by side."""
    numbers = "; ".join(
        f"{c.metric} {_number(c.challenger)} vs champion {_number(c.champion)}" for c in result.comparison
    )
    champion = f"v{result.champion_version}" if result.champion_version else "none"
    if result.promoted:
        head = f"{result.model} v{result.version} promoted (champion was {champion})"
    else:
        head = f"{result.model}: not promoted against champion {champion}"
    return f"{head}: {numbers}" if numbers else head


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def published(observed: Mapping[str, PhaseOutcome]) -> Published | None:
    """status.published from the publish phase's result."""
    result = _result(observed, PUBLISH, PublishResult)
    if result is None or result.decision is None:
        return None
    return Published(
        model=result.model,
        version=result.version,
        uri=result.uri,
        promoted=result.promoted,
        reason=result.decision,
        champion_version=result.champion_version,
    )


def phase_condition(step: Step, outcome: PhaseOutcome) -> tuple[str, str, str]:
    """(status, reason, message) of a phase's condition."""
    if outcome.state is State.RUNNING:
        return "Unknown", RUNNING, f"{step.name} is running"
    if step.name == PUBLISH and not_promoted(outcome):
        return "False", NOT_PROMOTED, _done_message(step, outcome)
    if is_done(step, outcome):
        return "True", outcome.reason or COMPLETED, _done_message(step, outcome)
    decision = failure_decision(step, outcome)
    return "False", decision.reason, decision.message


def _run_phase(spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome], decision: Decision) -> Phase:
    if decision.action is Action.SUCCEEDED:
        return "Succeeded"
    if decision.action is Action.FAILED:
        return "Failed"
    if decision.action is Action.START and not observed:
        return "Pending"
    return step_named(spec, decision.phase or COLLECT).run_phase


def _with_times(new: list[Condition], previous: list[Condition], now: str) -> list[Condition]:
    """lastTransitionTime moves only when a condition's status changes."""
    before = {condition.type: condition for condition in previous}
    for condition in new:
        old = before.get(condition.type)
        keep = old is not None and old.status == condition.status and old.last_transition_time
        condition.last_transition_time = old.last_transition_time if keep else now  # type: ignore[union-attr]
    return new


def _conditions(
    spec: DistillationRunSpec,
    observed: Mapping[str, PhaseOutcome],
    decision: Decision,
    generation: int | None,
) -> list[Condition]:
    conditions: list[Condition] = []
    for step in plan(spec):
        outcome = observed.get(step.name)
        if outcome is not None:
            status, reason, message = phase_condition(step, outcome)
        elif step.name == PUBLISH and publish_blocked(observed):
            status, reason, message = "False", GATES_FAILED, "not published: a gate failed"
        else:
            continue
        conditions.append(Condition(type=step.condition, status=status, reason=reason, message=message))
    if decision.action is Action.SUCCEEDED and decision.reason == NOT_PROMOTED:
        overall = ("True", NOT_PROMOTED, f"every phase finished; {decision.message}")
    elif decision.action is Action.SUCCEEDED:
        overall = ("True", COMPLETED, "every phase finished")
    elif decision.action is Action.FAILED:
        where = f"{decision.phase}: " if decision.phase else ""
        overall = ("False", decision.reason, f"{where}{decision.message}")
    else:
        overall = ("Unknown", IN_PROGRESS, f"{decision.phase} {'running' if observed else 'pending'}")
    conditions.append(Condition(type=COMPLETE, status=overall[0], reason=overall[1], message=overall[2]))
    for condition in conditions:
        condition.observed_generation = generation
    return conditions


def _artifacts(
    spec: DistillationRunSpec, observed: Mapping[str, PhaseOutcome], where: layout.AttemptLayout
) -> Artifacts:
    def done(name: str) -> bool:
        return name in observed and is_done(step_named(spec, name), observed[name])

    dataset = where.artifact(CURATE, layout.CURATE_TRAIN) if done(CURATE) else None
    if not spec.student.candidates:
        return Artifacts(
            prefix=where.root,
            dataset=dataset,
            adapter=where.artifact(TRAIN, layout.TRAIN_ADAPTER) if done(TRAIN) else None,
            report=where.artifact(EVALUATE, layout.EVALUATE_REPORT_HTML) if done(EVALUATE) else None,
        )
    chosen = chosen_candidate(observed)  # the sweep's choice is the run's student
    return Artifacts(
        prefix=where.root,
        dataset=dataset,
        adapter=where.artifact(layout.candidate_step(TRAIN, chosen), layout.TRAIN_ADAPTER)
        if chosen
        else None,
        report=where.artifact(SWEEP, layout.SWEEP_REPORT_HTML) if done(SWEEP) else None,
    )


def _failure_message(decision: Decision) -> str | None:
    if decision.action is not Action.FAILED:
        return None
    return f"{decision.phase or 'spec'}: {decision.message}"


def derive_status(
    spec: DistillationRunSpec,
    observed: Mapping[str, PhaseOutcome],
    *,
    namespace: str,
    run: str,
    attempt: int,
    now: str,
    previous: DistillationRunStatus | None = None,
    generation: int | None = None,
    decision: Decision | None = None,
) -> DistillationRunStatus:
    """The run's status from the current attempt's observations (`decision` overrides next_step)."""
    decision = decision or next_step(spec, observed)
    same_attempt = previous is not None and previous.attempt == attempt
    before = previous if same_attempt else None
    conditions = _conditions(spec, observed, decision, generation)
    jobs = {name: job_name(run, attempt, name) for name in observed if name in PhaseJobs.model_fields}
    view = chosen_view(spec, observed)
    return DistillationRunStatus(
        phase=_run_phase(spec, observed, decision),
        observed_generation=generation,
        attempt=attempt,
        conditions=_with_times(conditions, before.conditions if before else [], now),
        jobs=PhaseJobs(**jobs),
        artifacts=_artifacts(spec, observed, attempt_layout(spec, namespace, run, attempt)),
        summary=Summary(**summarize(view)),
        published=published(observed),
        results=PhaseResults(
            **{k: v for k, v in results(observed).items() if k in PhaseResults.model_fields}
        ),
        candidates=candidate_statuses(spec, observed, run=run, attempt=attempt),
        start_time=(before.start_time if before else None) or now,
        completion_time=((before.completion_time if before else None) or now) if decision.finished else None,
        message=_failure_message(decision),
    )
