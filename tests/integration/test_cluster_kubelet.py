"""The test cluster and the test kubelet against the real kube-apiserver, controller-manager and etcd:
authentication and RBAC, the DistillationRun CRD (status subresource, pruning, server-side dry run),
Jobs run by the real Job controller with Pods run by the test kubelet, Secret/ConfigMap wiring,
garbage collection and process termination."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.cluster.apiserver import TestCluster
from tests.cluster.kubelet import TestKubelet
from tests.fixtures.operator import wait_established

REPO = Path(__file__).resolve().parents[2]
CRD = REPO / "crds/distillationruns.distillery.dev.yaml"
PY = sys.executable


def wait_until(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"no {what} within {timeout}s")


def container(script: str, **extra: Any) -> dict[str, Any]:
    return {"name": "main", "image": "python:3.11", "command": [PY, "-c", script], **extra}


def job(name: str, pod_container: dict[str, Any], **pod_spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never", "containers": [pod_container], **pod_spec}}}}


def job_condition(batch: k8s.BatchV1Api, namespace: str, name: str) -> str | None:
    status = batch.read_namespaced_job_status(name, namespace).status
    finished = [c for c in status.conditions or [] if c.status == "True" and c.type in ("Complete", "Failed")]
    return finished[0].type if finished else None


def job_pod(core: k8s.CoreV1Api, namespace: str, job_name: str) -> k8s.V1Pod:
    pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={job_name}").items
    assert len(pods) == 1, [p.metadata.name for p in pods]
    return pods[0]


def test_apiserver_answers_kubectl(kube_cluster: TestCluster) -> None:
    version = json.loads(kube_cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == kube_cluster.version
    assert version["serverVersion"]["minor"].rstrip("+") == str(kube_cluster.minor_version)
    names = kube_cluster.kubectl("get", "namespaces", "-o", "name").stdout.split()
    assert {"namespace/default", "namespace/kube-system"} <= set(names)


def test_rbac_denies_a_service_account_until_a_role_allows_it(
        kube_cluster: TestCluster, kube_namespace: str, kube_api: k8s.ApiClient) -> None:
    core, ns = k8s.CoreV1Api(kube_api), kube_namespace
    core.create_namespaced_service_account(ns, {"metadata": {"name": "limited"}})
    secret = wait_until(lambda: core.read_namespaced_service_account("limited", ns).secrets, what="SA token")
    token = base64.b64decode(core.read_namespaced_secret(secret[0].name, ns).data["token"]).decode()
    denied = kube_cluster.kubectl(f"--token={token}", "-n", ns, "get", "pods", check=False)
    assert denied.returncode != 0
    assert "Forbidden" in denied.stderr and f"system:serviceaccount:{ns}:limited" in denied.stderr
    kube_cluster.kubectl("-n", ns, "create", "role", "read-pods", "--verb=list", "--resource=pods")
    kube_cluster.kubectl("-n", ns, "create", "rolebinding", "read-pods", "--role=read-pods",
                         f"--serviceaccount={ns}:limited")
    allowed = wait_until(lambda: kube_cluster.kubectl(f"--token={token}", "-n", ns, "get", "pods",
                                                      check=False).returncode == 0, what="RBAC allow")
    assert allowed
    assert "Forbidden" in kube_cluster.kubectl(f"--token={token}", "-n", ns, "get", "secrets",
                                               check=False).stderr


def test_distillation_run_crd_serves_status_and_prunes(
        kube_cluster: TestCluster, kube_namespace: str, kube_api: k8s.ApiClient) -> None:
    kube_cluster.kubectl("apply", "--validate=false", "-f", str(CRD))
    wait_established(kube_cluster, "distillationruns.distillery.dev", timeout=30)
    run = yaml.safe_load((REPO / "examples/code-style/run.yaml").read_text())
    run["metadata"]["namespace"] = kube_namespace
    run["spec"]["notAField"] = "pruned"
    manifest = yaml.safe_dump(run)
    # --validate=false: once the CRD's OpenAPI is published, kubectl would refuse notAField itself;
    # what is tested here is the server's pruning.
    dry = kube_cluster.kubectl(
        "apply", "--validate=false", "--dry-run=server", "-o", "json", "-f", "-", input=manifest
    )
    assert json.loads(dry.stdout)["metadata"]["name"] == "code-style"
    absent = kube_cluster.kubectl("-n", kube_namespace, "get", "dr", "code-style", check=False)
    assert "NotFound" in absent.stderr
    kube_cluster.kubectl("apply", "--validate=false", "-f", "-", input=manifest)
    custom = k8s.CustomObjectsApi(kube_api)
    args = ("distillery.dev", "v1alpha1", kube_namespace, "distillationruns", "code-style")
    stored = custom.get_namespaced_custom_object(*args)
    assert "notAField" not in stored["spec"] and stored["spec"]["teacher"]["model"] == "claude-sonnet-4-6"
    custom.patch_namespaced_custom_object_status(
        *args, {"status": {"phase": "Collecting", "summary": {"examples": 3, "bogus": 1}, "extra": "x"}})
    status = custom.get_namespaced_custom_object(*args)["status"]
    assert status == {"phase": "Collecting", "summary": {"examples": 3}}
    with pytest.raises(ApiException) as caught:  # the schema's enum is enforced on status writes
        custom.patch_namespaced_custom_object_status(*args, {"status": {"phase": "Dancing"}})
    assert caught.value.status == 422 and "status.phase" in caught.value.body


TERMINATION_SCRIPT = """
import os, sys
print("working"); sys.stdout.flush()
open(os.environ["REPORT"], "w").write('{"examples": 3}')
"""


def test_job_completes_through_the_job_controller_with_termination_message(
        kube_cluster: TestCluster, kube_namespace: str, kube_api: k8s.ApiClient,
        test_kubelet: TestKubelet) -> None:
    kube_cluster.require_controller_manager("the Job controller")
    batch, core = k8s.BatchV1Api(kube_api), k8s.CoreV1Api(kube_api)
    spec = container(TERMINATION_SCRIPT, env=[{"name": "REPORT", "value": "/dev/termination-log"}])
    batch.create_namespaced_job(kube_namespace, job("ok", spec))
    assert wait_until(lambda: job_condition(batch, kube_namespace, "ok"), what="Job finished") == "Complete"
    pod = job_pod(core, kube_namespace, "ok")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (pod.status.phase, terminated.exit_code, terminated.reason) == ("Succeeded", 0, "Completed")
    assert terminated.message == '{"examples": 3}'
    assert batch.read_namespaced_job_status("ok", kube_namespace).status.succeeded == 1
    assert test_kubelet.log_path(pod.metadata.name, "main").read_text() == "working\n"


def test_failing_job_fails_with_exit_code_and_log_tail(
        kube_cluster: TestCluster, kube_namespace: str, kube_api: k8s.ApiClient,
        test_kubelet: TestKubelet) -> None:
    kube_cluster.require_controller_manager("the Job controller")
    batch, core = k8s.BatchV1Api(kube_api), k8s.CoreV1Api(kube_api)
    spec = container("import sys; sys.exit('boom: no teacher')",
                     terminationMessagePolicy="FallbackToLogsOnError")
    batch.create_namespaced_job(kube_namespace, job("bad", spec))
    assert wait_until(lambda: job_condition(batch, kube_namespace, "bad"), what="Job finished") == "Failed"
    conditions = batch.read_namespaced_job_status("bad", kube_namespace).status.conditions
    assert [c.reason for c in conditions if c.type == "Failed"] == ["BackoffLimitExceeded"]
    pod = job_pod(core, kube_namespace, "bad")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (pod.status.phase, terminated.exit_code, terminated.reason) == ("Failed", 1, "Error")
    assert terminated.message == "boom: no teacher\n"
    assert test_kubelet.exit_codes[pod.metadata.name] == 1


WIRING_SCRIPT = """
import os, sys
spec = open(sys.argv[1]).read()
open(os.environ["MSG"], "w").write(os.environ["API_KEY"] + "|" + os.environ["POD"] + "|" + spec)
"""


def test_secret_env_and_config_map_volume_reach_the_process(
        kube_namespace: str, kube_api: k8s.ApiClient, test_kubelet: TestKubelet) -> None:
    core, ns = k8s.CoreV1Api(kube_api), kube_namespace
    core.create_namespaced_config_map(ns, {"metadata": {"name": "run"}, "data": {"run.yaml": "kind: X"}})
    spec = container(WIRING_SCRIPT, args=["/etc/distillery/run.yaml"],
                     env=[{"name": "API_KEY",
                           "valueFrom": {"secretKeyRef": {"name": "anthropic", "key": "k"}}},
                          {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                          {"name": "MSG", "value": "/dev/termination-log"}],
                     volumeMounts=[{"name": "spec", "mountPath": "/etc/distillery", "readOnly": True}])
    core.create_namespaced_pod(ns, {"metadata": {"name": "wired"}, "spec": {
        "restartPolicy": "Never", "containers": [spec],
        "volumes": [{"name": "spec", "configMap": {"name": "run"}}]}})

    def waiting() -> Any:
        statuses = core.read_namespaced_pod_status("wired", ns).status.container_statuses or []
        return statuses and statuses[0].state.waiting
    state = wait_until(lambda: (w := waiting()) and w.reason == "CreateContainerConfigError" and w,
                       what="CreateContainerConfigError")
    assert state.message == 'secret "anthropic" not found' and test_kubelet.exit_codes == {}
    core.create_namespaced_secret(ns, {"metadata": {"name": "anthropic"}, "stringData": {"k": "sk-test"}})
    assert test_kubelet.wait_exit("wired") == 0
    pod = wait_until(lambda: (p := core.read_namespaced_pod_status("wired", ns)).status.phase == "Succeeded"
                     and p, what="pod Succeeded")
    assert pod.status.container_statuses[0].state.terminated.message == "sk-test|wired|kind: X"


STUBBORN_SCRIPT = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: print("SIGTERM ignored", flush=True))
print(os.getpid(), flush=True)
time.sleep(300)
"""
POLITE_SCRIPT = STUBBORN_SCRIPT.replace('print("SIGTERM ignored", flush=True)', "sys.exit(143)")


def _pid_from_log(kubelet: TestKubelet, pod: str) -> int:
    return int(wait_until(lambda: kubelet.log_path(pod, "main").read_text().strip()
                          if kubelet.log_path(pod, "main").exists() else "", what="pid in log").split()[0])


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_deleting_a_job_collects_its_pod_and_kills_the_process(
        kube_cluster: TestCluster, kube_namespace: str, kube_api: k8s.ApiClient,
        test_kubelet: TestKubelet) -> None:
    kube_cluster.require_controller_manager("garbage collection")
    batch, core = k8s.BatchV1Api(kube_api), k8s.CoreV1Api(kube_api)
    batch.create_namespaced_job(kube_namespace, job("long", container(POLITE_SCRIPT)))
    test_kubelet.wait_for(lambda: len(test_kubelet.started) == 1, what="pod start")
    pod = test_kubelet.started[0]
    pid = _pid_from_log(test_kubelet, pod)
    batch.delete_namespaced_job("long", kube_namespace, propagation_policy="Background")
    assert test_kubelet.wait_exit(pod, timeout=30) == 143
    assert test_kubelet.killed == [pod] and _gone(pid)
    wait_until(lambda: not core.list_namespaced_pod(kube_namespace).items, what="pod garbage-collected")


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(
        kube_namespace: str, kube_api: k8s.ApiClient, test_kubelet: TestKubelet) -> None:
    core = k8s.CoreV1Api(kube_api)
    core.create_namespaced_pod(kube_namespace, {"metadata": {"name": "stubborn"}, "spec": {
        "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
        "containers": [container(STUBBORN_SCRIPT)]}})
    pid = _pid_from_log(test_kubelet, "stubborn")
    began = time.monotonic()
    core.delete_namespaced_pod("stubborn", kube_namespace)
    assert test_kubelet.wait_exit("stubborn", timeout=15) == 137
    assert 0.9 <= time.monotonic() - began < 8 and _gone(pid)
    assert "SIGTERM ignored" in test_kubelet.log_path("stubborn", "main").read_text()


def test_commands_resolve_in_the_venv_and_a_missing_one_is_a_start_error(
        kube_namespace: str, kube_api: k8s.ApiClient, test_kubelet: TestKubelet) -> None:
    core = k8s.CoreV1Api(kube_api)
    for name, command in (("venv", ["python", "-c", "import sys; print(sys.prefix)"]),
                          ("missing", ["no-such-program-xyz", "--flag"])):
        core.create_namespaced_pod(kube_namespace, {"metadata": {"name": name}, "spec": {
            "restartPolicy": "Never", "containers": [{"name": "main", "image": "x", "command": command}]}})
    assert test_kubelet.wait_exit("venv") == 0
    assert test_kubelet.log_path("venv", "main").read_text().strip() == sys.prefix
    assert test_kubelet.wait_exit("missing") == 128
    pod = wait_until(lambda: (p := core.read_namespaced_pod_status("missing", kube_namespace)).status.phase
                     == "Failed" and p, what="pod Failed")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (128, "StartError")
    assert terminated.message == 'exec: "no-such-program-xyz": executable file not found in $PATH'


def test_init_container_runs_first_and_shares_an_empty_dir(
        kube_namespace: str, kube_api: k8s.ApiClient, test_kubelet: TestKubelet) -> None:
    core = k8s.CoreV1Api(kube_api)
    mount = [{"name": "work", "mountPath": "/scratch"}]
    init = {**container("import sys; open(sys.argv[1], 'w').write('prepared')", args=["/scratch/x"]),
            "name": "prepare", "volumeMounts": mount}
    main = container("import sys; open(sys.argv[2], 'w').write(open(sys.argv[1]).read() + '+ran')",
                     args=["/scratch/x", "/dev/termination-log"], volumeMounts=mount)
    core.create_namespaced_pod(kube_namespace, {"metadata": {"name": "two-step"}, "spec": {
        "restartPolicy": "Never", "initContainers": [init], "containers": [main],
        "volumes": [{"name": "work", "emptyDir": {}}]}})
    pod = wait_until(lambda: (p := core.read_namespaced_pod_status("two-step", kube_namespace)).status.phase
                     == "Succeeded" and p, what="pod Succeeded")
    assert pod.status.init_container_statuses[0].state.terminated.reason == "Completed"
    assert pod.status.container_statuses[0].state.terminated.message == "prepared+ran"

