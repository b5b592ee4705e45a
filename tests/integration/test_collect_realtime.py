"""Realtime collection end to end: the real anthropic SDK against the fake server, moto S3 as store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from distillery.api.spec import TeacherSpec
from distillery.collect import job as collect_job
from distillery.collect.engine import CollectOptions, collect_to_store
from distillery.context import JobContext
from distillery.fakes.anthropic_server import FakeAnthropicServer
from distillery.prompts import Prompt, renumber
from distillery.store import open_store
from distillery.teachers import RetryPolicy
from tests.fixtures.anthropic import write_run_manifest

FAST_RETRIES = CollectOptions(retry=RetryPolicy(base_delay=0.005, max_delay=0.02))


def prompts(n: int, tag: str = "q") -> list[Prompt]:
    return renumber(Prompt(id="", text=f"{tag} {i}: explain topic number {i}") for i in range(n))


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    assert len({r["id"] for r in records}) == len(records), "a prompt id appears twice"
    return {r["id"]: r for r in records}


def test_collect_job_writes_one_record_per_prompt_with_provenance(
    s3_env: Any, fake_anthropic: FakeAnthropicServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-secret-value")
    texts = [f"prompt {i}" for i in range(12)]
    manifest = write_run_manifest(
        tmp_path / "run.yaml", base_url=fake_anthropic.base_url, storage_uri=s3_env.uri("runs"), prompts=texts
    )
    summary = collect_job.run(JobContext.load(manifest, 1))

    store = open_store(s3_env.uri("runs/tests/collect-test/a1/collect"))
    records = list(store.read_jsonl("teacher.jsonl"))
    assert [r["prompt"] for r in records] == texts and len(by_id(records)) == 12
    assert {r["model"] for r in records} == {"claude-haiku-4-5-20251001"}  # the id the API returned
    assert sum(r["usage"]["cache_creation_input_tokens"] for r in records) > 0
    assert sum(r["usage"]["cache_read_input_tokens"] for r in records) > 0
    assert summary["status"] == "Succeeded" and summary["collected"] == 12
    assert summary["model"] == "claude-haiku-4-5-20251001"
    assert summary["provenance"]["sdk"].startswith("anthropic ")
    assert summary["cost_usd"] > 0 and summary["tokens"]["cache_read_input_tokens"] > 0
    assert store.read_json("summary.json")["collected"] == 12
    assert [Prompt.from_record(r).text for r in store.read_jsonl("prompts.jsonl")] == texts
    everything = "".join(store.read_text(key) for key in store.list())
    assert "sk-test-secret-value" not in everything
    assert sum(fake_anthropic.completions.values()) == 12


def test_each_record_carries_the_latency_of_its_call(
    fake_anthropic: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake_anthropic.latency = 0.05
    store = open_store(f"file://{tmp_path}")
    spec = TeacherSpec(model="claude-haiku-4-5", base_url=fake_anthropic.base_url, concurrency=4)
    collect_to_store(prompts(6), spec, store, api_key="k", system_prompt="Be brief.", options=FAST_RETRIES)
    latencies = [record["latency_ms"] for record in store.read_jsonl("teacher.jsonl")]
    assert len(latencies) == 6 and all(50 <= latency < 5000 for latency in latencies)


def test_transient_faults_collect_every_prompt_exactly_once(
    s3_env: Any, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.set_faults(rate_limited=0.1, overloaded=0.1, server_error=0.1, retry_after=0.01)
    items = prompts(40)
    spec = TeacherSpec(
        model="claude-haiku-4-5", base_url=fake_anthropic.base_url, concurrency=8, max_attempts=12
    )
    store = open_store(s3_env.uri("faults"))
    summary = collect_to_store(items, spec, store, api_key="k", system_prompt="sys", options=FAST_RETRIES)

    records = by_id(list(store.read_jsonl("teacher.jsonl")))
    assert set(records) == {p.id for p in items}
    assert {r["status"] for r in records.values()} == {"ok"}
    assert all(fake_anthropic.completions[p.text] == 1 for p in items)  # nothing paid twice
    injected = sum(fake_anthropic.faults_injected.values())
    assert injected >= 5 and summary["retries"] == injected
    assert sum(r["attempts"] - 1 for r in records.values()) == injected


def test_timeouts_are_retried(fake_anthropic: FakeAnthropicServer, tmp_path: Path) -> None:
    fake_anthropic.set_faults(slow=0.3, slow_seconds=1.0)
    spec = TeacherSpec(
        model="claude-haiku-4-5", base_url=fake_anthropic.base_url, request_timeout_seconds=0.3
    )
    store = open_store(f"file://{tmp_path}")
    summary = collect_to_store(prompts(10), spec, store, api_key="k", system_prompt="", options=FAST_RETRIES)
    assert summary["collected"] == 10
    assert summary["retries_by_kind"].get("timeout", 0) == fake_anthropic.faults_injected["slow"] > 0


def test_budget_cap_stops_before_exceeding_and_keeps_what_was_collected(
    s3_env: Any, fake_anthropic: FakeAnthropicServer
) -> None:
    spec = TeacherSpec.model_validate(
        {
            "model": "claude-haiku-4-5",
            "baseUrl": fake_anthropic.base_url,
            "maxTokens": 50,
            "concurrency": 4,
            "pricing": {"inputPerMtok": 100, "outputPerMtok": 100},
            "budget": {"maxCostUSD": 0.03},
        }
    )
    items = prompts(40)
    store = open_store(s3_env.uri("budget"))
    summary = collect_to_store(items, spec, store, api_key="k", system_prompt="sys", options=FAST_RETRIES)

    assert summary["status"] == "BudgetExceeded"
    assert 0 < summary["collected"] < 40 and summary["skipped"] == 40 - summary["collected"]
    assert summary["cost_usd"] <= 0.03
    records = list(store.read_jsonl("teacher.jsonl"))
    assert len(by_id(records)) == 40
    assert sum(fake_anthropic.completions.values()) == summary["collected"]
    assert {r["status"] for r in records} == {"ok", "skipped"}
    # prompts journaled ahead and never sent were withdrawn: nothing counted as possibly paid
    assert summary["uncertain_calls"] == 0 and summary["possibly_paid_twice"] == 0


def test_token_budget_and_failed_status_on_permanent_errors(
    fake_anthropic: FakeAnthropicServer, tmp_path: Path
) -> None:
    spec = TeacherSpec.model_validate(
        {
            "model": "claude-haiku-4-5",
            "baseUrl": fake_anthropic.base_url,
            "maxTokens": 20,
            "budget": {"maxTokens": 200},
        }
    )
    summary = collect_to_store(
        prompts(30), spec, open_store(f"file://{tmp_path}/a"), api_key="k", system_prompt=""
    )
    assert summary["status"] == "BudgetExceeded" and summary["tokens"]["total"] <= 200

    missing_model = TeacherSpec(model="claude-haiku-4-5", base_url=fake_anthropic.base_url + "/nowhere")
    summary = collect_to_store(
        prompts(3), missing_model, open_store(f"file://{tmp_path}/b"), api_key="k", system_prompt=""
    )
    assert summary["status"] == "Failed" and "HTTP 404" in summary["reason"]
    assert summary["retries"] == 0  # a 404 is not retried


def test_openai_compatible_teacher(fake_anthropic: FakeAnthropicServer, tmp_path: Path) -> None:
    spec = TeacherSpec.model_validate(
        {
            "provider": "openai-compatible",
            "model": "qwen2.5-72b",
            "baseUrl": fake_anthropic.base_url + "/v1",
            "pricing": {"inputPerMtok": 0, "outputPerMtok": 0},
        }
    )
    summary = collect_to_store(
        prompts(6), spec, open_store(f"file://{tmp_path}"), api_key=None, system_prompt="S"
    )
    assert summary["collected"] == 6 and summary["model"] == "qwen2.5-72b"
    assert summary["provenance"]["sdk"].startswith("openai ")
    assert fake_anthropic.requests["chat"] == 6
