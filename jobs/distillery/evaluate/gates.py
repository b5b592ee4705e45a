"""The spec's gates and seed 004's verdict on whether the student can replace the teacher.

Seed 004: a quality drop under 5% with at least a 2x speed-up is viable; a 5-10% drop is marginal;
more is not ready. When the teacher's latency is unknown (batch mode records carry none) the
speed criterion uses the cost ratio teacher/student per 1k requests instead, and says so.
"""

from __future__ import annotations

from typing import Any

from distillery.api.spec import Gate

VIABLE_DROP = 0.05
MARGINAL_DROP = 0.10
MIN_SPEEDUP = 2.0

GATE_KEYS = {
    "contractPassRate": "contract_pass_rate",
    "accuracy": "accuracy",
    "teacherAgreement": "teacher_agreement",
    "judgeScore": "judge_score",
    "qualityDropVsTeacher": "quality_drop_vs_teacher",
    "speedupVsTeacher": "speedup_vs_teacher",
    "latencyP95Ms": "latency_p95_ms",
    "costPer1kRequestsUSD": "cost_per_1k_requests_usd",
}


def comparison(student: dict[str, Any], teacher: dict[str, Any] | None) -> dict[str, Any]:
    """quality drop, speed-up and cost ratio of the student against the teacher (None when unknown)."""
    if teacher is None:
        return {"quality_drop_vs_teacher": None, "speedup_vs_teacher": None, "cost_ratio_vs_teacher": None}
    drop = None
    if student.get("quality") is not None and teacher.get("quality") is not None:
        drop = round(teacher["quality"] - student["quality"], 6)
    speedup = None
    if student.get("latency_p50_ms") and teacher.get("latency_p50_ms"):
        speedup = round(teacher["latency_p50_ms"] / student["latency_p50_ms"], 3)
    cost_ratio = None
    if student.get("cost_per_1k_requests_usd") and teacher.get("cost_per_1k_requests_usd"):
        cost_ratio = round(teacher["cost_per_1k_requests_usd"] / student["cost_per_1k_requests_usd"], 3)
    return {
        "quality_drop_vs_teacher": drop,
        "speedup_vs_teacher": speedup,
        "cost_ratio_vs_teacher": cost_ratio,
    }


def check_gates(gates: list[Gate], student: dict[str, Any]) -> list[dict[str, Any]]:
    """One result per gate; a metric that could not be measured fails its gate, saying so."""
    results = []
    for gate in gates:
        value = student.get(GATE_KEYS[gate.metric])
        if value is None:
            passed, reason = False, "not measured"
        else:
            low_ok = gate.min is None or value >= gate.min
            high_ok = gate.max is None or value <= gate.max
            passed = low_ok and high_ok
            reason = "ok" if passed else (f"below min {gate.min}" if not low_ok else f"above max {gate.max}")
        results.append(
            {
                "metric": gate.metric,
                "min": gate.min,
                "max": gate.max,
                "value": value,
                "passed": passed,
                "reason": reason,
            }
        )
    return results


def verdict(compared: dict[str, Any]) -> dict[str, Any]:
    """viable / marginal / not-ready from the quality drop and the speed (or cost) advantage."""
    drop = compared.get("quality_drop_vs_teacher")
    if drop is None:
        return {"verdict": None, "reason": "no teacher comparison (add 'teacher' to evaluation.compare)"}
    speedup, basis = compared.get("speedup_vs_teacher"), "latency"
    if speedup is None:
        speedup, basis = compared.get("cost_ratio_vs_teacher"), "cost (teacher latency unknown)"
    fast = speedup is not None and speedup >= MIN_SPEEDUP
    if drop <= VIABLE_DROP and fast:
        name = "viable"
    elif drop <= MARGINAL_DROP:
        name = "marginal"
    else:
        name = "not-ready"
    speed_text = f"{speedup:.2f}x by {basis}" if speedup is not None else "speed-up unknown"
    return {
        "verdict": name,
        "quality_drop": drop,
        "speedup": speedup,
        "speedup_basis": basis,
        "reason": f"quality drop {drop:+.1%} vs teacher, {speed_text}",
    }
