"""Training throughput: our set-up (bfd packing, padding-free) vs seed 003's (batch 2, no packing).

Same tiny Qwen2 model (built locally), same mixed-length data (seed 001's spread: "hi" to paragraphs),
same run, both through distillery.train.job.train_to_store. Throughput counts real (non-padding)
tokens: tokens of one epoch of data x epochs / train runtime. The last line is the ratio (target >= 1.5).

    python bench/train.py [--examples 160] [--hidden 128] [--layers 4]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import torch

from distillery.api.spec import StudentSpec
from distillery.fakes.scripted import EDGE_PROMPTS, chat_records, sinc_scatter, varied_prompts
from distillery.modelkit import build_tiny_model
from distillery.store import open_store
from distillery.train.job import train_to_store

SYSTEM = "Scatter the prompt into sinc JSON."
FILLER = "Here is more context about the situation, the constraints and what I tried so far. "


def mixed_prompts(count: int) -> list[str]:
    """From one word to long paragraphs, interleaved so batches mix lengths."""
    prompts = [*EDGE_PROMPTS, *varied_prompts(count)][:count]
    return [p + (" " + FILLER * (i % 9) * 5 if i % 3 == 0 else "") for i, p in enumerate(prompts)]


def throughput(model_dir: Path, records: list[dict], work: Path, *, packing: bool, batch: int) -> dict:
    student = StudentSpec.model_validate(
        {
            "baseModel": str(model_dir),
            "training": {
                "epochs": 1,
                "batchSize": batch,
                "gradientAccumulation": 1,
                "maxLength": 1024,
                "packing": packing,
                "checkpointEverySteps": 100_000,
                "logEverySteps": 1000,
            },
        }
    )
    summary = train_to_store(student, records, [], open_store(f"file://{work}/store"), work / "run")
    tokens = summary["train_tokens_per_epoch"] * summary["epochs"]
    return {
        "tokens": tokens,
        "seconds": summary["train_runtime_seconds"],
        "steps": summary["steps"],
        "tokens_per_second": tokens / summary["train_runtime_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=80)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: stable on a shared CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    prompts = mixed_prompts(args.examples)
    records = chat_records(prompts, sinc_scatter, system_prompt=SYSTEM)
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
        ours = throughput(model, records, root / "ours", packing=True, batch=2)
        seed = throughput(model, records, root / "seed", packing=False, batch=2)
    for name, result in (
        ("ours (packing bfd, padding-free, batch 2)", ours),
        ("seed 003 (batch 2, no packing)", seed),
    ):
        print(
            f"{name}: {result['tokens']} tokens in {result['seconds']:.1f} s, {result['steps']} steps, "
            f"{result['tokens_per_second']:.0f} tokens/s"
        )
    print(f"ratio {ours['tokens_per_second'] / seed['tokens_per_second']:.2f}")


if __name__ == "__main__":
    main()
