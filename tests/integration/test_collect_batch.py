"""Message Batches collection: chunked submission, polling, errored / expired items resubmitted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from distillery.api.spec import TeacherSpec
from distillery.collect.batch import BatchLimits
from distillery.collect.engine import CollectOptions, collect_to_store
from distillery.fakes.anthropic_server import FakeAnthropicServer
from distillery.pricing import TokenUsage, lookup_default
from distillery.prompts import Prompt, renumber
from distillery.store import open_store
from distillery.teachers import RetryPolicy

OPTIONS = CollectOptions(
    retry=RetryPolicy(base_delay=0.005, max_delay=0.02),
    batch=BatchLimits(max_requests=8, poll_initial=0.02, poll_max=0.05),
)


def prompts(n: int) -> list[Prompt]:
    return renumber(Prompt(id="", text=f"batch prompt {i}") for i in range(n))


def test_batch_collect_end_to_end_with_item_and_http_faults(
    s3_env: Any, make_fake_anthropic: Callable[..., FakeAnthropicServer]
) -> None:
    fake = make_fake_anthropic(batch_seconds=0.05)
    fake.set_faults(batch_errored=0.2, batch_expired=0.1, rate_limited=0.1, retry_after=0.01)
    items = prompts(30)
    spec = TeacherSpec(model="claude-sonnet-4-5", base_url=fake.base_url, mode="batch", max_attempts=10)
    store = open_store(s3_env.uri("batch"))
    summary = collect_to_store(items, spec, store, api_key="k", system_prompt="sys", options=OPTIONS)

    records = list(store.read_jsonl("teacher.jsonl"))
    assert [r["id"] for r in records] == [p.id for p in items]
    assert {r["status"] for r in records} == {"ok"}
    assert all(fake.completions[p.text] == 1 for p in items)
    assert fake.requests["batch_create"] >= 4  # 30 requests in batches of at most 8
    assert all(r["batch_id"].startswith("msgbatch_") for r in records)
    resubmitted = fake.faults_injected["batch_errored"] + fake.faults_injected["batch_expired"]
    assert resubmitted > 0 and sum(r["attempts"] - 1 for r in records) == resubmitted
    price = lookup_default("claude-sonnet-4-5")
    usage = sum((TokenUsage.from_dict(r["usage"]) for r in records), TokenUsage())
    assert summary["cost_usd"] == pytest.approx(price.cost(usage, batch=True))  # type: ignore[union-attr]
    markers = [store.read_json(key) for key in store.list("batches/")]
    assert markers and all(marker["ingested"] for marker in markers)


def test_batch_items_given_up_after_max_attempts_record_why(
    make_fake_anthropic: Callable[..., FakeAnthropicServer], tmp_path: Any
) -> None:
    fake = make_fake_anthropic()
    fake.set_faults(batch_errored=1.0)
    spec = TeacherSpec(model="claude-haiku-4-5", base_url=fake.base_url, mode="batch", max_attempts=2)
    store = open_store(f"file://{tmp_path}")
    summary = collect_to_store(prompts(5), spec, store, api_key="k", system_prompt="", options=OPTIONS)

    assert summary["status"] == "Failed" and "overloaded_error" in summary["reason"]
    records = list(store.read_jsonl("teacher.jsonl"))
    assert {(r["status"], r["attempts"]) for r in records} == {("failed", 2)}
    assert fake.requests["batch_create"] == 2
