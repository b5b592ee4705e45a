"""The sweep job and the local runner's sweep mechanics with real `distillery-job` processes whose
steps fail fast or read arranged summaries (no model trained here: tests/e2e/test_sweep_run.py does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from distillery import layout
from distillery.cli.job import main as job_main
from distillery.context import JobContext
from distillery.store import open_store
from distillery.sweep.job import chosen_candidate
from tests.integration.test_runner_local import (
    arrange_finished_collect_and_curate,
    run_root,
    runner,
    write_manifest,
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


CANDIDATES = [
    {"name": "tiny", "baseModel": "/nonexistent/tiny"},
    {"name": "mid", "baseModel": "/nonexistent/mid"},
    {"name": "big", "baseModel": "/nonexistent/big"},
]


def arrange_candidate(
    workdir: Path, name: str, parameters: int, passed: bool | None, rate: float = 1.0
) -> None:
    """A candidate whose train finished; evaluate finished (passed True/False) or failed (None)."""
    attempt = open_store(f"file://{run_root(workdir)}/a1")
    attempt.write_json(f"train-{name}/{layout.SUMMARY}", {"status": "Succeeded", "parameters": parameters})
    if passed is None:
        summary: dict[str, Any] = {"status": "Failed", "reason": "held-out prompt leaked"}
    else:
        summary = {"status": "Succeeded", "gates_passed": passed, "contract_pass_rate": {"student": rate}}
        report = {
            "models": {"student": {"latency_p95_ms": parameters / 1000, "cost_per_1k_requests_usd": 0.01}}
        }
        attempt.write_json(f"evaluate-{name}/{layout.EVALUATE_REPORT_JSON}", report)
    attempt.write_json(f"evaluate-{name}/{layout.SUMMARY}", summary)


def sweep_summary(workdir: Path) -> dict[str, Any]:
    return json.loads((run_root(workdir) / "a1" / "sweep" / layout.SUMMARY).read_text())


def test_sweep_chooses_the_smallest_passing_and_reports_every_candidate(workdir: Path) -> None:
    manifest = write_manifest(workdir, student={"baseModel": "/nonexistent/x", "candidates": CANDIDATES})
    arrange_candidate(workdir, "tiny", 500_000, passed=None)
    arrange_candidate(workdir, "mid", 1_500_000, passed=False, rate=0.5)
    arrange_candidate(workdir, "big", 7_000_000, passed=True)
    assert job_main(["sweep", "--manifest", str(manifest)]) == 0
    summary = sweep_summary(workdir)
    assert summary["chosen"] == "big" and summary["gates_passed"] is True
    tiny, mid, big = summary["candidates"]
    assert tiny["failed"] == "evaluate: held-out prompt leaked" and tiny.get("gates_passed") is None
    assert (mid["parameters"], mid["contract_pass_rate"], mid["gates_passed"]) == (1_500_000, 0.5, False)
    assert (big["latency_p95_ms"], big["cost_per_1k_requests_usd"]) == (7000.0, 0.01)
    markdown = (run_root(workdir) / "a1" / "sweep" / layout.SWEEP_REPORT_MD).read_text()
    assert "Chosen: **big**" in markdown and "| mid | /nonexistent/mid | 1,500,000 | 50% |" in markdown
    chosen = chosen_candidate(JobContext.load(manifest, 1))
    assert chosen is not None and chosen.name == "big"
    assert chosen.train_prefix == f"file://{run_root(workdir)}/a1/train-big"
    assert chosen.evaluate_prefix == f"file://{run_root(workdir)}/a1/evaluate-big"


def test_sweep_with_none_passing_chooses_none(workdir: Path) -> None:
    manifest = write_manifest(workdir, student={"baseModel": "/nonexistent/x", "candidates": CANDIDATES[:2]})
    arrange_candidate(workdir, "tiny", 500_000, passed=False, rate=0.0)
    arrange_candidate(workdir, "mid", 1_500_000, passed=False, rate=0.2)
    assert job_main(["sweep", "--manifest", str(manifest)]) == 0
    summary = sweep_summary(workdir)
    assert summary.get("chosen") is None and summary["gates_passed"] is False
    assert [c["contract_pass_rate"] for c in summary["candidates"]] == [0.0, 0.2]
    assert chosen_candidate(JobContext.load(manifest, 1)) is None


def test_an_unknown_candidate_is_a_clear_error(workdir: Path, capsys) -> None:
    manifest = write_manifest(workdir, student={"baseModel": "/nonexistent/x", "candidates": CANDIDATES[:1]})
    assert job_main(["train", "--manifest", str(manifest), "--candidate", "huge"]) == 1
    assert (
        "--candidate 'huge' is not in spec.student.candidates (candidates: tiny)" in capsys.readouterr().err
    )


def test_local_run_tries_every_candidate_and_fails_when_all_failed(workdir: Path) -> None:
    manifest = write_manifest(workdir, student={"baseModel": "/nonexistent/x", "candidates": CANDIDATES[:2]})
    arrange_finished_collect_and_curate(workdir)
    run, output = runner(manifest, resume=True)
    result = run.run()
    text = output.getvalue()
    assert result.exit_code == 1 and result.status.phase == "Failed"
    # The first candidate's failure did not stop the second from training.
    assert "train-tiny │ starting" in text and "train-mid │ starting" in text
    assert "evaluate-" not in text and "sweep │" not in text
    assert result.status.message.startswith("train-tiny: every candidate failed")
    tiny, mid = result.status.candidates
    assert (tiny.phase, mid.phase) == ("Failed", "Failed")
    assert "/nonexistent/tiny" in (tiny.message or "") and "/nonexistent/mid" in (mid.message or "")
    assert (tiny.train_job, mid.evaluate_job) == ("failfast-a1-train-tiny", None)
