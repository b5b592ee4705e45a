"""Trainer callbacks: progress lines and loss history, checkpoint sync to the store, stop on SIGTERM.

A checkpoint is usable only once its `COMPLETE` marker is in the store (written after every file
of it), so a pod killed mid-upload never leaves a half checkpoint that a restart would resume from.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from distillery import layout
from distillery.store import ArtifactStore

log = logging.getLogger(__name__)
COMPLETE = "COMPLETE"
PROGRESS_EVERY_SECONDS = 10.0
_STEP = re.compile(r"checkpoint-(\d+)/")


class ProgressLog(TrainerCallback):
    """Logs loss, learning rate and tokens/s; keeps the history for loss.json; a line every 10 s."""

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self._last_line = time.monotonic()
        self._last_tokens = (time.monotonic(), 0)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if not logs or "loss" not in logs or not state.is_world_process_zero:
            return  # under torchrun rank 0 alone logs (the loss is already gathered over ranks)
        now, tokens = time.monotonic(), int(getattr(state, "num_input_tokens_seen", 0) or 0)
        then, before = self._last_tokens
        rate = (tokens - before) / (now - then) if now > then and tokens > before else None
        self._last_tokens = (now, tokens)
        record = {
            "step": state.global_step,
            "epoch": round(float(state.epoch or 0), 4),
            "loss": float(logs["loss"]),
            "learning_rate": float(logs.get("learning_rate", 0.0)),
            "tokens_seen": tokens,
            "tokens_per_second": round(rate, 1) if rate else None,
        }
        self.history.append(record)
        self._last_line = now
        log.info(
            "step %d/%d epoch %.2f loss %.4f lr %.2e tokens/s %s",
            state.global_step,
            state.max_steps,
            record["epoch"],
            record["loss"],
            record["learning_rate"],
            record["tokens_per_second"] if rate else "-",
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if state.is_world_process_zero and time.monotonic() - self._last_line >= PROGRESS_EVERY_SECONDS:
            self._last_line = time.monotonic()
            log.info("step %d/%d (training)", state.global_step, state.max_steps)


class CheckpointSync(TrainerCallback):
    """Uploads each checkpoint the Trainer saves to `checkpoints/checkpoint-<step>/` in the store."""

    def __init__(self, store: ArtifactStore, keep: int = 2) -> None:
        self.store = store
        self.keep = keep
        self.uploaded: list[int] = []

    def on_save(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if not state.is_world_process_zero:
            return
        step = state.global_step
        local = Path(args.output_dir) / f"checkpoint-{step}"
        prefix = f"{layout.TRAIN_CHECKPOINTS}checkpoint-{step}/"
        files = self.store.upload_dir(prefix, local)
        self.store.write_text(prefix + COMPLETE, json.dumps({"step": step, "files": files}) + "\n")
        self.uploaded.append(step)
        log.info("checkpoint %d: %d files -> %s", step, files, self.store.uri_for(prefix))
        self._prune()

    def _prune(self) -> None:
        steps = complete_checkpoints(self.store)
        for old in steps[: -self.keep]:
            for key in self.store.list(f"{layout.TRAIN_CHECKPOINTS}checkpoint-{old}/"):
                self.store.delete(key)


class StopOnSignal(TrainerCallback):
    """On SIGTERM (pod eviction, preemption): save a checkpoint at the end of this step and stop."""

    def __init__(self, signals: tuple[int, ...] = (signal.SIGTERM,)) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for number in signals:
                self._previous[number] = signal.signal(number, self._handle)

    def _handle(self, number: int, _frame: Any) -> None:
        log.warning("received signal %d: saving a checkpoint and stopping after this step", number)
        self.received = number

    def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if args.world_size > 1:
            self._agree(args)
        if self.received is not None:
            control.should_save = True
            control.should_training_stop = True

    def _agree(self, args: Any) -> None:
        """Under DDP every rank must stop after the same step (else the others hang in the next
        all-reduce): one tiny all-reduce per step tells each rank whether any rank got a signal."""
        import torch
        import torch.distributed as dist

        flag = torch.tensor([0 if self.received is None else 1], device=args.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # every rank, every step: a collective
        if flag.item() and self.received is None:
            log.warning("another rank received a signal: saving a checkpoint and stopping after this step")
            self.received = int(signal.SIGTERM)

    def restore(self) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)


def complete_checkpoints(store: ArtifactStore) -> list[int]:
    """Steps of the checkpoints whose upload finished, oldest first."""
    steps = set()
    for key in store.list(layout.TRAIN_CHECKPOINTS):
        match = _STEP.search(key)
        if match and key.endswith("/" + COMPLETE):
            steps.add(int(match.group(1)))
    return sorted(steps)


def fetch_newest_checkpoint(store: ArtifactStore, output_dir: Path) -> Path | None:
    """Download the newest complete checkpoint into `output_dir`; None when there is none."""
    steps = complete_checkpoints(store)
    if not steps:
        return None
    step = steps[-1]
    local = output_dir / f"checkpoint-{step}"
    fetched = output_dir / f"checkpoint-{step}.fetched"
    if fetched.exists():  # another rank on this node fetched it first (main_process_first)
        return local
    store.download_dir(f"{layout.TRAIN_CHECKPOINTS}checkpoint-{step}/", local)
    (local / COMPLETE).unlink(missing_ok=True)
    fetched.touch()
    log.info(
        "resuming from checkpoint %d (%s)",
        step,
        store.uri_for(f"{layout.TRAIN_CHECKPOINTS}checkpoint-{step}/"),
    )
    return local
