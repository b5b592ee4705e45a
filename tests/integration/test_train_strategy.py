"""The CPU strategy (one example per micro-batch, gradients accumulated) trains exactly like the padded
batches it replaces: same examples per optimizer step, same per-step losses, and it is logged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from distillery import layout
from distillery.api.spec import StudentSpec
from distillery.fakes.scripted import chat_records, sinc_scatter
from distillery.store import open_store
from distillery.train.job import train_to_store
from distillery.train.strategy import TrainStrategy
from tests.fixtures.models import SHORT_SYSTEM_PROMPT

# Very different lengths, so a padded batch and a token-weighted mean over micro-batches would differ
# if the accumulated loss were a mean of per-micro-batch means.
PROMPTS = [
    "hi",
    "explain kubernetes operators to a beginner who knows docker and wants to ship a batch job",
    "???",
    "compare rust and golang for a team of five that maintains a large legacy java service",
    "fix line 3",
    "why is my pod pending",
]
PADDED_BATCHES_OF_2 = TrainStrategy(False, 2, 1, group_by_length=False, attention="sdpa", reason="seed")


@pytest.mark.slow
def test_cpu_micro_batches_match_padded_batches_step_for_step(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DISTILLERY_TORCH_THREADS", "1")
    student = StudentSpec.model_validate(
        {
            "baseModel": str(tiny_model_dir),
            "training": {
                "epochs": 1,
                "learningRate": 1e-2,
                "batchSize": 2,
                "gradientAccumulation": 1,
                "maxLength": 512,
                "warmupSteps": 0,
                "logEverySteps": 1,
            },
        }
    )
    records = chat_records(PROMPTS, sinc_scatter, system_prompt=SHORT_SYSTEM_PROMPT)
    stores = {name: open_store(f"file://{tmp_path}/{name}") for name in ("padded", "chosen")}
    padded = train_to_store(
        student, records, [], stores["padded"], tmp_path / "w1", strategy=PADDED_BATCHES_OF_2
    )
    with caplog.at_level(logging.INFO, logger="distillery.train.job"):
        chosen = train_to_store(student, records, [], stores["chosen"], tmp_path / "w2")

    assert (
        "strategy: no packing, micro-batch 1 x accumulation 2, attention sdpa, because on CPU" in caplog.text
    )
    assert chosen["packing"] is False and "micro-batch 1 x accumulation 2" in chosen["strategy"]
    assert padded["steps"] == chosen["steps"] == 3
    padded_losses = stores["padded"].read_json(layout.TRAIN_LOSS)["loss"]
    chosen_losses = stores["chosen"].read_json(layout.TRAIN_LOSS)["loss"]
    assert len(chosen_losses) == 3
    assert chosen_losses == pytest.approx(padded_losses, rel=2e-3)
    assert chosen_losses[-1] < chosen_losses[0]  # and it learns
