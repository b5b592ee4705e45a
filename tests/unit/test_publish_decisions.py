"""Publish decisions without I/O: the comparison rule, the phase machine's NotPromoted, status.published."""

from __future__ import annotations

import json
from typing import Any

import pytest

from distillery import phases
from distillery.api.publish import ComparisonSpec
from distillery.api.spec import DistillationRunSpec
from distillery.api.summaries import EvaluateResult, MetricComparison, PublishResult, termination_message
from distillery.phases import Action, PhaseOutcome, State
from distillery.prompts import Prompt
from distillery.publish import comparison, serving

SPEC_BODY: dict[str, Any] = {
    "task": {"systemPrompt": "Answer in JSON."},
    "teacher": {"model": "claude-haiku-4-5"},
    "prompts": {"sources": [{"inline": ["hi"]}]},
    "student": {"baseModel": "/models/tiny"},
    "evaluation": {"heldOut": {"inline": ["ok"]}},
    "storage": {"uri": "file:///tmp/artifacts"},
    "publish": {"enabled": True},
}
OK = PhaseOutcome(State.SUCCEEDED, phases.COMPLETED)
PASSED = PhaseOutcome(State.SUCCEEDED, phases.COMPLETED, "", EvaluateResult(gates_passed=True))
ROW = MetricComparison(metric="contractPassRate", challenger=0.5, champion=0.75, passed=False)
LOST = PublishResult(
    model="sinc", promoted=False, decision="NotPromoted", champion_version=3, comparison=[ROW],
    reason="not promoted: contractPassRate 0.5 < champion v3's 0.75 - margin 0",
)  # fmt: skip
WON = PublishResult(
    model="sinc", version=4, uri="s3://b/r/sinc/versions/4", promoted=True, decision="Promoted",
    champion_version=3, comparison=[ROW.model_copy(update={"challenger": 0.8, "passed": True})],
)  # fmt: skip


def observed(publish: PublishResult) -> dict[str, PhaseOutcome]:
    done = PhaseOutcome(State.SUCCEEDED, phases.COMPLETED, "", publish)
    return {"collect": OK, "curate": OK, "train": OK, "evaluate": PASSED, "publish": done}


def derive(publish: PublishResult) -> Any:
    spec = DistillationRunSpec.model_validate(SPEC_BODY)
    return phases.derive_status(spec, observed(publish), namespace="ns", run="r", attempt=2, now="t")


@pytest.mark.parametrize(
    ("mine", "theirs", "margin", "passed"),
    [
        ({"contractPassRate": 0.8}, {"contractPassRate": 0.8}, 0.0, [True]),  # not worse: promoted
        ({"contractPassRate": 0.79}, {"contractPassRate": 0.8}, 0.0, [False]),
        ({"contractPassRate": 0.75}, {"contractPassRate": 0.8}, 0.05, [True]),  # within the margin
        ({"contractPassRate": 0.74}, {"contractPassRate": 0.8}, 0.05, [False]),
        ({"contractPassRate": None}, {"contractPassRate": 0.8}, 0.0, [False]),  # unmeasured never wins
        ({"contractPassRate": 0.1}, {"contractPassRate": None}, 0.0, [True]),  # nothing to beat
        ({"contractPassRate": 0.1}, None, 0.0, [True]),  # no champion
    ],
)
def test_challenger_must_not_be_worse_than_champion_minus_margin(
    mine: dict, theirs: dict | None, margin: float, passed: list[bool]
) -> None:
    rows = comparison.compare(mine, theirs, ComparisonSpec(metrics=["contractPassRate"], margin=margin))
    assert [row.passed for row in rows] == passed


def test_every_configured_metric_is_compared() -> None:
    spec = ComparisonSpec(metrics=["contractPassRate", "quality"], margin=0.0)
    rows = comparison.compare(
        {"contractPassRate": 0.9, "quality": 0.4}, {"contractPassRate": 0.8, "quality": 0.5}, spec
    )
    assert [(r.metric, r.passed) for r in rows] == [("contractPassRate", True), ("quality", False)]
    assert (
        comparison.losing_reason(rows, 7, 0.0) == "not promoted: quality 0.4 < champion v7's 0.5 - margin 0"
    )


def test_student_metrics_read_from_an_evaluate_summary() -> None:
    summary = {"contract_pass_rate": {"base": 0.0, "student": 0.9}, "quality": {"student": 0.7}}
    assert comparison.student_metrics(summary) == {
        "contractPassRate": 0.9, "quality": 0.7, "teacherAgreement": None, "accuracy": None,
    }  # fmt: skip


def test_evaluation_hash_changes_with_held_out_set_and_contract() -> None:
    spec = DistillationRunSpec.model_validate(SPEC_BODY)
    held = [Prompt(id="a", text="hi"), Prompt(id="b", text="there")]
    same = comparison.evaluation_hash(spec, list(held))
    assert same == comparison.evaluation_hash(spec, list(held))
    assert same != comparison.evaluation_hash(spec, held[:1])
    other = DistillationRunSpec.model_validate({**SPEC_BODY, "task": {"systemPrompt": "Answer in YAML."}})
    assert same != comparison.evaluation_hash(other, held)


def test_not_promoted_run_succeeds_with_reason_and_numbers() -> None:
    spec = DistillationRunSpec.model_validate(SPEC_BODY)
    decision = phases.next_step(spec, observed(LOST))
    assert (decision.action, decision.reason) == (Action.SUCCEEDED, phases.NOT_PROMOTED)
    status = derive(LOST)
    by_type = {c.type: c for c in status.conditions}
    assert status.phase == "Succeeded"
    assert (by_type["Complete"].status, by_type["Complete"].reason) == ("True", "NotPromoted")
    assert (by_type["Published"].status, by_type["Published"].reason) == ("False", "NotPromoted")
    assert by_type["Published"].message == (
        "sinc: not promoted against champion v3: contractPassRate 0.5 vs champion 0.75"
    )
    assert status.published is not None and status.published.model_dump(exclude_none=True) == {
        "model": "sinc", "promoted": False, "reason": "NotPromoted", "champion_version": 3,
    }  # fmt: skip
    assert status.results.publish == LOST


def test_promoted_run_completes_and_status_names_the_version() -> None:
    assert (
        phases.next_step(DistillationRunSpec.model_validate(SPEC_BODY), observed(WON)).reason == "Completed"
    )
    status = derive(WON)
    by_type = {c.type: c for c in status.conditions}
    assert by_type["Published"].reason == "Completed" and by_type["Published"].status == "True"
    assert (
        "sinc v4 promoted (champion was v3): contractPassRate 0.8 vs champion 0.75"
        in by_type["Published"].message
    )
    assert status.published is not None
    assert (status.published.version, status.published.uri, status.published.reason) == (
        4, "s3://b/r/sinc/versions/4", "Promoted",
    )  # fmt: skip
    # The compact result round-trips through a termination message.
    assert PublishResult.model_validate_json(termination_message("publish", WON)) == WON


@pytest.mark.parametrize(("r", "rank"), [(1, 1), (4, 8), (16, 16), (17, 32), (300, 320)])
def test_vllm_max_lora_rank_rounds_up_to_an_accepted_value(r: int, rank: int) -> None:
    assert serving.max_lora_rank(r) == rank


def test_validate_accepts_publish_and_names_a_comparison_it_cannot_make() -> None:
    from distillery.api.manifest import parse_manifest
    from distillery.api.validation import semantic_problems

    def problems(publish: dict[str, Any]) -> list[str]:
        body = {"apiVersion": "distillery.dev/v1alpha1", "kind": "DistillationRun", "metadata": {"name": "r"}}
        evaluation = {"heldOut": {"inline": ["ok"]}, "compare": ["base"]}
        spec = {**SPEC_BODY, "evaluation": evaluation, "publish": publish}
        return semantic_problems(parse_manifest({**body, "spec": spec}))

    assert problems({"enabled": True, "model": "sinc", "comparison": {"margin": 0.02}}) == []
    assert problems({"enabled": True, "comparison": {"metrics": ["teacherAgreement"]}}) == [
        "spec.publish.comparison.metrics: teacherAgreement needs the teacher's answers "
        "(add 'teacher' to spec.evaluation.compare)"
    ]


def test_serving_descriptor_lists_the_specs_repairs_in_order() -> None:
    from distillery.contract import apply_repairs

    repairs = [
        {"name": "add-formula", "when": "!has(output.formula)", "set": {"path": "formula", "value": "f"}},
        {"name": "drop-note", "when": "has(output.note)", "remove": {"path": "note"}},
    ]
    body = {
        **SPEC_BODY,
        "task": {"systemPrompt": "Answer in JSON.", "output": {"format": "json", "repairs": repairs}},
    }
    spec = DistillationRunSpec.model_validate(body)
    served = serving.descriptor(
        spec, model="sinc", version=2, version_uri="file:///r/sinc/versions/2", base_model="/m"
    )
    assert served["repairs"] == repairs
    # What a serving team re-applies from the descriptor is what evaluate applied.
    assert json.loads(apply_repairs(spec.task.output, '{"note": 1}').text) == {"formula": "f"}
