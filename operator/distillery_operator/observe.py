"""What a phase's Job and its pods say, as the phase machine's PhaseOutcome. Pure functions.

One pod per Job: its termination message is the phase's result. An Indexed Job (multi-node train,
a Kubeflow TrainJob's nodes, sharded collect) has one message per pod: rank 0's is the train
result; a sharded collect's result is the merge of every shard's (`collect.shards.merge_summaries`),
known only once each index has reported. A failure is explained by the first pod that failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from distillery import phases
from distillery.api.summaries import parse_summary, result_of
from distillery.collect.shards import merge_summaries
from distillery.phases import PhaseOutcome
from distillery_operator.distributed import COMPLETION_INDEX_ANNOTATION

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


def completion_index(pod: dict[str, Any]) -> int | None:
    """The pod's index in an Indexed Job (a Kubeflow TrainJob's nodes are one too), else None."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(COMPLETION_INDEX_ANNOTATION, "")
    return int(value) if str(value).isdigit() else None


def by_index(pods: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    groups: dict[int, list[dict[str, Any]]] = {}
    for pod in pods:
        index = completion_index(pod)
        if index is not None:
            groups.setdefault(index, []).append(pod)
    return groups


def first_failure(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Of several pods, the first that failed: the cause (its peers fail after it, for want of it)."""
    failed = [pod for pod in pods if ((_terminated(pod) or {}).get("exitCode") or 0) != 0]
    return _terminated(min(failed, key=_finished_at)) if failed else termination(pods)


def sharded_outcome(
    phase: str, job: dict[str, Any], groups: dict[int, list[dict[str, Any]]]
) -> PhaseOutcome | None:
    """A sharded collect: one result per shard (its newest pod's message), merged; None if one is missing."""
    completions = int((job.get("spec") or {}).get("completions") or 0)
    parts = []
    for index in range(completions):
        terminated = termination(groups.get(index, []))
        try:
            parts.append(json.loads((terminated or {}).get("message") or ""))
        except json.JSONDecodeError:
            return None
    try:
        merged = parse_summary(phase, merge_summaries(parts))
    except (ValidationError, TypeError):
        return None
    return phases.outcome_from_result(result_of(phase, merged))  # the compact numbers, as one pod's


def report(
    phase: str, job: dict[str, Any], pods: list[dict[str, Any]]
) -> tuple[PhaseOutcome | None, dict[str, Any] | None]:
    """(the phase's reported outcome or None, the termination that explains a failure)."""
    groups = by_index(pods)
    if not groups:
        terminated = termination(pods)
        return outcome_from_termination(phase, terminated), terminated
    cause = first_failure(pods)
    if phase == phases.COLLECT and int((job.get("spec") or {}).get("completions") or 1) > 1:
        return sharded_outcome(phase, job, groups), cause
    # rank 0 reports for the whole distributed phase (the other ranks write no result)
    return outcome_from_termination(phase, termination(groups.get(0, []))), cause


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


INDEXED_UNSUPPORTED = "IndexedJobUnsupported"


def indexed_dropped(job: dict[str, Any]) -> PhaseOutcome:
    """The API server stored an Indexed Job without its completion mode (Kubernetes < 1.21)."""
    name = job["metadata"]["name"]
    return PhaseOutcome.failed(
        f"Job {name} was created without completionMode: Indexed (the API server dropped the field): "
        "multi-node training and sharded collection need Indexed Jobs, Kubernetes >= 1.21",
        INDEXED_UNSUPPORTED,
    )


def observe_job(
    phase: str, job: dict[str, Any], pods: list[dict[str, Any]], *, indexed: bool = False
) -> JobView:
    """A Job and its pods -> the phase's outcome (running until the Job finishes).

    `indexed`: the operator created it as an Indexed Job; one stored without its completion mode
    fails the phase at once (its pods would all run without an index).
    """
    name = job["metadata"]["name"]
    if (
        indexed
        and job.get("kind", "Job") == "Job"
        and (job.get("spec") or {}).get("completionMode") != "Indexed"
    ):
        return JobView(
            name, indexed_dropped(job), True, _parse_time(job["metadata"].get("creationTimestamp"))
        )
    created = _parse_time(job["metadata"].get("creationTimestamp"))
    started = any(pod_started(pod) for pod in pods) or bool((job.get("status") or {}).get("succeeded"))
    reported, terminated = report(phase, job, pods)
    if _condition(job, "Complete"):
        outcome = reported
        if outcome is None:  # finished, but its report is gone (pods deleted): counts as done
            outcome = PhaseOutcome(phases.State.SUCCEEDED, phases.COMPLETED, "finished (no report)")
        return JobView(name, outcome, True, created)
    if _condition(job, "Failed"):
        outcome = reported
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
