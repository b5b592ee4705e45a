"""The model card (README.md) of a registry version: what it is, what made it, how it measured."""

from __future__ import annotations

from typing import Any

from distillery.api.spec import DistillationRunSpec


def _rate(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def model_card(
    spec: DistillationRunSpec,
    *,
    model: str,
    version: int,
    facts: dict[str, Any],
    evaluate: dict[str, Any],
    comparison: list[dict[str, Any]],
    lineage: dict[str, Any],
) -> str:
    """Markdown for `<registry>/<model>/versions/<N>/README.md`."""
    lora = spec.student.lora
    lines = [
        f"# {model} v{version}",
        "",
        "## Task",
        "",
        f"- Output format: {spec.task.output.format}",
        f"- Contract rules: {', '.join(r.name for r in spec.task.output.rules) or 'none'}",
        f"- System prompt: {spec.task.system_prompt or '(none)'}",
        "",
        "## Teacher and data",
        "",
        f"- Teacher model (as returned by the API): {facts.get('teacher_model') or 'unknown'}",
        f"- Teacher model (as requested): {spec.teacher.model}",
        f"- Prompts: {_rate(facts.get('prompts'))}, collected: {_rate(facts.get('collected'))}",
        f"- Training examples: {_rate(facts.get('train_examples'))}, "
        f"validation: {_rate(facts.get('validation_examples'))}",
        f"- Teacher cost (USD): {_rate(facts.get('teacher_cost_usd'))}",
        "",
        "## Student",
        "",
        f"- Base model: {facts.get('base_model')}",
        f"- Method: {spec.student.method}; LoRA r={lora.r}, alpha={lora.alpha}, dropout={lora.dropout}",
        f"- Target modules: {', '.join(lora.target_modules)}",
        f"- Final training loss: {_rate(facts.get('final_loss'))}",
        "",
        "## Held-out results",
        "",
        "| metric | base | student | teacher |",
        "|---|---|---|---|",
    ]
    for label, key in (("contract pass rate", "contract_pass_rate"), ("quality", "quality")):
        per = evaluate.get(key) or {}
        lines.append(
            f"| {label} | {_rate(per.get('base'))} | {_rate(per.get('student'))} "
            f"| {_rate(per.get('teacher'))} |"
        )
    lines += ["", f"Held-out examples: {evaluate.get('examples')}; verdict: {evaluate.get('verdict')}", ""]
    lines += ["## Gates", ""]
    lines += [
        f"- {g['metric']}: {'passed' if g['passed'] else 'FAILED'} ({_rate(g.get('value'))})"
        for g in evaluate.get("gates", [])
    ]
    lines += ["" if evaluate.get("gates") else "- none configured", ""]
    lines += [
        "## Against the previous champion",
        "",
        "| metric | this version | champion | passed |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {c['metric']} | {_rate(c['challenger'])} | {_rate(c['champion'])} | {c['passed']} |"
        for c in comparison
    ]
    lines += ["", "## Lineage", ""]
    lines += [f"- {key}: {value}" for key, value in lineage.items()]
    return "\n".join(lines) + "\n"
