"""The chart's alert rules through Debian's promtool: `check rules`, then `test rules`
(tests/chart/alerts.test.yaml: each alert firing in one case, silent in another)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.cluster.binaries import cache_bin_dir
from tests.fixtures.helm import ROOT, Helm, find

TESTS = ROOT / "tests" / "chart" / "alerts.test.yaml"


def promtool() -> Path:
    path = cache_bin_dir() / "promtool"
    assert path.exists(), f"{path} missing: run bash tests/cluster/build-binaries.sh"
    return path


def rules_file(helm: Helm, folder: Path) -> Path:
    objects = helm.template(None, "prometheusRule.enabled=true", "prometheusRule.stuckPhaseSeconds=3600")
    (rule,) = find(objects, "PrometheusRule")
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    return path


def test_promtool_checks_the_rules(helm: Helm, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(promtool()), "check", "rules", str(rules_file(helm, tmp_path))], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 rules found" in result.stdout, result.stdout


def test_each_alert_fires_and_stays_silent_as_expected(helm: Helm, tmp_path: Path) -> None:
    rules_file(helm, tmp_path)
    shutil.copy(TESTS, tmp_path / TESTS.name)
    result = subprocess.run(
        [str(promtool()), "test", "rules", TESTS.name], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


def test_the_tests_cover_every_alert(helm: Helm, tmp_path: Path) -> None:
    alerts = {
        r["alert"]
        for g in yaml.safe_load(rules_file(helm, tmp_path).read_text())["groups"]
        for r in g["rules"]
    }
    cases = yaml.safe_load(TESTS.read_text())["tests"]
    tested = {}
    for case in cases:
        for check in case["alert_rule_test"]:
            tested.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    assert {name: tested.get(name) for name in alerts} == {name: {True, False} for name in alerts}
