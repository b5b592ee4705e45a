"""The sweep's report: each candidate's size, pass rate, latency and cost, and the curve across
sizes (report.json, report.md, and a self-contained report.html with the chart as a PNG)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.api.summaries import CandidateOutcome
from distillery.store import ArtifactStore

COLUMNS = (
    ("parameters", "parameters"),
    ("contract_pass_rate", "pass rate"),
    ("latency_p95_ms", "latency p95 (ms)"),
    ("cost_per_1k_requests_usd", "cost / 1k requests (USD)"),
    ("gates_passed", "gates"),
)


def report_data(
    spec: DistillationRunSpec,
    outcomes: Sequence[CandidateOutcome],
    chosen: CandidateOutcome | None,
    rule: str,
) -> dict[str, Any]:
    return {
        "rule": rule,
        "chosen": chosen.name if chosen else None,
        "gates": [gate.to_api() for gate in spec.evaluation.gates],
        "candidates": [outcome.model_dump(mode="json") for outcome in outcomes],
    }


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "gates_passed":
        return "pass" if value else "fail"
    if key == "parameters":
        return f"{value:,}"
    if key == "contract_pass_rate":
        return f"{value:.0%}"
    return f"{value:.4g}"


def markdown(report: dict[str, Any]) -> str:
    chosen = report["chosen"]
    lines = [
        "# Student size sweep",
        "",
        f"Chosen: **{chosen}**" if chosen else "Chosen: none (no candidate passed every gate)",
        "",
        f"Rule: {report['rule']}.",
        "",
        "| candidate | base model | " + " | ".join(title for _, title in COLUMNS) + " | note |",
        "|---" * (len(COLUMNS) + 3) + "|",
    ]
    for c in report["candidates"]:
        cells = " | ".join(_cell(key, c.get(key)) for key, _ in COLUMNS)
        note = c.get("failed") or ("chosen" if c["name"] == chosen else "")
        lines.append(f"| {c['name']} | {c.get('base_model') or '-'} | {cells} | {note} |")
    return "\n".join(lines) + "\n"


def curve_png(report: dict[str, Any]) -> str | None:
    """Pass rate, latency and cost against parameter count (candidates with a measured size)."""
    points = sorted((c for c in report["candidates"] if c.get("parameters")), key=lambda c: c["parameters"])
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    sizes = [c["parameters"] for c in points]
    figure, axes = plt.subplots(1, 3, figsize=(10, 3))
    for axis, (key, title) in zip(axes, COLUMNS[1:4], strict=True):
        values = [c.get(key) for c in points]
        shown = [(s, v) for s, v in zip(sizes, values, strict=True) if v is not None]
        if shown:
            axis.plot(*zip(*shown, strict=True), marker="o")
        for c in points:
            if c["name"] == report["chosen"] and c.get(key) is not None:
                axis.plot([c["parameters"]], [c[key]], marker="*", markersize=14, color="tab:green")
        axis.set_xscale("log")
        axis.set_xlabel("parameters")
        axis.set_title(title, fontsize=9)
    figure.suptitle("Across student sizes (star: chosen)", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def html_page(report: dict[str, Any]) -> str:
    chosen = report["chosen"]
    rows = []
    for c in report["candidates"]:
        cells = "".join(f"<td>{html.escape(_cell(key, c.get(key)))}</td>" for key, _ in COLUMNS)
        note = html.escape(c.get("failed") or ("chosen" if c["name"] == chosen else ""))
        style = ' class="chosen"' if c["name"] == chosen else ""
        rows.append(
            f"<tr{style}><td>{html.escape(c['name'])}</td>"
            f"<td>{html.escape(c.get('base_model') or '-')}</td>{cells}<td>{note}</td></tr>"
        )
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in COLUMNS)
    png = curve_png(report)
    chart = (
        f'<img alt="accuracy, latency and cost across sizes" src="data:image/png;base64,{png}">'
        if png
        else ""
    )
    verdict = (
        f"Chosen: <b>{html.escape(chosen)}</b>" if chosen else "Chosen: none (no candidate passed every gate)"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Student size sweep</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}"
        "table{border-collapse:collapse}.chosen{background:#e6f4ea}</style></head><body>"
        f"<h1>Student size sweep</h1><p>{verdict}</p><p>Rule: {html.escape(report['rule'])}.</p>"
        f"<table><tr><th>candidate</th><th>base model</th>{head}<th>note</th></tr>{''.join(rows)}</table>"
        f"{chart}</body></html>"
    )


def write_report(
    store: ArtifactStore,
    spec: DistillationRunSpec,
    outcomes: Sequence[CandidateOutcome],
    chosen: CandidateOutcome | None,
    rule: str,
) -> dict[str, str]:
    """Write the three reports to the sweep's store; returns their URIs."""
    report = report_data(spec, outcomes, chosen, rule)
    store.write_json(layout.SWEEP_REPORT_JSON, report)
    store.write_text(layout.SWEEP_REPORT_MD, markdown(report))
    store.write_text(layout.SWEEP_REPORT_HTML, html_page(report))
    return {
        "report_json": store.uri_for(layout.SWEEP_REPORT_JSON),
        "report_md": store.uri_for(layout.SWEEP_REPORT_MD),
        "report_html": store.uri_for(layout.SWEEP_REPORT_HTML),
    }
