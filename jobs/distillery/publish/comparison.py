"""Champion vs challenger: which numbers are compared, on what, and when the challenger wins."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from distillery.api.publish import ComparisonSpec
from distillery.api.spec import DistillationRunSpec
from distillery.api.summaries import MetricComparison
from distillery.prompts import Prompt

# Each compared metric: the evaluate summary key holding it per model (the student's value is used).
SUMMARY_KEYS = {
    "contractPassRate": "contract_pass_rate",
    "quality": "quality",
    "teacherAgreement": "teacher_agreement",
    "accuracy": "accuracy",
}
# Tolerance for float noise in rates that are fractions of the same held-out set.
EPSILON = 1e-9


def student_metrics(evaluate_summary: dict[str, Any]) -> dict[str, float | None]:
    """The student's value of every comparable metric in an evaluate summary (None: not measured)."""
    values: dict[str, float | None] = {}
    for metric, key in SUMMARY_KEYS.items():
        per_model = evaluate_summary.get(key) or {}
        values[metric] = per_model.get("student")
    return values


def evaluation_hash(spec: DistillationRunSpec, held_out: list[Prompt]) -> str:
    """What makes two evaluations comparable: the held-out set, the output contract and the prompt.

    A champion's stored numbers are reused only when this matches; otherwise it is evaluated again.
    """
    facts = {
        "held_out": [[p.id, p.text, p.expected] for p in held_out],
        "task": spec.task.to_api(),
        "max_new_tokens": spec.evaluation.max_new_tokens,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def compare(
    challenger: dict[str, float | None], champion: dict[str, float | None] | None, spec: ComparisonSpec
) -> list[MetricComparison]:
    """Per configured metric: challenger >= champion - margin (no champion: every metric passes)."""
    rows = []
    for metric in spec.metrics:
        mine = challenger.get(metric)
        theirs = champion.get(metric) if champion is not None else None
        # No champion value: nothing to beat on this metric.
        passed = theirs is None or (mine is not None and mine >= theirs - spec.margin - EPSILON)
        rows.append(MetricComparison(metric=metric, challenger=mine, champion=theirs, passed=passed))
    return rows


def losing_reason(rows: list[MetricComparison], champion_version: int, margin: float) -> str:
    """Why the challenger was not promoted, naming each metric it lost on."""
    lost = [
        f"{row.metric} {_fmt(row.challenger)} < champion v{champion_version}'s "
        f"{_fmt(row.champion)} - margin {margin:g}"
        for row in rows
        if not row.passed
    ]
    return "not promoted: " + "; ".join(lost)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
