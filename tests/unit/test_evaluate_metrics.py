"""Metrics, gates and seed 004's verdict on hand-made answers checked by the real contract engine."""

from __future__ import annotations

import json

import pytest

from distillery.api.spec import Gate, OutputSpec
from distillery.contract import Contract
from distillery.contract.sinc import sinc_output_spec
from distillery.evaluate import gates
from distillery.evaluate.metrics import Answer, agreement, error_analysis, model_metrics, percentile
from distillery.fakes.scripted import sinc_scatter

SINC = Contract(sinc_output_spec())
LABELS = Contract(OutputSpec(format="label", labels=["code", "docs", "hybrid", "skip"]))


def _score(contract: Contract, texts: list[str | None], expected: list, **extra) -> tuple[list, list, dict]:
    answers = [Answer(t, latency_ms=10.0 * (i + 1), new_tokens=5) for i, t in enumerate(texts)]
    results = [contract.check(t or "") for t in texts]
    metrics = model_metrics(
        answers,
        results,
        expected,
        rule_names=contract.rule_names,
        wall_seconds=extra.get("wall", 1.0),
        cost_per_1k_usd=None,
    )
    return answers, results, metrics


def test_percentile_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([], 50) is None


def test_strict_and_tolerant_pass_rates_are_reported_apart() -> None:
    good = sinc_scatter("fix nginx")
    fenced = f"Here you go:\n```json\n{good}\n```"
    broken = json.dumps({"formula": "x", "T": "specification-axis", "fragments": []})
    _, _, metrics = _score(SINC, [good, fenced, broken, "not json"], [None] * 4)
    assert metrics["contract_pass_rate"] == 0.25
    assert metrics["contract_pass_rate_tolerant"] == 0.5
    assert metrics["parse"] == {"strict": 2, "tolerant": 1, "failed": 1}
    assert metrics["rule_pass_rates"]["six-bands"] == 0.5
    assert metrics["latency_p50_ms"] == 20.0 and metrics["latency_p95_ms"] == 40.0
    assert metrics["tokens_per_second"] == 20.0
    assert metrics["accuracy"] is None and metrics["quality"] == 0.25
    assert metrics["diversity"]["count"] == 4


def test_label_accuracy_agreement_and_error_analysis() -> None:
    expected = ["code", "docs", "hybrid", "skip"]
    teacher_answers, teacher, _ = _score(LABELS, ["code", "docs", "code", "skip"], expected)
    student_answers, student, metrics = _score(LABELS, ["code", "hybrid", "code", "docs"], expected)
    assert metrics["accuracy"] == 0.25
    assert agreement(student, student_answers, teacher, teacher_answers) == 0.5
    errors = error_analysis(student, student_answers, teacher, teacher_answers, expected)
    assert errors["inherited_indices"] == [2]  # teacher also said code for a hybrid question
    assert errors["compression_indices"] == [1, 3]


def test_gates_pass_fail_and_unmeasured() -> None:
    student = {"contract_pass_rate": 0.92, "quality_drop_vs_teacher": 0.08, "judge_score": None}
    results = gates.check_gates(
        [
            Gate(metric="contractPassRate", min=0.9),
            Gate(metric="qualityDropVsTeacher", max=0.05),
            Gate(metric="judgeScore", min=0.75),
        ],
        student,
    )
    assert [(r["passed"], r["reason"]) for r in results] == [
        (True, "ok"),
        (False, "above max 0.05"),
        (False, "not measured"),
    ]


@pytest.mark.parametrize(
    ("student", "teacher", "expected"),
    [
        ({"quality": 0.97, "latency_p50_ms": 100.0}, {"quality": 1.0, "latency_p50_ms": 900.0}, "viable"),
        ({"quality": 0.97, "latency_p50_ms": 600.0}, {"quality": 1.0, "latency_p50_ms": 900.0}, "marginal"),
        ({"quality": 0.92, "latency_p50_ms": 100.0}, {"quality": 1.0, "latency_p50_ms": 900.0}, "marginal"),
        ({"quality": 0.80, "latency_p50_ms": 100.0}, {"quality": 1.0, "latency_p50_ms": 900.0}, "not-ready"),
        (
            {"quality": 0.97, "cost_per_1k_requests_usd": 0.1},
            {"quality": 1.0, "cost_per_1k_requests_usd": 2.0},
            "viable",
        ),
    ],
)
def test_seed_004_verdict(student: dict, teacher: dict, expected: str) -> None:
    verdict = gates.verdict(gates.comparison(student, teacher))
    assert verdict["verdict"] == expected


def test_verdict_without_teacher_is_none() -> None:
    assert gates.verdict(gates.comparison({"quality": 1.0}, None))["verdict"] is None
