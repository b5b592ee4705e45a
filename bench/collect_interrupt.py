"""SIGTERM and SIGKILL of a 400-prompt collect, then a restart: the fake server's billing ledger.

400 prompts, concurrency 16, 100 ms per call, 30 % transient faults (429, 529, 500: answered before
billing). Each scenario runs `distillery-job collect` as a subprocess, signals it once half of the
prompts are billed, restarts it, and prints what the teacher billed. The LAST line is the number of
prompts billed twice after SIGTERM and after SIGKILL.

    python bench/collect_interrupt.py [--prompts 400]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from distillery.fakes.anthropic_server import FakeAnthropicServer
from distillery.store import open_store

JOB = str(Path(sys.executable).with_name("distillery-job"))


def manifest(root: Path, base_url: str, n: int) -> Path:
    body = {
        "apiVersion": "distillery.dev/v1alpha1",
        "kind": "DistillationRun",
        "metadata": {"name": "interrupt", "namespace": "bench"},
        "spec": {
            "task": {"systemPrompt": "Answer briefly.", "output": {"format": "text"}},
            "teacher": {
                "model": "claude-haiku-4-5",
                "baseUrl": base_url,
                "concurrency": 16,
                "maxAttempts": 20,
            },
            "prompts": {"sources": [{"inline": [f"bench prompt {i}" for i in range(n)]}]},
            "student": {"baseModel": "tiny", "resources": {"gpus": 0}},
            "evaluation": {"heldOut": {"inline": ["held out"]}},
            "storage": {"uri": f"file://{root}/store"},
        },
    }
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def scenario(sig: signal.Signals, n: int) -> tuple[int, int, int, dict]:
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropicServer(latency=0.1) as fake:
        fake.set_faults(rate_limited=0.1, overloaded=0.1, server_error=0.1, retry_after=0.05)
        path = manifest(Path(tmp), fake.base_url, n)
        command = [JOB, "collect", "--manifest", str(path), "--attempt", "1"]
        env = os.environ | {"ANTHROPIC_API_KEY": "bench"}
        first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while sum(fake.completions.values()) < n // 2:
            time.sleep(0.01)
        first.send_signal(sig)
        code = first.wait(timeout=60)
        time.sleep(0.5)  # calls in flight at a SIGKILL still end (and are billed) on the server
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stderr[-2000:]
        store = open_store(f"file://{tmp}/store/bench/interrupt/a1/collect")
        summary = store.read_json("summary.json")
        records = list(store.read_jsonl("teacher.jsonl"))
        assert len(records) == n and {r["status"] for r in records} == {"ok"}
        return code, len(fake.billed_twice()), sum(fake.completions.values()), summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=400)
    n = parser.parse_args().prompts
    results = {}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        code, twice, billed, summary = scenario(sig, n)
        results[sig.name] = twice
        print(
            f"{sig.name}: first run exit {code}; after restart {n} records, teacher billed {billed} "
            f"completions, {twice} prompts billed twice; summary possibly_paid_twice "
            f"{summary['possibly_paid_twice']}, uncertain_calls {summary['uncertain_calls']}"
        )
    print(f"prompts billed twice: SIGTERM {results['SIGTERM']}, SIGKILL {results['SIGKILL']} (of {n})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
