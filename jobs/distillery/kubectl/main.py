"""`kubectl distill` (console script `kubectl-distill`; kubectl finds it on PATH as a plugin).

    kubectl distill list [-n NS | -A]        runs with phase, attempt and numbers
    kubectl distill status RUN               phase, conditions, summary, message, recent events
    kubectl distill report RUN [--attempt N] the evaluation tables, read from the artifact store
    kubectl distill logs RUN [--phase P]     the logs of the current attempt's pods
    kubectl distill rerun RUN                a new attempt with the same spec (distillery.dev/rerun)

Namespace, kubeconfig and context are chosen as kubectl chooses them (-n, --kubeconfig, --context,
else the kubeconfig's current context and its namespace).
"""

from __future__ import annotations

import argparse
import sys

from distillery.errors import DistilleryError
from distillery.kubectl import commands
from distillery.kubectl.cluster import Cluster
from distillery.layout import PHASES


def _connection_options(default: object) -> argparse.ArgumentParser:
    """Accepted before and after the subcommand, as kubectl accepts them."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("-n", "--namespace", default=default, help="Namespace (default: the context's).")
    options.add_argument(
        "--kubeconfig", default=default, help="Path of the kubeconfig (default: $KUBECONFIG, ~/.kube/config)."
    )
    options.add_argument("--context", default=default, help="kubeconfig context to use.")
    return options


def build_parser() -> argparse.ArgumentParser:
    # After the subcommand the options must not reset what was given before it: SUPPRESS there.
    common = _connection_options(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="kubectl distill",
        description="Inspect and rerun DistillationRuns.",
        parents=[_connection_options(None)],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", parents=[common], help="List runs with their phase and numbers.")
    listing.add_argument("-A", "--all-namespaces", action="store_true", help="Runs of every namespace.")
    listing.set_defaults(handler=commands.list_runs)
    status = sub.add_parser("status", parents=[common], help="Phase, conditions, summary and events.")
    status.add_argument("run")
    status.add_argument("--events", type=int, default=10, help="How many recent events (default 10).")
    status.set_defaults(handler=commands.status)
    report = sub.add_parser("report", parents=[common], help="The evaluation tables, from the store.")
    report.add_argument("run")
    report.add_argument("--attempt", type=int, help="An earlier attempt (default: the current one).")
    report.add_argument("--endpoint", help="S3 endpoint (default: the run's spec.storage.endpoint).")
    report.add_argument("--json", action="store_true", help="Print the stored report as JSON.")
    report.set_defaults(handler=commands.report)
    logs = sub.add_parser("logs", parents=[common], help="Logs of the current attempt's pods.")
    logs.add_argument("run")
    logs.add_argument("--phase", choices=PHASES, help="Only this phase's pods.")
    logs.add_argument("--tail", type=int, help="Only the last N lines of each container.")
    logs.set_defaults(handler=commands.logs)
    rerun = sub.add_parser("rerun", parents=[common], help="Start a new attempt with the same spec.")
    rerun.add_argument("run")
    rerun.add_argument("--token", help="The annotation's value (default: the current time).")
    rerun.set_defaults(handler=commands.rerun)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cluster = Cluster.connect(args.kubeconfig, args.context, args.namespace)
        return int(args.handler(cluster, args) or 0)
    except DistilleryError as exc:
        print(f"kubectl distill {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
