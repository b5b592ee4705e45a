"""What the student saves: cost per 1k requests, latency and the break-even request volume.

A student GPU costs `gpuHourPriceUSD` per hour whether it is busy or not; the teacher costs per
request. Break-even: the hourly volume at which the teacher's bill equals one GPU-hour,
`gpu_hour_price / teacher_cost_per_request`. Above it the student is cheaper, up to the throughput
one GPU was measured to sustain here (requests answered per hour of generation wall time).
"""

from __future__ import annotations

from typing import Any

HOURS_PER_MONTH = 730


def economics(
    models: dict[str, dict[str, Any]], walls: dict[str, float], gpu_hour_price_usd: float
) -> dict[str, Any]:
    """Student vs teacher economics from the evaluation's measured numbers (None where unknown)."""
    student = models.get("student", {})
    teacher = models.get("teacher", {})
    teacher_per_1k = teacher.get("cost_per_1k_requests_usd")
    examples = student.get("examples") or 0
    wall = walls.get("student")
    throughput = round(examples / wall * 3600, 1) if wall and examples else None
    break_even = None
    if teacher_per_1k:
        break_even = round(gpu_hour_price_usd / (teacher_per_1k / 1000), 1)
    return {
        "gpu_hour_price_usd": gpu_hour_price_usd,
        "student_cost_per_1k_usd": student.get("cost_per_1k_requests_usd"),
        "teacher_cost_per_1k_usd": teacher_per_1k,
        "student_latency_p50_ms": student.get("latency_p50_ms"),
        "student_latency_p95_ms": student.get("latency_p95_ms"),
        "teacher_latency_p50_ms": teacher.get("latency_p50_ms"),
        "teacher_latency_p95_ms": teacher.get("latency_p95_ms"),
        "student_requests_per_gpu_hour": throughput,
        "break_even_requests_per_hour": break_even,
        "break_even_requests_per_month": round(break_even * HOURS_PER_MONTH) if break_even else None,
        "break_even_within_capacity": (
            break_even <= throughput if break_even is not None and throughput is not None else None
        ),
    }
