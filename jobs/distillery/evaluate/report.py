"""report.json, report.md and a self-contained report.html (plots inlined as base64 PNGs)."""

from __future__ import annotations

import base64
import html
import io
import textwrap
from typing import Any

from distillery import layout
from distillery.store import ArtifactStore

BAR_METRICS = (
    "contract_pass_rate",
    "contract_pass_rate_tolerant",
    "accuracy",
    "teacher_agreement",
    "judge_score",
    "quality",
)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plots(report: dict[str, Any], loss: dict[str, Any] | None) -> dict[str, str]:
    """name -> base64 PNG: the training loss curve and metric bars per model."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    images: dict[str, str] = {}
    if loss and loss.get("steps"):
        figure, axis = plt.subplots(figsize=(6, 3))
        axis.plot(loss["steps"], loss["loss"], marker=".")
        axis.set_xlabel("step")
        axis.set_ylabel("training loss")
        axis.set_title("Loss curve")
        images["loss"] = _png(figure)
        plt.close(figure)
    models = report["models"]
    # Metrics no model measured (e.g. accuracy without expected outputs) would be empty slots.
    shown = [m for m in BAR_METRICS if any(metrics.get(m) is not None for metrics in models.values())]
    figure, axis = plt.subplots(figsize=(7, 3.4))
    width = 0.8 / max(1, len(models))
    for offset, (name, metrics) in enumerate(models.items()):
        values = [metrics.get(m) for m in shown]
        bars = axis.bar(
            [i + offset * width for i in range(len(shown))], [v or 0.0 for v in values], width, label=name
        )
        labels = ["" if v is None else f"{v:.0%}" if v <= 1 else f"{v:.2g}" for v in values]
        axis.bar_label(bars, labels=labels, fontsize=6)
    axis.set_xticks([i + width * (len(models) - 1) / 2 for i in range(len(shown))])
    axis.set_xticklabels([textwrap.fill(m.replace("_", " "), 14) for m in shown], fontsize=7)
    axis.set_ylim(0, 1.12)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    axis.set_title("Metrics per model")
    images["metrics"] = _png(figure)
    plt.close(figure)
    return images


def _metric_rows(report: dict[str, Any]) -> list[tuple[str, list[str]]]:
    models = report["models"]
    keys = [*BAR_METRICS, "latency_p50_ms", "latency_p95_ms", "tokens_per_second", "cost_per_1k_requests_usd"]
    rows = [(key, [_fmt(models[m].get(key)) for m in models]) for key in keys]
    rules = sorted({rule for metrics in models.values() for rule in metrics.get("rule_pass_rates", {})})
    rows += [
        (f"rule {rule}", [_fmt(models[m]["rule_pass_rates"].get(rule)) for m in models]) for rule in rules
    ]
    rows += [
        (f"diversity {k}", [_fmt(models[m]["diversity"].get(k)) for m in models])
        for k in ("vocabulary_size", "length_std_dev", "top_bigram_frequency")
    ]
    return rows


def markdown(report: dict[str, Any]) -> str:
    models = list(report["models"])
    verdict = report["verdict"]
    lines = [
        f"# Evaluation of {report['run']}",
        "",
        f"**Verdict: {verdict.get('verdict') or 'n/a'}** - {verdict.get('reason')}",
        f"Gates: {'all passed' if report['gates_passed'] else 'FAILED'}",
        "",
        "| metric | " + " | ".join(models) + " |",
        "|---|" + "---|" * len(models),
    ]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in _metric_rows(report)]
    lines += ["", "## Gates", "", "| metric | value | bound | result |", "|---|---|---|---|"]
    for gate in report["gates"]:
        bound = f"min {gate['min']}" if gate["min"] is not None else ""
        bound += f" max {gate['max']}" if gate["max"] is not None else ""
        lines.append(
            f"| {gate['metric']} | {_fmt(gate['value'])} | {bound.strip()} | "
            f"{'pass' if gate['passed'] else 'FAIL'} ({gate['reason']}) |"
        )
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


def html_page(report: dict[str, Any], images: dict[str, str]) -> str:
    models = list(report["models"])
    head = "".join(f"<th>{html.escape(m)}</th>" for m in models)
    body = "".join(
        f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>"
        for name, values in _metric_rows(report)
    )
    gates = "".join(
        f"<tr><td>{html.escape(g['metric'])}</td><td>{_fmt(g['value'])}</td>"
        f"<td>{'pass' if g['passed'] else 'FAIL'}</td><td>{html.escape(g['reason'])}</td></tr>"
        for g in report["gates"]
    )
    pictures = "".join(
        f'<img alt="{name}" src="data:image/png;base64,{data}"/>' for name, data in images.items()
    )
    verdict = report["verdict"]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Distillery evaluation: {html.escape(report['run'])}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px}</style></head><body>"
        f"<h1>Evaluation of {html.escape(report['run'])}</h1>"
        f"<p><b>Verdict: {html.escape(str(verdict.get('verdict') or 'n/a'))}</b> - "
        f"{html.escape(str(verdict.get('reason')))}</p>"
        f"<table><tr><th>metric</th>{head}</tr>{body}</table>"
        f"<h2>Gates</h2><table><tr><th>metric</th><th>value</th><th>result</th><th>why</th></tr>{gates}</table>"
        f"<h2>Plots</h2>{pictures}</body></html>"
    )


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
    store.write_text(layout.EVALUATE_REPORT_HTML, html_page(report, plots(report, loss)))
    keys = (
        layout.EVALUATE_REPORT_JSON,
        layout.EVALUATE_REPORT_MD,
        layout.EVALUATE_REPORT_HTML,
        layout.EVALUATE_PREDICTIONS,
    )
    return {key: store.uri_for(key) for key in keys}
