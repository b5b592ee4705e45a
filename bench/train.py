"""Training throughput: the strategy our job picks for this device vs seed 003's (batch 2, no packing).

Same tiny Qwen2 model (built locally), same mixed-length data (seed 001's spread: "hi" to paragraphs),
same run, both through distillery.train.job.train_to_store; the seed's padded batches of 2 are given
as an explicit TrainStrategy, ours is what `choose_strategy` picks for the device (packing unset).
The two are run alternately `--repeats` times so both see the same machine load. Throughput counts
real (non-padding) tokens: tokens of one epoch of data x epochs / train runtime. MFU is printed where
the device's peak FLOP/s is known (CUDA table in distillery.train.strategy); on CPU it is n/a.
The last line is the median of the per-repeat ratios ours / seed (target >= 1.0 on CPU, 1.5 on GPU),
by CPU time on CPU (a shared machine's load changes wall time between runs, not the CPU time our
single-threaded process needs) and by wall time on CUDA; wall-time ratios are printed too.

    python bench/train.py [--examples 80] [--hidden 512] [--layers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
from pathlib import Path

import torch

from distillery.api.spec import StudentSpec
from distillery.fakes.scripted import EDGE_PROMPTS, chat_records, sinc_scatter, varied_prompts
from distillery.modelkit import build_tiny_model
from distillery.store import open_store
from distillery.train.job import train_to_store
from distillery.train.strategy import (
    Device,
    TrainStrategy,
    choose_strategy,
    detect_device,
    mfu,
    training_flops_per_token,
)

SYSTEM = "Scatter the prompt into sinc JSON."
FILLER = "Here is more context about the situation, the constraints and what I tried so far. "
SEED = TrainStrategy(False, 2, 1, False, "sdpa", "seed 003's configuration")


def mixed_prompts(count: int) -> list[str]:
    """From one word to long paragraphs, interleaved so batches mix lengths."""
    prompts = [*EDGE_PROMPTS, *varied_prompts(count)][:count]
    return [p + (" " + FILLER * (i % 9) * 5 if i % 3 == 0 else "") for i, p in enumerate(prompts)]


def student_spec(model_dir: Path) -> StudentSpec:
    return StudentSpec.model_validate(
        {
            "baseModel": str(model_dir),
            "training": {
                "epochs": 1,
                "batchSize": 2,
                "gradientAccumulation": 1,
                "maxLength": 1024,
                "checkpointEverySteps": 100_000,
                "logEverySteps": 1000,
            },
        }
    )


def throughput(student: StudentSpec, records: list[dict], work: Path, strategy: TrainStrategy | None) -> dict:
    summary = train_to_store(
        student, records, [], open_store(f"file://{work}/store"), work / "run", strategy=strategy
    )
    tokens = summary["train_tokens_per_epoch"] * summary["epochs"]
    return {
        "tokens": tokens,
        "steps": summary["steps"],
        "tokens_per_second": tokens / summary["train_runtime_seconds"],
        "tokens_per_cpu_second": tokens / summary["train_cpu_seconds"],
    }


def flops_per_token(student: StudentSpec) -> float:
    """4 x params + 2 x LoRA params per token (see training_flops_per_token)."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from distillery.train.trainer import lora_config

    model = AutoModelForCausalLM.from_pretrained(student.base_model)
    total = sum(p.numel() for p in model.parameters())
    peft = get_peft_model(model, lora_config(student))
    trainable = sum(p.numel() for p in peft.parameters() if p.requires_grad)
    return training_flops_per_token(total, trainable)


def mfu_text(tokens_per_second: float, per_token: float, device: Device) -> str:
    value = mfu(tokens_per_second, per_token, device)
    return "MFU n/a on CPU (peak FLOP/s unknown)" if value is None else f"MFU {100 * value:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=80)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: stable on a shared CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    device = detect_device()
    prompts = mixed_prompts(args.examples)
    records = chat_records(prompts, sinc_scatter, system_prompt=SYSTEM)
    print(f"device: {device.name}; load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    runs: dict[str, list[dict]] = {"ours": [], "seed": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        texts = [SYSTEM, *prompts, *(sinc_scatter(p) for p in prompts)]
        model = build_tiny_model(
            root / "model",
            vocab_texts=texts,
            hidden_size=args.hidden,
            layers=args.layers,
            heads=8,
            kv_heads=2,
        )
        student = student_spec(model)
        ours = choose_strategy(student.training, device)
        per_token = flops_per_token(student)
        for repeat in range(args.repeats):
            order = (("ours", None), ("seed", SEED)) if repeat % 2 == 0 else (("seed", SEED), ("ours", None))
            for name, strategy in order:
                runs[name].append(throughput(student, records, root / f"{name}{repeat}", strategy))
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    report(runs, ours, per_token, device)


def report(runs: dict[str, list[dict]], ours: TrainStrategy, per_token: float, device: Device) -> None:
    """Per-run rates, then the median ratio: by CPU time on CPU (robust to other processes sharing
    the cores), by wall time on CUDA (the GPU's work is not CPU time)."""
    headline = "tokens_per_cpu_second" if device.kind == "cpu" else "tokens_per_second"
    for name, label in (
        ("ours", f"ours ({ours.describe()})"),
        ("seed", "seed 003 (batch 2, padded, no packing)"),
    ):
        wall = [r["tokens_per_second"] for r in runs[name]]
        cpu = [r["tokens_per_cpu_second"] for r in runs[name]]
        print(
            f"{label}: {runs[name][0]['tokens']} tokens, {runs[name][0]['steps']} steps per run; "
            f"tokens/s per run (wall) {', '.join(f'{r:.0f}' for r in wall)}, "
            f"(per CPU-second) {', '.join(f'{r:.0f}' for r in cpu)}; "
            f"{mfu_text(statistics.median(wall), per_token, device)}"
        )
    for key in ("tokens_per_second", "tokens_per_cpu_second"):
        ratios = [o[key] / s[key] for o, s in zip(runs["ours"], runs["seed"], strict=True)]
        print(f"ratios per repeat by {key}: {', '.join(f'{r:.2f}' for r in ratios)}")
    ratios = [o[headline] / s[headline] for o, s in zip(runs["ours"], runs["seed"], strict=True)]
    print(f"ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
