"""Curation at scale: 100,000 synthetic text completions (contract + filters + near-dedupe).

Ours (`curate_records`: cel-cpp contract, vectorised MinHash LSH) curates --records completions in
a child process, which reports its wall time and peak RSS (the input records included). The
previous path (celpy contract, per-text MinHash loop; bench/legacy/) is too slow for 100k, so both
curate the first --baseline-records of the same records here, and must give the same train,
validation and rejected sets. The 1-minute load average is printed: the machine is shared.
Target: 100k in under 2 minutes. The last line is the ratio previous / ours in seconds on the
shared sample.

    python bench/curate.py [--records 100000] [--baseline-records 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.legacy.curate import legacy_curate_records  # noqa: E402
from distillery.api.spec import CurationSpec, TaskSpec  # noqa: E402
from distillery.curate.pipeline import Curated, curate_records  # noqa: E402
from distillery.fakes.synthetic import UNCERTAIN, synthetic_text_records  # noqa: E402

TASK = TaskSpec.model_validate(
    {
        "systemPrompt": "Answer the question helpfully.",
        "output": {
            "format": "text",
            "rules": [
                {"name": "bounded", "expression": "size(output) <= 4000"},
                {"name": "no-persona", "expression": "!output.lowerAscii().contains('as an ai')"},
                {"name": "ends-cleanly", "expression": "output.matches(r'[.!?]\\s*$')"},
            ],
        },
    }
)
SPEC = CurationSpec.model_validate(
    {"filters": {"minWords": 20, "uncertaintyPhrases": [UNCERTAIN], "minKeywordOverlap": 0.2}}
)


def outcome(curated: Curated) -> dict[str, Any]:
    """What must not change: who lands where, and why."""
    return {
        "train": [example["id"] for example in curated.train],
        "validation": [example["id"] for example in curated.validation],
        "rejected": {line["id"]: line["reasons"] for line in curated.rejected},
    }


def child(count: int) -> None:
    records = synthetic_text_records(count)
    input_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu_started = time.perf_counter(), time.process_time()
    curated = curate_records(records, TASK, SPEC)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "input_rss_mb": input_mb,
        "peak_rss_mb": peak_mb,
        "summary": curated.summary,
    }
    print(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--baseline-records", type=int, default=5_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    command = [sys.executable, __file__, "--child", str(args.records)]
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    summary = report["summary"]
    rate = args.records / report["seconds"]
    print(
        f"ours: {args.records} completions in {report['seconds']:.1f} s ({rate:,.0f}/s; "
        f"{report['cpu_seconds']:.1f} s of CPU), peak RSS "
        f"{report['peak_rss_mb']:.0f} MB ({report['input_rss_mb']:.0f} MB with the input records alone); "
        f"kept {summary['kept']}, rejected {summary['rejected_by_reason']}"
    )
    print(f"target 100k < 120 s: {'met' if report['seconds'] < 120 else 'MISSED'}")
    sample = synthetic_text_records(args.baseline_records)
    started = time.perf_counter()
    ours = outcome(curate_records(sample, TASK, SPEC))
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    previous = outcome(legacy_curate_records(sample, TASK, SPEC))
    previous_seconds = time.perf_counter() - started
    print(
        f"sample of {len(sample)}: ours {ours_seconds:.1f} s, previous {previous_seconds:.1f} s "
        f"({len(sample) / previous_seconds:,.0f}/s); same train/validation/rejected: {ours == previous}"
    )
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.1f}")
    print(f"ratio {previous_seconds / ours_seconds:.1f}")


if __name__ == "__main__":
    main()
