"""The chart against the real test API server (v1.20, tests/README.md): `helm install` with default
values, and every object of a non-default rendering through kubectl's schema validation and a
server-side dry run. ServiceMonitor and PrometheusRule are left out here: their CRDs (Prometheus
Operator) are not installed in the test cluster; promtool checks the rules
(tests/unit/test_chart_alerts.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cluster.apiserver import TestCluster
from tests.fixtures.helm import CHART, Helm, find
from tests.fixtures.operator import wait_established
from tests.unit.test_chart_render import EVERYTHING

MONITORING = "monitoring.coreos.com/"


@pytest.fixture
def namespaces(kube_cluster: TestCluster) -> Iterator[dict[str, str]]:
    suffix = secrets.token_hex(3)
    names = {key: f"{key}-{suffix}" for key in ("release", "team-a", "team-b", "team-c", "monitoring")}
    for name in names.values():
        kube_cluster.kubectl("create", "namespace", name)
    yield names
    kube_cluster.kubectl("delete", "namespace", "--wait=false", *names.values(), check=False)


@pytest.fixture
def chart_crds(kube_cluster: TestCluster) -> None:
    """The chart's crds/ folder, applied as helm would (v1.20's kubectl does not know CEL fields)."""
    kube_cluster.kubectl("apply", "--validate=false", "-f", str(CHART / "crds"))
    for crd in ("distillationruns.distillery.dev", "kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev"):
        wait_established(kube_cluster, crd)


def test_every_rendered_object_passes_a_server_side_dry_run(
    kube_cluster: TestCluster, helm: Helm, namespaces: dict[str, str], chart_crds: None
) -> None:
    values = {
        **EVERYTHING,
        "watchNamespaces": [namespaces["team-a"], namespaces["team-b"]],
        "jobs": {
            **EVERYTHING["jobs"],
            "serviceAccount": {"create": True, "name": "trainer", "namespaces": [namespaces["team-c"]]},
        },
        "dashboard": {"enabled": True, "namespace": namespaces["monitoring"]},
    }
    objects = helm.template(values, namespace=namespaces["release"])
    kinds = set()
    for obj in objects:
        if obj["apiVersion"].startswith(MONITORING) or obj["kind"] == "CustomResourceDefinition":
            continue  # CRDs: applied for real by chart_crds
        result = kube_cluster.kubectl(
            "apply", "--dry-run=server", "--validate=true", "-o", "yaml", "-f", "-", input=yaml.safe_dump(obj)
        )
        echoed = yaml.safe_load(result.stdout)
        assert echoed["kind"] == obj["kind"] and echoed["metadata"]["name"] == obj["metadata"]["name"]
        kinds.add(obj["kind"])
    assert kinds == {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "RoleBinding",
        "Service",
        "Deployment",
        "ConfigMap",
        "KopfPeering",
    }
    # A typo in a built-in object is caught by the same path (the check can fail).
    (deployment,) = find(objects, "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    broken = kube_cluster.kubectl(
        "apply",
        "--dry-run=server",
        "--validate=true",
        "-f",
        "-",
        input=yaml.safe_dump(deployment),
        check=False,
    )
    assert broken.returncode != 0 and "livenessProbes" in broken.stderr


def test_helm_install_creates_everything_and_notes_say_what_next(
    kube_cluster: TestCluster, helm: Helm, namespaces: dict[str, str], chart_crds: None, tmp_path: Path
) -> None:
    release, namespace = f"d{secrets.token_hex(3)}", namespaces["release"]
    kubeconfig = ["--kubeconfig", str(kube_cluster.kubeconfig)]
    installed = helm.run(
        "install",
        release,
        str(CHART),
        "--namespace",
        namespace,
        *kubeconfig,
        "--set",
        f"jobs.serviceAccount.namespaces={{{namespaces['team-c']}}}",
    )
    try:
        notes = installed.stdout
        assert f"kubectl -n {namespace} rollout status deployment/{release}-distillery" in notes
        assert "kubectl distill status" in notes
        deployment = yaml.safe_load(
            kube_cluster.kubectl(
                "get", "deployment", f"{release}-distillery", "-n", namespace, "-o", "yaml"
            ).stdout
        )
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == f"{release}-distillery"
        kube_cluster.kubectl("get", "clusterrole", f"{release}-distillery")
        kube_cluster.kubectl("get", "clusterkopfpeering", "distillery")
        kube_cluster.kubectl("get", "serviceaccount", "distillery-job", "-n", namespaces["team-c"])
    finally:
        helm.run("uninstall", release, "--namespace", namespace, *kubeconfig)
    gone = kube_cluster.kubectl("get", "clusterrole", f"{release}-distillery", check=False)
    assert gone.returncode != 0


def test_notes_of_a_cluster_wide_install_say_to_create_the_jobs_account(
    kube_cluster: TestCluster, helm: Helm, namespaces: dict[str, str], chart_crds: None
) -> None:
    """With no watched namespace the chart creates the Jobs' ServiceAccount nowhere: NOTES says so."""
    dry = helm.run(
        "install",
        "notes",
        str(CHART),
        "--dry-run=server",
        "--namespace",
        namespaces["release"],
        "--kubeconfig",
        str(kube_cluster.kubeconfig),
    )
    notes = dry.stdout.split("NOTES:", 1)[1]
    assert "watching every namespace" in notes
    assert "kubectl -n NS create serviceaccount distillery-job" in notes
