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


def indexed(index: int, phase: str, exit_code: int | None, message: str = "", finished: str = "") -> dict:
    body = pod(phase, exit_code, message, finished)
    return body | {"metadata": {"annotations": {"batch.kubernetes.io/job-completion-index": str(index)}}}


def indexed_job(condition: str | None, completions: int) -> dict[str, Any]:
    return job(condition) | {"spec": {"completionMode": "Indexed", "completions": completions}}


def shard_message(index: int, collected: int, status: str = "Succeeded", cost: float = 0.25) -> str:
    body = {"status": status, "prompts": 10, "collected": collected, "cost_usd": cost, "shard": index}
    return json.dumps(body | {"tokens": {"input_tokens": 10, "output_tokens": 5, "total": 15}})


def test_multi_node_train_reports_rank_zeros_result_and_explains_a_failure_by_the_first_pod() -> None:
    rank0 = json.dumps({"status": "Succeeded", "steps": 12, "final_loss": 0.5})
    done = observe_job(
        "train",
        indexed_job("Complete", 2),
        [indexed(1, "Succeeded", 0, "", "2026-11-25T12:03:00Z"), indexed(0, "Succeeded", 0, rank0, "t")],
    )
    assert done.outcome.state is State.SUCCEEDED and done.outcome.result.steps == 12
    peer_died = indexed(1, "Failed", 137, "Killed", "2026-11-25T12:01:00Z")
    then_rank0 = indexed(0, "Failed", 1, "RuntimeError: Connection closed by peer", "2026-11-25T12:01:02Z")
    failed = observe_job("train", indexed_job("Failed", 2), [then_rank0, peer_died])
    assert (failed.outcome.state, failed.outcome.message) == (State.FAILED, "Killed")


def test_sharded_collect_merges_one_result_per_shard_and_waits_for_every_shard() -> None:
    pods = [indexed(i, "Succeeded", 0, shard_message(i, 10 - i), f"2026-11-25T12:0{i}:00Z") for i in range(3)]
    view = observe_job("collect", indexed_job("Complete", 3), pods)
    result = view.outcome.result
    assert view.outcome.state is State.SUCCEEDED
    assert (result.shards, result.prompts, result.collected, result.tokens.total) == (3, 30, 27, 45)
    assert result.cost_usd == 0.75 and result.shard is None
    # a shard whose pod was deleted: no merged numbers; the Job's own verdict stands
    partial = observe_job("collect", indexed_job("Complete", 3), pods[:2])
    assert partial.outcome.state is State.SUCCEEDED and partial.outcome.result is None


def test_a_sharded_collect_with_one_interrupted_shard_is_interrupted() -> None:
    pods = [
        indexed(0, "Succeeded", 0, shard_message(0, 10), "2026-11-25T12:01:00Z"),
        indexed(1, "Failed", 75, shard_message(1, 4, "Interrupted"), "2026-11-25T12:01:00Z"),
    ]
    view = observe_job("collect", indexed_job("Failed", 2), pods)
    assert view.outcome.state is State.FAILED and view.outcome.reason == "Interrupted"
    assert view.outcome.result.collected == 14


def test_an_indexed_job_the_api_server_stored_without_its_mode_fails_at_once() -> None:
    dropped = job() | {"kind": "Job", "spec": {"completions": 3, "parallelism": 3}}  # what 1.20 keeps
    view = observe_job("collect", dropped, [pod("Running")], indexed=True)
    assert (view.outcome.state, view.outcome.reason) == (State.FAILED, "IndexedJobUnsupported")
    assert "Kubernetes >= 1.21" in view.outcome.message
    kept = observe_job("collect", indexed_job(None, 3) | {"kind": "Job"}, [pod("Running")], indexed=True)
    assert kept.outcome.state is State.RUNNING
