"""SIGTERM (eviction, preemption) saves a checkpoint to the store; the restarted job resumes from it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from distillery import layout
from distillery.context import JobContext
from distillery.fakes.scripted import chat_records, sinc_scatter
from distillery.train import job as train_job
from distillery.train.callbacks import complete_checkpoints
from tests.fixtures.models import SHORT_SYSTEM_PROMPT, sinc_run_spec


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@pytest.mark.slow
def test_sigterm_checkpoints_and_restart_resumes(
    tiny_model_dir: Path, tmp_path: Path, sinc_prompts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTILLERY_TORCH_THREADS", "1")
    manifest = sinc_run_spec(
        str(tiny_model_dir),
        ["hi"],
        storage_uri=f"file://{tmp_path}/artifacts",
        training={"epochs": 2, "batchSize": 2, "checkpointEverySteps": 2, "logEverySteps": 1},
    )
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True))
    ctx = JobContext.load(path, 1)
    records = chat_records(sinc_prompts[0][:40], sinc_scatter, system_prompt=SHORT_SYSTEM_PROMPT)
    ctx.store("curate").write_jsonl(layout.CURATE_TRAIN, records)
    train_store = ctx.store("train")

    child = subprocess.Popen(
        [sys.executable, "-m", "distillery.cli.job", "train", "--manifest", str(path), "--attempt", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        _wait_for(
            lambda: complete_checkpoints(train_store) or child.poll() is not None, 180, "a first checkpoint"
        )
        assert child.poll() is None, "training finished before it could be interrupted"
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 1
    assert "stopped by signal 15" in stderr
    interrupted_at = complete_checkpoints(train_store)[-1]
    assert not train_store.exists(layout.TRAIN_ADAPTER + "adapter_model.safetensors")

    summary = train_job.run(ctx)
    assert summary["resumed_from_step"] == interrupted_at
    assert summary["steps"] > interrupted_at
    assert summary["epochs"] == 2
    assert train_store.exists(layout.TRAIN_ADAPTER + "adapter_model.safetensors")
