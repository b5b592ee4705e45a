"""`kubectl distill` (list, status, logs, rerun) against the real test API server. The run's status
is written through the status subresource as the operator writes it; `report` reads the artifact
store of a finished run and is tested in tests/e2e/test_chart_rbac.py."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client as k8s

from distillery.api.crd import GROUP, PLURAL, VERSION
from distillery.api.status import DistillationRunStatus
from distillery.kubectl import cluster as plugin
from distillery_operator import builders
from tests.cluster.apiserver import TestCluster

STATUS = DistillationRunStatus.model_validate(
    {
        "phase": "Training",
        "attempt": 2,
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Collected",
                "status": "True",
                "reason": "Completed",
                "message": "10 collected",
                "lastTransitionTime": "2026-11-01T10:00:00Z",
            },
            {
                "type": "Trained",
                "status": "Unknown",
                "reason": "Running",
                "message": "training",
                "lastTransitionTime": "2026-11-01T10:05:00Z",
            },
        ],
        "summary": {"examples": 42, "teacherCostUSD": 0.0123, "finalLoss": 1.25},
        "artifacts": {"prefix": "s3://bucket/runs/ns/demo/a2"},
        "history": [
            {"attempt": 1, "outcome": "Superseded", "reason": "SpecChanged", "message": "spec changed"}
        ],
    }
)


def kubectl_distill(cluster: TestCluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distillery.kubectl.main", "--kubeconfig", str(cluster.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def manifest(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DistillationRun",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "task": {"systemPrompt": "Answer."},
            "teacher": {"model": "claude-haiku-4-5", "apiKeySecretRef": {"name": "t", "key": "k"}},
            "prompts": {"sources": [{"inline": ["hi"]}]},
            "student": {"baseModel": "tiny"},
            "evaluation": {"heldOut": {"inline": ["hello"]}},
            "storage": {"uri": "s3://bucket/runs"},
        },
    }


@pytest.fixture
def run(kube_api: k8s.ApiClient, kube_namespace: str, distillery_crd: str) -> str:
    custom = k8s.CustomObjectsApi(kube_api)
    custom.create_namespaced_custom_object(
        GROUP, VERSION, kube_namespace, PLURAL, manifest("demo", kube_namespace)
    )
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, kube_namespace, PLURAL, "demo", {"status": STATUS.to_api()}
    )
    core = k8s.CoreV1Api(kube_api)
    uid = custom.get_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "demo")["metadata"][
        "uid"
    ]
    now = datetime.now(UTC)
    for index, (kind, reason, message) in enumerate(
        [
            ("Normal", "JobCreated", "created job demo-a2-train"),
            ("Warning", "JobRecreated", "job deleted by hand"),
        ]
    ):
        core.create_namespaced_event(
            kube_namespace,
            {
                "metadata": {"name": f"demo.{index}"},
                "involvedObject": {
                    "kind": "DistillationRun",
                    "name": "demo",
                    "namespace": kube_namespace,
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "uid": uid,
                },
                "type": kind,
                "reason": reason,
                "message": message,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "source": {"component": "distillery-operator"},
            },
        )
    return "demo"


def test_the_plugin_uses_the_operators_labels() -> None:
    assert (plugin.LABEL_RUN, plugin.LABEL_ATTEMPT, plugin.LABEL_PHASE, plugin.ANNOTATION_RERUN) == (
        builders.LABEL_RUN,
        builders.LABEL_ATTEMPT,
        builders.LABEL_PHASE,
        builders.ANNOTATION_RERUN,
    )


def test_list_in_a_namespace_and_across_all(kube_cluster: TestCluster, kube_namespace: str, run: str) -> None:
    listed = kubectl_distill(kube_cluster, "list", "-n", kube_namespace)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "ATTEMPT", "EXAMPLES", "LOSS", "PASS", "COST", "AGE"]
    assert row.split()[:5] == ["demo", "Training", "2", "42", "1.25"] and "$0.0123" in row
    everywhere = kubectl_distill(kube_cluster, "list", "-A")
    assert everywhere.returncode == 0, everywhere.stderr
    assert any(line.split()[:2] == [kube_namespace, "demo"] for line in everywhere.stdout.splitlines())
    empty = kubectl_distill(kube_cluster, "list", "-n", "default")
    assert "No DistillationRuns in namespace default." in empty.stdout


def test_status_shows_phase_conditions_summary_history_and_events(
    kube_cluster: TestCluster, kube_namespace: str, run: str
) -> None:
    shown = kubectl_distill(kube_cluster, "status", run, "-n", kube_namespace)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"{kube_namespace}/demo  phase Training  attempt 2" in out
    for text in (
        "Collected",
        "10 collected",
        "Trained",
        "Running",
        "examples",
        "42",
        "Superseded",
        "JobCreated",
        "created job demo-a2-train",
        "JobRecreated",
        "Warning",
        "s3://bucket/runs/ns/demo/a2",
    ):
        assert text in out, text


def test_a_missing_run_is_a_clear_error(
    kube_cluster: TestCluster, kube_namespace: str, distillery_crd: str
) -> None:
    missing = kubectl_distill(kube_cluster, "status", "nope", "-n", kube_namespace)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"kubectl distill status: error: distillationrun {kube_namespace}/nope: not found"
    )


def test_rerun_sets_the_annotation(
    kube_cluster: TestCluster, kube_api: k8s.ApiClient, kube_namespace: str, run: str
) -> None:
    done = kubectl_distill(kube_cluster, "rerun", run, "-n", kube_namespace, "--token", "again-1")
    assert done.returncode == 0, done.stderr
    body = k8s.CustomObjectsApi(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, kube_namespace, PLURAL, run
    )
    assert body["metadata"]["annotations"]["distillery.dev/rerun"] == "again-1"
    default = kubectl_distill(kube_cluster, "rerun", run, "-n", kube_namespace)
    body = k8s.CustomObjectsApi(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, kube_namespace, PLURAL, run
    )
    token = body["metadata"]["annotations"]["distillery.dev/rerun"]
    assert token != "again-1" and token in default.stdout


def test_logs_name_the_pods_and_say_why_the_api_cannot_serve_them(
    kube_cluster: TestCluster, kube_api: k8s.ApiClient, kube_namespace: str, run: str
) -> None:
    """The test cluster has no node (the test kubelet runs pods without binding them), and the API
    server serves a pod's log only through its node: the plugin names the pod and container, says so,
    and shows the termination message. Streaming a real log is not tested here."""
    core = k8s.CoreV1Api(kube_api)
    none = kubectl_distill(kube_cluster, "logs", run, "-n", kube_namespace, "--phase", "train")
    assert none.returncode == 1 and "no pods for attempt 2, phase train" in none.stderr
    labels = builders.labels(run, 2, "train")
    core.create_namespaced_pod(
        kube_namespace,
        {
            "metadata": {"name": "demo-a2-train-x1", "labels": labels},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "train", "image": "jobs", "command": ["true"]}],
            },
        },
    )
    core.patch_namespaced_pod_status(
        "demo-a2-train-x1",
        kube_namespace,
        {
            "status": {
                "phase": "Failed",
                "containerStatuses": [
                    {
                        "name": "train",
                        "image": "jobs",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {
                            "terminated": {"exitCode": 1, "reason": "Error", "message": "CUDA out of memory"}
                        },
                    }
                ],
            }
        },
    )
    logs = kubectl_distill(kube_cluster, "logs", run, "-n", kube_namespace, "--phase", "train")
    assert logs.returncode == 1
    assert "==> pod/demo-a2-train-x1 container train <==" in logs.stdout
    assert "error: pod demo-a2-train-x1 is on no node (phase Failed): no logs to read" in logs.stderr
    assert "CUDA out of memory" in logs.stdout and "exit code 1" in logs.stdout
    other_phase = kubectl_distill(kube_cluster, "logs", run, "-n", kube_namespace, "--phase", "collect")
    assert "no pods for attempt 2, phase collect" in other_phase.stderr
