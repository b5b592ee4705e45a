"""Kill and resume: `distillery-job collect` is SIGKILLed mid-run and run again; no prompt is missing
or duplicated, and prompts whose results were stored are not requested (paid) again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from distillery.collect.records import load_chunks
from distillery.fakes.anthropic_server import FakeAnthropicServer
from distillery.store import open_store
from tests.fixtures.anthropic import write_run_manifest

JOB = str(Path(sys.executable).with_name("distillery-job"))


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def has_batch_id(store: Any) -> bool:
    return any(store.read_json(key).get("batch_id") for key in store.list("batches/"))


def test_sigkill_mid_run_then_resume(s3_env: Any, tmp_path: Path) -> None:
    texts = [f"resume prompt {i}" for i in range(160)]
    with FakeAnthropicServer(latency=0.04) as fake:
        manifest = write_run_manifest(
            tmp_path / "run.yaml",
            base_url=fake.base_url,
            storage_uri=s3_env.uri("kill"),
            prompts=texts,
            teacher={"concurrency": 4},
        )
        store = open_store(s3_env.uri("kill/tests/collect-test/a1/collect"))
        env = os.environ | {"ANTHROPIC_API_KEY": "fake-key"}
        command = [JOB, "collect", "--manifest", str(manifest), "--attempt", "1"]

        first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: len(load_chunks(store)) >= 1, 60, "the first stored record")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert not store.exists("teacher.jsonl"), "the first run finished before it was killed"
        stored = load_chunks(store)
        paid_before = dict(fake.completions)
        assert 0 < len(stored) < len(texts)

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr[-2000:]

    records = list(store.read_jsonl("teacher.jsonl"))
    assert [r["prompt"] for r in records] == texts
    assert len({r["id"] for r in records}) == len(texts) and {r["status"] for r in records} == {"ok"}
    for record in stored.values():
        assert fake.completions[record["prompt"]] == paid_before[record["prompt"]] == 1
    summary = store.read_json("summary.json")
    assert summary["resumed"] == len(stored) and summary["this_run"]["sent"] == len(texts) - len(stored)


def test_batch_mode_resume_polls_the_submitted_batch_instead_of_paying_again(
    s3_env: Any, tmp_path: Path
) -> None:
    texts = [f"batch resume prompt {i}" for i in range(20)]
    with FakeAnthropicServer(batch_seconds=4.0) as fake:
        manifest = write_run_manifest(
            tmp_path / "run.yaml",
            base_url=fake.base_url,
            storage_uri=s3_env.uri("kill-batch"),
            prompts=texts,
            teacher={"mode": "batch"},
        )
        store = open_store(s3_env.uri("kill-batch/tests/collect-test/a1/collect"))
        env = os.environ | {"ANTHROPIC_API_KEY": "fake-key"}
        command = [JOB, "collect", "--manifest", str(manifest), "--attempt", "1"]

        first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(
                lambda: fake.requests["batch_create"] >= 1 and has_batch_id(store), 60, "the batch marker"
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert fake.requests["batch_create"] == 1 and not store.exists("teacher.jsonl")

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr[-2000:]

    assert fake.requests["batch_create"] == 1  # the second run polled the batch the first had paid for
    records = list(store.read_jsonl("teacher.jsonl"))
    assert [r["prompt"] for r in records] == texts and {r["status"] for r in records} == {"ok"}
    assert all(fake.completions[text] == 1 for text in texts)
