"""A run's directory in the artifact store: status.json, each attempt's spec and phase summaries.

<storage.uri>/<namespace>/<run>/status.json          the DistillationRunStatus (local runs)
<storage.uri>/<namespace>/<run>/a<N>/spec.json       the spec attempt N runs with
<storage.uri>/<namespace>/<run>/a<N>/<phase>/...     what the phases write (layout.py)
"""

from __future__ import annotations

from typing import Any

from distillery import layout, phases
from distillery.api.resource import DistillationRun
from distillery.api.spec import DistillationRunSpec
from distillery.api.status import DistillationRunStatus
from distillery.errors import ArtifactNotFound, RunError, StoreError
from distillery.store import ArtifactStore, open_store

STATUS_KEY = "status.json"
SPEC_KEY = "spec.json"


def run_root_uri(run: DistillationRun) -> str:
    return f"{run.spec.storage.uri.rstrip('/')}/{run.namespace}/{run.name}"


class RunStore:
    """Reads and writes what a local run keeps about itself, through the artifact store."""

    def __init__(self, run: DistillationRun) -> None:
        storage = run.spec.storage
        self.root: ArtifactStore = open_store(
            run_root_uri(run), endpoint_url=storage.endpoint, region=storage.region
        )

    def phase(self, attempt: int, phase: str) -> ArtifactStore:
        return self.root.child(f"a{attempt}/{phase}")

    # --- status -----------------------------------------------------------------------------

    def read_status(self) -> DistillationRunStatus | None:
        try:
            return DistillationRunStatus.model_validate(self.root.read_json(STATUS_KEY))
        except ArtifactNotFound:
            return None

    def write_status(self, status: DistillationRunStatus) -> None:
        self.root.write_json(STATUS_KEY, status.to_api())

    # --- attempts ---------------------------------------------------------------------------

    def choose_attempt(
        self, previous: DistillationRunStatus | None, *, resume: bool, wanted: int | None
    ) -> int:
        """`--attempt` if given; the last attempt when resuming; else a new one after the last."""
        if wanted is not None:
            return wanted
        last = previous.attempt if previous and previous.attempt else 0
        if resume:
            return max(last, 1)
        return last + 1

    def record_spec(self, attempt: int, spec: DistillationRunSpec) -> None:
        self.root.write_json(f"a{attempt}/{SPEC_KEY}", spec.to_api())

    def check_same_spec(self, attempt: int, spec: DistillationRunSpec) -> None:
        """Resuming with another spec would mix two runs' artifacts in one attempt: refuse."""
        try:
            recorded = self.root.read_json(f"a{attempt}/{SPEC_KEY}")
        except ArtifactNotFound:
            return
        current = spec.to_api()
        if recorded != current:
            changed = sorted(
                key for key in set(recorded) | set(current) if recorded.get(key) != current.get(key)
            )
            raise RunError(
                f"cannot resume attempt {attempt}: the manifest changed since it started "
                f"(spec fields: {', '.join(changed)}); run without --resume to start attempt {attempt + 1}"
            )

    # --- phase outcomes ---------------------------------------------------------------------

    def summary(self, attempt: int, phase: str) -> dict[str, Any] | None:
        try:
            value = self.phase(attempt, phase).read_json(layout.SUMMARY)
        except ArtifactNotFound:
            return None  # the phase wrote nothing (yet); any other store error surfaces as it is
        if not isinstance(value, dict):
            raise StoreError(f"{self.phase(attempt, phase).uri_for(layout.SUMMARY)} is not a JSON object")
        return value

    def observe(self, spec: DistillationRunSpec, attempt: int) -> dict[str, phases.PhaseOutcome]:
        """What the attempt's summaries say about each phase (a phase with no summary is absent)."""
        observed: dict[str, phases.PhaseOutcome] = {}
        for step in phases.plan(spec):
            summary = self.summary(attempt, step.name)
            if summary is not None:
                observed[step.name] = phases.outcome_from_summary(step.name, summary)
        return observed

    def forget_summary(self, attempt: int, phase: str) -> None:
        """A summary means 'finished': drop a stale one before the phase runs again."""
        self.phase(attempt, phase).delete(layout.SUMMARY)

    def missing_inputs(self, attempt: int, step: phases.Step) -> list[str]:
        """URIs of the required inputs of `step` that are not in the store."""
        missing = []
        for need in step.needs:
            store = self.phase(attempt, need.phase)
            present = bool(store.list(need.key)) if need.key.endswith("/") else store.exists(need.key)
            if not present and not need.optional:
                missing.append(store.uri_for(need.key))
        return missing

    def read_report(self, attempt: int, candidate: str | None = None) -> dict[str, Any] | None:
        """The evaluation report (of `candidate`, the one a size sweep chose, when given)."""
        step = layout.candidate_step(phases.EVALUATE, candidate)
        try:
            value = self.phase(attempt, step).read_json(layout.EVALUATE_REPORT_JSON)
        except ArtifactNotFound:
            return None
        return value if isinstance(value, dict) else None

    def report_location(self, attempt: int, candidate: str | None = None) -> str:
        """Where a person opens the report: a local path for file://, else its URI."""
        step = layout.candidate_step(phases.EVALUATE, candidate)
        return _openable(self.phase(attempt, step).uri_for(layout.EVALUATE_REPORT_HTML))

    def sweep_report_location(self, attempt: int) -> str:
        return _openable(self.phase(attempt, layout.SWEEP).uri_for(layout.SWEEP_REPORT_HTML))


def _openable(uri: str) -> str:
    return uri.removeprefix("file://") if uri.startswith("file://") else uri
