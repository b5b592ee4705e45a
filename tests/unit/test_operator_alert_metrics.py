"""The two gauges the chart's alerts need: when the current phase began, and a budget stop."""

from __future__ import annotations

from datetime import UTC, datetime

from distillery.api.status import DistillationRunStatus
from distillery_operator.metrics import Metrics


def status(**body: object) -> DistillationRunStatus:
    return DistillationRunStatus.model_validate({"attempt": 1, **body})


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def test_the_phase_began_at_the_latest_condition_transition() -> None:
    metrics = Metrics()
    training = status(
        phase="Training",
        startTime="2026-11-01T09:00:00Z",
        conditions=[
            {
                "type": "Collected",
                "status": "True",
                "reason": "Completed",
                "lastTransitionTime": "2026-11-01T10:00:00Z",
            },
            {
                "type": "Curated",
                "status": "True",
                "reason": "Completed",
                "lastTransitionTime": "2026-11-01T10:30:00Z",
            },
            {
                "type": "Trained",
                "status": "Unknown",
                "reason": "Running",
                "lastTransitionTime": "2026-11-01T09:00:00Z",
            },
        ],
    )
    metrics.observe("ml", "r", status(), training)
    labels = {"namespace": "ml", "run": "r"}
    assert value(metrics, "distillery_run_phase_start_timestamp_seconds", **labels) == stamp(
        "2026-11-01T10:30:00Z"
    )
    assert value(metrics, "distillery_run_budget_exceeded", **labels) == 0

    pending = status(phase="Pending", startTime="2026-11-02T08:00:00Z")
    metrics.observe("ml", "r", training, pending)
    assert value(metrics, "distillery_run_phase_start_timestamp_seconds", **labels) == stamp(
        "2026-11-02T08:00:00Z"
    )


def test_a_budget_stop_sets_the_gauge_and_forget_removes_it() -> None:
    metrics = Metrics()
    stopped = status(
        phase="Curating",
        conditions=[{"type": "Collected", "status": "True", "reason": "BudgetExceeded"}],
    )
    metrics.observe("ml", "r", status(), stopped)
    assert value(metrics, "distillery_run_budget_exceeded", namespace="ml", run="r") == 1
    metrics.forget("ml", "r")
    assert value(metrics, "distillery_run_budget_exceeded", namespace="ml", run="r") is None
