"""`distillery crd`: print (or write) the CRD generated from the spec models."""

from __future__ import annotations

import argparse
from pathlib import Path

from distillery.api.crd import render_crd


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "crd", help="Print the DistillationRun CRD generated from the spec models."
    )
    parser.add_argument("--output", "-o", type=Path, help="Write to this file instead of stdout.")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    text = render_crd()
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0
