"""`distillery-job PHASE --manifest FILE --attempt N`: the entrypoint of every Kubernetes Job.

Each phase module exposes `run(ctx: JobContext) -> dict` returning its summary (also written to
the store as `<phase>/summary.json` by the phase itself). Heavy imports happen inside the phase.

Exit codes: 0 done; 1 the phase failed (the error is printed); 75 collect was stopped by SIGTERM /
SIGINT after finishing its in-flight calls and storing its records (summary status Interrupted):
run it again to resume.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from distillery.errors import CollectInterrupted, DistilleryError

PHASE_MODULES = {
    "collect": "distillery.collect.job",
    "curate": "distillery.curate.job",
    "train": "distillery.train.job",
    "evaluate": "distillery.evaluate.job",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distillery-job", description="Run one phase of a DistillationRun.")
    parser.add_argument("phase", choices=sorted(PHASE_MODULES), help="Which phase to run.")
    parser.add_argument("--manifest", required=True, help="Path of the DistillationRun manifest (YAML).")
    parser.add_argument("--attempt", type=int, default=1, help="Attempt number (artifact prefix a<N>).")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from distillery.context import JobContext

    try:
        ctx = JobContext.load(args.manifest, args.attempt)
        module = importlib.import_module(PHASE_MODULES[args.phase])
        summary = module.run(ctx)
    except CollectInterrupted as exc:
        print(f"distillery-job {args.phase}: interrupted: {exc}", file=sys.stderr)
        return exc.exit_code
    except DistilleryError as exc:
        print(f"distillery-job {args.phase}: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"phase": args.phase, "summary": summary}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
