"""A stored run read back from the artifact store (file:// or s3://), for `distillery report`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillery import layout, phases
from distillery.api.status import DistillationRunStatus
from distillery.errors import ArtifactNotFound, StoreError
from distillery.runner.state import STATUS_KEY
from distillery.store import ArtifactStore, open_store

ATTEMPT_DIR = re.compile(r"^a(\d+)$")


@dataclass
class StoredRun:
    """One attempt of a run as the store holds it."""

    attempt_uri: str
    attempt: int | None
    status: DistillationRunStatus | None
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    report_location: str | None = None

    def outcomes(self) -> dict[str, phases.PhaseOutcome]:
        return {name: phases.outcome_from_summary(name, summary) for name, summary in self.summaries.items()}


def to_uri(target: str) -> str:
    """A local path becomes an absolute file:// URI; URIs pass through."""
    if target.startswith(("s3://", "file://")):
        return target.rstrip("/")
    return "file://" + Path(target).resolve().as_posix().rstrip("/")


def _read_json(store: ArtifactStore, key: str) -> Any:
    try:
        return store.read_json(key)
    except ArtifactNotFound:
        return None


def _strip_known_tail(uri: str) -> str:
    """Accept the report file or the evaluate directory too: go up to the attempt."""
    for tail in (f"/{phases.EVALUATE}/{layout.EVALUATE_REPORT_JSON}", f"/{phases.EVALUATE}"):
        if uri.endswith(tail):
            return uri[: -len(tail)]
    return uri


def _attempt_number(uri: str) -> int | None:
    match = ATTEMPT_DIR.match(uri.rstrip("/").rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None


def locate(target: str, *, attempt: int | None = None, endpoint_url: str | None = None) -> StoredRun:
    """Find the attempt `target` points at: a run directory (status.json), an attempt, or a report."""
    uri = _strip_known_tail(to_uri(target))
    store = open_store(uri, endpoint_url=endpoint_url)
    status_body = _read_json(store, STATUS_KEY)
    status = DistillationRunStatus.model_validate(status_body) if status_body else None
    if status is not None or attempt is not None:
        number = attempt if attempt is not None else status.attempt  # type: ignore[union-attr]
        attempt_store = store.child(f"a{number}")
        if status is not None and status.attempt != number:
            status = None  # status.json describes another attempt
    elif any(_read_json(store, f"{name}/{layout.SUMMARY}") is not None for name in layout.PHASES):
        attempt_store, number = store, _attempt_number(uri)
    else:
        raise StoreError(
            f"{uri}: no run here (expected a run directory with {STATUS_KEY}, "
            f"an attempt directory a<N>/ with phase summaries, or an evaluate/{layout.EVALUATE_REPORT_JSON})"
        )
    return _load_attempt(attempt_store, number, status)


def _load_attempt(
    store: ArtifactStore, attempt: int | None, status: DistillationRunStatus | None
) -> StoredRun:
    summaries = {}
    for name in layout.PHASES:
        summary = _read_json(store, f"{name}/{layout.SUMMARY}")
        if isinstance(summary, dict):
            summaries[name] = summary
    chosen = next((c.name for c in status.candidates if c.chosen), None) if status else None
    evaluate = layout.candidate_step(phases.EVALUATE, chosen)  # a size sweep: the chosen candidate's
    report = _read_json(store, f"{evaluate}/{layout.EVALUATE_REPORT_JSON}")
    location = None
    if isinstance(report, dict):
        shown = (
            f"{layout.SWEEP}/{layout.SWEEP_REPORT_HTML}"
            if chosen
            else f"{evaluate}/{layout.EVALUATE_REPORT_HTML}"
        )
        location = store.uri_for(shown).removeprefix("file://")
    return StoredRun(
        attempt_uri=store.uri_for(),
        attempt=attempt,
        status=status,
        summaries=summaries,
        report=report if isinstance(report, dict) else None,
        report_location=location,
    )
