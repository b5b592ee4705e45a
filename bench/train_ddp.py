"""Training throughput of 1 vs N data-parallel processes through `distillery-job train` (torchrun).

Same tiny Qwen2 model (built locally), same data, same global batch (1 process x batch B*N, and N
processes x batch B): only the number of processes differs. Each run is a real `distillery-job train`
process (the launcher, torchrun and its workers on CPU with gloo; on a machine with several GPUs,
`--gpus` runs one process per GPU instead). Throughput counts real tokens: tokens of one epoch x
epochs / the Trainer's runtime on rank 0 (start-up and model loading excluded; the whole job's wall
time is printed too). The runs alternate `--repeats` times so both see the same machine load; the
last line is the median ratio N / 1.

On a 2-core machine the ratio cannot exceed ~1x: 2 processes get 1 core each (OMP_NUM_THREADS is
cores / processes) instead of 1 process getting both; the gradient all-reduce is extra work. On a
shared machine other processes' load moves both numbers; the load average is printed.

    python bench/train_ddp.py [--processes 2] [--examples 64] [--hidden 256] [--repeats 2] [--gpus 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from distillery import layout
from distillery.context import JobContext
from distillery.fakes.scripted import EDGE_PROMPTS, chat_records, sinc_scatter, varied_prompts
from distillery.modelkit import build_tiny_model

SYSTEM = "Scatter the prompt into sinc JSON."


def manifest(model: Path, storage: str, *, processes: int, batch: int, gpus: int) -> dict:
    # One process per GPU on GPUs; CPU processes on CPU.
    resources = {"gpus": processes} if gpus else {"gpus": 0, "processesPerNode": processes}
    return {
        "apiVersion": "distillery.dev/v1alpha1",
        "kind": "DistillationRun",
        "metadata": {"name": "bench-ddp", "namespace": "bench"},
        "spec": {
            "task": {"systemPrompt": SYSTEM, "output": {"format": "text"}},
            "teacher": {"model": "claude-haiku-4-5"},
            "prompts": {"sources": [{"inline": ["hi"]}]},
            "student": {
                "baseModel": str(model),
                "training": {
                    "epochs": 1,
                    "batchSize": batch,
                    "gradientAccumulation": 1,
                    "maxLength": 1024,
                    "checkpointEverySteps": 100_000,
                    "logEverySteps": 1000,
                },
                "resources": resources,
            },
            "evaluation": {"heldOut": {"inline": ["hi"]}},
            "storage": {"uri": storage},
        },
    }


def one_run(root: Path, name: str, spec: dict, records: list[dict]) -> dict:
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    ctx = JobContext.load(path, 1)
    ctx.store("curate").write_jsonl(layout.CURATE_TRAIN, records)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "distillery.cli.job", "train", "--manifest", str(path), "--attempt", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    summary = ctx.store("train").read_json(layout.SUMMARY)
    tokens = summary["train_tokens_per_epoch"] * summary["epochs"]
    return {
        "tokens": tokens,
        "steps": summary["steps"],
        "world_size": summary["world_size"],
        "tokens_per_second": tokens / summary["train_runtime_seconds"],
        "job_wall_seconds": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2, help="per-process batch of the N-process run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gpus", type=int, default=0, help="> 0: one process per GPU instead of CPU")
    args = parser.parse_args()
    prompts = [*EDGE_PROMPTS, *varied_prompts(args.examples)][: args.examples]
    records = chat_records(prompts, sinc_scatter, system_prompt=SYSTEM)
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; load average at start {os.getloadavg()[0]:.1f}")
    runs: dict[int, list[dict]] = {1: [], args.processes: []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        texts = [SYSTEM, *prompts, *(sinc_scatter(p) for p in prompts)]
        model = build_tiny_model(
            root / "model", vocab_texts=texts, hidden_size=args.hidden, layers=args.layers
        )
        for repeat in range(args.repeats):
            order = (1, args.processes) if repeat % 2 == 0 else (args.processes, 1)
            for processes in order:
                batch = args.batch * (args.processes // processes)  # same global batch both ways
                storage = f"file://{root}/store-{processes}-{repeat}"
                spec = manifest(model, storage, processes=processes, batch=batch, gpus=args.gpus)
                runs[processes].append(one_run(root, f"p{processes}-r{repeat}", spec, records))
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    for processes, results in runs.items():
        rates = ", ".join(f"{r['tokens_per_second']:.0f}" for r in results)
        walls = ", ".join(f"{r['job_wall_seconds']:.0f}" for r in results)
        first = results[0]
        print(
            f"{processes} process(es) (world size {first['world_size']}): {first['tokens']} tokens, "
            f"{first['steps']} steps per run; tokens/s per run {rates}; whole job {walls} s"
        )
    ratios = [
        n["tokens_per_second"] / o["tokens_per_second"]
        for n, o in zip(runs[args.processes], runs[1], strict=True)
    ]
    print(f"ratios per repeat: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"ratio {args.processes} / 1 processes: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
