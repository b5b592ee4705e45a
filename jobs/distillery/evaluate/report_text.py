"""The report's words: human names for metrics, value formatting, the verdict and gates as sentences.

Shared by report.md and report.html so both say the same thing.
"""

from __future__ import annotations

from typing import Any

from distillery.evaluate.gates import GATE_KEYS

# metric key -> (human name, kind); kind decides the formatting: rate | ms | usd | number | ratio
METRICS: dict[str, tuple[str, str]] = {
    "contract_pass_rate": ("Contract pass rate (strict)", "rate"),
    "contract_pass_rate_tolerant": ("Contract pass rate (tolerant parsing)", "rate"),
    "input_rule_pass_rate": ("Input-dependent rules pass rate", "rate"),
    "teacher_agreement": ("Exact agreement with the teacher", "rate"),
    "teacher_agreement_novel": ("Agreement on novel answers", "rate"),
    "accuracy": ("Accuracy vs expected answers", "rate"),
    "judge_score": ("Judge score", "rate"),
    "quality": ("Quality (accuracy, else strict pass rate)", "rate"),
    "quality_drop_vs_teacher": ("Quality drop vs teacher", "points"),
    "speedup_vs_teacher": ("Speed-up vs teacher", "ratio"),
    "latency_p50_ms": ("Latency, median", "ms"),
    "latency_p95_ms": ("Latency, 95th percentile", "ms"),
    "tokens_per_second": ("Generation speed (tokens/s)", "number"),
    "cost_per_1k_requests_usd": ("Cost per 1,000 requests", "usd"),
}
DIVERSITY = {
    "vocabulary_size": ("Distinct words in all answers", "number"),
    "length_std_dev": ("Answer length spread (std dev, words)", "number"),
    "top_bigram_frequency": ("Share of the most common word pair", "rate"),
}
GATE_METRIC_KEYS = GATE_KEYS
HEADLINES = {
    "viable": "Yes: the student can replace the teacher.",
    "marginal": "Maybe: the student is close to the teacher, but not clearly good enough.",
    "not-ready": "No: the student is not ready to replace the teacher.",
}


def fmt(value: Any, kind: str = "number") -> str:
    """A value as a person reads it; '-' when it was not measured."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    if kind == "rate":
        return f"{value:.0%}" if abs(value) >= 0.1 or value == 0 else f"{value:.1%}"
    if kind == "points":
        return f"{value * 100:+.1f} points"
    if kind == "ms":
        return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if kind == "usd":
        return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"
    if kind == "ratio":
        return f"{value:.2f}x"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}"


def metric(key: str, value: Any) -> str:
    return fmt(value, METRICS.get(key, (key, "number"))[1])


def metric_name(key: str) -> str:
    return METRICS.get(key, (key.replace("_", " "), ""))[0]


def gate_kind(gate_metric: str) -> str:
    return METRICS.get(GATE_KEYS.get(gate_metric, ""), ("", "number"))[1]


def gate_sentence(gate: dict[str, Any]) -> str:
    """'Contract pass rate (strict) at least 90%: 85%, 5.0 points short.'"""
    key = GATE_KEYS.get(gate["metric"], gate["metric"])
    kind = gate_kind(gate["metric"])
    bounds = []
    if gate.get("min") is not None:
        bounds.append(f"at least {fmt(gate['min'], kind)}")
    if gate.get("max") is not None:
        bounds.append(f"at most {fmt(gate['max'], kind)}")
    head = f"{metric_name(key)} {' and '.join(bounds)}: "
    value = gate.get("value")
    if value is None:
        return head + "not measured, so it fails."
    return head + f"{fmt(value, kind)}, {_margin_text(gate, value, kind)}."


def _margin_text(gate: dict[str, Any], value: float, kind: str) -> str:
    margins = []
    if gate.get("min") is not None:
        margins.append(value - gate["min"])
    if gate.get("max") is not None:
        margins.append(gate["max"] - value)
    margin = min(margins)
    size = abs(margin)
    shown = f"{size * 100:.1f} points" if kind in ("rate", "points") else fmt(size, kind)
    return f"passes by {shown}" if margin >= 0 else f"fails by {shown}"


def headline(report: dict[str, Any]) -> str:
    """The decision in one sentence: gates first, then the viable / marginal / not-ready verdict."""
    gates = report.get("gates") or []
    failed = [g for g in gates if not g["passed"]]
    verdict = (report.get("verdict") or {}).get("verdict")
    if failed:
        return f"No: the student fails {len(failed)} of {len(gates)} gates."
    if verdict in HEADLINES:
        return HEADLINES[verdict]
    if gates:
        return "Every gate passes; there was no teacher comparison to judge replacement by."
    return "No gates and no teacher comparison: nothing decides replacement."


def learning_sentences(learnt: dict[str, Any], examples: int) -> list[str]:
    """What the held-out set shows about learning, next to what a memorised answer would score."""
    lines = []
    agreement = (learnt.get("teacher_agreement") or {}).get("student")
    if agreement is not None:
        constant = learnt.get("best_constant_agreement")
        lines.append(
            f"The student gives exactly the teacher's answer on {fmt(agreement, 'rate')} of {examples} "
            f"held-out prompts; one memorised answer repeated for every prompt would agree on "
            f"{fmt(constant, 'rate')} (margin {fmt(learnt.get('agreement_margin'), 'points')})."
        )
    novel = learnt.get("novel_held_out")
    if novel is not None:
        novel_agreement = (learnt.get("teacher_agreement_novel") or {}).get("student")
        lines.append(
            f"{novel} of {examples} held-out teacher answers appear nowhere in the training data; the "
            f"student matches {fmt(novel_agreement, 'rate')} of those."
        )
    accuracy = (learnt.get("accuracy") or {}).get("student")
    if accuracy is not None:
        lines.append(
            f"Accuracy against the expected answers: {fmt(accuracy, 'rate')}; the most common expected "
            f"answer alone would score {fmt(learnt.get('best_constant_accuracy'), 'rate')} "
            f"(margin {fmt(learnt.get('accuracy_margin'), 'points')})."
        )
    rules = learnt.get("input_rules") or []
    rate = (learnt.get("input_rule_pass_rate") or {}).get("student")
    if rules and rate is not None:
        lines.append(
            f"Rules that read the prompt ({', '.join(rules)}) pass on {fmt(rate, 'rate')} of the "
            "student's answers: a memorised answer cannot pass them."
        )
    return lines


def repair_sentences(repairs: dict[str, Any] | None) -> list[str]:
    """spec.task.output.repairs: pass rate before / after per model, then what each repair did."""
    if not repairs:
        return []
    lines = []
    for name, values in repairs["models"].items():
        lines.append(
            f"{name}: contract pass rate {fmt(values['contract_pass_rate_before'], 'rate')} as answered, "
            f"{fmt(values['contract_pass_rate_after'], 'rate')} after repairs "
            f"({values['repaired']} answers repaired, {values['repaired_passing']} of them then pass)."
        )
    student = (repairs["models"].get("student") or {}).get("by_repair") or {}
    for name, counts in student.items():
        lines.append(
            f"Repair {name} changed {counts['touched']} student answers; "
            f"{counts['passed_after']} of them then pass the contract."
        )
    return lines


def subset_sentences(subsets: dict[str, Any] | None) -> list[str]:
    """Anchor-like (with an expected output) vs teacher-like held-out examples, seed 002."""
    if not subsets:
        return []
    anchor, teacher_like = subsets["anchor_like"], subsets["teacher_like"]
    if not anchor["examples"] or not teacher_like["examples"]:
        return []
    student_real = anchor["quality"].get("student")
    student_teacher = teacher_like["quality"].get("student")
    return [
        f"On {anchor['examples']} held-out examples with a human expected output (anchor-like) the "
        f"student scores {fmt(student_real, 'rate')} (exact match); on {teacher_like['examples']} "
        f"without one (teacher-like) it passes the contract on {fmt(student_teacher, 'rate')}. "
        "A much lower anchor-like score means the student learnt the teacher's distribution, "
        "not the real one (seed 002: model collapse)."
    ]
