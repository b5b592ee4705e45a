"""report.json, report.md and a self-contained report.html (see report_html.py for the page)."""

from __future__ import annotations

from typing import Any

from distillery import layout
from distillery.evaluate import report_text as words
from distillery.evaluate.report_html import html_page
from distillery.evaluate.report_plots import plots
from distillery.store import ArtifactStore

TABLE_METRICS = (
    "contract_pass_rate",
    "contract_pass_rate_tolerant",
    "teacher_agreement",
    "accuracy",
    "judge_score",
    "quality",
    "latency_p50_ms",
    "latency_p95_ms",
    "tokens_per_second",
    "cost_per_1k_requests_usd",
)


def markdown(report: dict[str, Any]) -> str:
    """The verdict, gates, learning evidence and scores as Markdown (human metric names)."""
    models = list(report["models"])
    verdict = report.get("verdict") or {}
    lines = [
        f"# Evaluation of {report['run']}",
        "",
        f"**{words.headline(report)}**",
        "",
        f"Verdict: {verdict.get('verdict') or 'n/a'} - {verdict.get('reason')}",
        f"Gates: {'all passed' if report['gates_passed'] else 'FAILED'}",
        "",
        *(f"- {'pass' if g['passed'] else 'FAIL'}: {words.gate_sentence(g)}" for g in report["gates"]),
    ]
    learning = words.learning_sentences(report.get("generalisation") or {}, report.get("examples", 0))
    if learning:
        lines += ["", "## Did it learn the task?", "", *(f"- {line}" for line in learning)]
    lines += ["", "## Scores", "", "| metric | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for key in TABLE_METRICS:
        values = [report["models"][m].get(key) for m in models]
        if any(v is not None for v in values):
            lines.append(
                f"| {words.metric_name(key)} | " + " | ".join(words.metric(key, v) for v in values) + " |"
            )
    subsets = words.subset_sentences(report.get("subsets"))
    if subsets:
        lines += ["", "## Real vs teacher-like held-out examples", "", *(f"- {line}" for line in subsets)]
    repairs = words.repair_sentences(report.get("repairs"))
    if repairs:
        lines += ["", "## Repairs (spec.task.output.repairs)", "", *(f"- {line}" for line in repairs)]
    errors = report.get("error_analysis")
    if errors:
        lines += [
            "",
            "## Student errors (seed 004)",
            "",
            f"{errors['student_errors']} errors: {errors['inherited']} inherited (teacher wrong too), "
            f"{errors['compression']} compression (teacher right, student wrong).",
        ]
    return "\n".join(lines) + "\n"


def write_report(
    store: ArtifactStore,
    report: dict[str, Any],
    predictions: list[dict[str, Any]],
    loss: dict[str, Any] | None,
) -> dict[str, str]:
    """Write the four report artifacts; return their URIs."""
    store.write_jsonl(layout.EVALUATE_PREDICTIONS, predictions)
    store.write_json(layout.EVALUATE_REPORT_JSON, report)
    store.write_text(layout.EVALUATE_REPORT_MD, markdown(report))
    store.write_text(layout.EVALUATE_REPORT_HTML, html_page(report, predictions, plots(report, loss)))
    keys = (
        layout.EVALUATE_REPORT_JSON,
        layout.EVALUATE_REPORT_MD,
        layout.EVALUATE_REPORT_HTML,
        layout.EVALUATE_PREDICTIONS,
    )
    return {key: store.uri_for(key) for key in keys}
