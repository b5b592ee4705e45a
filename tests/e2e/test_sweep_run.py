"""A size sweep run locally: two tiny Qwen2 students of very different sizes, trained and evaluated
on the same data by `distillery run`; the smallest that passes the gate is the run's student.

The passing case runs examples/lifecycle/run.yaml as it is written, with only what must be local
substituted (the teacher's baseUrl, the base model paths, the storage and registry URIs): the sweep,
the human-labelled anchors mixed into train.jsonl and the chosen student published as v1 of a
file:// registry. The "only the larger passes" case is a manifest of its own.

Real parts only: the fake Anthropic API on 127.0.0.1 (the anthropic SDK), tiny models built with
distillery.modelkit and loaded with from_pretrained, every step a `distillery-job` process. The
gate is fixed in the manifest (contract pass rate >= 0.9 on a label task); the sizes are whatever
the train jobs measure from the loaded models.
"""

from __future__ import annotations

import importlib.util
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
from distillery.fakes.anthropic_server import FakeAnthropicServer, review_label_responder
from distillery.runner.local import run_manifest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "lifecycle"

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


@pytest.fixture(scope="module")
def example_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example's two candidates, built by its own helper (examples/lifecycle/build_models.py)."""
    spec = importlib.util.spec_from_file_location("lifecycle_build_models", EXAMPLE / "build_models.py")
    assert spec is not None and spec.loader is not None
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    return helper.build(tmp_path_factory.mktemp("lifecycle-models"))


def localised_example(tmp_path: Path, base_url: str, models: dict[str, Path]) -> tuple[Path, dict[str, Any]]:
    """examples/lifecycle/run.yaml with only the machine-local parts replaced."""
    body = yaml.safe_load((EXAMPLE / "run.yaml").read_text(encoding="utf-8"))
    spec = body["spec"]
    spec["teacher"]["baseUrl"] = base_url
    spec["student"]["baseModel"] = str(models["large"])
    for candidate in spec["student"]["candidates"]:
        candidate["baseModel"] = str(models[candidate["name"]])
    spec["storage"]["uri"] = f"file://{tmp_path / 'artifacts'}"
    spec["publish"]["registry"] = f"file://{tmp_path / 'registry'}"
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path, body


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_lifecycle_example_sweeps_anchors_and_publishes(
    tmp_path: Path,
    example_models: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(ROOT)  # the example's prompt, anchor and held-out URIs are file://./examples/...
    console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
    with FakeAnthropicServer(review_label_responder) as server:
        path, body = localised_example(tmp_path, server.base_url, example_models)
        result = run_manifest(path, console=console, env={**_env(), "ANTHROPIC_API_KEY": "test-key"})
        billed = sum(server.completions.values())
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert result.exit_code == 0, text[-4000:]
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    attempt = tmp_path / "artifacts" / namespace / name / "a1"
    prompts = [r["prompt"] for r in jsonl(EXAMPLE / "prompts.jsonl")]
    assert billed == len(prompts)  # the teacher was asked once per prompt, anchors never

    # The sweep: both candidates pass the gate, the smaller is chosen.
    sweep = stored(attempt, "sweep")
    sizes = {c["name"]: c["parameters"] for c in sweep["candidates"]}
    seen = [f"sizes {sizes}; pass rates {[c['contract_pass_rate'] for c in sweep['candidates']]}"]
    assert sizes["small"] * 5 < sizes["large"]  # measured from the loaded models
    assert [c["gates_passed"] for c in sweep["candidates"]] == [True, True]
    assert sweep["chosen"] == "small"
    # Each candidate was trained and evaluated in its own directories, on its own base model.
    for candidate in ("small", "large"):
        assert stored(attempt, f"train-{candidate}")["base_model"] == str(example_models[candidate])
        assert (attempt / f"train-{candidate}" / layout.TRAIN_ADAPTER / "adapter_config.json").is_file()
        assert stored(attempt, f"evaluate-{candidate}")["gates_passed"] is True
    assert sweep["train_prefix"].endswith("/a1/train-small")
    report = json.loads((attempt / "sweep" / layout.SWEEP_REPORT_JSON).read_text())
    assert (
        report["chosen"] == "small"
        and "data:image/png;base64," in (attempt / "sweep" / "report.html").read_text()
    )
    status = result.status
    assert status.phase == "Succeeded" and status.summary.gates_passed is True
    assert [(c.name, c.chosen, c.parameters) for c in status.candidates] == [
        ("small", True, sizes["small"]),
        ("large", False, sizes["large"]),
    ]
    assert status.artifacts.adapter is not None and "/train-small/" in status.artifacts.adapter
    assert "Candidates (smallest that passes every gate is chosen)" in text

    # The anchors: their share of the written train.jsonl is the configured one, their answers are the
    # human labels, and the anchor that is also a held-out prompt is not among them.
    train = jsonl(attempt / "curate" / "train.jsonl")
    anchors = {r["prompt"]: r["expected"] for r in jsonl(EXAMPLE / "anchors.jsonl")}
    held_out = {r["prompt"] for r in jsonl(EXAMPLE / "heldout.jsonl")}
    mixed = [line for line in train if line.get("source") == "anchor"]
    share = len(mixed) / len(train)
    seen.append(f"train.jsonl {len(train)} lines, {len(mixed)} anchors (share {share:.3f})")
    assert abs(share - body["spec"]["curation"]["anchors"]["share"]) < 0.02 and len(mixed) >= 8
    for line in mixed:
        user, answer = line["messages"][1]["content"], line["messages"][2]["content"]
        assert anchors[user] == answer and user not in held_out
    teacher_lines = [line for line in train if line.get("source") != "anchor"]
    assert {line["messages"][1]["content"] for line in teacher_lines} <= set(prompts)
    assert "negative" in {line["messages"][2]["content"] for line in mixed}  # what the teacher data lacks
    stats = stored(attempt, "curate")["anchors"]
    assert stats["available"] == len(anchors)
    assert stats["excluded_held_out"] == len(set(anchors) & held_out) == 1
    assert stats["count"] == len(mixed) and stats["share_achieved"] == pytest.approx(share)

    # Publish: the chosen student is v1 and the champion (no champion to beat yet).
    registry = tmp_path / "registry" / body["spec"]["publish"]["model"]
    version = registry / "versions" / "1"
    assert status.published is not None
    assert (status.published.model, status.published.version, status.published.promoted) == (
        body["spec"]["publish"]["model"],
        1,
        True,
    )
    assert status.published.uri == f"file://{version}"
    assert json.loads((registry / "champion").read_text())["version"] == 1
    for file in ("adapter/adapter_model.safetensors", "tokenizer/tokenizer.json", "metrics.json"):
        assert (version / file).is_file(), file
    assert "review-labeller" in (version / "README.md").read_text()  # the model card
    serving = json.loads((version / "serving.json").read_text())
    assert serving["base_model"] == str(example_models["small"])  # the sweep's choice was published
    metrics = json.loads((version / "metrics.json").read_text())
    seen.append(f"published v1: contractPassRate {metrics['student']['contractPassRate']}")

    # `distillery report` reads the run back: the chosen candidate's evaluation, the sweep's page.
    assert cli_main(["report", str(attempt.parent)]) == 0
    printed = capsys.readouterr().out
    assert "Run: Succeeded (attempt 1)" in printed and "sweep/report.html" in printed
    with capsys.disabled():
        print("; ".join(seen))


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
