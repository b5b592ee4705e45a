"""Collect throughput: our collector (journal + group-commit durability, concurrency 32) vs a bare
asyncio loop over the async SDK at the same concurrency (and, with --sequential, the seeds'
sequential SDK loop).

500 prompts against the fake Anthropic server (run in its own process, 100 ms per completion).
Prints each time; the LAST line is the ratio bare-loop time / our time (target >= 0.9: within 10%).

    python bench/collect.py [--prompts 500] [--latency 0.1] [--concurrency 32] [--sequential]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
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


def bare_async(prompts: list[Prompt], base_url: str, concurrency: int) -> float:
    """The bare loop: the async SDK, a semaphore, asyncio.gather; nothing stored, no retries."""

    async def run() -> float:
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="bench", max_retries=0)
        gate = asyncio.Semaphore(concurrency)

        async def one(prompt: Prompt) -> None:
            async with gate:
                response = await client.messages.create(
                    model=MODEL,
                    max_tokens=256,
                    system=SYSTEM,
                    messages=[{"role": "user", "content": prompt.text}],
                )
                assert response.content[0].text

        started = time.perf_counter()
        await asyncio.gather(*(one(p) for p in prompts))
        elapsed = time.perf_counter() - started
        await client.close()
        return elapsed

    return asyncio.run(run())


def ours(prompts: list[Prompt], base_url: str, concurrency: int) -> float:
    spec = TeacherSpec(model=MODEL, base_url=base_url, concurrency=concurrency, max_tokens=256)
    with tempfile.TemporaryDirectory() as root:
        store = open_store(f"file://{root}")
        started = time.perf_counter()
        summary = collect_to_store(prompts, spec, store, api_key="bench", system_prompt=SYSTEM)
        elapsed = time.perf_counter() - started
    assert summary["collected"] == len(prompts), summary
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sequential", action="store_true", help="Also time the seeds' sequential loop.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    prompts = renumber(Prompt(id="", text=f"Question {i}: what is {i} squared?") for i in range(args.prompts))
    server, url = start_server(args.latency)
    n = len(prompts)
    try:
        bare_async(prompts[:20], url, args.concurrency)  # warm up the server and the SDK
        bare_seconds = bare_async(prompts, url, args.concurrency)
        ours_seconds = ours(prompts, url, args.concurrency)
        if args.sequential:
            sequential_seconds = sequential(prompts, url)
            print(f"sequential SDK loop: {n} prompts in {sequential_seconds:.2f}s")
            print(f"throughput ratio (ours / sequential): {sequential_seconds / ours_seconds:.1f}x")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"bare asyncio SDK loop (concurrency {args.concurrency}): {n} prompts in {bare_seconds:.2f}s")
    print(
        f"distillery collect (concurrency {args.concurrency}): {ours_seconds:.2f}s ({n / ours_seconds:.1f}/s)"
    )
    print(f"throughput ratio (ours / bare async loop): {bare_seconds / ours_seconds:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
