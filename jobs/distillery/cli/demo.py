"""`distillery demo`: the offline demo (scripted teacher, tiny student, the full pipeline on CPU)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from distillery.errors import DistilleryError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="Offline demo: SCRIPTED teacher on 127.0.0.1, tiny local student, full pipeline on CPU.",
        description=(
            "Runs collect -> curate -> train -> evaluate through `distillery run` with no network, GPU "
            "or cluster: the teacher is a scripted fake Anthropic API, the student a tiny model built here."
        ),
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("distillery-demo"),
        help="Directory for the model, the manifest and the artifacts (default: ./distillery-demo).",
    )
    parser.add_argument("--resume", action="store_true", help="Continue the last demo run in --output.")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from distillery.demo import run_demo

    try:
        result = run_demo(args.output, resume=args.resume)
    except DistilleryError as exc:
        print(f"distillery demo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("distillery demo: interrupted; continue with --resume", file=sys.stderr)
        return 130
    return result.exit_code
