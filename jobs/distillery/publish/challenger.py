"""Where the challenger of an attempt lives: the one place that decides it."""

from __future__ import annotations

from dataclasses import dataclass

from distillery import layout
from distillery.context import JobContext
from distillery.errors import PublishError
from distillery.store import ArtifactStore


@dataclass(frozen=True)
class Challenger:
    """The adapter to publish and the evaluation that measured it."""

    train: ArtifactStore  # holds adapter/ (and merged/ when training merged it), summary.json
    evaluate: ArtifactStore  # holds summary.json, report.*, predictions.jsonl
    adapter_key: str = layout.TRAIN_ADAPTER
    base_model: str | None = None  # None: spec.student.base_model


def locate_challenger(ctx: JobContext) -> Challenger:
    """The attempt's train/ and evaluate/ phases; with a size sweep (student.candidates), the
    train-<c>/ and evaluate-<c>/ steps of the candidate the sweep chose."""
    if not ctx.run.spec.student.candidates:
        return Challenger(train=ctx.store("train"), evaluate=ctx.store("evaluate"))
    from distillery.sweep.job import chosen_candidate

    chosen = chosen_candidate(ctx)
    if chosen is None:
        raise PublishError("the size sweep chose no candidate (none passed every gate): nothing to publish")
    return Challenger(
        train=ctx.store(layout.candidate_step("train", chosen.name)),
        evaluate=ctx.store(layout.candidate_step("evaluate", chosen.name)),
        base_model=chosen.base_model,
    )
