"""SIGTERM and SIGKILL of `distillery-job collect` (a real subprocess, the real SDK, the fake server's
billing ledger), then a restart: what the teacher billed, by prompt, against what the summary says."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distillery.collect.ledger import Ledger, split
from distillery.collect.records import read_all
from distillery.errors import CollectInterrupted
from distillery.fakes.anthropic_server import FakeAnthropicServer
from distillery.pricing import Price, TokenUsage
from distillery.store import open_store
from tests.fixtures.anthropic import write_run_manifest

JOB = str(Path(sys.executable).with_name("distillery-job"))
N = 48
CONCURRENCY = 6


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def start(manifest: Path) -> subprocess.Popen[str]:
    command = [JOB, "collect", "--manifest", str(manifest), "--attempt", "1"]
    env = os.environ | {"ANTHROPIC_API_KEY": "fake-key"}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def setup(
    tmp_path: Path, fake: FakeAnthropicServer, teacher: dict[str, Any] | None = None
) -> tuple[Path, Any]:
    texts = [f"interrupt prompt {i}" for i in range(N)]
    manifest = write_run_manifest(
        tmp_path / "run.yaml",
        base_url=fake.base_url,
        storage_uri=f"file://{tmp_path}/store",
        prompts=texts,
        teacher={"concurrency": CONCURRENCY, "cache": False, "stopGracePeriodSeconds": 10} | (teacher or {}),
    )
    return manifest, open_store(f"file://{tmp_path}/store/tests/collect-test/a1/collect")


def billed(fake: FakeAnthropicServer) -> int:
    return sum(fake.completions.values())


@pytest.mark.parametrize("when", ["first-second", "middle", "429-storm"])
def test_sigterm_then_restart_bills_every_prompt_exactly_once(tmp_path: Path, when: str) -> None:
    with FakeAnthropicServer(latency=0.05) as fake:
        manifest, store = setup(tmp_path, fake, {"maxAttempts": 20})
        fake.set_faults(retry_after=0.2)
        first = start(manifest)
        if when == "first-second":
            wait_for(lambda: billed(fake) >= 1, 60, "the first billed completion")
        elif when == "middle":
            wait_for(lambda: billed(fake) >= N // 2, 60, "half of the prompts billed")
        else:
            wait_for(lambda: billed(fake) >= 8, 60, "some billed completions")
            fake.start_storm(30, status=429)
            wait_for(lambda: fake.faults_injected["storm"] >= CONCURRENCY, 30, "the 429 storm")
        first.send_signal(signal.SIGTERM)
        code, err = finish(first)
        fake.start_storm(0)
        assert code == CollectInterrupted.exit_code, err[-2000:]
        summary = store.read_json("summary.json")
        assert summary["status"] == "Interrupted" and not store.exists("teacher.jsonl")
        assert 0 < billed(fake) < N

        code, err = finish(start(manifest))
        assert code == 0, err[-2000:]

    records = list(store.read_jsonl("teacher.jsonl"))
    assert sorted(r["prompt"] for r in records) == sorted(fake.completions) and len(records) == N
    assert {r["status"] for r in records} == {"ok"}
    assert set(fake.completions.values()) == {1}, fake.billed_twice()  # the ledger: billed exactly once
    assert store.read_json("summary.json")["possibly_paid_twice"] == 0


@pytest.mark.parametrize("when", ["first-billed", "middle"])
def test_sigkill_then_restart_pays_twice_at_most_what_was_in_flight(tmp_path: Path, when: str) -> None:
    with FakeAnthropicServer(latency=0.1) as fake:
        manifest, store = setup(tmp_path, fake)
        first = start(manifest)
        wait_for(lambda: billed(fake) >= (1 if when == "first-billed" else N // 2), 60, "billed completions")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        time.sleep(0.3)  # calls in flight at the kill reach the server's ledger
        in_flight = in_flight_at_kill(store)
        # per worker a call in flight and a completion not yet stored, plus the prompts journaled ahead
        assert len(in_flight) <= 3 * CONCURRENCY

        code, err = finish(start(manifest))
        assert code == 0, err[-2000:]

    records = list(store.read_jsonl("teacher.jsonl"))
    assert len(records) == N and {r["status"] for r in records} == {"ok"}  # nothing lost
    assert len({r["id"] for r in records}) == N  # no duplicate records
    twice = fake.billed_twice()
    assert set(twice) <= {text for text in in_flight}  # only what was in flight was paid again
    summary = store.read_json("summary.json")
    assert len(twice) <= len(in_flight) == summary["possibly_paid_twice"]
    assert len(twice) <= 2 * CONCURRENCY  # the prompts journaled ahead were never sent


def in_flight_at_kill(store: Any) -> set[str]:
    """Prompt texts journaled as sent with no stored record: what a restart counts as possibly paid."""
    records, journal = split(read_all(store, "chunks/"))
    ledger = Ledger()
    ledger.add_records(records)
    ledger.add_journal(journal)
    by_id = {r["id"]: r["text"] for r in store.read_jsonl("prompts.jsonl")}
    return {by_id[prompt_id] for prompt_id in ledger.unaccounted()}


def test_budget_holds_across_faults_kill_and_resume(tmp_path: Path) -> None:
    cap = 0.05
    teacher = {
        "maxTokens": 40,
        "maxAttempts": 10,
        "requestTimeoutSeconds": 0.5,
        "pricing": {"inputPerMtok": 100, "outputPerMtok": 100},
        "budget": {"maxCostUSD": cap},
    }
    with FakeAnthropicServer(latency=0.05, seed=3) as fake:
        manifest, store = setup(tmp_path, fake, teacher)
        fake.set_faults(
            billed_then_dropped=0.15, slow=0.1, slow_seconds=0.8, rate_limited=0.1, retry_after=0.01
        )
        first = start(manifest)
        wait_for(lambda: billed(fake) >= 8, 60, "billed completions")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        code, err = finish(start(manifest))
        time.sleep(1.0)  # slow calls the client gave up on are billed when they end
        assert code == 0, err[-2000:]

    summary = store.read_json("summary.json")
    spent = ledger_cost(fake, Price.from_table(100, 100))
    assert summary["status"] == "BudgetExceeded" and summary["collected"] > 0
    assert spent <= cap, f"the teacher billed ${spent:.4f} against a cap of ${cap}"
    assert len(fake.billed_twice()) <= summary["possibly_paid_twice"]


def ledger_cost(fake: FakeAnthropicServer, price: Price) -> float:
    """What the teacher billed, priced from its own ledger."""
    return sum(price.cost(TokenUsage.from_dict(b.usage), batch=b.batch) for b in fake.billed_usage())
