"""`distillery-job train`: LoRA / QLoRA SFT of the student on curate's train.jsonl.

Reads `train.jsonl` / `validation.jsonl` from the curate phase; writes to the train phase:
`adapter/` (and `merged/` when asked), `loss.json`, `checkpoints/checkpoint-<step>/` every
`checkpointEverySteps` and on SIGTERM, and `summary.json`. A restarted pod resumes from the newest
complete checkpoint in the store instead of starting over.

Several processes (`resources.gpus > 1`, `processesPerNode > 1` or `nodes > 1`): this process
becomes the pod's launcher of torchrun (train/launch.py), whose workers run this same module under
DDP (or FSDP): rank 0 alone writes checkpoints and outputs; the newest checkpoint is downloaded once
per node (local rank 0, the other ranks wait at a barrier). The CPU tests run it with gloo.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from distillery import layout
from distillery.context import JobContext
from distillery.errors import ArtifactNotFound, PhaseInputMissing, TrainingError, TrainingInterrupted
from distillery.store import ArtifactStore
from distillery.train.launch import WORK_DIR_ENV, WorldPlan, launch, plan_world
from distillery.train.strategy import TrainStrategy, choose_strategy, detect_device

log = logging.getLogger(__name__)
# transformers 5 warns from inside its own Trainer about a name it renamed; nothing for users to do.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def read_examples(store: ArtifactStore) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """curate's train and (optional) validation records."""
    try:
        train = list(store.read_jsonl(layout.CURATE_TRAIN))
    except ArtifactNotFound as exc:
        raise PhaseInputMissing(
            f"train needs {store.uri_for(layout.CURATE_TRAIN)} (run curate first)"
        ) from exc
    validation = (
        list(store.read_jsonl(layout.CURATE_VALIDATION)) if store.exists(layout.CURATE_VALIDATION) else []
    )
    return train, validation


def peak_memory_bytes() -> int:
    import resource

    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _under_torchrun() -> bool:
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def _launch_workers(ctx: JobContext, plan: WorldPlan) -> dict[str, Any]:
    """This pod's launcher: base model fetched once here, then torchrun; rank 0's summary from the store."""
    from distillery.train import model as models

    _check_gpus(ctx.run.spec.student.resources, plan.processes_per_node)
    storage = ctx.run.spec.storage
    base_model = ctx.run.spec.student.base_model
    models.resolve_model_path(base_model, endpoint_url=storage.endpoint, region=storage.region)
    job_args = ["train", "--manifest", str(ctx.manifest_path), "--attempt", str(ctx.attempt)]
    job_args += ["--candidate", ctx.candidate] if ctx.candidate else []
    launch(plan, job_args, dict(os.environ))
    if plan.node_rank != 0:
        return {}  # node rank 0 reports the run (its pod's termination message)
    return ctx.store("train").read_json(layout.SUMMARY)


def _check_gpus(resources: Any, processes: int) -> None:
    """One process per GPU needs that many visible GPUs; without CUDA the processes run on CPU (gloo)."""
    import torch

    if resources.gpus < 1:
        return
    if not torch.cuda.is_available():
        log.warning(
            "student.resources.gpus is %d but no CUDA device is visible: %d CPU processes (gloo)",
            resources.gpus,
            processes,
        )
        return
    if torch.cuda.device_count() < processes:
        raise TrainingError(
            f"student.resources.gpus is {resources.gpus} but this pod sees {torch.cuda.device_count()} "
            "CUDA device(s): one training process per GPU needs them all visible"
        )


def _work_dir() -> Any:
    """The node's shared work dir when a launcher gave one (ranks share the fetched checkpoint)."""
    shared = os.environ.get(WORK_DIR_ENV)
    if shared and _under_torchrun():
        return contextlib.nullcontext(shared)
    return tempfile.TemporaryDirectory(prefix="distillery-train-")


def run(ctx: JobContext) -> dict[str, Any]:
    """Train the student (or, for several processes, launch torchrun); returns (and stores) the summary."""
    spec = ctx.run.spec
    if not _under_torchrun():
        plan = plan_world(spec.student.resources, dict(os.environ))
        if plan.distributed:
            return _launch_workers(ctx, plan)
    storage = spec.storage
    train_store = ctx.store("train")
    train_records, validation_records = read_examples(ctx.store("curate"))
    with _work_dir() as work:
        return train_to_store(
            spec.student,
            train_records,
            validation_records,
            train_store,
            Path(work),
            endpoint_url=storage.endpoint,
            region=storage.region,
        )


def train_to_store(
    student: Any,
    train_records: list[dict[str, Any]],
    validation_records: list[dict[str, Any]],
    store: ArtifactStore,
    work_dir: Path,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    strategy: TrainStrategy | None = None,
) -> dict[str, Any]:
    """The whole train phase against `store` (the train phase's prefix); usable without a manifest.

    `strategy` (how examples are batched) is chosen from the device unless given (bench/train.py
    gives the seed's configuration to compare against)."""
    from distillery.train import distillation
    from distillery.train import model as models
    from distillery.train.callbacks import CheckpointSync, ProgressLog, StopOnSignal, fetch_newest_checkpoint
    from distillery.train.data import check_prepared_size, prepare
    from distillery.train.outputs import save_outputs
    from distillery.train.trainer import build_trainer

    started = time.monotonic()
    models.configure_threads()
    base_path = models.resolve_model_path(student.base_model, endpoint_url=endpoint_url, region=region)
    tokenizer = models.load_tokenizer(base_path)
    data = prepare(tokenizer, train_records, validation_records, max_length=student.training.max_length)
    log.info(
        "%d training examples, %d tokens (%d assistant), longest %d (maxLength %d)",
        data.examples,
        data.train_tokens,
        data.assistant_tokens,
        data.longest,
        student.training.max_length,
    )
    if strategy is None:
        strategy = choose_strategy(student.training, detect_device())
    kd = distillation.prepare(student, tokenizer, data, store, endpoint_url=endpoint_url, region=region)
    strategy = distillation.unpacked(strategy) if kd else strategy
    log.info("strategy: %s", strategy.describe())
    model = models.load_model(base_path, method=student.method, attention=strategy.attention)
    parameters = int(model.num_parameters())  # the base model's size, before the adapter (a sweep's rule)
    # Each rank its own Trainer dir (every rank saves its rng state); one fetched checkpoint per node.
    output_dir = work_dir / f"trainer-rank{os.environ.get('RANK', '0')}"
    progress, sync, stop = ProgressLog(), CheckpointSync(store), StopOnSignal()
    try:
        trainer = build_trainer(
            model,
            tokenizer,
            student,
            output_dir,
            strategy,
            train_dataset=data.train,
            eval_dataset=data.validation,
            callbacks=[progress, sync, stop],
            kd=kd[:2] if kd else None,
        )
        check_prepared_size(trainer, data.examples, strategy.packing)
        with trainer.args.main_process_first(local=True, desc="fetching the newest checkpoint"):
            resume = fetch_newest_checkpoint(store, work_dir / "resume")
        cpu_started = time.process_time()
        result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        train_cpu_seconds = time.process_time() - cpu_started
    finally:
        stop.restore()
    if stop.received is not None:
        raise TrainingInterrupted(
            f"training stopped by signal {stop.received} at step {trainer.state.global_step}; "
            f"checkpoint saved to {store.uri_for(layout.TRAIN_CHECKPOINTS)} (a restart resumes from it)"
        )
    # evaluate() is collective under DDP: every rank runs it before non-zero ranks leave.
    eval_loss = trainer.evaluate()["eval_loss"] if data.validation is not None else None
    if not trainer.is_world_process_zero():
        return {}
    summary = save_outputs(
        trainer,
        tokenizer,
        student,
        store,
        work_dir,
        history=progress.history,
        facts={
            "examples": data.examples,
            "validation_examples": len(validation_records),
            "train_tokens_per_epoch": data.train_tokens,
            "assistant_tokens_per_epoch": data.assistant_tokens,
            "longest_example_tokens": data.longest,
            "resumed_from_step": int(resume.name.split("-")[-1]) if resume else None,
            "mean_train_loss": float(result.training_loss),
            "eval_loss": eval_loss,
            "train_runtime_seconds": float(result.metrics.get("train_runtime", 0.0)),
            # CPU time of this process (all its threads) while training: unlike the runtime, it does
            # not grow when other processes share the cores.
            "train_cpu_seconds": round(train_cpu_seconds, 2),
            "wall_seconds": round(time.monotonic() - started, 2),
            "peak_memory_bytes": peak_memory_bytes(),
            "parameters": parameters,
            "base_model": student.base_model,
            "method": student.method,
            "packing": strategy.packing,
            "strategy": strategy.describe(),
            "world_size": trainer.args.world_size,
            "nodes": student.resources.nodes,
            "distillation": kd[2] if kd else None,
        },
    )
    log.info(
        "training done: loss %s -> %s in %.1f s",
        summary["initial_loss"],
        summary["final_loss"],
        summary["wall_seconds"],
    )
    return summary
