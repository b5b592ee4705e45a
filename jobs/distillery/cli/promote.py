"""`distillery promote MODEL --to VERSION --registry URI`: move a model's champion (roll back or forward).

The move is a conditional write on the champion pointer (it fails if another promotion got there
first) and is recorded in the pointer's history with who and when.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from distillery.errors import DistilleryError, PreconditionFailed

EXIT_CONFLICT = 1
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "promote",
        help="Make a registered model version the champion (rollback / roll forward).",
        description=(
            "Points <registry>/<model>/champion at versions/<VERSION>/ with a conditional write and "
            "records the change in the pointer's history. Exit codes: 0 done, 1 the champion changed "
            "meanwhile (run again), 2 bad input (no such complete version, bad registry URI)."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="Model name in the registry.")
    parser.add_argument("--to", type=int, required=True, metavar="VERSION", help="Version to promote.")
    parser.add_argument(
        "--registry",
        required=True,
        metavar="URI",
        help="Registry root (spec.publish.registry, default <storage.uri>/<namespace>/.registry).",
    )
    parser.add_argument("--endpoint", metavar="URL", help="S3 endpoint URL (MinIO, moto).")
    parser.add_argument("--region", metavar="REGION", help="S3 region.")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from distillery.publish.registry import Registry

    try:
        registry = Registry.open(args.registry, args.model, endpoint_url=args.endpoint, region=args.region)
        current = registry.champion()
        action = "rollback" if current is not None and args.to < current.version else "promote"
        champion = registry.set_champion(
            args.to, expected=current, action=action, by=f"distillery promote ({getpass.getuser()})"
        )
    except PreconditionFailed as exc:
        print(f"distillery promote: the champion changed meanwhile, run again: {exc}", file=sys.stderr)
        return EXIT_CONFLICT
    except DistilleryError as exc:
        print(f"distillery promote: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    before = f"v{current.version}" if current is not None else "none"
    print(f"{args.model}: champion {before} -> v{champion.version} ({action}) at {champion.uri}")
    return 0
