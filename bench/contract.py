"""Contract checking throughput: cel-cpp rules + fast schema test vs the previous per-record path.

The sinc contract (JSON Schema + 5 CEL rules) checks the same completions, one process, one core:
ours (`distillery.contract.Contract`) against the previous engine (celpy interpreter, jsonschema on
every record; bench/legacy/). Completions: the scripted teacher's sinc outputs, a fifth of them
broken in the ways real teachers break them (no formula, five bands, a fenced block, prose).
Both engines must give every completion the same failure reasons. Target: >= 2,000 records/s.
The last line is the ratio ours / previous in records/s.

    python bench/contract.py [--records 20000] [--baseline-records 500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.legacy.contract import LegacyContract
from distillery.contract import Contract
from distillery.contract.sinc import sinc_output_spec
from distillery.fakes.scripted import sinc_scatter, varied_prompts


def _broken(completion: str, kind: int) -> str:
    value: dict[str, Any] = json.loads(completion)
    if kind == 0:
        value.pop("formula")
    elif kind == 1:
        value["fragments"] = value["fragments"][:5]
    elif kind == 2:
        return f"Here is the scatter:\n```json\n{completion}\n```"
    elif kind == 3:
        value["fragments"][5]["x"] = "Do this. Then do that."
    else:
        return completion[: len(completion) // 2]
    return json.dumps(value, ensure_ascii=False)


def completions(count: int) -> list[tuple[str, str]]:
    """(prompt, completion) pairs; every fifth one broken."""
    prompts = varied_prompts(count)
    pairs = []
    for index, prompt in enumerate(prompts):
        completion = sinc_scatter(prompt)
        if index % 5 == 4:
            completion = _broken(completion, (index // 5) % 5)
        pairs.append((prompt, completion))
    return pairs


def run(contract: Any, pairs: list[tuple[str, str]]) -> tuple[float, list[list[str]]]:
    started = time.perf_counter()
    failures = [contract.check(completion, prompt=prompt).failures for prompt, completion in pairs]
    return time.perf_counter() - started, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--baseline-records", type=int, default=500)
    args = parser.parse_args()
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    pairs = completions(args.records)
    spec = sinc_output_spec()
    ours, previous = Contract(spec), LegacyContract(spec)
    run(ours, pairs[:200])  # warm-up: first-call costs are not throughput
    seconds, failures = run(ours, pairs)
    rate = len(pairs) / seconds
    print(
        f"ours (cel-cpp + fast schema test): {len(pairs)} records in {seconds:.2f} s, {rate:,.0f} records/s"
    )
    baseline_pairs = pairs[: args.baseline_records]
    base_seconds, base_failures = run(previous, baseline_pairs)
    base_rate = len(baseline_pairs) / base_seconds
    print(
        f"previous (celpy + jsonschema per record): {len(baseline_pairs)} records in {base_seconds:.2f} s, "
        f"{base_rate:,.0f} records/s"
    )
    differing = sum(a != b for a, b in zip(failures, base_failures, strict=False))
    print(f"same failure reasons on {len(baseline_pairs) - differing}/{len(baseline_pairs)} records")
    print(f"target >= 2,000 records/s: {'met' if rate >= 2000 else 'MISSED'}")
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.1f}")
    print(f"ratio {rate / base_rate:.1f}")


if __name__ == "__main__":
    main()
