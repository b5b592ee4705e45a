"""Sharded collection (`teacher.shards: 3`) against the fake server with the real SDK: what the teacher
billed, by prompt (its ledger), what each shard stored, and what curate read after the merge."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from distillery.collect import job as collect_job
from distillery.collect.shards import merge_stored, shard_of
from distillery.context import JobContext
from distillery.errors import CollectInterrupted
from distillery.fakes.anthropic_server import FakeAnthropicServer
from distillery.pricing import Price, TokenUsage
from distillery.runner import LocalRunner
from distillery.store import open_store
from tests.fixtures.anthropic import write_run_manifest

SHARDS = 3
N = 36
STORE = "tests/collect-test/a1"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def manifest(tmp_path: Path, fake: FakeAnthropicServer, texts: list[str], **teacher: object) -> Path:
    return write_run_manifest(
        tmp_path / "run.yaml",
        base_url=fake.base_url,
        storage_uri=f"file://{tmp_path}/store",
        prompts=texts,
        teacher={"concurrency": 6, "cache": False, "shards": SHARDS, "stopGracePeriodSeconds": 10} | teacher,
    )


def start_shard(path: Path, index: int) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "distillery.cli.job",
        "collect",
        "--manifest",
        str(path),
        "--attempt",
        "1",
    ]
    env = os.environ | {"ANTHROPIC_API_KEY": "fake-key", "DISTILLERY_SHARD_INDEX": str(index)}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def run_curate(path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "distillery.cli.job",
        "curate",
        "--manifest",
        str(path),
        "--attempt",
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def shard_texts(store, index: int) -> set[str]:
    return {record["text"] for record in store.read_jsonl(f"shards/{index}/prompts.jsonl")}


def test_three_shards_bill_every_prompt_once_and_curate_reads_each_record_once(tmp_path: Path) -> None:
    texts = [f"shard prompt {i}" for i in range(N)]
    with FakeAnthropicServer(latency=0.02) as fake:
        path = manifest(tmp_path, fake, texts, maxAttempts=1)
        body = yaml.safe_load(path.read_text())
        body["spec"]["student"]["baseModel"] = "/nonexistent/tiny-model"
        path.write_text(yaml.safe_dump(body))
        # `distillery run` runs the shards as processes, merges, curates; train fails at once (no model)
        runner = LocalRunner(
            path,
            console=Console(file=io.StringIO(), width=200),
            env=os.environ | {"ANTHROPIC_API_KEY": "fake-key"},
        )
        result = runner.run()
    assert sorted(fake.completions) == sorted(texts)
    assert set(fake.completions.values()) == {1}, fake.billed_twice()  # the ledger: each prompt once

    collect = open_store(f"file://{tmp_path}/store/{STORE}/collect")
    parts = [shard_texts(collect, i) for i in range(SHARDS)]
    assert sum(len(part) for part in parts) == N and set().union(*parts) == set(texts)  # disjoint, complete
    for index in range(SHARDS):
        ids = [r["id"] for r in collect.read_jsonl(f"shards/{index}/prompts.jsonl")]
        assert ids and all(shard_of(pid, SHARDS) == index for pid in ids)
        shard_summary = collect.read_json(f"shards/{index}/summary.json")
        assert shard_summary["shard"] == index and shard_summary["collected"] == len(ids)
    summary = collect.read_json("summary.json")
    assert (summary["shards"], summary["prompts"], summary["collected"], summary["status"]) == (
        SHARDS,
        N,
        N,
        "Succeeded",
    )
    assert summary["tokens"]["output_tokens"] == sum(b.usage["output_tokens"] for b in fake.billed_usage())

    records = list(collect.read_jsonl("teacher.jsonl"))
    assert sorted(r["prompt"] for r in records) == sorted(texts)
    curated = open_store(f"file://{tmp_path}/store/{STORE}/curate").read_json("summary.json")
    assert curated["input"] == N
    assert result.status.results.collect.collected == N
    assert result.status.results.curate is not None and result.status.results.curate.input == N


def test_a_shard_stopped_midway_resumes_alone_and_the_ledger_still_shows_each_prompt_once(
    tmp_path: Path,
) -> None:
    texts = [f"resume shard prompt {i}" for i in range(N)]
    with FakeAnthropicServer(latency=0.2) as fake:
        path = manifest(tmp_path, fake, texts, maxAttempts=5)
        collect = open_store(f"file://{tmp_path}/store/{STORE}/collect")
        processes = [start_shard(path, i) for i in range(SHARDS)]
        wait_for(lambda: collect.exists("shards/1/prompts.jsonl"), 60, "shard 1's prompts")
        mine = shard_texts(collect, 1)
        wait_for(lambda: sum(fake.completions[t] for t in mine) >= 2, 60, "shard 1 billed twice")
        processes[1].send_signal(signal.SIGTERM)
        code, err = finish(processes[1])
        assert code == CollectInterrupted.exit_code, err[-2000:]
        for index in (0, 2):
            code, err = finish(processes[index])
            assert code == 0, err[-2000:]
        billed_before = sum(fake.completions[t] for t in mine)
        assert 0 < billed_before < len(mine)
        assert collect.read_json("shards/1/summary.json")["status"] == "Interrupted"

        code, err = finish(start_shard(path, 1))  # shard 1 alone, again
        assert code == 0, err[-2000:]
        assert f"{billed_before} already collected" in err

    assert sorted(fake.completions) == sorted(texts)
    assert set(fake.completions.values()) == {1}, fake.billed_twice()
    run_curate(path)
    records = list(collect.read_jsonl("teacher.jsonl"))
    assert len(records) == N and len({r["id"] for r in records}) == N
    summary = collect.read_json("summary.json")
    assert (summary["shards"], summary["collected"], summary["resumed"]) == (SHARDS, N, billed_before)
    assert open_store(f"file://{tmp_path}/store/{STORE}/curate").read_json("summary.json")["input"] == N


def test_a_shard_killed_midway_pays_twice_at_most_its_own_in_flight_calls(tmp_path: Path) -> None:
    texts = [f"killed shard prompt {i}" for i in range(N)]
    with FakeAnthropicServer(latency=0.2) as fake:
        path = manifest(tmp_path, fake, texts, maxAttempts=5)
        collect = open_store(f"file://{tmp_path}/store/{STORE}/collect")
        processes = [start_shard(path, i) for i in range(SHARDS)]
        wait_for(lambda: collect.exists("shards/1/prompts.jsonl"), 60, "shard 1's prompts")
        mine = shard_texts(collect, 1)
        wait_for(lambda: sum(fake.completions[t] for t in mine) >= 2, 60, "shard 1 billed twice")
        processes[1].send_signal(signal.SIGKILL)
        processes[1].wait(timeout=10)
        for index in (0, 2):
            code, err = finish(processes[index])
            assert code == 0, err[-2000:]
        time.sleep(0.5)  # calls in flight at the kill reach the server's ledger
        assert not collect.exists("shards/1/summary.json")
        code, err = finish(start_shard(path, 1))
        assert code == 0, err[-2000:]

    assert sorted(fake.completions) == sorted(texts)  # nothing lost
    twice = fake.billed_twice()
    assert set(twice) <= mine  # only the killed shard's prompts can be paid again ...
    run_curate(path)
    summary = collect.read_json("summary.json")
    # ... at most twice its concurrency (6 / 3 shards = 2: calls in flight + completions not yet
    # stored), each counted by the merged summary, which may also count up to `concurrency` prompts
    # journaled ahead but never sent (collect/realtime.py): never fewer than the server saw.
    shard_concurrency = 2
    assert len(twice) <= 2 * shard_concurrency
    assert len(twice) <= summary["possibly_paid_twice"] <= 3 * shard_concurrency
    records = list(collect.read_jsonl("teacher.jsonl"))
    assert len(records) == N and len({r["id"] for r in records}) == N


def test_three_shards_together_stay_within_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap, price = 0.04, Price.from_table(100, 100)
    texts = [f"budget shard prompt {i}: say something about {i}" for i in range(60)]
    with FakeAnthropicServer() as fake:
        path = manifest(
            tmp_path,
            fake,
            texts,
            maxTokens=40,
            pricing={"inputPerMtok": 100, "outputPerMtok": 100},
            budget={"maxCostUSD": cap},
        )
        monkeypatch.setenv("ANTHROPIC_API_KEY", "fake-key")
        billed_by_shard = []
        for index in range(SHARDS):  # one after another: each must stop at its own third
            monkeypatch.setenv("DISTILLERY_SHARD_INDEX", str(index))
            before = sum(price.cost(TokenUsage.from_dict(b.usage)) for b in fake.billed_usage())
            assert collect_job.run(JobContext.load(path, 1))["status"] == "BudgetExceeded"
            after = sum(price.cost(TokenUsage.from_dict(b.usage)) for b in fake.billed_usage())
            billed_by_shard.append(after - before)
    assert all(0 < billed <= cap / SHARDS for billed in billed_by_shard), billed_by_shard
    assert sum(billed_by_shard) <= cap
    merged = merge_stored(open_store(f"file://{tmp_path}/store/{STORE}/collect"), SHARDS)
    assert merged is not None and merged["status"] == "BudgetExceeded" and merged["skipped"] > 0
    assert merged["cost_usd"] <= cap
