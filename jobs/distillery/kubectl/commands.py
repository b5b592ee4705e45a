"""The plugin's subcommands: each reads through `Cluster` and prints with rich."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from distillery.api.status import DistillationRunStatus
from distillery.kubectl.cluster import ANNOTATION_RERUN, Cluster, PluginError
from distillery.runner import views

STYLES = {"Succeeded": "green", "Failed": "red", "True": "green", "False": "red", "Unknown": "yellow"}


def _console() -> Console:
    return Console(width=200, soft_wrap=True)


def _status(run: dict[str, Any]) -> DistillationRunStatus:
    return DistillationRunStatus.model_validate(run.get("status") or {})


def _age(created: str | None) -> str:
    if not created:
        return ""
    seconds = (datetime.now(UTC) - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _number(value: float | int | None, fmt: str = "{}") -> str:
    return "" if value is None else fmt.format(value)


def list_runs(cluster: Cluster, args: argparse.Namespace) -> int:
    runs = cluster.runs(args.all_namespaces)
    if not runs:
        where = "any namespace" if args.all_namespaces else f"namespace {cluster.namespace}"
        print(f"No DistillationRuns in {where}.")
        return 0
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns = ["NAME", "PHASE", "ATTEMPT", "EXAMPLES", "LOSS", "PASS", "COST", "AGE"]
    if args.all_namespaces:
        columns.insert(0, "NAMESPACE")
    for column in columns:
        table.add_column(column)
    for run in sorted(runs, key=lambda r: (r["metadata"]["namespace"], r["metadata"]["name"])):
        status, meta = _status(run), run["metadata"]
        numbers = status.summary
        row = [
            meta["name"],
            Text(status.phase, style=STYLES.get(status.phase, "")),
            str(status.attempt),
            _number(numbers.examples),
            _number(numbers.final_loss, "{:.4g}"),
            _number(numbers.contract_pass_rate, "{:.0%}"),
            _number(numbers.teacher_cost_usd, "${:.4f}"),
            _age(meta.get("creationTimestamp")),
        ]
        if args.all_namespaces:
            row.insert(0, meta["namespace"])
        table.add_row(*row)
    _console().print(table)
    return 0


def status(cluster: Cluster, args: argparse.Namespace) -> int:
    run = cluster.run(args.run)
    current = _status(run)
    meta = run["metadata"]
    console = _console()
    generation, observed = meta.get("generation"), current.observed_generation
    console.print(
        Text.assemble(
            (f"{cluster.namespace}/{args.run}", "bold"),
            "  phase ",
            (current.phase, STYLES.get(current.phase, "")),
            f"  attempt {current.attempt}  generation {generation} (observed {observed})",
        )
    )
    if current.message:
        console.print(Text(f"message: {current.message}", style="red"))
    console.print(views.summary_table(current))
    if current.artifacts.prefix:
        console.print(f"artifacts: {current.artifacts.prefix}", highlight=False)
    if current.history:
        history = Table(title="History", title_justify="left")
        for column in ("attempt", "outcome", "reason", "completed"):
            history.add_column(column)
        for record in current.history:
            history.add_row(str(record.attempt), record.outcome, record.reason, record.completion_time or "")
        console.print(history)
    events = cluster.events(args.run)[-args.events :]
    table = Table(title="Recent events", title_justify="left")
    for column in ("last seen", "type", "reason", "message"):
        table.add_column(column)
    for event in events:
        moment = event.last_timestamp or event.event_time
        table.add_row(
            moment.isoformat() if moment else "",
            Text(event.type or "", style="red" if event.type == "Warning" else ""),
            event.reason or "",
            event.message or "",
        )
    console.print(table if events else Text("no events", style="yellow"))
    return 0


def report(cluster: Cluster, args: argparse.Namespace) -> int:
    from distillery.runner.stored import locate

    run = cluster.run(args.run)
    current = _status(run)
    prefix = current.artifacts.prefix
    if not prefix:
        raise PluginError(
            f"{args.run}: no artifacts yet (status.artifacts.prefix is empty; phase {current.phase})"
        )
    if args.attempt is not None:
        prefix = f"{prefix.rsplit('/', 1)[0]}/a{args.attempt}"
    storage = (run.get("spec") or {}).get("storage") or {}
    stored = locate(prefix, endpoint_url=args.endpoint or storage.get("endpoint"))
    if args.json:
        print(json.dumps({"attemptUri": stored.attempt_uri, "report": stored.report}, indent=2, default=str))
        return 0
    console = _console()
    console.print(Text(f"{args.run}: {stored.attempt_uri}", style="bold"), highlight=False)
    if stored.report is None:
        console.print(Text("no evaluation report yet (evaluate has not finished)", style="yellow"))
        return 1
    views.print_report(console, stored.report)
    if stored.report_location:
        console.print(f"report: {stored.report_location}", highlight=False)
    return 0


def logs(cluster: Cluster, args: argparse.Namespace) -> int:
    current = _status(cluster.run(args.run))
    pods = cluster.pods(args.run, current.attempt, args.phase)
    if not pods:
        phase = f", phase {args.phase}" if args.phase else ""
        raise PluginError(
            f"{args.run}: no pods for attempt {current.attempt}{phase} (not started yet, or their Jobs "
            "were removed after ttlSecondsAfterFinished; the failure message is in `kubectl distill status`)"
        )
    failed = 0
    for pod in pods:
        terminated = {s.name: s.state.terminated for s in pod.status.container_statuses or [] if s.state}
        for container in pod.spec.containers:
            name = pod.metadata.name
            print(f"==> pod/{name} container {container.name} <==", flush=True)
            try:
                if not pod.spec.node_name:  # the API server serves logs through the pod's node
                    raise PluginError(f"pod {name} is on no node (phase {pod.status.phase}): no logs to read")
                sys.stdout.write(cluster.log(name, container.name, args.tail) or "")
            except PluginError as exc:
                failed += 1
                print(f"kubectl distill logs: error: {exc}", file=sys.stderr, flush=True)
                state = terminated.get(container.name)
                if state is not None and state.message:
                    print(f"(its termination message, exit code {state.exit_code}:)\n{state.message}")
    return 1 if failed else 0


def rerun(cluster: Cluster, args: argparse.Namespace) -> int:
    token = args.token or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    cluster.annotate(args.run, ANNOTATION_RERUN, token)
    print(
        f"distillationrun {cluster.namespace}/{args.run}: {ANNOTATION_RERUN}={token} (a new attempt starts)"
    )
    return 0
