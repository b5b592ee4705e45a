"""Where the challenger of an attempt lives: the one place that decides it."""

from __future__ import annotations

from dataclasses import dataclass

from distillery import layout
from distillery.context import JobContext
from distillery.store import ArtifactStore


@dataclass(frozen=True)
class Challenger:
    """The adapter to publish and the evaluation that measured it."""

    train: ArtifactStore  # holds adapter/ (and merged/ when training merged it), summary.json
    evaluate: ArtifactStore  # holds summary.json, report.*, predictions.jsonl
    adapter_key: str = layout.TRAIN_ADAPTER
    base_model: str | None = None  # None: spec.student.base_model


def locate_challenger(ctx: JobContext) -> Challenger:
    """Today: the attempt's train/ and evaluate/ phases.

    A size sweep (student.candidates) will pick one candidate's train-<name>/evaluate-<name>; only
    this function changes then.
    """
    return Challenger(train=ctx.store("train"), evaluate=ctx.store("evaluate"))
