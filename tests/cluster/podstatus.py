"""Pod status bodies as a kubelet writes them to the ``pods/status`` subresource (pure functions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

Status = dict[str, Any]


def now() -> str:
    """RFC 3339, seconds, UTC - the API's timestamp format."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _container(name: str, image: str, restarts: int, state: Status, *, ready: bool = False) -> Status:
    return {"name": name, "image": image or "test-kubelet/none", "imageID": "", "ready": ready,
            "restartCount": restarts, "started": "running" in state, "state": state}


def waiting(name: str, image: str, reason: str, message: str = "", restarts: int = 0) -> Status:
    state: Status = {"reason": reason}
    if message:
        state["message"] = message
    return _container(name, image, restarts, {"waiting": state})


def running(name: str, image: str, started_at: str, restarts: int = 0) -> Status:
    return _container(name, image, restarts, {"running": {"startedAt": started_at}}, ready=True)


def terminated(name: str, image: str, exit_code: int, message: str, started_at: str, finished_at: str,
               restarts: int = 0, container_id: str = "", reason: str = "") -> Status:
    reason = reason or ("Completed" if exit_code == 0 else "Error")
    state: Status = {"exitCode": exit_code, "reason": reason,
                     "startedAt": started_at, "finishedAt": finished_at}
    if message:
        state["message"] = message
    if container_id:
        state["containerID"] = container_id
    return _container(name, image, restarts, {"terminated": state})


def _condition(kind: str, ok: bool, at: str, reason: str = "") -> Status:
    condition: Status = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None,
                         "lastTransitionTime": at}
    if reason:
        condition["reason"] = reason
    return condition


def pod_status(phase: str, start_time: str, containers: list[Status], init_containers: list[Status],
               *, initialized: bool, message: str = "") -> Status:
    """The body for PATCH pods/status: phase, conditions, startTime, (init)containerStatuses."""
    at = now()
    ready = phase == "Running" and all(c["ready"] for c in containers)
    not_ready = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
    status: Status = {
        "phase": phase, "startTime": start_time, "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
        "conditions": [
            _condition("Initialized", initialized, at, "" if initialized else "ContainersNotInitialized"),
            _condition("Ready", ready, at, "" if ready else not_ready),
            _condition("ContainersReady", ready, at, "" if ready else not_ready),
        ],
        "containerStatuses": containers,
    }
    if init_containers:
        status["initContainerStatuses"] = init_containers
    if message:
        status["message"] = message
    return {"status": status}
