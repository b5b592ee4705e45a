"""What collect pays, read from the fake server's billing ledger: failures after billing, the teacher
cache across attempts, client-side rate limits, and batches created by a run that died."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from distillery.api.spec import TeacherSpec
from distillery.collect import engine
from distillery.collect import job as collect_job
from distillery.collect.batch import BatchLimits
from distillery.collect.engine import CollectOptions, collect_to_store
from distillery.context import JobContext
from distillery.fakes.anthropic_server import FakeAnthropicServer
from distillery.pricing import Price, TokenUsage
from distillery.prompts import Prompt, renumber
from distillery.store import open_store
from distillery.teachers import RetryPolicy, make_teacher
from tests.fixtures.anthropic import write_run_manifest

FAST = CollectOptions(
    retry=RetryPolicy(base_delay=0.005, max_delay=0.02),
    batch=BatchLimits(max_requests=6, poll_initial=0.02, poll_max=0.05),
)
PRICE = Price.from_table(100, 100)


def prompts(n: int, tag: str = "q") -> list[Prompt]:
    return renumber(Prompt(id="", text=f"{tag} {i}: say something about {i}") for i in range(n))


def billed_cost(fake: FakeAnthropicServer) -> float:
    return sum(PRICE.cost(TokenUsage.from_dict(b.usage), batch=b.batch) for b in fake.billed_usage())


def test_failures_after_billing_are_counted_as_possibly_paid_twice(
    fake_anthropic: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake_anthropic.set_faults(billed_then_dropped=0.25, slow=0.1, slow_seconds=0.6)
    items = prompts(40)
    spec = TeacherSpec(
        model="claude-haiku-4-5",
        base_url=fake_anthropic.base_url,
        concurrency=8,
        max_attempts=12,
        request_timeout_seconds=0.3,
    )
    store = open_store(f"file://{tmp_path}")
    summary = collect_to_store(items, spec, store, api_key="k", system_prompt="sys", options=FAST)
    time.sleep(0.8)  # the slow calls the client gave up on are billed when they end

    assert summary["collected"] == 40
    ledger = fake_anthropic.completions
    assert (
        fake_anthropic.faults_injected["billed_then_dropped"] > 0
        and fake_anthropic.faults_injected["slow"] > 0
    )
    records = {r["prompt"]: r for r in store.read_jsonl("teacher.jsonl")}
    # Per prompt, what we say may have been billed is exactly what the teacher billed.
    assert {text: 1 + r["unknown_attempts"] for text, r in records.items()} == dict(ledger)
    assert summary["possibly_paid_twice"] == len(fake_anthropic.billed_twice()) > 0
    assert summary["uncertain_calls"] == sum(ledger.values()) - 40


def test_budget_counts_unknown_outcomes_at_their_worst_case(
    fake_anthropic: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake_anthropic.set_faults(billed_then_dropped=0.4)
    cap = 0.04
    spec = TeacherSpec.model_validate(
        {
            "model": "claude-haiku-4-5",
            "baseUrl": fake_anthropic.base_url,
            "maxTokens": 40,
            "concurrency": 4,
            "maxAttempts": 10,
            "pricing": {"inputPerMtok": 100, "outputPerMtok": 100},
            "budget": {"maxCostUSD": cap},
        }
    )
    summary = collect_to_store(
        prompts(60), spec, open_store(f"file://{tmp_path}"), api_key="k", system_prompt="s"
    )
    assert summary["status"] == "BudgetExceeded"
    assert billed_cost(fake_anthropic) <= cap


def run_attempt(manifest: Path, attempt: int) -> dict[str, Any]:
    return collect_job.run(JobContext.load(manifest, attempt))


def test_attempt_two_with_an_unchanged_teacher_bills_nothing(
    fake_anthropic: FakeAnthropicServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "fake-key")
    texts = [f"cached prompt {i}" for i in range(10)]
    manifest = write_run_manifest(
        tmp_path / "run.yaml",
        base_url=fake_anthropic.base_url,
        storage_uri=f"file://{tmp_path}/s",
        prompts=texts,
    )
    first = run_attempt(manifest, 1)
    assert sum(fake_anthropic.completions.values()) == 10 and first["cache"]["hits"] == 0

    second = run_attempt(manifest, 2)  # a new attempt: e.g. only the student's LoRA rank changed
    assert sum(fake_anthropic.completions.values()) == 10  # the ledger: attempt 2 billed nothing
    assert second["cache"]["hits"] == 10 and second["collected"] == 10 and second["cost_usd"] == 0
    assert second["cache"]["saved_usd"] == pytest.approx(first["cost_usd"])
    attempt2 = open_store(f"file://{tmp_path}/s/tests/collect-test/a2/collect")
    assert [r["completion"] for r in attempt2.read_jsonl("teacher.jsonl")] == [
        f"You asked: {t}" for t in texts
    ]

    changed = write_run_manifest(
        tmp_path / "changed.yaml",
        base_url=fake_anthropic.base_url,
        storage_uri=f"file://{tmp_path}/s",
        prompts=texts,
        teacher={"maxTokens": 512},  # another teacher request: not the same completion
    )
    assert run_attempt(changed, 3)["cache"]["hits"] == 0
    assert sum(fake_anthropic.completions.values()) == 20

    off = write_run_manifest(
        tmp_path / "off.yaml",
        base_url=fake_anthropic.base_url,
        storage_uri=f"file://{tmp_path}/s",
        prompts=texts,
        teacher={"cache": False},
    )
    assert run_attempt(off, 4)["cache"] == {"enabled": False, "hits": 0, "saved_usd": 0.0, "written": 0}
    assert sum(fake_anthropic.completions.values()) == 30


@pytest.mark.parametrize("client_limit", [True, False])
def test_rate_limits_sustain_the_configured_rate_without_429s(
    make_fake_anthropic: Any, tmp_path: Path, client_limit: bool
) -> None:
    rpm = 1200  # 20 requests per second, enforced by the server as a token bucket
    fake = make_fake_anthropic(latency=0.01, rpm_limit=rpm)
    limits = {"rateLimits": {"requestsPerMinute": rpm}} if client_limit else {}
    spec = TeacherSpec.model_validate(
        {"model": "claude-haiku-4-5", "baseUrl": fake.base_url, "concurrency": 16, "maxAttempts": 20} | limits
    )
    items = prompts(70)
    summary = collect_to_store(items, spec, open_store(f"file://{tmp_path}"), api_key="k", system_prompt="")
    if client_limit:
        assert summary["collected"] == 70
        assert fake.faults_injected["rpm_limit"] == 0
        # The sustained rate as the server billed it (start-up of the client not counted).
        billed = [entry.at for entry in fake.ledger]
        assert (len(billed) - 1) / (max(billed) - min(billed)) >= 0.95 * rpm / 60
    else:  # the control: without client-side limits the same run provokes 429s (some prompts may
        # even run out of attempts on an idle machine, where the storm is fiercest)
        assert fake.faults_injected["rpm_limit"] > 0


class DiesAfterCreate:
    """A teacher whose process 'dies' right after the API created a batch, before its id is stored."""

    def __init__(self, teacher: Any, after: int) -> None:
        self.teacher, self.after, self.created = teacher, after, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.teacher, name)

    async def create_batch(self, requests: list[tuple[str, str]]) -> str:
        batch_id = await self.teacher.create_batch(requests)
        self.created += 1
        if self.created >= self.after:
            raise KeyboardInterrupt  # the kill: the batch exists, its id was never written
        return batch_id


def test_a_batch_created_by_a_run_that_died_is_found_not_paid_again_and_the_budget_holds(
    make_fake_anthropic: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = make_fake_anthropic(batch_seconds=0.1)
    fake.set_faults(batch_errored=0.2)
    cap = 0.05
    spec = TeacherSpec.model_validate(
        {
            "model": "claude-haiku-4-5",
            "baseUrl": fake.base_url,
            "mode": "batch",
            "maxTokens": 40,
            "maxAttempts": 5,
            "pricing": {"inputPerMtok": 100, "outputPerMtok": 100},
            "budget": {"maxCostUSD": cap},
        }
    )
    items = prompts(60, "b")
    store = open_store(f"file://{tmp_path}")
    dying = DiesAfterCreate(make_teacher(spec, api_key="k", system_prompt="s"), after=2)
    monkeypatch.setattr(engine, "make_teacher", lambda *a, **k: dying)
    with pytest.raises(KeyboardInterrupt):
        collect_to_store(items, spec, store, api_key="k", system_prompt="s", options=FAST)
    markers = [store.read_json(k) for k in store.list("batches/")]
    assert fake.requests["batch_create"] == 2 and [m["batch_id"] for m in markers].count(None) == 1

    monkeypatch.undo()
    summary = collect_to_store(items, spec, store, api_key="k", system_prompt="s", options=FAST)
    orphan = next(
        m
        for m in store.list("batches/")
        if store.read_json(m)["ids"] == next(x["ids"] for x in markers if x["batch_id"] is None)
    )
    assert store.read_json(orphan)["batch_id"] is not None  # found through the batches list
    assert max(Counter(fake.completions).values()) == 1  # no prompt was billed twice
    assert billed_cost(fake) <= cap
    assert summary["status"] == "BudgetExceeded" and summary["collected"] > 0
