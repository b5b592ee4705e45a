"""The report's charts as base64 PNGs: training and validation loss, and scores per model."""

from __future__ import annotations

import base64
import io
import textwrap
from typing import Any

from distillery.evaluate.report_text import metric_name

BAR_METRICS = (
    "contract_pass_rate",
    "input_rule_pass_rate",
    "teacher_agreement",
    "accuracy",
    "judge_score",
    "quality",
)


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def loss_points(loss: dict[str, Any]) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(training, validation) loss as (step, loss) points; validation from per-step entries or the end."""
    training = list(zip(loss.get("steps") or [], loss.get("loss") or [], strict=False))
    history = loss.get("history") or []
    validation = [(h["step"], h["eval_loss"]) for h in history if h.get("eval_loss") is not None]
    if not validation and loss.get("eval_loss") is not None and training:
        validation = [(training[-1][0], loss["eval_loss"])]
    return training, validation


def plots(report: dict[str, Any], loss: dict[str, Any] | None) -> dict[str, str]:
    """name -> base64 PNG: the loss curves (when training logged any) and the scores per model."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    images: dict[str, str] = {}
    training, validation = loss_points(loss or {})
    if training:
        figure, axis = plt.subplots(figsize=(6, 3))
        axis.plot(*zip(*training, strict=True), marker=".", label="training")
        if validation:
            axis.plot(*zip(*validation, strict=True), marker="o", linestyle="--", label="validation")
        axis.set_xlabel("optimizer step")
        axis.set_ylabel("loss")
        axis.set_title("Loss")
        axis.legend(fontsize=8)
        images["loss"] = _png(figure)
        plt.close(figure)
    models = {name: dict(metrics) for name, metrics in report["models"].items()}
    for name, rate in ((report.get("generalisation") or {}).get("input_rule_pass_rate") or {}).items():
        models.setdefault(name, {})["input_rule_pass_rate"] = rate
    shown = [m for m in BAR_METRICS if any(metrics.get(m) is not None for metrics in models.values())]
    figure, axis = plt.subplots(figsize=(7, 3.4))
    width = 0.8 / max(1, len(models))
    for offset, (name, metrics) in enumerate(models.items()):
        values = [metrics.get(m) for m in shown]
        bars = axis.bar(
            [i + offset * width for i in range(len(shown))], [v or 0.0 for v in values], width, label=name
        )
        axis.bar_label(bars, labels=["" if v is None else f"{v:.0%}" for v in values], fontsize=6)
    axis.set_xticks([i + width * (len(models) - 1) / 2 for i in range(len(shown))])
    axis.set_xticklabels([textwrap.fill(metric_name(m), 16) for m in shown], fontsize=7)
    axis.set_ylim(0, 1.12)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axis.set_title("Scores per model (held-out prompts)")
    figure.tight_layout()
    images["scores"] = _png(figure)
    plt.close(figure)
    return images
