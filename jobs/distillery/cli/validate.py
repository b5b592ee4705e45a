"""`distillery validate FILE...`: check manifests the way the API server and the jobs will."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from distillery.api.validation import validate_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="Validate DistillationRun manifests (types, unknown fields, CEL, cron, ...)."
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="Manifest files (YAML).")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        for report in validate_file(path):
            if report.ok:
                print(f"ok      {report.source} ({report.name})")
                continue
            failed += 1
            print(f"invalid {report.source}:", file=sys.stderr)
            for problem in report.problems:
                print(f"  - {problem}", file=sys.stderr)
    return 1 if failed else 0
