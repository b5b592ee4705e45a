"""Training throughput of 1 vs N data-parallel processes through `distillery-job train` (torchrun).

Same tiny Qwen2 model (built locally), same data, same global batch (1 process x batch B*N, and N
processes x batch B): only the processes and their threads differ. Each run is a real
`distillery-job train` process (the launcher, torchrun and its workers on CPU with gloo; `--gpus`
runs one process per GPU instead). Three configurations, alternated `--repeats` times so all see the
same machine load:

- `1 x C threads`: one process using all C cores (OMP_NUM_THREADS=C, torch's default);
- `1 x 1 thread`: one process, one thread (the per-core baseline);
- `N x C/N threads`: N processes sharing the cores, as the launcher sets it (the product's default).

Throughput counts real tokens: tokens of one epoch x epochs / the Trainer's runtime on rank 0
(start-up and model loading excluded; the whole job's wall time is printed too). The last line is the
median ratio of `N x C/N` to the faster of the two single-process runs of the same repeat: the
speed-up the same cores give. On 2 idle cores it cannot exceed ~1x (2 processes get 1 core each
instead of 1 process getting both, plus the all-reduce); on a shared machine threads that spin for
cores other processes hold make `1 x C` much slower, which is why the single-thread run is there
(other processes' load moves every number; the load average is printed).

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


def one_run(root: Path, name: str, spec: dict, records: list[dict], threads: int) -> dict:
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
        env={**os.environ, "OMP_NUM_THREADS": str(threads)},
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
    n = args.processes
    configs = {
        f"1 x {cores} threads": (1, cores),
        "1 x 1 thread": (1, 1),
        f"{n} x {cores // n} threads": (n, cores // n),
    }
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        texts = [SYSTEM, *prompts, *(sinc_scatter(p) for p in prompts)]
        model = build_tiny_model(
            root / "model", vocab_texts=texts, hidden_size=args.hidden, layers=args.layers
        )
        for repeat in range(args.repeats):
            names = list(configs) if repeat % 2 == 0 else list(reversed(configs))
            for index, name in enumerate(names):
                processes, threads = configs[name]
                batch = args.batch * (n // processes)  # same global batch every way
                storage = f"file://{root}/store-{index}-{repeat}"
                spec = manifest(model, storage, processes=processes, batch=batch, gpus=args.gpus)
                runs[name].append(one_run(root, f"c{index}-r{repeat}", spec, records, max(1, threads)))
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    for name, results in runs.items():
        rates = ", ".join(f"{r['tokens_per_second']:.0f}" for r in results)
        walls = ", ".join(f"{r['job_wall_seconds']:.0f}" for r in results)
        first = results[0]
        print(
            f"{name} (world size {first['world_size']}): {first['tokens']} tokens, {first['steps']} steps "
            f"per run; tokens/s per run {rates}; whole job {walls} s"
        )
    ours, single = runs[f"{n} x {cores // n} threads"], list(configs)[:2]
    for name in single:
        ratios = [
            a["tokens_per_second"] / b["tokens_per_second"] for a, b in zip(ours, runs[name], strict=True)
        ]
        print(f"ratios {n} processes / {name} per repeat: {', '.join(f'{r:.2f}' for r in ratios)}")
    # The baseline is the faster single process of each repeat: on a loaded machine `1 x C` threads
    # spin for cores other processes hold, and a ratio against that would flatter data parallelism.
    best = [
        max(a["tokens_per_second"], b["tokens_per_second"])
        for a, b in zip(*(runs[c] for c in single), strict=True)
    ]
    headline = [a["tokens_per_second"] / b for a, b in zip(ours, best, strict=True)]
    median = statistics.median(headline)
    print(f"ratio {n} processes / the faster single process on the same {cores} cores: {median:.2f}")


if __name__ == "__main__":
    main()
