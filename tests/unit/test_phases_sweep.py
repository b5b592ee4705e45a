"""The phase machine of a size sweep (student.candidates): a DAG of steps, decided step by step."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from distillery import layout, phases
from distillery.api.spec import DistillationRunSpec
from distillery.api.summaries import CandidateOutcome, EvaluateResult, ModelRates, SweepResult, TrainResult
from distillery.phases import Action, PhaseOutcome, State
from distillery.phases.candidates import choose
from tests.unit.test_phases import SPEC_BODY

CANDIDATES = [
    {"name": "small", "baseModel": "/models/small"},
    {"name": "large", "baseModel": "/models/large", "resources": {"gpus": 2, "memory": "80Gi"}},
]


def make_spec(publish: bool = False, candidates: list[dict[str, Any]] | None = None) -> DistillationRunSpec:
    student = {**SPEC_BODY["student"], "candidates": CANDIDATES if candidates is None else candidates}
    return DistillationRunSpec.model_validate(
        {**SPEC_BODY, "student": student, "publish": {"enabled": publish}}
    )


OK = PhaseOutcome(State.SUCCEEDED, phases.COMPLETED)
RUNNING = PhaseOutcome.running()
OOM = PhaseOutcome.failed("CUDA out of memory")
INTERRUPTED = PhaseOutcome.failed("interrupted after 3 s", phases.INTERRUPTED)
BASE = {"collect": OK, "curate": OK}


def trained(parameters: int, loss: float = 0.5) -> PhaseOutcome:
    return PhaseOutcome(
        State.SUCCEEDED, phases.COMPLETED, "", TrainResult(parameters=parameters, final_loss=loss)
    )


def evaluated(passed: bool, rate: float) -> PhaseOutcome:
    result = EvaluateResult(gates_passed=passed, contract_pass_rate=ModelRates(student=rate))
    return PhaseOutcome(State.SUCCEEDED, phases.COMPLETED, "", result)


def swept(chosen: str | None) -> PhaseOutcome:
    outcomes = [
        CandidateOutcome(name="small", parameters=100, gates_passed=chosen == "small", latency_p95_ms=5.0),
        CandidateOutcome(name="large", parameters=900, gates_passed=chosen is not None, latency_p95_ms=20.0),
    ]
    result = SweepResult(chosen=chosen, gates_passed=chosen is not None, candidates=outcomes)
    return PhaseOutcome(State.SUCCEEDED, phases.COMPLETED, "", result)


def test_plan_runs_each_candidate_then_the_sweep() -> None:
    steps = phases.plan(make_spec(publish=True))
    assert [s.name for s in steps] == [
        "collect",
        "curate",
        "train-small",
        "evaluate-small",
        "train-large",
        "evaluate-large",
        "sweep",
        "publish",
    ]
    by_name = {s.name: s for s in steps}
    assert by_name["train-large"].after == ("curate",)
    assert by_name["evaluate-large"].after == ("train-large",)
    assert by_name["sweep"].after == ("evaluate-small", "evaluate-large")
    assert by_name["publish"].after == ("sweep",)
    assert (by_name["train-large"].job, by_name["train-large"].candidate) == ("train", "large")
    assert by_name["evaluate-small"].needs[0] == phases.Requirement("train-small", layout.TRAIN_ADAPTER)
    assert by_name["sweep"].run_phase == "Sweeping"


NEXT_STEP_CASES = [
    # id, observed, expected (action, phase, reason)
    ("first-candidate-starts", BASE, (Action.START, "train-small", "")),
    ("second-starts-while-first-trains", {**BASE, "train-small": RUNNING}, (Action.START, "train-large", "")),
    (
        "both-training-wait",
        {**BASE, "train-small": RUNNING, "train-large": RUNNING},
        (Action.WAIT, "train-small", ""),
    ),
    (
        "evaluate-starts-while-the-other-trains",
        {**BASE, "train-small": trained(100), "train-large": RUNNING},
        (Action.START, "evaluate-small", ""),
    ),
    (
        "sweep-waits-for-every-evaluate",
        {
            **BASE,
            "train-small": trained(100),
            "evaluate-small": evaluated(True, 1.0),
            "train-large": trained(900),
            "evaluate-large": RUNNING,
        },
        (Action.WAIT, "evaluate-large", ""),
    ),
    (
        "sweep-starts-after-every-evaluate",
        {
            **BASE,
            "train-small": trained(100),
            "evaluate-small": evaluated(False, 0.0),
            "train-large": trained(900),
            "evaluate-large": evaluated(True, 1.0),
        },
        (Action.START, "sweep", ""),
    ),
    (
        "a-failed-candidate-is-out-the-other-goes-on",
        {**BASE, "train-small": OOM, "train-large": RUNNING},
        (Action.WAIT, "train-large", ""),
    ),
    (
        "sweep-starts-without-the-failed-candidate",
        {**BASE, "train-small": OOM, "train-large": trained(900), "evaluate-large": evaluated(True, 1.0)},
        (Action.START, "sweep", ""),
    ),
    (
        "every-candidate-failed",
        {**BASE, "train-small": OOM, "train-large": trained(900), "evaluate-large": OOM},
        (Action.FAILED, "train-small", "Failed"),
    ),
    (
        "an-interrupted-candidate-stops-the-run",
        {**BASE, "train-small": INTERRUPTED, "train-large": RUNNING},
        (Action.FAILED, "train-small", "Interrupted"),
    ),
    (
        "curate-failure-still-fails-the-run",
        {"collect": OK, "curate": OOM},
        (Action.FAILED, "curate", "Failed"),
    ),
    (
        "swept",
        {
            **BASE,
            "train-small": trained(100),
            "evaluate-small": evaluated(True, 1.0),
            "train-large": trained(900),
            "evaluate-large": evaluated(True, 1.0),
            "sweep": swept("small"),
        },
        (Action.SUCCEEDED, None, "Completed"),
    ),
]


@pytest.mark.parametrize(
    ("observed", "expected"), [c[1:] for c in NEXT_STEP_CASES], ids=[c[0] for c in NEXT_STEP_CASES]
)
def test_next_step(observed: dict[str, PhaseOutcome], expected: tuple[Action, str | None, str]) -> None:
    decision = phases.next_step(make_spec(), observed)
    assert (decision.action, decision.phase, decision.reason) == expected


def test_every_candidate_failed_says_why_for_each() -> None:
    observed = {**BASE, "train-small": OOM, "train-large": PhaseOutcome.failed("disk full")}
    decision = phases.next_step(make_spec(), observed)
    assert decision.action is Action.FAILED
    assert (
        "train-small: CUDA out of memory" in decision.message and "train-large: disk full" in decision.message
    )


def all_evaluated(small: bool, large: bool) -> dict[str, PhaseOutcome]:
    return {
        **BASE,
        "train-small": trained(100),
        "evaluate-small": evaluated(small, 1.0 if small else 0.0),
        "train-large": trained(900),
        "evaluate-large": evaluated(large, 1.0 if large else 0.0),
    }


def test_publish_follows_the_sweep_and_is_skipped_when_none_passed() -> None:
    spec = make_spec(publish=True)
    assert phases.next_step(spec, {**all_evaluated(True, True), "sweep": swept("small")}).phase == "publish"
    decision = phases.next_step(spec, {**all_evaluated(False, False), "sweep": swept(None)})
    assert (decision.action, decision.reason) == (Action.SUCCEEDED, phases.GATES_FAILED)


def test_resume_keeps_finished_candidates_and_reruns_a_failed_one() -> None:
    observed = {
        **BASE,
        "train-small": OOM,
        "train-large": trained(900),
        "evaluate-large": evaluated(True, 1.0),
    }
    assert list(phases.resumable(make_spec(), observed)) == [
        "collect",
        "curate",
        "train-large",
        "evaluate-large",
    ]
    assert phases.next_step(make_spec(), phases.resumable(make_spec(), observed)).phase == "train-small"


def outcome(name: str, parameters: int | None, passed: bool | None) -> CandidateOutcome:
    return CandidateOutcome(name=name, parameters=parameters, gates_passed=passed)


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        ([outcome("a", 900, True), outcome("b", 100, True)], "b"),  # smallest passing, not first
        ([outcome("a", 900, True), outcome("b", 100, False)], "a"),  # only the larger passes
        ([outcome("a", 100, True), outcome("b", 100, True)], "a"),  # a tie: spec order
        ([outcome("a", None, True), outcome("b", 500, True)], "b"),  # unmeasured ranks last
        ([outcome("a", 100, False), outcome("b", 900, None)], None),  # none passed (b failed)
    ],
)
def test_selection_rule(candidates: list[CandidateOutcome], chosen: str | None) -> None:
    result = choose(candidates)
    assert (result.name if result else None) == chosen


def derive(observed: dict[str, PhaseOutcome]) -> Any:
    return phases.derive_status(make_spec(), observed, namespace="ml", run="sinc", attempt=2, now="T")


def test_status_while_candidates_run_side_by_side() -> None:
    status = derive({**BASE, "train-small": trained(100), "train-large": RUNNING, "evaluate-small": RUNNING})
    small, large = status.candidates
    assert (small.name, small.phase, small.parameters, small.train_job) == (
        "small",
        "Evaluating",
        100,
        "sinc-a2-train-small",
    )
    assert (large.phase, large.train_job, large.evaluate_job, large.base_model) == (
        "Training",
        "sinc-a2-train-large",
        None,
        "/models/large",
    )
    assert status.phase == "Evaluating"  # the first running step in plan order
    conditions = {c.type: c.status for c in status.conditions}
    assert conditions["Trained-small"] == "True" and conditions["Trained-large"] == "Unknown"
    assert status.jobs.train is None and status.artifacts.adapter is None


def test_status_after_the_sweep_shows_the_chosen_candidate_as_the_student() -> None:
    status = derive({**all_evaluated(True, True), "sweep": swept("small")})
    assert [(c.name, c.chosen, c.gates_passed, c.latency_p95_ms) for c in status.candidates] == [
        ("small", True, True, 5.0),
        ("large", False, True, 20.0),
    ]
    assert status.phase == "Succeeded"
    assert status.summary.gates_passed is True and status.summary.contract_pass_rate == 1.0
    assert status.artifacts.adapter == "file:///tmp/artifacts/ml/sinc/a2/train-small/adapter/"
    assert status.artifacts.report == "file:///tmp/artifacts/ml/sinc/a2/sweep/report.html"
    assert status.jobs.sweep == "sinc-a2-sweep"
    assert {c.type: c.message for c in status.conditions}["Swept"] == "chose small (100 parameters)"


def test_status_when_none_passed_is_a_failed_gate_with_every_number() -> None:
    status = derive({**all_evaluated(False, False), "sweep": swept(None)})
    assert status.phase == "Succeeded"
    assert status.summary.gates_passed is False
    assert [(c.contract_pass_rate, c.gates_passed, c.chosen) for c in status.candidates] == [
        (0.0, False, False),
        (0.0, False, False),
    ]
    assert status.artifacts.adapter is None


def test_status_of_a_failed_candidate_says_why() -> None:
    status = derive({**BASE, "train-small": OOM, "train-large": RUNNING})
    assert (status.candidates[0].phase, status.candidates[0].message) == ("Failed", "CUDA out of memory")
    assert {c.type: c.status for c in status.conditions}["Trained-small"] == "False"
    assert status.phase == "Training" and status.message is None


def test_candidate_spec_rules() -> None:
    with pytest.raises(ValidationError, match="names must be unique"):
        make_spec(candidates=[CANDIDATES[0], CANDIDATES[0]])
    with pytest.raises(ValidationError, match="name"):
        make_spec(candidates=[{"name": "Big_One", "baseModel": "x"}])
    student = make_spec().student.for_candidate("large")
    assert (student.base_model, student.resources.gpus, student.candidates) == ("/models/large", 2, [])
    tuned = make_spec(candidates=[{"name": "s", "baseModel": "x", "training": {"learningRate": 0.5}}])
    assert tuned.student.for_candidate("s").training.learning_rate == 0.5
    assert tuned.student.for_candidate("s").training.epochs == tuned.student.training.epochs


def test_layout_accepts_candidate_steps_only() -> None:
    where = layout.AttemptLayout("file:///a", "ml", "sinc", 1)
    assert where.phase("train-small") == "file:///a/ml/sinc/a1/train-small"
    assert where.phase("sweep") == "file:///a/ml/sinc/a1/sweep"
    with pytest.raises(ValueError, match="unknown phase 'collect-x'"):
        where.phase("collect-x")
