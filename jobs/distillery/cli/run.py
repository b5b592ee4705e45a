"""`distillery run MANIFEST`: run a DistillationRun on this machine, phase by phase."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from distillery.errors import DistilleryError, ManifestError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="Run a DistillationRun locally: each phase as a distillery-job process.",
        description=(
            "Runs collect -> curate -> train -> evaluate (-> publish) on this machine, each phase as "
            "the same `distillery-job` command a Kubernetes Job runs. Artifacts go to spec.storage.uri "
            "(file:// or s3://); the run's status is kept next to them in status.json. Exit codes: 0 "
            "succeeded, 1 a phase failed, 2 bad input, 3 a gate failed (0 with --allow-gate-failure), "
            "130 interrupted."
        ),
    )
    parser.add_argument("manifest", type=Path, metavar="MANIFEST", help="DistillationRun manifest (YAML).")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Continue the last attempt: phases whose summary says they finished are not run again.",
    )
    parser.add_argument("--attempt", type=int, help="Run (or resume) this attempt number.")
    parser.add_argument(
        "--storage",
        metavar="URI",
        help="Override spec.storage.uri, e.g. file://./artifacts to run an s3:// example locally.",
    )
    parser.add_argument(
        "--allow-gate-failure",
        action="store_true",
        help="Exit 0 when the run finished but a gate failed (by default: exit code 3, for CI).",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from distillery.runner import run_manifest

    if args.attempt is not None and args.attempt < 1:
        print("distillery run: --attempt must be >= 1", file=sys.stderr)
        return 2
    try:
        result = run_manifest(
            args.manifest,
            resume=args.resume,
            attempt=args.attempt,
            storage=args.storage,
            allow_gate_failure=args.allow_gate_failure,
        )
    except ManifestError as exc:
        print(f"distillery run: invalid manifest {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except DistilleryError as exc:
        print(f"distillery run: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("distillery run: interrupted; continue with --resume", file=sys.stderr)
        return 130
    return result.exit_code
