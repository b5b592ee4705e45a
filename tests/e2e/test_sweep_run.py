"""A size sweep run locally: two tiny Qwen2 students of very different sizes, trained and evaluated
on the same data by `distillery run`; the smallest that passes the gate is the run's student.

Real parts only: the fake Anthropic API on 127.0.0.1 (the anthropic SDK), tiny models built with
distillery.modelkit and loaded with from_pretrained, every step a `distillery-job` process. The
gate is fixed in the manifest (contract pass rate >= 0.9 on a label task); the sizes are whatever
the train jobs measure from the loaded models.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from distillery import layout
from distillery.cli.main import main as cli_main
from distillery.fakes.anthropic_server import FakeAnthropicServer
from distillery.runner.local import run_manifest

pytestmark = pytest.mark.slow

NAMESPACE, RUN = "test", "sweep"
LABELS = ["positive", "negative"]
TOPICS = ["lamp", "chair", "kettle", "phone", "shoe", "book", "bike", "clock", "desk", "mug"]
WORDS = ["great", "fine", "solid", "bright", "quiet", "handy"]
TRAIN_PROMPTS = [f"review of the {t}: it is {w}" for t in TOPICS for w in WORDS[:4]]
HELD_OUT = [f"review of the {t}: it is {w}" for t in TOPICS[:6] for w in WORDS[4:5]]
GATE = {"metric": "contractPassRate", "min": 0.9}
# Very different sizes (measured by the train jobs, not declared here).
SMALL = {"hidden_size": 16, "layers": 1, "heads": 2, "kv_heads": 1}
LARGE = {"hidden_size": 96, "layers": 3, "heads": 4, "kv_heads": 2}


@pytest.fixture(scope="module")
def teacher() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(lambda body: "positive") as server:
        yield server


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from distillery.modelkit import build_tiny_model

    texts = [*TRAIN_PROMPTS, *HELD_OUT, *LABELS, "Label the review."]
    root = tmp_path_factory.mktemp("sweep-models")
    return {
        name: build_tiny_model(root / name, vocab_texts=texts, vocab_size=512, **shape)
        for name, shape in (("small", SMALL), ("large", LARGE))
    }


def manifest(path: Path, base_url: str, models: dict[str, Path], small_training: dict[str, Any]) -> Path:
    spec = {
        "task": {"systemPrompt": "Label the review.", "output": {"format": "label", "labels": LABELS}},
        "teacher": {"model": "claude-haiku-4-5", "baseUrl": base_url, "maxTokens": 16, "concurrency": 4},
        "prompts": {"sources": [{"inline": TRAIN_PROMPTS}]},
        "curation": {"validationFraction": 0},
        "student": {
            "baseModel": str(models["large"]),
            "lora": {"r": 8, "alpha": 16},
            "training": {
                "epochs": 2,
                "learningRate": 2e-2,
                "batchSize": 8,
                "gradientAccumulation": 1,
                "maxLength": 64,
                "warmupSteps": 1,
                "logEverySteps": 5,
            },
            "resources": {"gpus": 0},
            "candidates": [
                {"name": "small", "baseModel": str(models["small"]), "training": small_training},
                {"name": "large", "baseModel": str(models["large"])},
            ],
        },
        "evaluation": {
            "heldOut": {"inline": HELD_OUT},
            "compare": [],
            "gates": [GATE],
            "maxNewTokens": 4,
            "batchSize": 8,
        },
        "storage": {"uri": f"file://{path.parent / 'artifacts'}"},
    }
    body = {
        "apiVersion": "distillery.dev/v1alpha1",
        "kind": "DistillationRun",
        "metadata": {"name": RUN, "namespace": NAMESPACE},
        "spec": spec,
    }
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def run_sweep(tmp_path: Path, teacher: FakeAnthropicServer, models: dict[str, Path], small: dict[str, Any]):
    console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
    path = manifest(tmp_path / "run.yaml", teacher.base_url, models, small)
    result = run_manifest(path, console=console, env={**_env(), "ANTHROPIC_API_KEY": "test-key"})
    attempt = tmp_path / "artifacts" / NAMESPACE / RUN / "a1"
    return result, attempt, console.file.getvalue()  # type: ignore[attr-defined]


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def stored(attempt: Path, step: str) -> dict[str, Any]:
    return json.loads((attempt / step / layout.SUMMARY).read_text())


def test_the_smaller_candidate_that_passes_is_chosen(
    tmp_path: Path, teacher: FakeAnthropicServer, models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result, attempt, text = run_sweep(tmp_path, teacher, models, {})
    assert result.exit_code == 0, text[-4000:]
    sweep = stored(attempt, "sweep")
    sizes = {c["name"]: c["parameters"] for c in sweep["candidates"]}
    print(f"sizes {sizes}; pass rates {[c['contract_pass_rate'] for c in sweep['candidates']]}")
    assert sizes["small"] * 5 < sizes["large"]  # measured from the loaded models
    assert [c["gates_passed"] for c in sweep["candidates"]] == [True, True]
    assert sweep["chosen"] == "small"
    # Each candidate was trained and evaluated in its own directories, on its own base model.
    for name in ("small", "large"):
        assert stored(attempt, f"train-{name}")["base_model"] == str(models[name])
        assert (attempt / f"train-{name}" / layout.TRAIN_ADAPTER / "adapter_config.json").is_file()
        assert stored(attempt, f"evaluate-{name}")["gates_passed"] is True
    assert sweep["train_prefix"].endswith("/a1/train-small")
    report = json.loads((attempt / "sweep" / layout.SWEEP_REPORT_JSON).read_text())
    assert (
        report["chosen"] == "small"
        and "data:image/png;base64," in (attempt / "sweep" / "report.html").read_text()
    )
    # The status says the same, and the run's student is the chosen candidate.
    status = result.status
    assert status.phase == "Succeeded" and status.summary.gates_passed is True
    assert [(c.name, c.chosen, c.parameters) for c in status.candidates] == [
        ("small", True, sizes["small"]),
        ("large", False, sizes["large"]),
    ]
    assert status.artifacts.adapter is not None and "/train-small/" in status.artifacts.adapter
    assert "Candidates (smallest that passes every gate is chosen)" in text
    # `distillery report` reads the run back: the chosen candidate's evaluation, the sweep's page.
    assert cli_main(["report", str(attempt.parent)]) == 0
    printed = capsys.readouterr().out
    assert "Run: Succeeded (attempt 1)" in printed and "sweep/report.html" in printed


def test_when_only_the_larger_passes_the_larger_is_chosen(
    tmp_path: Path, teacher: FakeAnthropicServer, models: dict[str, Path]
) -> None:
    # The small candidate's learning rate is too low to learn anything in two epochs: it stays the
    # random base model and cannot answer with a label.
    result, attempt, text = run_sweep(tmp_path, teacher, models, {"learningRate": 1e-9})
    assert result.exit_code == 0, text[-4000:]
    sweep = stored(attempt, "sweep")
    print(f"pass rates {[c['contract_pass_rate'] for c in sweep['candidates']]}")
    assert [(c["name"], c["gates_passed"]) for c in sweep["candidates"]] == [
        ("small", False),
        ("large", True),
    ]
    assert sweep["chosen"] == "large"
    assert [c.chosen for c in result.status.candidates] == [False, True]
    assert "/train-large/" in (result.status.artifacts.adapter or "")
