"""The Grafana dashboard: valid JSON with the panels the issue asks for, and every metric its PromQL
names is one the operator registers (the e2e test checks the same against a live /metrics)."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client import generate_latest

from distillery_operator.metrics import Metrics
from tests.fixtures.helm import CHART, Helm, find

DASHBOARD = CHART / "files" / "dashboard.json"


def queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def metric_names(promql: str) -> set[str]:
    return set(re.findall(r"\b(distillery_[a-z_]+)\b", promql))


def exported_names(exposition: str) -> set[str]:
    """Sample names a scrape can return: the samples present, and for each TYPE line the names its
    samples will have (a labelled metric has none until a run is observed)."""
    names = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", exposition, re.M))
    for kind_name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.M):
        suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("",)}.get(kind, ("",))
        names |= {kind_name + suffix for suffix in suffixes}
    return names


def test_the_dashboard_parses_and_has_the_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = {p["title"] for p in dashboard["panels"]}
    for wanted in ("Runs by phase", "Teacher cost", "loss", "pass rate", "Phase durations"):
        assert any(wanted.lower() in title.lower() for title in titles), wanted
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_every_metric_in_the_dashboard_is_exported() -> None:
    used = set().union(*(metric_names(q) for q in queries(json.loads(DASHBOARD.read_text()))))
    exported = exported_names(generate_latest(Metrics().registry).decode())
    assert used and used <= exported, used - exported


def test_the_configmap_carries_the_dashboard_for_the_sidecar(helm: Helm) -> None:
    (config_map,) = find(helm.template(None, "dashboard.enabled=true"), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["distillery.json"]) == json.loads(DASHBOARD.read_text())
