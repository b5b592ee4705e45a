"""Collect throughput: our collector (journal ahead + group-commit durability, concurrency 32) vs a bare
asyncio loop over the async SDK at the same concurrency (and, with --sequential, the seeds'
sequential SDK loop).

500 prompts against the fake Anthropic server (run in its own process, 100 ms per completion).
The machine is shared, so they are run `--repeats` times, interleaved (rotating which goes
first), and the median is reported with the load average. Prints every round, then the medians; the
LAST line is the median of the per-round ratios bare-loop time / our time (target >= 0.9: within
10%), against the issue's loop (a semaphore and asyncio.gather over every prompt) and against a
pool of `concurrency` worker coroutines (no task per prompt: the cheaper bare loop on a busy CPU).

    python bench/collect.py [--prompts 500] [--latency 0.1] [--concurrency 32] [--repeats 7] [--sequential]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time

import anthropic

from distillery.api.spec import TeacherSpec
from distillery.collect.engine import collect_to_store
from distillery.prompts import Prompt, renumber
from distillery.store import open_store

MODEL = "claude-haiku-4-5"
SYSTEM = "Answer briefly."
SPEC = TeacherSpec(model=MODEL, max_tokens=256)  # defaults: prompt caching on, 120 s per call


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "distillery.fakes.anthropic_server",
        "--port",
        "0",
        "--latency",
        str(latency),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()  # "fake Anthropic API listening on http://127.0.0.1:PORT ..."
    url = next(word for word in line.split() if word.startswith("http://"))
    return server, url


def sequential(prompts: list[Prompt], base_url: str) -> float:
    """The seeds' loop: one blocking SDK call after the other."""
    client = anthropic.Anthropic(base_url=base_url, api_key="bench")
    started = time.perf_counter()
    for prompt in prompts:
        response = client.messages.create(
            model=MODEL, max_tokens=256, system=SYSTEM, messages=[{"role": "user", "content": prompt.text}]
        )
        assert response.content[0].text
    return time.perf_counter() - started


def bare_async(prompts: list[Prompt], base_url: str, concurrency: int, *, pool: bool = False) -> float:
    """The bare loop: the async SDK, a semaphore, asyncio.gather; nothing stored, no retries. The
    same requests and client timeout as ours (the system prompt with cache_control, as the teacher
    sends it by default).
    `pool`: `concurrency` worker coroutines taking prompts from one iterator instead (no task per
    prompt, no semaphore: the cheaper form on a busy CPU)."""

    async def run() -> float:
        client = anthropic.AsyncAnthropic(
            base_url=base_url, api_key="bench", max_retries=0, timeout=SPEC.request_timeout_seconds
        )
        gate = asyncio.Semaphore(concurrency)

        async def call(prompt: Prompt) -> None:
            response = await client.messages.create(
                model=MODEL,
                max_tokens=256,
                system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": prompt.text}],
            )
            assert response.content[0].text

        async def one(prompt: Prompt) -> None:
            async with gate:
                await call(prompt)

        queue = iter(prompts)

        async def worker() -> None:
            for prompt in queue:
                await call(prompt)

        started = time.perf_counter()
        if pool:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            await asyncio.gather(*(one(p) for p in prompts))
        elapsed = time.perf_counter() - started
        await client.close()
        return elapsed

    return asyncio.run(run())


def ours(prompts: list[Prompt], base_url: str, concurrency: int) -> float:
    spec = SPEC.model_copy(update={"base_url": base_url, "concurrency": concurrency})
    with tempfile.TemporaryDirectory() as root:
        store = open_store(f"file://{root}")
        started = time.perf_counter()
        summary = collect_to_store(prompts, spec, store, api_key="bench", system_prompt=SYSTEM)
        elapsed = time.perf_counter() - started
    assert summary["collected"] == len(prompts), summary
    return elapsed


def timed(run: object) -> tuple[float, float]:
    """(wall seconds as measured by `run`, CPU seconds of this process, threads included)."""
    cpu = time.process_time()
    wall = run()  # type: ignore[operator]
    return wall, time.process_time() - cpu


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sequential", action="store_true", help="Also time the seeds' sequential loop.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    prompts = renumber(Prompt(id="", text=f"Question {i}: what is {i} squared?") for i in range(args.prompts))
    server, url = start_server(args.latency)
    n, c = len(prompts), args.concurrency
    runs = {
        "bare": lambda: bare_async(prompts, url, c),
        "pool": lambda: bare_async(prompts, url, c, pool=True),
        "ours": lambda: ours(prompts, url, c),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    print(
        f"{n} prompts, {args.latency * 1000:.0f} ms per call, concurrency {c}; "
        f"load average {load()} (1/5/15 min, {os.cpu_count()} cores)"
    )
    try:
        bare_async(prompts[:20], url, c)  # warm up the server and the SDK
        names = list(runs)
        for repeat in range(args.repeats):
            order = names[repeat % 3 :] + names[: repeat % 3]  # each goes first, second and last in turn
            for name in order:
                times[name].append(timed(runs[name]))
            print(
                f"round {repeat + 1} ({' -> '.join(order)}): "
                + ", ".join(
                    f"{name} {times[name][-1][0]:.2f}s ({times[name][-1][1]:.2f} CPU-s)" for name in names
                )
                + f"; load {load()}"
            )
        if args.sequential:
            sequential_seconds = sequential(prompts, url)
    finally:
        server.terminate()
        server.wait(timeout=10)
    wall = {name: statistics.median(w for w, _ in times[name]) for name in runs}
    ratios = {
        name: [b[0] / o[0] for b, o in zip(times[name], times["ours"], strict=True)]
        for name in ("bare", "pool")
    }
    cpu = statistics.median(o[1] / b[1] for b, o in zip(times["bare"], times["ours"], strict=True))
    if args.sequential:
        print(f"sequential SDK loop: {n} prompts in {sequential_seconds:.2f}s")
        print(f"throughput ratio (ours / sequential): {sequential_seconds / wall['ours']:.1f}x")
    print(f"medians of {args.repeats} rounds, {n} prompts, concurrency {c}:")
    print(f"  bare asyncio SDK loop (semaphore + gather): {wall['bare']:.2f}s")
    print(f"  bare asyncio SDK loop (worker pool): {wall['pool']:.2f}s")
    print(f"  distillery collect: {wall['ours']:.2f}s ({n / wall['ours']:.1f}/s)")
    print(f"our CPU time / the semaphore loop's: {cpu:.2f}x (median); load average at the end {load()}")
    for name, label in (("bare", "semaphore + gather"), ("pool", "worker pool")):
        print(f"  per-round ratios vs {label}: {' '.join(f'{r:.2f}' for r in ratios[name])}")
    print(
        f"throughput ratio (ours / bare async loop, median of {args.repeats} rounds): "
        f"{statistics.median(ratios['bare']):.2f}x (semaphore + gather), "
        f"{statistics.median(ratios['pool']):.2f}x (worker pool)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
