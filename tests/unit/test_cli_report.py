"""`distillery report`: a stored run's table and summary, from a path, file:// or s3://."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from distillery import layout, phases
from distillery.api.spec import DistillationRunSpec
from distillery.cli.main import main as cli_main
from distillery.store import ArtifactStore, open_store

SPEC = DistillationRunSpec.model_validate(
    {
        "task": {"systemPrompt": "Answer in JSON."},
        "teacher": {"model": "claude-haiku-4-5"},
        "prompts": {"sources": [{"inline": ["hi"]}]},
        "student": {"baseModel": "/models/tiny"},
        "evaluation": {"heldOut": {"inline": ["ok"]}},
    }
)
SUMMARIES: dict[str, dict[str, Any]] = {
    "collect": {"status": "Succeeded", "prompts": 40, "collected": 40, "cost_usd": 0.0251},
    "curate": {"train": 36, "validation": 2, "rejected": 2},
    "train": {"initial_loss": 8.1, "final_loss": 0.083, "steps": 60},
    "evaluate": {"gates_passed": True},
}
REPORT: dict[str, Any] = {
    "models": {
        "base": {"contract_pass_rate": 0.0, "rule_pass_rates": {"six-bands": 0.0}, "latency_p50_ms": 41.0},
        "student": {
            "contract_pass_rate": 0.875,
            "rule_pass_rates": {"six-bands": 1.0},
            "latency_p50_ms": 40.5,
        },
        "teacher": {"contract_pass_rate": 1.0, "rule_pass_rates": {"six-bands": 1.0}},
    },
    "gates": [{"metric": "contractPassRate", "min": 0.5, "max": None, "value": 0.875, "passed": True}],
    "verdict": {"verdict": "marginal", "reason": "quality drop +12.5% vs teacher"},
}


def store_run(root: ArtifactStore, *, attempt: int = 2, with_status: bool = True) -> None:
    """A finished attempt as the runner and the phases leave it."""
    for name, summary in SUMMARIES.items():
        root.write_json(f"a{attempt}/{name}/{layout.SUMMARY}", summary)
    root.write_json(f"a{attempt}/evaluate/{layout.EVALUATE_REPORT_JSON}", REPORT)
    if with_status:
        observed = {name: phases.outcome_from_summary(name, summary) for name, summary in SUMMARIES.items()}
        status = phases.derive_status(
            SPEC, observed, namespace="ml", run="sinc", attempt=attempt, now="2026-01-01T00:00:00Z"
        )
        root.write_json("status.json", status.to_api())


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # tables one row per line, as on a wide terminal


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    store_run(open_store(f"file://{tmp_path}/ml/sinc"))
    return tmp_path / "ml" / "sinc"


def test_report_of_a_run_directory(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report(capsys, str(run_dir))
    assert code == 0
    assert f"attempt 2: file://{run_dir}/a2" in out
    assert "Run: Succeeded (attempt 2)" in out
    assert "40/40 collected" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 4}
    assert "87.5%" in rows["contract pass rate (strict)"] and "0%" in rows["contract pass rate (strict)"]
    assert "rule six-bands" in rows
    assert "contractPassRate" in out and "pass" in out
    assert "verdict: marginal — quality drop +12.5% vs teacher" in out
    assert f"report: {run_dir}/a2/evaluate/report.html" in out


@pytest.mark.parametrize("target", ["a2", "a2/evaluate", "a2/evaluate/report.json"])
def test_report_of_an_attempt_evaluate_dir_or_report_file(
    run_dir: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = report(capsys, f"file://{run_dir}/{target}")
    assert code == 0
    assert f"attempt 2: file://{run_dir}/a2" in out
    assert "Phases" in out and "final loss 0.083" in out  # no status.json read: phases from summaries
    assert "87.5%" in out


def test_report_json(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report(capsys, str(run_dir), "--json")
    body = json.loads(out)
    assert code == 0
    assert body["attempt"] == 2 and body["report"] == REPORT and body["summaries"] == SUMMARIES
    assert body["status"]["phase"] == "Succeeded" and body["status"]["summary"]["collected"] == 40


def test_report_of_an_attempt_still_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = open_store(f"file://{tmp_path}")
    root.write_json(f"a1/collect/{layout.SUMMARY}", SUMMARIES["collect"])
    code, out, _ = report(capsys, str(tmp_path / "a1"))
    assert code == 0
    assert "collect" in out and "no evaluation report yet" in out


def test_report_of_nothing_says_what_it_expected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = report(capsys, str(tmp_path))
    assert code == 1
    assert "no run here" in err and "status.json" in err


def test_report_from_s3(s3_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store_run(open_store(s3_env.uri("distillery/ml/sinc")))
    code, out, _ = report(capsys, s3_env.uri("distillery/ml/sinc"))
    assert code == 0
    assert f"attempt 2: {s3_env.uri('distillery/ml/sinc/a2')}" in out
    assert "87.5%" in out
    assert f"report: {s3_env.uri('distillery/ml/sinc/a2/evaluate/report.html')}" in out
