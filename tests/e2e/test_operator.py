"""The operator end to end on a real kube-apiserver + etcd + kube-controller-manager (v1.20, loopback).

Real parts only: the Job controller and the garbage collector are the real ones, pods run as local
processes through the test kubelet (tests/cluster/kubelet.py), artifacts go to moto's S3 server, the
teacher is the fake Anthropic server reached by the real SDK, the student a tiny local model, and
Prometheus is Debian's binary scraping the operator's /metrics.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.e2e.operator_kit import HELD_OUT, PROMPTS, Runs, apply, conditions, create_secrets, run_manifest

pytestmark = pytest.mark.slow
PHASES = ("collect", "curate", "train", "evaluate")


@pytest.fixture
def setting(kube_cluster, kube_namespace, kube_api, test_kubelet, fake_anthropic, s3_env, tiny_model_dir):
    """Everything a scenario needs, with the secrets in place."""
    create_secrets(k8s.CoreV1Api(kube_api), kube_namespace)

    class Setting:
        cluster = kube_cluster
        namespace = kube_namespace
        kubelet = test_kubelet
        teacher = fake_anthropic
        s3 = s3_env
        runs = Runs(kube_api, kube_namespace)

        @staticmethod
        def manifest(name: str, **spec: Any) -> dict[str, Any]:
            return run_manifest(
                name,
                kube_namespace,
                model_dir=Path(tiny_model_dir),
                teacher_url=fake_anthropic.base_url,
                storage_uri=s3_env.uri("runs"),
                storage_endpoint=s3_env.endpoint,
                **spec,
            )

    return Setting


def pods_started_for(kubelet, job: str) -> list[str]:
    return [pod for pod in kubelet.started if pod.startswith(f"{job}-")]


def test_a_run_goes_to_succeeded_through_an_operator_kill(
    setting, operator_process, prometheus_server
) -> None:
    """Scenarios 1, 3 and 9: apply -> Succeeded; SIGKILL mid-phase; one Job per phase; Prometheus."""
    operator = operator_process(setting.namespace)
    prometheus = prometheus_server([f"127.0.0.1:{operator.metrics_port}"])
    apply(setting.cluster, setting.manifest("ok"))
    setting.runs.wait_phase("ok", "Training", "Evaluating", "Succeeded")
    operator.kill()  # mid-phase: training is running, no operator
    time.sleep(1)
    operator.start()
    status = setting.runs.wait_phase("ok", "Succeeded", "Failed", timeout=420)
    assert status["phase"] == "Succeeded", status
    assert conditions(status) == {
        "Collected": ("True", "Completed"),
        "Curated": ("True", "Completed"),
        "Trained": ("True", "Completed"),
        "Evaluated": ("True", "Completed"),
        "Complete": ("True", "Completed"),
    }

    # Exactly one Job per phase, each with one pod: the restart created nothing twice.
    jobs = setting.runs.jobs("ok")
    assert sorted(job["metadata"]["name"] for job in jobs) == sorted(f"ok-a1-{p}" for p in PHASES)
    for phase in PHASES:
        assert len(pods_started_for(setting.kubelet, f"ok-a1-{phase}")) == 1, setting.kubelet.started
    # Owned by the run, labelled, non-root.
    for job in jobs:
        (owner,) = job["metadata"]["owner_references"]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("DistillationRun", "ok", True)
        assert job["metadata"]["labels"]["distillery.dev/attempt"] == "1"

    # Numbers came through the termination messages, not the store.
    summary, results = status["summary"], status["results"]
    assert results["collect"]["collected"] == summary["collected"] == len(PROMPTS)
    assert results["curate"]["train"] == summary["examples"] > 0
    assert results["train"]["finalLoss"] == summary["finalLoss"]
    assert results["evaluate"]["examples"] == len(HELD_OUT)
    # The teacher's ledger: every training prompt billed exactly once.
    billed = setting.teacher.completions
    assert all(billed[prompt] == 1 for prompt in PROMPTS), billed

    # Artifacts in S3 where status says they are.
    report = status["artifacts"]["report"]
    bucket, key = report.removeprefix("s3://").split("/", 1)
    assert setting.s3.client().head_object(Bucket=bucket, Key=key)["ContentLength"] > 0

    # kubectl shows it as a person would.
    table = setting.cluster.kubectl("get", "dr", "-n", setting.namespace).stdout
    header, row = table.splitlines()[:2]
    assert "PHASE" in header and "EXAMPLES" in header
    assert row.split()[0] == "ok" and "Succeeded" in row.split()
    setting.runs.wait_event(
        "ok", lambda e: e.reason == "Completed" and e.message.startswith("Complete:"), "Completed"
    )
    described = setting.cluster.kubectl("describe", "dr", "ok", "-n", setting.namespace).stdout
    assert "Conditions:" in described and "JobCreated" in described and "Completed" in described

    # Prometheus scraped the operator: the run's phase and cost by PromQL.
    phase = prometheus.wait_for(
        'distillery_run_phase{run="ok",phase="Succeeded"} == 1', lambda result: len(result) == 1
    )
    assert phase[0]["metric"]["namespace"] == setting.namespace
    cost = prometheus.wait_for('distillery_teacher_cost_usd{run="ok"}', lambda result: len(result) == 1)
    assert float(cost[0]["value"][1]) == pytest.approx(summary["teacherCostUSD"])
    assert "Traceback" not in operator.log()


def test_a_failing_phase_fails_the_run_with_the_containers_message(setting, operator_process) -> None:
    """Scenario 2."""
    setting.teacher.set_faults(server_error=1.0)
    operator_process(setting.namespace)
    apply(setting.cluster, setting.manifest("broken"))
    status = setting.runs.wait_phase("broken", "Failed", "Succeeded", timeout=180)
    assert status["phase"] == "Failed"
    assert conditions(status)["Collected"] == ("False", "Failed")
    assert "prompts failed" in status["message"], status["message"]
    setting.runs.wait_event(
        "broken",
        lambda e: e.type == "Warning" and e.reason == "Failed" and "prompts failed" in e.message,
        "Warning Failed",
    )


def test_spec_change_and_rerun_start_new_attempts(setting, operator_process) -> None:
    """Scenario 4: a spec update mid-run supersedes attempt 1; the rerun annotation starts another."""
    setting.teacher.latency = 2.0  # collect takes a while: the update lands mid-phase
    operator_process(setting.namespace)
    manifest = setting.manifest("gitops")
    apply(setting.cluster, manifest)
    setting.kubelet.wait_for(
        lambda: bool(pods_started_for(setting.kubelet, "gitops-a1-collect")), 120, "collect pod"
    )
    manifest["spec"]["teacher"]["maxTokens"] = 65
    apply(setting.cluster, manifest)
    status = setting.runs.wait("gitops", lambda s: s.get("attempt") == 2, "on attempt 2", 60)
    assert status["history"][0]["attempt"] == 1
    assert status["history"][0]["outcome"] == "Superseded"
    assert status["observedGeneration"] == 2
    # Attempt 1's Job is gone (its pod killed); attempt 2 has its own prefix.
    setting.kubelet.wait_for(
        lambda: not any(j["metadata"]["name"] == "gitops-a1-collect" for j in setting.runs.jobs("gitops")),
        60,
        "attempt 1's job deleted",
    )
    assert status["artifacts"]["prefix"].endswith("/gitops/a2")
    setting.teacher.set_faults(server_error=1.0)
    setting.teacher.latency = 0.0
    setting.runs.wait_phase("gitops", "Failed", timeout=180)
    setting.runs.patch("gitops", {"metadata": {"annotations": {"distillery.dev/rerun": "try-again"}}})
    status = setting.runs.wait("gitops", lambda s: s.get("attempt") == 3, "on attempt 3", 60)
    assert [(h["attempt"], h["outcome"]) for h in status["history"]] == [(2, "Failed"), (1, "Superseded")]
    assert status["rerun"] == "try-again"


def test_an_invalid_spec_fails_once_naming_the_field(setting, operator_process) -> None:
    """Scenario 5: admitted by v1.20 (it drops CEL rules), rejected by the models; no retry loop."""
    operator = operator_process(setting.namespace)
    manifest = setting.manifest("invalid")
    manifest["spec"]["student"]["method"] = "qlora"  # with gpus: 0
    apply(setting.cluster, manifest)
    status = setting.runs.wait_phase("invalid", "Failed", timeout=60)
    assert conditions(status)["Complete"] == ("False", "InvalidSpec")
    assert "qlora" in status["message"] and "spec.student" in status["message"], status["message"]
    time.sleep(6)  # three resync periods
    invalid_events = [e for e in setting.runs.events("invalid") if e.reason == "InvalidSpec"]
    assert len(invalid_events) == 1 and invalid_events[0].type == "Warning"
    assert setting.runs.jobs("invalid") == []
    assert "Traceback" not in operator.log()
    # Fixing the spec starts the run.
    manifest["spec"]["student"]["method"] = "lora"
    apply(setting.cluster, manifest)
    setting.runs.wait(
        "invalid", lambda s: s.get("attempt") == 1 and s.get("phase") != "Failed", "started", 60
    )


def test_a_job_deleted_by_hand_is_recreated_and_the_run_finishes(setting, operator_process) -> None:
    """Scenario 6."""
    setting.teacher.latency = 1.0
    operator_process(setting.namespace)
    apply(setting.cluster, setting.manifest("handy"))
    setting.kubelet.wait_for(
        lambda: bool(pods_started_for(setting.kubelet, "handy-a1-collect")), 120, "collect pod"
    )
    first_uid = next(j for j in setting.runs.jobs("handy") if j["metadata"]["name"] == "handy-a1-collect")[
        "metadata"
    ]["uid"]
    setting.cluster.kubectl("delete", "job", "handy-a1-collect", "-n", setting.namespace, "--wait=false")
    status = setting.runs.wait("handy", lambda s: s.get("jobRecreations") == 1, "recreating its job", 60)
    setting.teacher.latency = 0.0
    recreated = next(j for j in setting.runs.jobs("handy") if j["metadata"]["name"] == "handy-a1-collect")
    assert recreated["metadata"]["uid"] != first_uid
    setting.runs.wait_event("handy", lambda e: e.reason == "JobRecreated", "JobRecreated")
    status = setting.runs.wait_phase("handy", "Succeeded", "Failed", timeout=420)
    assert status["phase"] == "Succeeded", status


def test_deleting_the_run_collects_its_jobs_and_keeps_its_artifacts(setting, operator_process) -> None:
    """Scenario 8: the real garbage collector follows ownerReferences."""
    operator_process(setting.namespace)
    apply(setting.cluster, setting.manifest("gone"))
    status = setting.runs.wait_phase("gone", "Curating", "Training", "Evaluating", "Succeeded", timeout=180)
    teacher_key = status["results"]["collect"]["teacherJsonl"].removeprefix("s3://").split("/", 1)[1]
    setting.cluster.kubectl("delete", "dr", "gone", "-n", setting.namespace, "--wait=false")
    core, ns = k8s.CoreV1Api(setting.runs.custom.api_client), setting.namespace
    setting.kubelet.wait_for(
        lambda: (
            not setting.runs.jobs("gone")
            and not core.list_namespaced_config_map(ns, label_selector="distillery.dev/run=gone").items
        ),
        90,
        "jobs and config maps garbage-collected",
    )
    assert setting.s3.client().head_object(Bucket=setting.s3.bucket, Key=teacher_key)["ContentLength"] > 0


def test_a_schedule_tick_starts_a_new_attempt_never_overlapping(setting, in_process_operator) -> None:
    """Scenario 7, with the operator's clock in the test's hand."""
    now = [datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)]
    setting.teacher.latency = 2.0
    in_process_operator(setting.namespace, lambda: now[0])
    apply(setting.cluster, setting.manifest("cron", schedule="0 * * * *"))
    status = setting.runs.wait(
        "cron", lambda s: s.get("phase") == "Collecting" and s.get("nextScheduleTime"), "collecting", 120
    )
    assert status["nextScheduleTime"] == "2030-01-01T01:00:00Z"
    now[0] += timedelta(hours=1)  # a tick while attempt 1 runs: skipped, said so
    status = setting.runs.wait(
        "cron", lambda s: s.get("nextScheduleTime") == "2030-01-01T02:00:00Z", "past the first tick", 30
    )
    assert status["attempt"] == 1
    setting.runs.wait_event("cron", lambda e: e.reason == "ScheduleSkipped", "ScheduleSkipped")
    setting.teacher.set_faults(server_error=1.0)
    setting.teacher.latency = 0.0
    setting.runs.wait_phase("cron", "Failed", timeout=180)
    now[0] += timedelta(hours=1)
    status = setting.runs.wait("cron", lambda s: s.get("attempt") == 2, "on attempt 2", 30)
    assert status["lastScheduleTime"] == "2030-01-01T02:00:00Z"
    assert status["history"][0]["attempt"] == 1 and status["history"][0]["outcome"] == "Failed"
