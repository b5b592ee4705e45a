"""Indexed Jobs through the operator on the real control plane: sharded collect and multi-node train.

Kubernetes 1.20 (the default test cluster) has no Indexed Jobs: its API server drops
`completionMode`, so there the operator must fail the phase at once, naming the version needed (the
first two tests; the second also shows the multi-node train's headless Service created and garbage-
collected with its run). The tests that need Indexed Jobs run only when `KUBEBUILDER_ASSETS` points
at binaries of 1.21 or newer (with kube-controller-manager); otherwise pytest reports them as
SKIPPED, which proves nothing about them.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.e2e.operator_kit import PROMPTS, Runs, apply, conditions, create_secrets, run_manifest

pytestmark = pytest.mark.slow


def assets_minor_version() -> int | None:
    """The minor version of KUBEBUILDER_ASSETS's kube-apiserver (None when unset or unreadable)."""
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if not assets:
        return None
    try:
        out = subprocess.run(
            [str(Path(assets) / "kube-apiserver"), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except OSError:
        return None
    match = re.search(r"v1\.(\d+)", out)
    return int(match.group(1)) if match else None


MINOR = assets_minor_version()
needs_indexed_jobs = pytest.mark.skipif(
    MINOR is None or MINOR < 21,
    reason="needs Indexed Jobs: set KUBEBUILDER_ASSETS to Kubernetes >= 1.21 binaries (NOT a pass)",
)


@pytest.fixture
def setting(kube_cluster, kube_namespace, kube_api, test_kubelet, fake_anthropic, s3_env, tiny_model_dir):
    create_secrets(k8s.CoreV1Api(kube_api), kube_namespace)

    class Setting:
        cluster = kube_cluster
        namespace = kube_namespace
        kubelet = test_kubelet
        teacher = fake_anthropic
        s3 = s3_env
        runs = Runs(kube_api, kube_namespace)
        core = k8s.CoreV1Api(kube_api)

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


def teacher_with(setting, **changes: Any) -> dict[str, Any]:
    return setting.manifest("x")["spec"]["teacher"] | changes


def test_without_indexed_jobs_a_sharded_collect_fails_at_once_naming_the_version(
    setting, operator_process
) -> None:
    if setting.cluster.minor_version >= 21:
        pytest.skip("this cluster has Indexed Jobs: test_sharded_collect_* covers it")
    operator_process(setting.namespace)
    apply(setting.cluster, setting.manifest("shards", teacher=teacher_with(setting, shards=2)))
    status = setting.runs.wait_phase("shards", "Failed", "Succeeded", timeout=120)
    assert status["phase"] == "Failed"
    assert conditions(status)["Collected"] == ("False", "IndexedJobUnsupported")
    assert "Kubernetes >= 1.21" in status["message"], status["message"]
    (job,) = setting.runs.jobs("shards")
    assert job["spec"].get("completion_mode") is None and job["spec"]["completions"] == 2  # what 1.20 kept


def test_without_indexed_jobs_multi_node_train_fails_and_its_service_goes_with_the_run(
    setting, operator_process
) -> None:
    if setting.cluster.minor_version >= 21:
        pytest.skip("this cluster has Indexed Jobs: test_multi_node_train_* covers it")
    operator_process(setting.namespace)
    student = setting.manifest("x")["spec"]["student"]
    student["resources"] = student["resources"] | {"nodes": 2}
    apply(setting.cluster, setting.manifest("nodes", student=student))
    status = setting.runs.wait_phase("nodes", "Failed", "Succeeded", timeout=300)
    assert conditions(status)["Trained"] == ("False", "IndexedJobUnsupported"), status
    assert status["results"]["collect"]["collected"] == len(PROMPTS)  # the phases before it ran
    service = setting.core.read_namespaced_service("nodes-a1-train", setting.namespace)
    assert service.spec.cluster_ip == "None" and service.spec.selector == {"job-name": "nodes-a1-train"}
    assert [(o.kind, o.name) for o in service.metadata.owner_references] == [("DistillationRun", "nodes")]
    setting.cluster.kubectl("delete", "dr", "nodes", "-n", setting.namespace, "--wait=false")
    setting.kubelet.wait_for(
        lambda: (
            not setting.core.list_namespaced_service(
                setting.namespace, field_selector="metadata.name=nodes-a1-train"
            ).items
        ),
        90,
        "the Service garbage-collected with its run",
    )


@needs_indexed_jobs
def test_sharded_collect_runs_one_pod_per_shard_and_reports_the_merged_numbers(
    setting, operator_process
) -> None:
    operator_process(setting.namespace)
    apply(setting.cluster, setting.manifest("shards", teacher=teacher_with(setting, shards=2)))
    status = setting.runs.wait_phase("shards", "Curating", "Training", "Evaluating", "Succeeded", "Failed")
    assert status["phase"] != "Failed", status
    collect = status["results"]["collect"]
    assert (collect["shards"], collect["prompts"], collect["collected"]) == (2, len(PROMPTS), len(PROMPTS))
    assert sorted(setting.teacher.completions) == sorted(PROMPTS)
    assert set(setting.teacher.completions.values()) == {1}  # the ledger: each prompt billed once
    (job,) = [j for j in setting.runs.jobs("shards") if j["metadata"]["name"] == "shards-a1-collect"]
    assert (job["spec"]["completion_mode"], job["spec"]["completions"]) == ("Indexed", 2)


@needs_indexed_jobs
def test_multi_node_train_gets_an_indexed_job_and_a_headless_service_deleted_with_the_run(
    setting, operator_process
) -> None:
    operator_process(setting.namespace)
    student = setting.manifest("x")["spec"]["student"]
    student["resources"] = student["resources"] | {"nodes": 2}
    apply(setting.cluster, setting.manifest("nodes", student=student))
    setting.runs.wait_phase("nodes", "Training", "Evaluating", "Succeeded", "Failed", timeout=300)
    service = setting.core.read_namespaced_service("nodes-a1-train", setting.namespace)
    assert service.spec.cluster_ip == "None" and service.spec.selector == {"job-name": "nodes-a1-train"}
    assert service.metadata.owner_references[0].kind == "DistillationRun"
    (job,) = [j for j in setting.runs.jobs("nodes") if j["metadata"]["name"] == "nodes-a1-train"]
    assert (job["spec"]["completion_mode"], job["spec"]["parallelism"]) == ("Indexed", 2)
    assert job["spec"]["template"]["spec"]["subdomain"] == "nodes-a1-train"
    setting.cluster.kubectl("delete", "dr", "nodes", "-n", setting.namespace, "--wait=false")
    setting.kubelet.wait_for(
        lambda: (
            not setting.core.list_namespaced_service(
                setting.namespace, field_selector="metadata.name=nodes-a1-train"
            ).items
        ),
        90,
        "the Service garbage-collected with its run",
    )
