"""Champion/challenger promotion end to end on this machine: `distillery run` drives evaluate and
publish as real `distillery-job` processes for four attempts of one run, against one file:// registry.

A tiny student is trained once in-process; the attempts use adapters of different quality made
from it (its LoRA B matrices scaled by 1, 0.6 and 0), put where train leaves them (collect /
curate / train are arranged as finished, so `distillery run --resume --attempt N` runs only
evaluate and publish):

  a1: the trained change scaled by 0.6     -> v1 promoted (no champion yet)
  a2: LoRA B zeroed (= the base model)     -> NotPromoted, numbers in status and report, v1 stays
  a3: the trained adapter (better)         -> v2 champion
  `distillery promote --to 1`              -> rollback, in the pointer's history
  a4: zeroed adapter, another held-out set -> the champion is evaluated again on it, NotPromoted

The registry's v1 adapter is then loaded with plain transformers + PeftModel.from_pretrained and
must generate exactly what the evaluate phase recorded for it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from distillery.cli.main import main as cli_main
from distillery.fakes.scripted import chat_records, sinc_scatter, split_prompts
from distillery.runner import LocalRunner
from tests.fixtures.models import SHORT_SYSTEM_PROMPT, sinc_run_spec

pytestmark = pytest.mark.slow

NAMESPACE, RUN = "test", "sinc-tiny"
TRAIN_PROMPTS, HELD_OUT, OTHER_HELD_OUT = 96, 8, 6
EPOCHS = 6  # 96 examples / batch 8: 72 steps
# The trained change scaled down: measured 0.375 pass rate here, against 0.75 for the full adapter.
PARTIAL_SCALE = 0.6
MAX_NEW_TOKENS = 96
# Passing needs the exact opening of the scripted teacher's answers: a partly trained student
# gets some, the base none.
SINC_START = '{"formula": "x(t) = Σ x(nT) · sinc'


def manifest(model: Path, storage: Path, held_out: list[str]) -> dict[str, Any]:
    body = sinc_run_spec(
        str(model),
        held_out,
        storage_uri=f"file://{storage}",
        compare=[],
        max_new_tokens=MAX_NEW_TOKENS,
        training={"epochs": EPOCHS, "packing": False, "checkpointEverySteps": 1000},
    )
    spec = body["spec"]
    spec["task"]["output"] = {
        "format": "text",
        "rules": [{"name": "sinc-start", "expression": f"output.startsWith('{SINC_START}')"}],
    }
    spec["teacher"]["baseUrl"] = "http://127.0.0.1:9"  # never called: collect is arranged, compare is []
    spec["evaluation"]["batchSize"] = 1  # no padding: plain one-prompt generation must match exactly
    spec["publish"] = {"enabled": True, "comparison": {"metrics": ["contractPassRate"], "margin": 0.0}}
    return body


@pytest.fixture(scope="module")
def trained(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Adapters of three qualities from one training run, and the records it trained on."""
    from safetensors.torch import load_file, save_file

    from distillery.api.resource import DistillationRun
    from distillery.store import open_store
    from distillery.train.job import train_to_store

    os.environ["DISTILLERY_TORCH_THREADS"] = "1"
    work = tmp_path_factory.mktemp("publish-train")
    train_prompts, held_out = split_prompts(TRAIN_PROMPTS, HELD_OUT)
    spec = DistillationRun.model_validate(manifest(tiny_model_dir, work, held_out)).spec
    records = chat_records(train_prompts, sinc_scatter, system_prompt=SHORT_SYSTEM_PROMPT)
    store = open_store(f"file://{work}/store")
    train_to_store(spec.student, records, [], store.child("train"), work / "scratch")
    final = work / "final"
    store.child("train").download_dir("adapter/", final)
    weights = load_file(str(final / "adapter_model.safetensors"))
    adapters = {"final": final}
    for name, scale in (("scaled", PARTIAL_SCALE), ("zero", 0.0)):
        adapters[name] = work / name
        shutil.copytree(final, adapters[name])
        # LoRA adds B·A to each weight: scaling B scales what training changed (0: the base model).
        scaled = {key: value * scale if "lora_B" in key else value for key, value in weights.items()}
        save_file(scaled, str(adapters[name] / "adapter_model.safetensors"))
    yield {"records": records, "held_out": held_out, **adapters}
    os.environ.pop("DISTILLERY_TORCH_THREADS", None)


def arrange_attempt(root: Path, attempt: int, adapter: Path, records: list[dict], base_model: str) -> None:
    """collect / curate / train of `attempt` as their jobs leave them when finished."""
    where = root / NAMESPACE / RUN / f"a{attempt}"
    (where / "collect").mkdir(parents=True)
    (where / "collect" / "teacher.jsonl").write_text("")
    collect = {
        "status": "Succeeded",
        "prompts": len(records),
        "collected": len(records),
        "model": "scripted-1",
    }
    (where / "collect" / "summary.json").write_text(json.dumps({**collect, "cost_usd": 0.0123}))
    (where / "curate").mkdir()
    (where / "curate" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    curate = {"status": "Succeeded", "input": len(records), "kept": len(records), "train": len(records)}
    (where / "curate" / "summary.json").write_text(json.dumps(curate))
    shutil.copytree(adapter, where / "train" / "adapter")
    train = {"status": "Succeeded", "examples": len(records), "final_loss": 0.5, "base_model": base_model}
    (where / "train" / "summary.json").write_text(json.dumps(train))


def run_attempt(path: Path, attempt: int) -> tuple[dict[str, Any], str]:
    output = io.StringIO()
    console = Console(file=output, width=240, force_terminal=False, color_system=None)
    result = LocalRunner(path, resume=True, attempt=attempt, console=console).run()
    text = output.getvalue()
    assert result.exit_code == 0, text[-4000:]
    assert "evaluate │ starting" in text and "publish │ starting" in text and "train │ starting" not in text
    status = json.loads((path.parent / "artifacts" / NAMESPACE / RUN / "status.json").read_text())
    assert status["attempt"] == attempt and status["phase"] == "Succeeded"
    return status, text


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}


def write(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def student_outputs(artifacts: Path, attempt: int) -> dict[str, str]:
    lines = (artifacts / NAMESPACE / RUN / f"a{attempt}" / "evaluate" / "predictions.jsonl").read_text()
    return {r["prompt"]: r["models"]["student"]["output"] for r in map(json.loads, lines.splitlines())}


def test_promotion_rollback_and_the_published_adapter(
    trained: dict[str, Any], tiny_model_dir: Path, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    registry = artifacts / NAMESPACE / ".registry" / RUN
    path = write(tmp_path / "run.yaml", manifest(tiny_model_dir, artifacts, trained["held_out"]))
    base = str(tiny_model_dir)
    for attempt, adapter in ((1, "scaled"), (2, "zero"), (3, "final")):
        arrange_attempt(artifacts, attempt, trained[adapter], trained["records"], base)

    # a1: nothing to beat -> v1.
    status, _ = run_attempt(path, 1)
    assert status["published"] == {
        "model": RUN, "version": 1, "uri": f"file://{registry}/versions/1", "promoted": True,
        "reason": "Promoted",
    }  # fmt: skip
    first = status["results"]["evaluate"]["contractPassRate"]["student"]
    assert 0 < first < 1, "the scaled-down student must pass some held-out prompts, not all"
    pointer = json.loads((registry / "champion").read_text())
    assert pointer["version"] == 1 and pointer["history"][0]["by"] == f"{NAMESPACE}/{RUN} a1"
    version = registry / "versions" / "1"
    for name in ("adapter/adapter_model.safetensors", "tokenizer/tokenizer.json", "predictions.jsonl"):
        assert (version / name).is_file(), name
    metrics = json.loads((version / "metrics.json").read_text())
    assert metrics["student"]["contractPassRate"] == first and metrics["lineage"]["attempt"] == 1
    card = (version / "README.md").read_text()
    assert "scripted-1" in card and base in card and "r=16, alpha=16" in card
    assert f"{artifacts}/{NAMESPACE}/{RUN}/a1" in card and "Prompts: 96, collected: 96" in card
    serving = json.loads((version / "serving.json").read_text())
    assert serving["base_model"] == base and serving["max_lora_rank"] == 16 and serving["repairs"] == []
    assert serving["lora_modules"] == [{"name": RUN, "path": f"{version}/adapter"}]
    assert serving["vllm_args"][-2:] == ["--lora-modules", f"{RUN}={version}/adapter"]

    # a2: the base-equivalent student is worse -> NotPromoted, both numbers side by side.
    status, text = run_attempt(path, 2)
    published = status["results"]["publish"]
    assert status["published"]["promoted"] is False and status["published"]["reason"] == "NotPromoted"
    assert status["published"].get("version") is None and published["championVersion"] == 1
    assert published["comparison"] == [
        {"metric": "contractPassRate", "challenger": 0.0, "champion": first, "passed": False}
    ]
    assert published["championReevaluated"] is False  # same held-out set: v1's stored numbers
    complete, publish = conditions(status)["Complete"], conditions(status)["Published"]
    assert complete[:2] == ("True", "NotPromoted") and publish[:2] == ("False", "NotPromoted")
    assert f"contractPassRate 0 vs champion {first:.4g}" in publish[2] and publish[2] in text
    report = (artifacts / NAMESPACE / RUN / "a2" / "publish" / "report.md").read_text()
    assert f"| contractPassRate | 0.0 | {first} | False |" in report
    assert json.loads((registry / "champion").read_text())["version"] == 1
    assert sorted(p.name for p in (registry / "versions").iterdir()) == ["1"]

    # a3: the fully trained student beats v1 -> v2 is champion.
    status, _ = run_attempt(path, 3)
    third = status["results"]["evaluate"]["contractPassRate"]["student"]
    assert third > first
    assert status["published"]["version"] == 2 and status["published"]["promoted"] is True
    assert status["results"]["publish"]["comparison"][0]["champion"] == first
    assert json.loads((registry / "champion").read_text())["version"] == 2

    # Rollback to v1, recorded in the pointer's history.
    assert cli_main(["promote", RUN, "--to", "1", "--registry", f"file://{registry.parent}"]) == 0
    pointer = json.loads((registry / "champion").read_text())
    assert pointer["version"] == 1
    assert [(e["version"], e["action"]) for e in pointer["history"]] == [
        (1, "rollback"),
        (2, "promote"),
        (1, "promote"),
    ]

    # a4: another held-out set: v1 cannot reuse its numbers and is evaluated again on it.
    _, other = split_prompts(TRAIN_PROMPTS + 40, OTHER_HELD_OUT)
    other_path = write(tmp_path / "run-other.yaml", manifest(tiny_model_dir, artifacts, other))
    arrange_attempt(artifacts, 4, trained["zero"], trained["records"], base)
    status, _ = run_attempt(other_path, 4)
    published = status["results"]["publish"]
    assert published["championReevaluated"] is True and published["decision"] == "NotPromoted"
    champion_eval = artifacts / NAMESPACE / RUN / "a4" / "publish" / "champion" / "summary.json"
    measured = json.loads(champion_eval.read_text())["contract_pass_rate"]["student"]
    assert published["comparison"][0]["champion"] == measured > 0

    # The published v1 adapter, loaded the plain way, says exactly what evaluate recorded for a1.
    assert_plain_generation_matches(
        tiny_model_dir, registry / "versions" / "1", student_outputs(artifacts, 1)
    )


def assert_plain_generation_matches(base: Path, version: Path, recorded: dict[str, str]) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(version / "tokenizer")
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), version / "adapter").eval()
    for prompt, expected in recorded.items():
        messages = [{"role": "system", "content": SHORT_SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
        answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()
        assert answer == expected, prompt
