"""`distillery report PATH|URI`: a stored run's evaluation table and summary (file:// or s3://)."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from distillery import phases
from distillery.errors import DistilleryError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="Print a stored run's evaluation table and summary (a local path, file:// or s3://).",
        description=(
            "TARGET is a run directory (with status.json; its last attempt is shown), an attempt "
            "directory a<N>, an evaluate directory or its report.json, as a path or a file:// / s3:// URI."
        ),
    )
    parser.add_argument("target", metavar="PATH|URI", help="Where the run's artifacts are.")
    parser.add_argument("--attempt", type=int, help="Show this attempt of a run directory.")
    parser.add_argument("--endpoint", help="S3 endpoint URL (default: AWS_ENDPOINT_URL).")
    parser.add_argument("--json", action="store_true", help="Print status, summaries and report as JSON.")
    parser.set_defaults(handler=_handle)


def phase_table(outcomes: dict[str, phases.PhaseOutcome]) -> Table:
    table = Table(title="Phases", title_justify="left")
    for column in ("phase", "result", "detail"):
        table.add_column(column)
    styles = {"True": "green", "False": "red", "Unknown": "yellow"}
    for name, outcome in outcomes.items():
        status, reason, message = phases.phase_condition(phases.STEPS[name], outcome)
        table.add_row(name, Text(reason, style=styles[status]), message)
    return table


def _handle(args: argparse.Namespace) -> int:
    from distillery.runner import views
    from distillery.runner.stored import locate

    try:
        stored = locate(args.target, attempt=args.attempt, endpoint_url=args.endpoint)
    except DistilleryError as exc:
        print(f"distillery report: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        body = {
            "attempt": stored.attempt,
            "attemptUri": stored.attempt_uri,
            "status": stored.status.to_api() if stored.status else None,
            "summaries": stored.summaries,
            "report": stored.report,
            "reportLocation": stored.report_location,
        }
        print(json.dumps(body, indent=2, default=str))
        return 0
    console = Console()
    console.print(
        Text(f"attempt {stored.attempt or '?'}: {stored.attempt_uri}", style="bold"), highlight=False
    )
    if stored.status is not None:
        console.print(views.summary_table(stored.status))
    elif stored.summaries:
        console.print(phase_table(stored.outcomes()))
    if stored.report is not None:
        views.print_report(console, stored.report)
        console.print(f"report: {stored.report_location}", highlight=False, soft_wrap=True)
    else:
        console.print(Text("no evaluation report yet (evaluate has not finished)", style="yellow"))
    return 0
