"""The phase machine: every transition, failure and resume case, table-driven."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from distillery import layout, phases
from distillery.api.spec import DistillationRunSpec
from distillery.api.summaries import CollectResult, EvaluateResult
from distillery.phases import Action, PhaseOutcome, State

SPEC_BODY: dict[str, Any] = {
    "task": {"systemPrompt": "Answer in JSON."},
    "teacher": {"model": "claude-haiku-4-5"},
    "prompts": {"sources": [{"inline": ["hi", "fix line 3"]}]},
    "student": {"baseModel": "/models/tiny"},
    "evaluation": {"heldOut": {"inline": ["ok"]}},
    "storage": {"uri": "file:///tmp/artifacts"},
}


def make_spec(publish: bool = False) -> DistillationRunSpec:
    return DistillationRunSpec.model_validate({**SPEC_BODY, "publish": {"enabled": publish}})


OK = PhaseOutcome(State.SUCCEEDED, phases.COMPLETED)
RUNNING = PhaseOutcome.running()
BUDGET_SOME = PhaseOutcome(
    State.BUDGET_EXCEEDED, phases.BUDGET_EXCEEDED, "", CollectResult(status="BudgetExceeded", collected=7)
)
BUDGET_NONE = PhaseOutcome(
    State.BUDGET_EXCEEDED, phases.BUDGET_EXCEEDED, "", CollectResult(status="BudgetExceeded", collected=0)
)
BROKEN = PhaseOutcome.failed("teacher said 401")
GATES_PASS = PhaseOutcome(State.SUCCEEDED, phases.COMPLETED, "", EvaluateResult(gates_passed=True))
GATES_FAIL = PhaseOutcome(State.SUCCEEDED, phases.COMPLETED, "", EvaluateResult(gates_passed=False))
FIRST_THREE = {"collect": OK, "curate": OK, "train": OK}

NEXT_STEP_CASES = [
    # id, publish, observed, expected (action, phase, reason)
    ("nothing-yet", False, {}, (Action.START, "collect", "")),
    ("collect-running", False, {"collect": RUNNING}, (Action.WAIT, "collect", "")),
    ("collect-done", False, {"collect": OK}, (Action.START, "curate", "")),
    ("collect-budget-kept-some", False, {"collect": BUDGET_SOME}, (Action.START, "curate", "")),
    (
        "collect-budget-kept-none",
        False,
        {"collect": BUDGET_NONE},
        (Action.FAILED, "collect", "NothingCollected"),
    ),
    ("collect-failed", False, {"collect": BROKEN}, (Action.FAILED, "collect", "Failed")),
    ("curate-running", False, {"collect": OK, "curate": RUNNING}, (Action.WAIT, "curate", "")),
    ("curate-done", False, {"collect": OK, "curate": OK}, (Action.START, "train", "")),
    (
        "curate-input-missing",
        False,
        {"collect": OK, "curate": PhaseOutcome.failed("no teacher.jsonl", phases.INPUT_MISSING)},
        (Action.FAILED, "curate", "InputMissing"),
    ),
    ("train-running", False, {"collect": OK, "curate": OK, "train": RUNNING}, (Action.WAIT, "train", "")),
    (
        "train-failed",
        False,
        {"collect": OK, "curate": OK, "train": BROKEN},
        (Action.FAILED, "train", "Failed"),
    ),
    (
        "budget-only-excuses-collect",
        False,
        {"collect": OK, "curate": OK, "train": BUDGET_SOME},
        (Action.FAILED, "train", "NothingCollected"),
    ),
    (
        "train-interrupted",
        False,
        {"collect": OK, "curate": OK, "train": PhaseOutcome.failed("killed", phases.INTERRUPTED)},
        (Action.FAILED, "train", "Interrupted"),
    ),
    ("train-done", False, FIRST_THREE, (Action.START, "evaluate", "")),
    ("evaluate-running", False, {**FIRST_THREE, "evaluate": RUNNING}, (Action.WAIT, "evaluate", "")),
    ("evaluate-failed", False, {**FIRST_THREE, "evaluate": BROKEN}, (Action.FAILED, "evaluate", "Failed")),
    ("all-done-no-publish", False, {**FIRST_THREE, "evaluate": OK}, (Action.SUCCEEDED, None, "Completed")),
    (
        "gates-fail-no-publish",
        False,
        {**FIRST_THREE, "evaluate": GATES_FAIL},
        (Action.SUCCEEDED, None, "Completed"),
    ),
    ("publish-next", True, {**FIRST_THREE, "evaluate": GATES_PASS}, (Action.START, "publish", "")),
    ("publish-unknown-gates", True, {**FIRST_THREE, "evaluate": OK}, (Action.START, "publish", "")),
    (
        "publish-blocked",
        True,
        {**FIRST_THREE, "evaluate": GATES_FAIL},
        (Action.SUCCEEDED, None, "GatesFailed"),
    ),
    (
        "publish-running",
        True,
        {**FIRST_THREE, "evaluate": GATES_PASS, "publish": RUNNING},
        (Action.WAIT, "publish", ""),
    ),
    (
        "publish-done",
        True,
        {**FIRST_THREE, "evaluate": GATES_PASS, "publish": OK},
        (Action.SUCCEEDED, None, "Completed"),
    ),
    (
        "publish-failed",
        True,
        {**FIRST_THREE, "evaluate": GATES_PASS, "publish": BROKEN},
        (Action.FAILED, "publish", "Failed"),
    ),
    # The machine trusts order: a later phase's leftovers never skip an unfinished earlier one.
    ("gap-before-curate", False, {"curate": OK, "train": OK}, (Action.START, "collect", "")),
]


@pytest.mark.parametrize(
    ("publish", "observed", "expected"),
    [case[1:] for case in NEXT_STEP_CASES],
    ids=[case[0] for case in NEXT_STEP_CASES],
)
def test_next_step(publish: bool, observed: dict[str, PhaseOutcome], expected: tuple) -> None:
    decision = phases.next_step(make_spec(publish), observed)
    assert (decision.action, decision.phase, decision.reason) == expected
    assert decision.finished == (expected[0] in (Action.SUCCEEDED, Action.FAILED))


def test_failure_keeps_the_phase_message() -> None:
    decision = phases.next_step(make_spec(), {"collect": OK, "curate": BROKEN})
    assert decision.message == "teacher said 401"


def test_invalid_spec_is_a_failure_without_phase() -> None:
    decision = phases.invalid_spec("teacher.model: required field is missing")
    assert (decision.action, decision.phase, decision.reason) == (Action.FAILED, None, "InvalidSpec")


@pytest.mark.parametrize(
    ("publish", "names"),
    [
        (False, ["collect", "curate", "train", "evaluate"]),
        (True, ["collect", "curate", "train", "evaluate", "publish"]),
    ],
)
def test_plan(publish: bool, names: list[str]) -> None:
    steps = phases.plan(make_spec(publish))
    assert [step.name for step in steps] == names
    assert [step.run_phase for step in steps] == [
        "Collecting",
        "Curating",
        "Training",
        "Evaluating",
        "Publishing",
    ][: len(names)]


def test_every_requirement_comes_from_an_earlier_phase_and_a_layout_key() -> None:
    order = list(layout.PHASES)
    keys = {value for name, value in vars(layout).items() if name.isupper() and isinstance(value, str)}
    for step in phases.STEPS.values():
        for need in step.needs:
            assert order.index(need.phase) < order.index(step.name), (step.name, need)
            assert need.key in keys, need


@pytest.mark.parametrize(
    ("phase", "summary", "state", "reason"),
    [
        ("train", {}, State.SUCCEEDED, "Completed"),
        ("train", {"final_loss": 0.2}, State.SUCCEEDED, "Completed"),
        ("curate", {"status": "Succeeded"}, State.SUCCEEDED, "Completed"),
        ("collect", {"status": "BudgetExceeded", "collected": 3}, State.BUDGET_EXCEEDED, "BudgetExceeded"),
        ("collect", {"status": "Failed", "reason": "boom"}, State.FAILED, "Failed"),
        ("collect", {"status": "Interrupted", "reason": "SIGTERM"}, State.FAILED, "Interrupted"),
    ],
)
def test_outcome_from_summary(phase: str, summary: dict, state: State, reason: str) -> None:
    outcome = phases.outcome_from_summary(phase, summary)
    assert (outcome.state, outcome.reason) == (state, reason)
    assert outcome.result is not None
    assert outcome.result.to_json() == {"status": "Succeeded"} | summary | outcome.result.to_json()


@pytest.mark.parametrize(
    ("phase", "summary", "problem"),
    [
        ("train", {"final_los": 0.2}, "final_los"),
        ("collect", {"status": "budget_exceeded"}, "status"),
        ("curate", {"ok": 3}, "ok"),
        ("evaluate", {"pass_rate": 0.9}, "pass_rate"),
    ],
)
def test_a_summary_key_the_model_does_not_know_is_refused(phase: str, summary: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        phases.outcome_from_summary(phase, summary)


@pytest.mark.parametrize(
    ("observed", "kept"),
    [
        ({}, []),
        ({"collect": OK, "curate": OK, "train": RUNNING, "evaluate": OK}, ["collect", "curate"]),
        ({"collect": BUDGET_SOME, "curate": OK}, ["collect", "curate"]),
        ({"collect": BUDGET_NONE, "curate": OK}, []),
        ({"collect": OK, "curate": BROKEN, "train": OK}, ["collect"]),
        ({**FIRST_THREE, "evaluate": OK}, ["collect", "curate", "train", "evaluate"]),
    ],
    ids=["empty", "running-train-redone", "budget-kept", "budget-empty", "failed-curate", "all"],
)
def test_resumable(observed: dict[str, PhaseOutcome], kept: list[str]) -> None:
    assert list(phases.resumable(make_spec(), observed)) == kept


def test_names_and_layout() -> None:
    spec = make_spec()
    assert phases.job_name("sinc", 3, "train") == "sinc-a3-train"
    assert (
        phases.attempt_layout(spec, "ml", "sinc", 2).phase("curate")
        == "file:///tmp/artifacts/ml/sinc/a2/curate"
    )
    assert phases.has_warning(phases.STEPS["collect"], BUDGET_SOME)
    assert not phases.has_warning(phases.STEPS["collect"], OK)


# --- status ---------------------------------------------------------------------------------------

STATUS_PHASE_CASES = [
    ({}, "Pending"),
    ({"collect": RUNNING}, "Collecting"),
    ({"collect": OK}, "Curating"),
    ({"collect": OK, "curate": RUNNING}, "Curating"),
    ({"collect": OK, "curate": OK, "train": RUNNING}, "Training"),
    ({**FIRST_THREE, "evaluate": RUNNING}, "Evaluating"),
    ({**FIRST_THREE, "evaluate": OK}, "Succeeded"),
    ({"collect": OK, "curate": BROKEN}, "Failed"),
]


def status(observed: dict[str, PhaseOutcome], now: str = "2026-01-01T00:00:00Z", **kwargs: Any):
    return phases.derive_status(
        make_spec(kwargs.pop("publish", False)),
        observed,
        namespace="ml",
        run="sinc",
        attempt=1,
        now=now,
        **kwargs,
    )


@pytest.mark.parametrize(("observed", "phase"), STATUS_PHASE_CASES)
def test_status_phase(observed: dict[str, PhaseOutcome], phase: str) -> None:
    assert status(observed).phase == phase


def conditions(result) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in result.conditions}


def test_status_conditions_while_running() -> None:
    result = status({"collect": BUDGET_SOME, "curate": RUNNING}, generation=4)
    assert conditions(result) == {
        "Collected": ("True", "BudgetExceeded"),
        "Curated": ("Unknown", "Running"),
        "Complete": ("Unknown", "InProgress"),
    }
    assert all(c.observed_generation == 4 for c in result.conditions)
    assert result.jobs.collect == "sinc-a1-collect" and result.jobs.curate == "sinc-a1-curate"
    assert result.jobs.train is None
    assert result.completion_time is None and result.message is None


def test_status_failure_names_phase_and_reason() -> None:
    result = status({"collect": OK, "curate": OK, "train": BROKEN})
    assert conditions(result)["Trained"] == ("False", "Failed")
    assert conditions(result)["Complete"] == ("False", "Failed")
    assert result.message == "train: teacher said 401"
    assert result.completion_time == "2026-01-01T00:00:00Z"


def test_status_invalid_spec() -> None:
    result = status({}, decision=phases.invalid_spec("student.baseModel: required field is missing"))
    assert result.phase == "Failed"
    assert conditions(result) == {"Complete": ("False", "InvalidSpec")}
    assert result.message == "spec: student.baseModel: required field is missing"


def test_status_publish_blocked_by_gates() -> None:
    result = status({**FIRST_THREE, "evaluate": GATES_FAIL}, publish=True)
    assert result.phase == "Succeeded"
    assert conditions(result)["Published"] == ("False", "GatesFailed")
    assert result.summary.gates_passed is False


def test_transition_time_moves_only_when_status_changes() -> None:
    first = status({"collect": RUNNING}, now="T1")
    second = status({"collect": RUNNING}, now="T2", previous=first)
    third = status({"collect": OK, "curate": RUNNING}, now="T3", previous=second)
    fourth = status({"collect": OK, "curate": OK}, now="T4", previous=third)
    times = [{c.type: c.last_transition_time for c in s.conditions} for s in (first, second, third, fourth)]
    assert times[1] == {"Collected": "T1", "Complete": "T1"}
    assert times[2] == {"Collected": "T3", "Curated": "T3", "Complete": "T1"}
    assert times[3] == {"Collected": "T3", "Curated": "T4", "Complete": "T1"}
    assert fourth.start_time == "T1"


def test_new_attempt_starts_fresh_times() -> None:
    old = status({**FIRST_THREE, "evaluate": OK}, now="T1")
    fresh = phases.derive_status(
        make_spec(), {"collect": RUNNING}, namespace="ml", run="sinc", attempt=2, now="T9", previous=old
    )
    assert fresh.start_time == "T9" and fresh.completion_time is None
    assert {c.last_transition_time for c in fresh.conditions} == {"T9"}
    assert fresh.artifacts.prefix == "file:///tmp/artifacts/ml/sinc/a2"


def test_status_numbers_and_artifacts_from_summaries() -> None:
    observed = {
        "collect": phases.outcome_from_summary(
            "collect",
            {
                "prompts": 12,
                "collected": 11,
                "cost_usd": 0.0123,
                "tokens": {"input_tokens": 100, "output_tokens": 50, "total": 150},
            }
        ),
        "curate": phases.outcome_from_summary("curate", {"train": 9, "validation": 1, "rejected": 1}),
        "train": phases.outcome_from_summary("train", {"final_loss": 0.31}),
        "evaluate": phases.outcome_from_summary(
            "evaluate",
            {
                "contract_pass_rate": {"student": 0.9, "base": 0.0, "teacher": 1.0},
                "verdict": "viable",
                "gates_passed": True,
            }
        ),
    }
    result = status(observed)
    assert result.summary.model_dump(exclude_none=True) == {
        "prompts": 12,
        "collected": 11,
        "examples": 9,
        "rejected": 1,
        "teacher_cost_usd": 0.0123,
        "teacher_tokens": 150,
        "final_loss": 0.31,
        "contract_pass_rate": 0.9,
        "base_pass_rate": 0.0,
        "teacher_pass_rate": 1.0,
        "verdict": "viable",
        "gates_passed": True,
    }
    assert result.artifacts.dataset == "file:///tmp/artifacts/ml/sinc/a1/curate/train.jsonl"
    assert result.artifacts.adapter == "file:///tmp/artifacts/ml/sinc/a1/train/adapter/"
    assert result.artifacts.report == "file:///tmp/artifacts/ml/sinc/a1/evaluate/report.html"
    messages = {c.type: c.message for c in result.conditions}
    assert messages["Collected"] == "11/12 collected, $0.0123"
    assert messages["Curated"] == "9 training examples, 1 rejected"
    assert messages["Evaluated"] == "student pass rate 0.90, verdict viable"


def test_status_round_trips_through_json() -> None:
    result = status({"collect": OK, "curate": RUNNING})
    again = type(result).model_validate_json(result.model_dump_json(by_alias=True))
    assert again == result
