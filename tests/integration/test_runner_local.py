"""The local runner with real `distillery-job` processes whose phases fail fast (no model, no teacher)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from distillery import layout
from distillery.cli.main import main as cli_main
from distillery.errors import RunError
from distillery.runner import LocalRunner
from distillery.store import open_store

RUN = "failfast"
NAMESPACE = "t"


def manifest_body(storage: str, **spec_changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "task": {"systemPrompt": "Answer in JSON.", "output": {"format": "json"}},
        "teacher": {"model": "claude-haiku-4-5", "baseUrl": "http://127.0.0.1:9", "maxAttempts": 1},
        "prompts": {"sources": [{"inline": ["hi", "fix line 3"]}]},
        "student": {"baseModel": "/nonexistent/tiny-model"},
        "evaluation": {"heldOut": {"inline": ["ok"]}},
        "storage": {"uri": storage},
    }
    spec.update(spec_changes)
    return {
        "apiVersion": "distillery.dev/v1alpha1",
        "kind": "DistillationRun",
        "metadata": {"name": RUN, "namespace": NAMESPACE},
        "spec": spec,
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def write_manifest(workdir: Path, **spec_changes: Any) -> Path:
    path = workdir / "run.yaml"
    body = manifest_body(f"file://{workdir / 'artifacts'}", **spec_changes)
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def run_root(workdir: Path) -> Path:
    return workdir / "artifacts" / NAMESPACE / RUN


def runner(manifest: Path, *, key: str | None = None, **options: Any) -> tuple[LocalRunner, io.StringIO]:
    env = {name: value for name, value in os.environ.items() if name != "ANTHROPIC_API_KEY"}
    if key:
        env["ANTHROPIC_API_KEY"] = key
    output = io.StringIO()
    console = Console(file=output, width=200, force_terminal=False, color_system=None)
    return LocalRunner(manifest, console=console, env=env, **options), output


def conditions(status_path: Path) -> dict[str, tuple[str, str, str]]:
    status = json.loads(status_path.read_text())
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}


def arrange_finished_collect_and_curate(workdir: Path, *, with_train_jsonl: bool = True) -> dict[str, float]:
    """An attempt whose collect and curate finished earlier (as their jobs leave them)."""
    attempt = open_store(f"file://{run_root(workdir)}/a1")
    attempt.write_jsonl(
        "collect/" + layout.COLLECT_TEACHER, [{"id": "p1", "prompt": "hi", "completion": "{}"}]
    )
    attempt.write_json("collect/" + layout.SUMMARY, {"status": "Succeeded", "prompts": 1, "collected": 1})
    if with_train_jsonl:
        attempt.write_jsonl("curate/" + layout.CURATE_TRAIN, [{"id": "p1", "messages": []}])
    attempt.write_json("curate/" + layout.SUMMARY, {"status": "Succeeded", "train": 1, "rejected": 0})
    summaries = [run_root(workdir) / "a1" / name / layout.SUMMARY for name in ("collect", "curate")]
    return {str(path): path.stat().st_mtime_ns for path in summaries}


def test_stops_at_the_first_failed_phase_with_its_error(workdir: Path) -> None:
    run, output = runner(write_manifest(workdir))
    result = run.run()
    text = output.getvalue()
    assert result.exit_code == 1 and result.attempt == 1
    assert result.status.phase == "Failed"
    assert "ANTHROPIC_API_KEY is not set" in result.status.message
    found = conditions(run_root(workdir) / "status.json")
    assert found["Collected"][:2] == ("False", "Failed")
    assert found["Complete"][:2] == ("False", "Failed")
    assert "Curated" not in found
    assert result.status.jobs.collect == "failfast-a1-collect" and result.status.jobs.curate is None
    assert " collect │ starting" in text and "curate │" not in text
    assert "run failed: collect: ANTHROPIC_API_KEY is not set" in text


def test_a_new_run_starts_a_new_attempt(workdir: Path) -> None:
    manifest = write_manifest(workdir)
    assert runner(manifest)[0].run().attempt == 1
    assert runner(manifest)[0].run().attempt == 2
    assert runner(manifest, resume=True)[0].run().attempt == 2
    assert (run_root(workdir) / "a2" / "spec.json").is_file()


def test_resume_skips_finished_phases_and_stops_at_the_train_error(workdir: Path) -> None:
    manifest = write_manifest(workdir)
    before = arrange_finished_collect_and_curate(workdir)
    run, output = runner(manifest, resume=True)
    result = run.run()
    text = output.getvalue()
    assert result.attempt == 1 and result.exit_code == 1
    assert " collect │ already done (resumed), skipped" in text
    assert " curate │ already done (resumed), skipped" in text
    assert "collect │ starting" not in text and "train │ starting" in text
    found = conditions(run_root(workdir) / "status.json")
    assert found["Collected"][:2] == ("True", "Completed")
    assert found["Curated"][:2] == ("True", "Completed")
    assert found["Trained"][:2] == ("False", "Failed")
    assert "/nonexistent/tiny-model" in found["Trained"][2]
    after = {path: Path(path).stat().st_mtime_ns for path in before}
    assert after == before
    assert result.status.summary.collected == 1 and result.status.summary.examples == 1


def test_missing_input_fails_before_starting_the_phase(workdir: Path) -> None:
    manifest = write_manifest(workdir)
    arrange_finished_collect_and_curate(workdir, with_train_jsonl=False)
    run, output = runner(manifest, resume=True)
    result = run.run()
    assert result.exit_code == 1
    assert "train │ starting" not in output.getvalue()
    status, reason, message = conditions(run_root(workdir) / "status.json")["Trained"]
    assert (status, reason) == ("False", "InputMissing")
    assert message.endswith("a1/curate/train.jsonl")


def test_resume_refuses_a_changed_manifest(workdir: Path) -> None:
    runner(write_manifest(workdir))[0].run()
    changed = write_manifest(workdir, prompts={"sources": [{"inline": ["something else"]}]})
    with pytest.raises(RunError, match=r"manifest changed .*prompts.* start attempt 2"):
        runner(changed, resume=True)[0].run()


def test_a_contract_that_does_not_compile_fails_as_invalid_spec(workdir: Path) -> None:
    output_spec = {"format": "json", "rules": [{"name": "broken", "expression": "size(output.fragments"}]}
    task = {"systemPrompt": "Answer in JSON.", "output": output_spec}
    run, output = runner(write_manifest(workdir, task=task), key="unused")
    result = run.run()
    assert result.exit_code == 1 and result.status.phase == "Failed"
    assert conditions(run_root(workdir) / "status.json")["Complete"][1] == "InvalidSpec"
    assert "broken" in result.status.message
    assert "starting" not in output.getvalue()


def test_cli_run_reports_an_invalid_manifest(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workdir / "bad.yaml"
    body = manifest_body("file:///tmp/x")
    body["spec"]["student"]["epochz"] = 3
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    assert cli_main(["run", str(path)]) == 2
    assert "spec.student.epochz: unknown field" in capsys.readouterr().err


def arrange_finished_attempt(workdir: Path, *, gates_passed: bool) -> None:
    """Every phase of attempt 1 finished; evaluate says whether the gates passed."""
    attempt = open_store(f"file://{run_root(workdir)}/a1")
    attempt.write_jsonl(
        "collect/" + layout.COLLECT_TEACHER, [{"id": "p1", "prompt": "hi", "completion": "{}"}]
    )
    attempt.write_json("collect/" + layout.SUMMARY, {"status": "Succeeded", "prompts": 1, "collected": 1})
    attempt.write_jsonl("curate/" + layout.CURATE_TRAIN, [{"id": "p1"}])
    attempt.write_json("curate/" + layout.SUMMARY, {"status": "Succeeded"})
    attempt.write_json("train/adapter/adapter_config.json", {})
    attempt.write_json("train/" + layout.SUMMARY, {"status": "Succeeded"})
    attempt.write_json("evaluate/" + layout.SUMMARY, {"status": "Succeeded", "gates_passed": gates_passed})


@pytest.mark.parametrize(
    ("gates_passed", "allow", "code"), [(False, False, 3), (False, True, 0), (True, False, 0)]
)
def test_a_failed_gate_is_a_distinct_exit_code_unless_allowed(
    workdir: Path, gates_passed: bool, allow: bool, code: int
) -> None:
    manifest = write_manifest(workdir)
    arrange_finished_attempt(workdir, gates_passed=gates_passed)
    argv = ["run", str(manifest), "--resume", "--attempt", "1"] + (["--allow-gate-failure"] if allow else [])
    assert cli_main(argv) == code
    assert json.loads((run_root(workdir) / "status.json").read_text())["phase"] == "Succeeded"


def test_a_broken_summary_surfaces_the_store_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(workdir)
    arrange_finished_attempt(workdir, gates_passed=True)
    (run_root(workdir) / "a1" / "curate" / layout.SUMMARY).write_text("{not json")
    assert cli_main(["run", str(manifest), "--resume", "--attempt", "1"]) == 2
    err = capsys.readouterr().err
    assert "curate/summary.json is not valid JSON" in err
