"""Per-model metrics on the held-out set, and the student-vs-teacher comparison.

A model's answers arrive as `Answer`s (text, latency, tokens, cost). Everything is computed from
contract results (`distillery.contract`), expected outputs when the held-out set has them, and
the teacher's answers. "Quality" is accuracy when expected outputs exist, else the strict
contract pass rate; seed 004's error analysis splits the student's misses into inherited (the
teacher misses too) and compression errors (the teacher gets it right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from distillery.contract import ContractResult
from distillery.contract.expected import answer_of, canonical, matches_expected
from distillery.curate.diversity import diversity


@dataclass(frozen=True)
class Answer:
    """One model's answer to one held-out prompt."""

    text: str | None
    latency_ms: float | None = None
    new_tokens: int | None = None
    cost_usd: float | None = None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _normalise(value: Any) -> str:
    return canonical(value)


def output_of(result: ContractResult, text: str | None) -> Any:
    """What is compared for exact match: the label, the parsed JSON value, or the stripped text."""
    return answer_of(result, text)


def matches(result: ContractResult, text: str | None, expected: Any) -> bool:
    """The one definition shared with curation: distillery.contract.expected."""
    return matches_expected(result, text, expected)


def correct(result: ContractResult, text: str | None, expected: Any) -> bool:
    """Right answer: matches the expected output when there is one, else passes the contract."""
    return matches(result, text, expected) if expected is not None else result.passed


def rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def rule_rates(results: list[ContractResult], rule_names: list[str]) -> dict[str, float | None]:
    """Pass rate per rule; an answer that could not be parsed fails every rule."""
    rates: dict[str, float | None] = {}
    for name in rule_names:
        flags = []
        for result in results:
            verdict = next((rule.passed for rule in result.rules if rule.name == name), False)
            flags.append(bool(verdict) and result.parse != "failed")
        rates[name] = rate(flags)
    return rates


def model_metrics(
    answers: list[Answer],
    results: list[ContractResult],
    expected: list[Any],
    *,
    rule_names: list[str],
    wall_seconds: float | None,
    cost_per_1k_usd: float | None,
) -> dict[str, Any]:
    """Everything one model scored on the held-out set."""
    with_expected = [i for i, value in enumerate(expected) if value is not None]
    latencies = [a.latency_ms for a in answers if a.latency_ms is not None]
    tokens = sum(a.new_tokens or 0 for a in answers)
    texts = [a.text or "" for a in answers]
    return {
        "examples": len(answers),
        "answered": sum(a.text is not None for a in answers),
        "contract_pass_rate": rate([r.passed for r in results]),
        "contract_pass_rate_tolerant": rate([r.passed_tolerant for r in results]),
        "parse": {kind: sum(r.parse == kind for r in results) for kind in ("strict", "tolerant", "failed")},
        "schema_pass_rate": rate([r.parse != "failed" and not r.schema_errors for r in results]),
        "rule_pass_rates": rule_rates(results, rule_names),
        "accuracy": rate([matches(results[i], answers[i].text, expected[i]) for i in with_expected]),
        "examples_with_expected": len(with_expected),
        "quality": rate([correct(r, a.text, e) for r, a, e in zip(results, answers, expected, strict=True)]),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "tokens_per_second": round(tokens / wall_seconds, 2) if wall_seconds and tokens else None,
        "cost_per_1k_requests_usd": cost_per_1k_usd,
        "diversity": diversity(texts),
    }


def agreement(
    results: list[ContractResult],
    answers: list[Answer],
    teacher: list[ContractResult],
    teacher_answers: list[Answer],
) -> float | None:
    """Share of prompts where the model's output equals the teacher's (label, JSON value or text)."""
    flags = [
        _normalise(output_of(r, a.text)) == _normalise(output_of(t, ta.text))
        for r, a, t, ta in zip(results, answers, teacher, teacher_answers, strict=True)
        if ta.text is not None
    ]
    return rate(flags)


def error_analysis(
    student: list[ContractResult],
    student_answers: list[Answer],
    teacher: list[ContractResult],
    teacher_answers: list[Answer],
    expected: list[Any],
) -> dict[str, Any]:
    """Seed 004: inherited errors (teacher wrong too) vs compression errors (teacher right)."""
    inherited, compression = [], []
    for index, (s, sa, t, ta, e) in enumerate(
        zip(student, student_answers, teacher, teacher_answers, expected, strict=True)
    ):
        if correct(s, sa.text, e):
            continue
        (compression if correct(t, ta.text, e) else inherited).append(index)
    errors = len(inherited) + len(compression)
    return {
        "student_errors": errors,
        "inherited": len(inherited),
        "compression": len(compression),
        "compression_share": len(compression) / errors if errors else 0.0,
        "inherited_indices": inherited,
        "compression_indices": compression,
    }


def student_cost_per_1k(wall_seconds: float, requests: int, gpu_hour_price_usd: float) -> float | None:
    """GPU time per request at the spec's GPU-hour price, for 1000 requests."""
    if requests <= 0:
        return None
    return round(gpu_hour_price_usd * wall_seconds / 3600 / requests * 1000, 6)


def teacher_cost_per_1k(costs: list[float | None]) -> float | None:
    known = [c for c in costs if c is not None]
    if not known:
        return None
    return round(sum(known) / len(known) * 1000, 6)
