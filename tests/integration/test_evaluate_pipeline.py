"""Train -> save -> resume -> evaluate end to end through the jobs' run(ctx), on file:// and s3:// stores.

Small on purpose (16 examples, a few steps): the learning itself is test_train_learning's job.
The teacher is the real anthropic SDK against the fake server answering with the scripted sinc teacher;
with s3:// the base model itself is read from an s3:// prefix (downloaded to a local cache).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from distillery import layout
from distillery.context import JobContext
from distillery.errors import EvaluationError
from distillery.evaluate import job as evaluate_job
from distillery.fakes.anthropic_server import sinc_scatter_responder
from distillery.fakes.scripted import chat_records, sinc_scatter
from distillery.store import open_store
from distillery.train import job as train_job
from tests.fixtures.models import SHORT_SYSTEM_PROMPT, sinc_run_spec

HELD_OUT = ["hi", "explain docker to a beginner", "fix nginx"]


def _context(tmp_path: Path, manifest: dict) -> JobContext:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True))
    return JobContext.load(path, 1)


def _manifest(base_model: str, storage_uri: str, base_url: str, held_out: list[str]) -> dict:
    manifest = sinc_run_spec(
        base_model,
        held_out,
        storage_uri=storage_uri,
        compare=["base", "teacher"],
        max_new_tokens=16,
        training={
            "epochs": 1,
            "batchSize": 2,
            "gradientAccumulation": 2,  # 16 examples, 4 per optimizer step: 4 steps
            "checkpointEverySteps": 2,
            "logEverySteps": 1,
            "mergeAdapter": True,
        },
        gates=[{"metric": "contractPassRate", "min": 0.9}, {"metric": "qualityDropVsTeacher", "max": 0.05}],
    )
    manifest["spec"]["teacher"]["baseUrl"] = base_url
    return manifest


@pytest.fixture(params=["file", "s3"])
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """(storage URI, base model) for each store kind; s3 also serves the base model from S3."""
    if request.param == "file":
        return f"file://{tmp_path}/artifacts", str(tiny_model_dir)
    s3_env = request.getfixturevalue("s3_env")
    monkeypatch.setenv("DISTILLERY_MODEL_CACHE", str(tmp_path / "model-cache"))
    open_store(s3_env.uri("models/tiny")).upload_dir("", tiny_model_dir)
    return s3_env.uri("artifacts"), s3_env.uri("models/tiny")


@pytest.mark.slow
def test_train_resume_evaluate(
    storage: tuple[str, str],
    tmp_path: Path,
    sinc_prompts,
    make_fake_anthropic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage_uri, base_model = storage
    teacher = make_fake_anthropic(sinc_scatter_responder)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("DISTILLERY_TORCH_THREADS", "1")
    ctx = _context(tmp_path, _manifest(base_model, storage_uri, teacher.base_url, HELD_OUT))
    train_prompts = sinc_prompts[0][:16]
    ctx.store("curate").write_jsonl(
        layout.CURATE_TRAIN, chat_records(train_prompts, sinc_scatter, system_prompt=SHORT_SYSTEM_PROMPT)
    )

    first = train_job.run(ctx)
    train_store = ctx.store("train")
    assert first["steps"] == 4 and first["resumed_from_step"] is None
    assert first["initial_loss"] is not None and first["examples"] == 16
    assert train_store.exists("adapter/adapter_model.safetensors")
    assert train_store.exists("merged/config.json")
    assert "checkpoints/checkpoint-4/COMPLETE" in train_store.list("checkpoints/")
    assert train_store.read_json(layout.TRAIN_LOSS)["steps"][0] == 1

    again = train_job.run(ctx)  # a restarted pod: picks up the newest complete checkpoint
    assert again["resumed_from_step"] == 4 and again["steps"] == 4

    summary = evaluate_job.run(ctx)
    store = ctx.store("evaluate")
    for key in (
        layout.EVALUATE_REPORT_JSON,
        layout.EVALUATE_REPORT_MD,
        layout.EVALUATE_REPORT_HTML,
        layout.EVALUATE_PREDICTIONS,
        layout.SUMMARY,
    ):
        assert store.exists(key), key
    assert summary["contract_pass_rate"]["teacher"] == 1.0
    assert summary["contract_pass_rate"]["student"] < 1.0  # 4 steps teach nothing yet
    assert summary["verdict"] == "not-ready"
    assert [g["passed"] for g in summary["gates"]] == [False, False]
    predictions = list(store.read_jsonl(layout.EVALUATE_PREDICTIONS))
    assert [p["prompt"] for p in predictions] == HELD_OUT
    assert set(predictions[0]["models"]) == {"base", "student", "teacher"}
    assert predictions[0]["models"]["teacher"]["output"] == sinc_scatter("hi")
    report = store.read_json(layout.EVALUATE_REPORT_JSON)
    assert report["models"]["teacher"]["cost_per_1k_requests_usd"] > 0
    assert report["models"]["student"]["cost_per_1k_requests_usd"] > 0
    assert set(report["models"]["student"]["rule_pass_rates"]) == {
        "six-bands",
        "band-order",
        "constraints-longest",
        "task-one-sentence",
        "has-formula",
    }
    assert "data:image/png;base64," in store.read_text(layout.EVALUATE_REPORT_HTML)
    assert "Verdict: not-ready" in store.read_text(layout.EVALUATE_REPORT_MD)
    # The teacher's answers were collected into evaluate/teacher/ and are reused on a retry.
    assert store.exists("teacher/" + layout.COLLECT_TEACHER)
    teacher.reset_counts()
    evaluate_job.run(ctx)
    assert sum(teacher.completions.values()) == 0


def test_evaluate_refuses_held_out_prompts_seen_in_training(tmp_path: Path, tiny_model_dir: Path) -> None:
    ctx = _context(
        tmp_path, _manifest(str(tiny_model_dir), f"file://{tmp_path}/a", "http://127.0.0.1:9", HELD_OUT)
    )
    records = chat_records(["something else", "fix nginx"], sinc_scatter, system_prompt=SHORT_SYSTEM_PROMPT)
    ctx.store("curate").write_jsonl(layout.CURATE_TRAIN, records)
    with pytest.raises(EvaluationError, match=r"1 of 3 held-out prompts are in train.jsonl .*fix nginx"):
        evaluate_job.run(ctx)
