"""Prometheus metrics of the operator (prometheus-client, served on the operator's port)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from distillery.api.status import Condition, DistillationRunStatus, Phase
from distillery.phases.machine import BUDGET_EXCEEDED, COLLECTED, NOTHING_COLLECTED
from distillery_operator.attempts import parse_time

PHASES: tuple[str, ...] = get_args(Phase)  # one gauge series per status.phase value, as the API names them
RUN = ("namespace", "run")


class Metrics:
    """Every metric the operator exports; `observe` updates them from a run's new status."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.runs = Gauge("distillery_runs", "DistillationRuns by phase.", ["phase"], registry=r)
        self.run_phase = Gauge(
            "distillery_run_phase", "1 for the run's current phase.", [*RUN, "phase"], registry=r
        )
        self.attempt = Gauge("distillery_run_attempt", "The run's current attempt.", RUN, registry=r)
        self.phase_seconds = Histogram(
            "distillery_phase_duration_seconds",
            "Wall time of finished phases.",
            ["phase"],
            buckets=(10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400),
            registry=r,
        )
        self.cost = Gauge(
            "distillery_teacher_cost_usd", "Teacher cost of the current attempt.", RUN, registry=r
        )
        self.tokens = Gauge(
            "distillery_teacher_tokens", "Teacher tokens of the current attempt.", RUN, registry=r
        )
        self.kept = Gauge("distillery_examples_kept", "Training examples kept by curation.", RUN, registry=r)
        self.rejected = Gauge(
            "distillery_examples_rejected", "Completions rejected by curation.", RUN, registry=r
        )
        self.loss = Gauge("distillery_final_loss", "Final training loss.", RUN, registry=r)
        self.pass_rate = Gauge(
            "distillery_contract_pass_rate", "Held-out contract pass rate.", [*RUN, "model"], registry=r
        )
        self.gate = Gauge("distillery_gate_passed", "1 when the gate passed.", [*RUN, "metric"], registry=r)
        # For alerts: a phase running too long, a collection stopped by its budget.
        self.phase_start = Gauge(
            "distillery_run_phase_start_timestamp_seconds",
            "Unix time the run's current phase began (latest condition transition, else attempt start).",
            RUN,
            registry=r,
        )
        self.budget_exceeded = Gauge(
            "distillery_run_budget_exceeded",
            "1 when the attempt's collection stopped at its budget (BudgetExceeded, NothingCollected).",
            RUN,
            registry=r,
        )
        self.errors = Counter("distillery_reconcile_errors", "Reconcile passes that failed.", registry=r)
        self.passes = Counter("distillery_reconcile", "Reconcile passes.", registry=r)
        self._phases: dict[tuple[str, str], str] = {}

    def serve(self, port: int, address: str = "0.0.0.0") -> None:
        start_http_server(port, addr=address, registry=self.registry)

    def observe(
        self, namespace: str, run: str, before: DistillationRunStatus, after: DistillationRunStatus
    ) -> None:
        key = (namespace, run)
        self._phases[key] = after.phase
        for phase in PHASES:
            self.run_phase.labels(namespace, run, phase).set(1 if after.phase == phase else 0)
            self.runs.labels(phase).set(sum(1 for value in self._phases.values() if value == phase))
        self.attempt.labels(namespace, run).set(after.attempt)
        started = _phase_start(after)
        if started is not None:
            self.phase_start.labels(namespace, run).set(started)
        collected = next((c for c in after.conditions if c.type == COLLECTED), None)
        stopped = collected is not None and collected.reason in (BUDGET_EXCEEDED, NOTHING_COLLECTED)
        self.budget_exceeded.labels(namespace, run).set(1 if stopped else 0)
        numbers = after.summary
        for gauge, value in (
            (self.cost, numbers.teacher_cost_usd),
            (self.tokens, numbers.teacher_tokens),
            (self.kept, numbers.examples),
            (self.rejected, numbers.rejected),
            (self.loss, numbers.final_loss),
        ):
            if value is not None:
                gauge.labels(namespace, run).set(value)
        for model, rate in (
            ("student", numbers.contract_pass_rate),
            ("base", numbers.base_pass_rate),
            ("teacher", numbers.teacher_pass_rate),
        ):
            if rate is not None:
                self.pass_rate.labels(namespace, run, model).set(rate)
        evaluate = after.results.evaluate
        for gate in evaluate.gates if evaluate else []:
            self.gate.labels(namespace, run, gate.metric).set(1 if gate.passed else 0)
        self._durations(before, after)

    def _durations(self, before: DistillationRunStatus, after: DistillationRunStatus) -> None:
        """A phase condition leaving Unknown: it ran from its last transition until now."""
        if before.attempt != after.attempt:
            return
        old = {c.type: c for c in before.conditions}
        for condition in after.conditions:
            prior = old.get(condition.type)
            if prior and prior.status == "Unknown" and condition.status != "Unknown":
                seconds = _seconds(prior, condition)
                if seconds is not None:
                    # a sweep's Trained-<candidate> counts as Trained (bounded label values)
                    self.phase_seconds.labels(condition.type.split("-")[0]).observe(seconds)

    def forget(self, namespace: str, run: str) -> None:
        """A deleted run leaves the per-run series."""
        self._phases.pop((namespace, run), None)
        for phase in PHASES:
            self.runs.labels(phase).set(sum(1 for value in self._phases.values() if value == phase))
            with contextlib.suppress(KeyError):
                self.run_phase.remove(namespace, run, phase)
        for gauge in (self.phase_start, self.budget_exceeded):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, run)


def _phase_start(status: DistillationRunStatus) -> float | None:
    """A phase begins when the one before it ends: the latest condition transition of the attempt."""
    times = [parse_time(c.last_transition_time) for c in status.conditions if c.last_transition_time]
    if times:
        return max(times).timestamp()
    return parse_time(status.start_time).timestamp() if status.start_time else None


def _seconds(before: Condition, after: Condition) -> float | None:
    if not before.last_transition_time or not after.last_transition_time:
        return None
    start: datetime = parse_time(before.last_transition_time)
    return max(0.0, (parse_time(after.last_transition_time) - start).total_seconds())
