"""The Helm chart rendered by helm v3.18 (offline): lint, schema, RBAC from rbac.py, settings, copies.

Server-side validation against the test API server is in tests/integration/test_chart_cluster.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from distillery_operator.rbac import RULES, cluster_role
from distillery_operator.settings import ENV_PREFIX, OperatorSettings
from tests.fixtures.helm import CHART, ROOT, Helm, HelmError, find

EVERYTHING: dict[str, Any] = {
    "replicaCount": 3,
    "watchNamespaces": ["team-a", "team-b"],
    "resyncSeconds": 15,
    "historyLimit": 4,
    "image": {"repository": "registry.example/op", "tag": "9.9", "pullPolicy": "Always"},
    "imagePullSecrets": ["regcred"],
    "jobs": {
        "image": {"repository": "registry.example/jobs", "tag": "9.9-cuda", "pullPolicy": "Always"},
        "serviceAccount": {"create": True, "name": "trainer", "namespaces": ["team-c"]},
        "resources": {"cpu": "2", "memory": "4Gi"},
        "backoffLimit": 5,
        "activeDeadlineSeconds": 7200,
        "ttlSecondsAfterFinished": 60,
        "terminationGracePeriodSeconds": 90,
        "scratchSize": "100Gi",
        "startTimeoutSeconds": 1200,
        "maxRecreations": 1,
        "env": {"HTTPS_PROXY": "http://proxy:3128"},
    },
    "storage": {"endpoint": "http://minio.storage:9000", "region": "eu-west-1"},
    "ports": {"metrics": 9090, "health": 9091},
    "serviceMonitor": {"enabled": True, "labels": {"release": "kps"}},
    "prometheusRule": {"enabled": True, "labels": {"release": "kps"}, "stuckPhaseSeconds": 3600},
    "dashboard": {"enabled": True, "namespace": "monitoring"},
    "nodeSelector": {"pool": "system"},
    "priorityClassName": "system-cluster-critical",
}


def operator_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = find(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container["env"]}


def test_lint_strict_with_default_and_non_default_values(helm: Helm, tmp_path: Path) -> None:
    helm.run("lint", "--strict", str(CHART))
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(EVERYTHING))
    helm.run("lint", "--strict", str(CHART), "--values", str(values))


def test_every_value_is_documented() -> None:
    """helm-docs style: every leaf value has a `# --` comment above it or above an ancestor key."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, str, bool]] = []  # (indent, key, documented)
    undocumented = []
    for index, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z]\w*):(.*)$", line)
        if not match:
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3).strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        above = index - 1
        while (
            above >= 0
            and lines[above].strip().startswith("#")
            and not lines[above].strip().startswith("# --")
        ):
            above -= 1
        documented = (above >= 0 and lines[above].strip().startswith("# --")) or any(d for _, _, d in stack)
        if rest and not documented:  # a leaf (or inline value) with no `# --` on it or an ancestor
            undocumented.append(".".join([k for _, k, _ in stack] + [key]))
        stack.append((indent, key, documented))
    assert undocumented == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("imagen.tag=x", "Additional property imagen is not allowed"),
        ("jobs.resources.cpus=1", "Additional property cpus is not allowed"),
        ("prometheusRule.stuckPhaseSeconds=ten", "stuckPhaseSeconds"),
        ("watchNamespaces={Team_A}", "watchNamespaces"),
    ],
)
def test_the_schema_rejects_typos_and_bad_values(helm: Helm, value: str, message: str) -> None:
    with pytest.raises(HelmError, match=message):
        helm.template(None, value)


def test_several_replicas_need_peering(helm: Helm) -> None:
    with pytest.raises(HelmError, match=r"needs peering\.enabled"):
        helm.template(None, "replicaCount=2", "peering.enabled=false")
    objects = helm.template(None, "replicaCount=1", "peering.enabled=false")
    assert env_of(operator_container(objects))["DISTILLERY_PEERING"] == "none"
    assert find(objects, "ClusterKopfPeering") == []


def rule_set(rules: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(rule, sort_keys=True) for rule in rules)


def test_the_rbac_is_exactly_the_operators_rbac_data(helm: Helm) -> None:
    """All namespaces: one ClusterRole with RULES. Listed namespaces: the same rules, those on
    namespaced resources granted only in the listed namespaces. Nothing else, to no one else."""
    objects = helm.template(None)
    (role,) = find(objects, "ClusterRole")
    assert role["rules"] == cluster_role("x")["rules"] and len(role["rules"]) == len(RULES)
    assert find(objects, "Role") == [] and find(objects, "RoleBinding") == []
    (binding,) = find(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    subject = [{"kind": "ServiceAccount", "name": "dist-distillery", "namespace": "distillery-system"}]
    assert binding["subjects"] == subject

    objects = helm.template(EVERYTHING)
    roles = {r["metadata"]["name"]: r for r in find(objects, "ClusterRole")}
    assert set(roles) == {"dist-distillery", "dist-distillery-namespaced"}
    granted = roles["dist-distillery"]["rules"] + roles["dist-distillery-namespaced"]["rules"]
    assert rule_set(granted) == rule_set(cluster_role("x")["rules"])
    cluster_wide = {r for rule in roles["dist-distillery"]["rules"] for r in rule["resources"]}
    assert cluster_wide == {"namespaces", "customresourcedefinitions", "clusterkopfpeerings"}
    (binding,) = find(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == "dist-distillery" and binding["subjects"] == subject
    bindings = find(objects, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    for namespaced in bindings:
        assert namespaced["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "dist-distillery-namespaced",
        }
        assert namespaced["subjects"] == subject
    assert find(objects, "Role") == []


def test_the_copies_of_crds_and_rules_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sync_chart.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    chart_crd = (CHART / "crds" / "distillationruns.distillery.dev.yaml").read_bytes()
    assert chart_crd == (ROOT / "crds" / "distillationruns.distillery.dev.yaml").read_bytes()


def test_a_stale_copy_fails_the_check(tmp_path: Path) -> None:
    """The check really compares: a chart whose rule file lost a verb is reported."""
    rules = CHART / "files" / "rbac-rules.yaml"
    original = rules.read_bytes()
    try:
        rules.write_bytes(original.replace(b"  - delete\n", b"", 1))
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "sync_chart.py"), "--check"],
            capture_output=True,
            text=True,
        )
    finally:
        rules.write_bytes(original)
    assert result.returncode == 1 and "charts/distillery/files/rbac-rules.yaml" in result.stderr


def test_the_rendered_crds_and_peering_are_the_repositorys(helm: Helm) -> None:
    objects = helm.template(None)
    repo = [d for d in yaml.safe_load_all((ROOT / "crds" / "kopf-peering.yaml").read_text()) if d]
    repo += [yaml.safe_load((ROOT / "crds" / "distillationruns.distillery.dev.yaml").read_text())]
    rendered = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    for document in repo:
        key = (document["kind"], document["metadata"]["name"])
        got = dict(rendered[key])
        if document["kind"] == "ClusterKopfPeering":  # the chart adds its labels
            got["metadata"] = {"name": got["metadata"]["name"]}
        assert got == document, key


def test_values_become_the_operators_settings(helm: Helm) -> None:
    """The Deployment's env, read by the operator's own OperatorSettings.from_env."""
    container = operator_container(helm.template(EVERYTHING))
    env = env_of(container)
    assert all(name.startswith(ENV_PREFIX) for name in env)
    settings = OperatorSettings.from_env(env)
    assert settings == OperatorSettings(
        job_image="registry.example/jobs:9.9-cuda",
        image_pull_policy="Always",
        job_service_account="trainer",
        namespaces=("team-a", "team-b"),
        job_cpu="2",
        job_memory="4Gi",
        backoff_limit=5,
        active_deadline_seconds=7200,
        ttl_seconds_after_finished=60,
        termination_grace_seconds=90,
        scratch_size="100Gi",
        job_start_timeout_seconds=1200,
        max_job_recreations=1,
        history_limit=4,
        resync_seconds=15,
        metrics_port=9090,
        liveness_port=9091,
        listen_address="0.0.0.0",
        peering="distillery",
        extra_job_env={
            "AWS_ENDPOINT_URL": "http://minio.storage:9000",
            "AWS_REGION": "eu-west-1",
            "HTTPS_PROXY": "http://proxy:3128",
        },
    )
    assert container["image"] == "registry.example/op:9.9"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 9090, "health": 9091}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}


def test_defaults_are_the_operators_defaults(helm: Helm) -> None:
    settings = OperatorSettings.from_env(env_of(operator_container(helm.template(None))))
    assert settings == OperatorSettings()


def test_the_operator_pod_is_locked_down(helm: Helm) -> None:
    (deployment,) = find(helm.template(None), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert {"livenessProbe", "readinessProbe"} <= container.keys()
    assert deployment["spec"]["replicas"] == 2


def test_optional_objects_and_namespaced_peering(helm: Helm) -> None:
    defaults = helm.template(None)
    for kind in ("ServiceMonitor", "PrometheusRule", "ConfigMap", "KopfPeering"):
        assert find(defaults, kind) == [], kind
    assert [p["metadata"]["name"] for p in find(defaults, "ClusterKopfPeering")] == ["distillery"]

    objects = helm.template(EVERYTHING)
    assert find(objects, "ClusterKopfPeering") == []
    peerings = find(objects, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == ["team-a", "team-b"]
    job_accounts = [a for a in find(objects, "ServiceAccount") if a["metadata"]["name"] == "trainer"]
    assert sorted(a["metadata"]["namespace"] for a in job_accounts) == ["team-a", "team-b", "team-c"]
    assert all(a["automountServiceAccountToken"] is False for a in job_accounts)
    (monitor,) = find(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is True
    (service,) = find(objects, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (dashboard,) = find(objects, "ConfigMap")
    assert dashboard["metadata"]["namespace"] == "monitoring"
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    (rule,) = find(objects, "PrometheusRule")
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {
        "DistilleryRunFailed",
        "DistilleryRunStuck",
        "DistilleryBudgetExceeded",
        "DistilleryReconcileErrors",
    }
    assert "> 3600" in alerts["DistilleryRunStuck"]["expr"]


def test_every_object_is_valid_against_the_kubernetes_schemas(helm: Helm) -> None:
    """kubernetes-validate --strict (its bundled schemas, offline) for every built-in kind."""
    import kubernetes_validate

    version = "1.30.0"
    checked = set()
    for values in (None, EVERYTHING):
        for obj in helm.template(values):
            if obj["apiVersion"].startswith(("kopf.dev/", "monitoring.coreos.com/")):
                # Custom kinds: peering objects by a server-side dry run (tests/integration/
                # test_chart_cluster.py); PrometheusRule by promtool (test_chart_alerts.py). No
                # ServiceMonitor schema is available offline: its fields are asserted above.
                continue
            kubernetes_validate.validate(obj, version, strict=True)
            checked.add(obj["kind"])
    assert checked == {
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "RoleBinding",
        "Service",
        "Deployment",
        "ConfigMap",
    }
