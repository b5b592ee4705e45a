"""`distillery run`: not implemented yet (issue 5)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="(not implemented yet)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    print("distillery run: not implemented yet", file=sys.stderr)
    return 2
