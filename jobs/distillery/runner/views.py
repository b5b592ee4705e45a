"""What a person sees of a run: phase lines, the evaluation table, the run's numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from distillery.api.status import DistillationRunStatus

PHASE_STYLES = {
    "collect": "cyan",
    "curate": "magenta",
    "train": "yellow",
    "evaluate": "green",
    "publish": "blue",
}
MODEL_ORDER = ("base", "student", "teacher")
# Metrics shown first and how they are labelled; any other numeric metric follows.
METRIC_LABELS = {
    "contract_pass_rate": "contract pass rate (strict)",
    "contract_pass_rate_tolerant": "contract pass rate (tolerant)",
    "schema_pass_rate": "JSON schema pass rate",
    "accuracy": "accuracy",
    "quality": "quality",
    "teacher_agreement": "agreement with teacher",
    "judge_score": "judge score",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
    "tokens_per_second": "tokens/s",
    "cost_per_1k_requests_usd": "cost / 1k requests (USD)",
}
RATE_HINTS = ("rate", "accuracy", "agreement", "score")


def phase_prefix(phase: str) -> Text:
    return Text(f"{phase:>8} │ ", style=PHASE_STYLES.get(phase, "white"))


def output_line(phase: str, line: str) -> Text:
    return phase_prefix(phase) + Text(line)


def _format(metric: str, value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int | float):
        if any(hint in metric.lower() for hint in RATE_HINTS) and 0 <= value <= 1:
            return f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"
        if isinstance(value, int) or abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def _models(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    models = report.get("models") or report.get("metrics") or {}
    if isinstance(models, list):
        models = {
            str(entry.get("name") or entry.get("model")): entry for entry in models if isinstance(entry, dict)
        }
    if not isinstance(models, Mapping):
        return {}
    ordered = [name for name in MODEL_ORDER if name in models] + [
        name for name in models if name not in MODEL_ORDER
    ]
    return {name: models[name] for name in ordered if isinstance(models[name], Mapping)}


def _scalar_metrics(models: Mapping[str, Mapping[str, Any]]) -> list[str]:
    seen: list[str] = []
    for metrics in models.values():
        for key, value in metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key not in seen:
                seen.append(key)
    return [key for key in METRIC_LABELS if key in seen] + [key for key in seen if key not in METRIC_LABELS]


def evaluation_table(report: Mapping[str, Any]) -> Table | None:
    """Base vs student vs teacher, one row per metric (None when the report has no models)."""
    models = _models(report)
    if not models:
        return None
    table = Table(title="Evaluation on held-out prompts", title_justify="left")
    table.add_column("metric")
    for name in models:
        table.add_column(name, justify="right", style="bold" if name == "student" else None)
    for metric in _scalar_metrics(models):
        label = METRIC_LABELS.get(metric, metric.replace("_", " "))
        table.add_row(label, *(_format(metric, metrics.get(metric)) for metrics in models.values()))
        if metric == "contract_pass_rate":
            _add_rule_rows(table, models)
    return table


def _add_rule_rows(table: Table, models: Mapping[str, Mapping[str, Any]]) -> None:
    """One row per contract rule under the overall pass rate."""
    rules: list[str] = []
    for metrics in models.values():
        per_rule = metrics.get("rule_pass_rates")
        if isinstance(per_rule, Mapping):
            rules += [name for name in per_rule if name not in rules]
    for rule in rules:
        cells = []
        for metrics in models.values():
            per_rule = metrics.get("rule_pass_rates")
            cells.append(_format("rate", per_rule.get(rule) if isinstance(per_rule, Mapping) else None))
        table.add_row(f"  rule {rule}", *cells, style="dim")


def _gate_bound(gate: Mapping[str, Any]) -> str:
    parts = []
    if gate.get("min") is not None:
        parts.append(f">= {_format(str(gate.get('metric')), gate['min'])}")
    if gate.get("max") is not None:
        parts.append(f"<= {_format(str(gate.get('metric')), gate['max'])}")
    return " and ".join(parts)


def gates_table(report: Mapping[str, Any]) -> Table | None:
    gates = report.get("gates")
    if not isinstance(gates, list) or not gates:
        return None
    table = Table(title="Gates", title_justify="left")
    for column in ("gate", "needs", "student", "result"):
        table.add_column(column)
    for gate in gates:
        if not isinstance(gate, Mapping):
            continue
        metric = str(gate.get("metric", "?"))
        passed = gate.get("passed")
        result = Text("pass", style="green") if passed else Text("FAIL", style="red")
        table.add_row(metric, _gate_bound(gate), _format(metric, gate.get("value")), result)
    return table


def verdict_line(report: Mapping[str, Any]) -> Text | None:
    verdict = report.get("verdict")
    reason = report.get("verdict_reason")
    if isinstance(verdict, Mapping):
        verdict, reason = verdict.get("verdict"), verdict.get("reason")
    if not verdict:
        return Text(f"verdict: none ({reason})", style="yellow") if reason else None
    style = {"viable": "bold green", "marginal": "bold yellow"}.get(str(verdict), "bold red")
    text = Text("verdict: ") + Text(str(verdict), style=style)
    if reason:
        text += Text(f" — {reason}")
    return text


def learning_lines(report: Mapping[str, Any]) -> list[Text]:
    """Agreement next to the best memorised answer, the novel subset, the input rules (as in report.html)."""
    from distillery.evaluate.report_text import learning_sentences

    learnt = report.get("generalisation")
    if not isinstance(learnt, Mapping):
        return []
    return [Text(f"- {line}") for line in learning_sentences(dict(learnt), int(report.get("examples") or 0))]


def print_report(console: Console, report: Mapping[str, Any]) -> None:
    """The evaluation table, the gates, the verdict and the learning evidence of an evaluate report.json."""
    for renderable in (evaluation_table(report), gates_table(report), verdict_line(report)):
        if renderable is not None:
            console.print(renderable)
    for line in learning_lines(report):
        console.print(line)


def summary_table(status: DistillationRunStatus) -> Table:
    """The run's phase, each condition, and its numbers."""
    table = Table(title=f"Run: {status.phase} (attempt {status.attempt})", title_justify="left")
    for column in ("condition", "status", "reason", "detail"):
        table.add_column(column)
    styles = {"True": "green", "False": "red", "Unknown": "yellow"}
    for condition in status.conditions:
        table.add_row(
            condition.type,
            Text(condition.status, style=styles[condition.status]),
            condition.reason,
            condition.message,
        )
    numbers = status.summary.model_dump(exclude_none=True)
    if numbers:
        table.add_section()
        for key, value in numbers.items():
            table.add_row(key.replace("_", " "), "", "", _format(key, value))
    return table


def candidates_table(status: DistillationRunStatus) -> Table:
    """A size sweep's candidates: size, numbers, gates, and which one the sweep chose."""
    table = Table(title="Candidates (smallest that passes every gate is chosen)", title_justify="left")
    for column in ("candidate", "base model", "phase", "parameters", "pass rate", "p95 ms", "gates", ""):
        table.add_column(column)
    for c in status.candidates:
        gates = {True: Text("pass", style="green"), False: Text("fail", style="red")}.get(c.gates_passed, "-")
        table.add_row(
            c.name,
            c.base_model,
            c.phase,
            f"{c.parameters:,}" if c.parameters is not None else "-",
            f"{c.contract_pass_rate:.0%}" if c.contract_pass_rate is not None else "-",
            f"{c.latency_p95_ms:.0f}" if c.latency_p95_ms is not None else "-",
            gates,
            Text("chosen", style="bold green") if c.chosen else (c.message or "")[:60],
        )
    return table
