"""Jobs and their pods, as the API server returns them, turned into phase outcomes."""

from __future__ import annotations

import json
from typing import Any

from distillery.phases import State
from distillery_operator.observe import observe_job

JOB_META = {"name": "run-a1-collect", "creationTimestamp": "2026-11-25T12:00:00Z"}


def job(condition: str | None = None, reason: str = "", message: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {}
    if condition:
        status["conditions"] = [{"type": condition, "status": "True", "reason": reason, "message": message}]
    return {"metadata": JOB_META, "status": status}


def pod(phase: str, exit_code: int | None = None, message: str = "", finished: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": "2026-11-25T12:00:01Z"}}
    if exit_code is not None:
        state = {"terminated": {"exitCode": exit_code, "message": message, "finishedAt": finished}}
    return {"status": {"phase": phase, "containerStatuses": [{"name": "collect", "state": state}]}}


def test_complete_job_reports_the_phase_result_from_the_termination_message() -> None:
    message = json.dumps({"status": "BudgetExceeded", "collected": 7, "prompts": 9, "cost_usd": 0.5})
    view = observe_job("collect", job("Complete"), [pod("Succeeded", 0, message, "2026-11-25T12:01:00Z")])
    assert view.outcome.state is State.BUDGET_EXCEEDED
    assert view.outcome.result is not None and view.outcome.result.collected == 7
    assert view.started


def test_failed_job_carries_the_containers_message_and_the_newest_pod_wins() -> None:
    old = pod("Failed", 1, json.dumps({"status": "Failed", "reason": "first try"}), "2026-11-25T12:01:00Z")
    new = pod(
        "Failed", 1, json.dumps({"status": "Failed", "reason": "teacher said 401"}), "2026-11-25T12:02:00Z"
    )
    view = observe_job("collect", job("Failed", "BackoffLimitExceeded"), [old, new])
    assert (view.outcome.state, view.outcome.message) == (State.FAILED, "teacher said 401")


def test_failed_job_with_a_log_tail_or_nothing() -> None:
    logs = pod("Failed", 137, "Traceback ...\nMemoryError", "2026-11-25T12:01:00Z")
    view = observe_job("train", job("Failed", "BackoffLimitExceeded"), [logs])
    assert view.outcome.state is State.FAILED and view.outcome.message.endswith("MemoryError")
    bare = observe_job("train", job("Failed", "DeadlineExceeded", "Job was active longer than specified"), [])
    assert bare.outcome.message == "DeadlineExceeded: Job was active longer than specified"


def test_a_job_without_a_started_pod_is_running_but_not_started() -> None:
    view = observe_job("curate", job(), [{"status": {"phase": "Pending"}}])
    assert view.outcome.state is State.RUNNING and not view.started
    assert observe_job("curate", job(), [pod("Running")]).started
