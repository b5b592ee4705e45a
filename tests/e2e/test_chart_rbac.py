"""The chart's RBAC proven by the real authorizer, then `kubectl distill` on the finished run.

The chart's ServiceAccount, ClusterRole, ClusterRoleBinding, KopfPeering and the Jobs'
ServiceAccount are applied to the test API server (v1.20, tests/README.md); the operator runs as
that ServiceAccount (its token in the kubeconfig, kopf peering on) and the main scenario runs: a
run goes to Succeeded with nothing forbidden on the way. The live /metrics then carries every
metric the dashboard and the alerts use, and the plugin reads the run, its report from S3 (moto)
and starts a rerun that the operator, with the same restricted token, acts on.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from distillery_operator.rbac import cluster_role
from tests.cluster.apiserver import TestCluster
from tests.e2e.operator_kit import Runs, apply, conditions, create_secrets, run_manifest
from tests.fixtures.helm import CHART, Helm, find
from tests.fixtures.operator import wait_established
from tests.unit.test_chart_dashboard import DASHBOARD, exported_names, metric_names, queries
from tests.unit.test_chart_render import rule_set

pytestmark = pytest.mark.slow
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "RoleBinding", "KopfPeering")


def service_account_token(core: k8s.CoreV1Api, name: str, namespace: str, timeout: float = 60) -> str:
    """v1.20's token controller creates a Secret for each ServiceAccount."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        account = core.read_namespaced_service_account(name, namespace)
        if account.secrets:
            secret = core.read_namespaced_secret(account.secrets[0].name, namespace)
            if secret.data and secret.data.get("token"):
                return base64.b64decode(secret.data["token"]).decode()
        time.sleep(0.2)
    raise AssertionError(f"no token for serviceaccount {namespace}/{name} within {timeout} s")


def kubeconfig_with_token(cluster: TestCluster, token: str, path: Path) -> Path:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for user in config["users"]:
        user["user"] = {"token": token}
    path.write_text(yaml.safe_dump(config))
    return path


def install_chart_rbac(
    cluster: TestCluster, helm: Helm, release: str, namespace: str, watched: str
) -> list[dict]:
    cluster.kubectl("apply", "--validate=false", "-f", str(CHART / "crds"))
    wait_established(cluster, "kopfpeerings.kopf.dev")
    values = {"watchNamespaces": [watched], "peering": {"enabled": True, "name": "distillery"}}
    objects = helm.template(values, namespace=namespace, release=release)
    chosen = [o for o in objects if o["kind"] in RBAC_KINDS]
    cluster.kubectl("create", "namespace", namespace)
    for obj in chosen:
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(obj))
    return objects


def kubectl_distill(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distillery.kubectl.main", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_operator_runs_a_pipeline_with_the_charts_rbac_only(
    kube_cluster,
    kube_namespace,
    kube_api,
    test_kubelet,
    fake_anthropic,
    s3_env,
    tiny_model_dir,
    distillery_crd,
    operator_process,
    helm: Helm,
    tmp_path: Path,
) -> None:
    release, system = f"rb{secrets.token_hex(3)}", f"dsys-{secrets.token_hex(3)}"
    (rule,) = find(helm.template(None, "prometheusRule.enabled=true"), "PrometheusRule")
    objects = install_chart_rbac(kube_cluster, helm, release, system, kube_namespace)
    try:
        _scenario(
            kube_cluster,
            kube_namespace,
            kube_api,
            fake_anthropic,
            s3_env,
            tiny_model_dir,
            operator_process,
            objects,
            system,
            tmp_path,
            rule["spec"]["groups"],
        )
    finally:
        for obj in objects:
            if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):  # the rest goes with the namespaces
                kube_cluster.kubectl("delete", obj["kind"].lower(), obj["metadata"]["name"], check=False)
        kube_cluster.kubectl("delete", "namespace", system, "--wait=false", check=False)


def _scenario(
    cluster, namespace, api, teacher, s3, model_dir, operator_process, objects, system, tmp_path, alert_groups
):
    core = k8s.CoreV1Api(api)
    (account,) = [a for a in find(objects, "ServiceAccount") if a["metadata"]["namespace"] == system]
    subject = {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": system}
    # What the chart grants is exactly the operator's RBAC data, and only to its ServiceAccount:
    # cluster-scoped rules cluster-wide, the rest by a RoleBinding in the watched namespace only.
    granted = [rule for role in find(objects, "ClusterRole") for rule in role["rules"]]
    assert rule_set(granted) == rule_set(cluster_role("x")["rules"])
    bindings = find(objects, "ClusterRoleBinding") + find(objects, "RoleBinding")
    assert [b["subjects"] for b in bindings] == [[subject], [subject]]
    assert [b["metadata"].get("namespace") for b in find(objects, "RoleBinding")] == [namespace]
    token = service_account_token(core, account["metadata"]["name"], system)
    kubeconfig = kubeconfig_with_token(cluster, token, tmp_path / "operator.kubeconfig")

    # The token is the ServiceAccount's, not an admin's: the authorizer denies what RULES lacks.
    def can_i(*args: str) -> str:
        return cluster.kubectl(
            "--kubeconfig", str(kubeconfig), "auth", "can-i", *args, check=False
        ).stdout.strip()

    assert can_i("get", "secrets", "-n", namespace) == "no"
    assert can_i("create", "jobs.batch", "-n", namespace) == "yes"
    assert can_i("create", "jobs.batch", "-n", "default") == "no"  # not a watched namespace
    assert can_i("list", "namespaces") == "yes"
    assert can_i("delete", "distillationruns.distillery.dev", "-n", namespace) == "no"

    create_secrets(core, namespace)
    operator = operator_process(
        namespace,
        KUBECONFIG=str(kubeconfig),
        DISTILLERY_PEERING="distillery",
        DISTILLERY_JOB_SERVICE_ACCOUNT="distillery-job",  # the chart's Jobs' ServiceAccount
    )
    manifest = run_manifest(
        "ok",
        namespace,
        model_dir=Path(model_dir),
        teacher_url=teacher.base_url,
        storage_uri=s3.uri("runs"),
        storage_endpoint=s3.endpoint,
    )
    apply(cluster, manifest)
    runs = Runs(api, namespace)
    status = runs.wait_phase("ok", "Succeeded", "Failed", timeout=420)
    log = operator.log()
    assert status["phase"] == "Succeeded", (status, log[-3000:])
    assert set(conditions(status).values()) == {("True", "Completed")}
    assert not re.search(r"\b403\b|[Ff]orbidden|Traceback", log), log[-3000:]
    jobs = runs.jobs("ok")
    assert len(jobs) == 4
    assert {j["spec"]["template"]["spec"]["service_account_name"] for j in jobs} == {"distillery-job"}

    # Every metric the dashboard and the alerts query is in the live /metrics of this operator.
    exported = exported_names(operator.metrics())
    dashboard = json.loads(DASHBOARD.read_text())
    used = set().union(*(metric_names(q) for q in queries(dashboard)))
    alert_exprs = [r["expr"] for g in alert_groups for r in g["rules"]]
    used |= set().union(*(metric_names(e) for e in alert_exprs))
    assert used <= exported, used - exported
    assert (
        f'distillery_run_phase{{namespace="{namespace}",phase="Succeeded",run="ok"}} 1.0'
        in operator.metrics()
    )

    _plugin_reads_the_finished_run(cluster, namespace, runs, status)


def _plugin_reads_the_finished_run(cluster: TestCluster, namespace: str, runs: Runs, status: dict) -> None:
    admin = cluster.kubeconfig
    listed = kubectl_distill(admin, "list", "-n", namespace)
    assert listed.returncode == 0, listed.stderr
    row = listed.stdout.splitlines()[1].split()
    assert row[:3] == ["ok", "Succeeded", "1"] and row[3] == str(status["summary"]["examples"])

    shown = kubectl_distill(admin, "status", "ok", "-n", namespace)
    assert shown.returncode == 0, shown.stderr
    assert "phase Succeeded" in shown.stdout and "Complete" in shown.stdout and "JobCreated" in shown.stdout

    report = kubectl_distill(admin, "report", "ok", "-n", namespace)
    assert report.returncode == 0, report.stderr
    assert "Evaluation on held-out prompts" in report.stdout and "student" in report.stdout
    assert status["artifacts"]["prefix"] in report.stdout
    stored = json.loads(kubectl_distill(admin, "report", "ok", "-n", namespace, "--json").stdout)
    assert stored["report"]["examples"] == status["results"]["evaluate"]["examples"]

    logs = kubectl_distill(admin, "logs", "ok", "-n", namespace, "--phase", "collect")
    assert logs.returncode == 1 and "==> pod/ok-a1-collect-" in logs.stdout
    assert "is on no node" in logs.stderr  # the test kubelet binds no node: see tests/README.md

    rerun = kubectl_distill(admin, "rerun", "ok", "-n", namespace, "--token", "from-plugin")
    assert rerun.returncode == 0, rerun.stderr
    again = runs.wait("ok", lambda s: s.get("attempt", 0) >= 2, "on a new attempt", 60)
    assert again["history"][-1]["attempt"] == 1 and again["history"][-1]["outcome"] == "Succeeded"
    started = [e.message for e in runs.events("ok") if e.reason == "AttemptStarted"]
    assert any("attempt 2 started: RerunRequested" in message for message in started), started
