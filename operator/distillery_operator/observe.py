"""What a phase's Job and its pods say, as the phase machine's PhaseOutcome. Pure functions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from distillery import phases
from distillery.phases import PhaseOutcome

MESSAGE_TAIL = 2048


@dataclass(frozen=True)
class JobView:
    """One phase's Job as observed: its outcome, and whether any pod of it has started."""

    name: str
    outcome: PhaseOutcome
    started: bool
    created: datetime | None


def _condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return condition
    return None


def _terminated(pod: dict[str, Any]) -> dict[str, Any] | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated:
            return terminated
    return None


def _finished_at(pod: dict[str, Any]) -> str:
    terminated = _terminated(pod) or {}
    return str(terminated.get("finishedAt") or "")


def termination(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest terminated container state among the Job's pods."""
    finished = [pod for pod in pods if _terminated(pod)]
    if not finished:
        return None
    return _terminated(max(finished, key=_finished_at))


def outcome_from_termination(phase: str, terminated: dict[str, Any] | None) -> PhaseOutcome | None:
    """The phase's own result, when its termination message is one (else None)."""
    message = (terminated or {}).get("message") or ""
    try:
        data = json.loads(message)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return phases.outcome_from_message(phase, data)
    except ValidationError:
        return None


def failure_text(job: dict[str, Any], terminated: dict[str, Any] | None) -> str:
    """Why a Job failed: the container's message (logs tail on error), else the Job's condition."""
    text = ((terminated or {}).get("message") or "").strip()
    if text:
        return text[-MESSAGE_TAIL:]
    condition = _condition(job, "Failed") or {}
    parts = [condition.get("reason") or "", condition.get("message") or ""]
    exit_code = (terminated or {}).get("exitCode")
    if exit_code is not None:
        parts.append(f"exit code {exit_code}")
    return ": ".join(part for part in parts if part) or "the Job failed"


def pod_started(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed")


def observe_job(phase: str, job: dict[str, Any], pods: list[dict[str, Any]]) -> JobView:
    """A Job and its pods -> the phase's outcome (running until the Job finishes)."""
    name = job["metadata"]["name"]
    created = _parse_time(job["metadata"].get("creationTimestamp"))
    started = any(pod_started(pod) for pod in pods) or bool((job.get("status") or {}).get("succeeded"))
    terminated = termination(pods)
    if _condition(job, "Complete"):
        outcome = outcome_from_termination(phase, terminated)
        if outcome is None:  # finished, but its report is gone (pods deleted): counts as done
            outcome = PhaseOutcome(phases.State.SUCCEEDED, phases.COMPLETED, "finished (no report)")
        return JobView(name, outcome, True, created)
    if _condition(job, "Failed"):
        outcome = outcome_from_termination(phase, terminated)
        if outcome is None or outcome.state is phases.State.SUCCEEDED:
            outcome = PhaseOutcome.failed(failure_text(job, terminated))
        return JobView(name, outcome, started, created)
    return JobView(name, PhaseOutcome.running(), started, created)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
