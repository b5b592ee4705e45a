"""Which adapter publish registers: the attempt's own, or the one the size sweep chose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from distillery.context import JobContext
from distillery.errors import PublishError
from distillery.publish.challenger import locate_challenger


def manifest(tmp_path: Path, candidates: list[dict[str, str]]) -> Path:
    body = {
        "apiVersion": "distillery.dev/v1alpha1",
        "kind": "DistillationRun",
        "metadata": {"name": "sweep-run", "namespace": "team"},
        "spec": {
            "task": {"systemPrompt": "Answer."},
            "teacher": {"model": "claude-haiku-4-5"},
            "prompts": {"sources": [{"inline": ["hi"]}]},
            "student": {"baseModel": "/models/default", "candidates": candidates},
            "evaluation": {"heldOut": {"inline": ["ok"]}},
            "storage": {"uri": f"file://{tmp_path / 'artifacts'}"},
            "publish": {"enabled": True},
        },
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def write_sweep_summary(tmp_path: Path, chosen: str | None) -> None:
    sweep = tmp_path / "artifacts" / "team" / "sweep-run" / "a1" / "sweep"
    sweep.mkdir(parents=True)
    (sweep / "summary.json").write_text(
        json.dumps({"phase": "sweep", "status": "Succeeded", "chosen": chosen})
    )


CANDIDATES = [
    {"name": "small", "baseModel": "/models/small"},
    {"name": "large", "baseModel": "/models/large"},
]


def test_without_candidates_the_attempts_own_train_and_evaluate(tmp_path: Path) -> None:
    challenger = locate_challenger(JobContext.load(manifest(tmp_path, []), 1))
    assert challenger.train.uri_for("adapter/").endswith("/team/sweep-run/a1/train/adapter/")
    assert challenger.evaluate.uri_for("summary.json").endswith("/team/sweep-run/a1/evaluate/summary.json")
    assert challenger.base_model is None


def test_with_candidates_the_sweeps_choice(tmp_path: Path) -> None:
    ctx = JobContext.load(manifest(tmp_path, CANDIDATES), 1)
    write_sweep_summary(tmp_path, "large")
    challenger = locate_challenger(ctx)
    assert challenger.train.uri_for("adapter/").endswith("/team/sweep-run/a1/train-large/adapter/")
    assert challenger.evaluate.uri_for("summary.json").endswith(
        "/team/sweep-run/a1/evaluate-large/summary.json"
    )
    assert challenger.base_model == "/models/large"


def test_a_sweep_that_chose_nothing_has_nothing_to_publish(tmp_path: Path) -> None:
    ctx = JobContext.load(manifest(tmp_path, CANDIDATES), 1)
    write_sweep_summary(tmp_path, None)
    with pytest.raises(PublishError, match="chose no candidate"):
        locate_challenger(ctx)
