"""Collect then curate the sinc-scatter example against the fake server (scripted teacher, some
completions malformed), moto S3 as the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from distillery.collect import job as collect_job
from distillery.context import JobContext
from distillery.curate import job as curate_job
from distillery.errors import PhaseInputMissing
from distillery.fakes.anthropic_server import FakeAnthropicServer, sinc_scatter_responder
from distillery.store import open_store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sinc-scatter" / "run.yaml"


def sinc_manifest(path: Path, base_url: str, storage_uri: str) -> Path:
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest["spec"]["teacher"] |= {"baseUrl": base_url, "concurrency": 4}
    manifest["spec"]["storage"] = {"uri": storage_uri}
    manifest["spec"]["curation"] = {"dedupe": True, "validationFraction": 0.2}
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True))
    return path


def test_collect_then_curate_rejects_malformed_completions(
    s3_env: Any, fake_anthropic: FakeAnthropicServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "fake")
    fake_anthropic.responder = sinc_scatter_responder
    fake_anthropic.set_faults(malformed=0.3)
    ctx = JobContext.load(
        sinc_manifest(tmp_path / "run.yaml", fake_anthropic.base_url, s3_env.uri("sinc")), 1
    )
    with pytest.raises(PhaseInputMissing, match="run collect"):
        curate_job.run(ctx)

    collected = collect_job.run(ctx)
    summary = curate_job.run(ctx)

    malformed = fake_anthropic.faults_injected["malformed"]
    assert collected["collected"] == 16 and malformed > 0
    assert summary["rejected_by_reason"]["contract:parse"] == malformed
    # The scripted teacher gives the same answer to prompts with the same features: dedupe drops those.
    by_reason = summary["rejected_by_reason"]
    duplicates = by_reason.get("duplicate", 0) + by_reason.get("near-duplicate", 0)
    assert summary["kept"] == 16 - malformed - duplicates == summary["train"] + summary["validation"]
    assert summary["diversity"]["count"] == summary["kept"]
    store = open_store(s3_env.uri("sinc/ml/sinc-scatter/a1/curate"))
    train = list(store.read_jsonl("train.jsonl"))
    rejected = list(store.read_jsonl("rejected.jsonl"))
    assert len(train) == summary["train"] and len(rejected) == malformed + duplicates
    system_prompt = ctx.run.spec.task.system_prompt
    assert all(line["messages"][0] == {"role": "system", "content": system_prompt} for line in train)
    assert sum("contract:parse" in line["reasons"] for line in rejected) == malformed
    assert store.read_json("summary.json")["status"] == "Succeeded"
