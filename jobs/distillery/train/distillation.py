"""What the train job does differently for `student.distillation.method: logits` (sft: nothing)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from distillery.api.distillation import DistillationSpec
from distillery.store import ArtifactStore
from distillery.train.scoring import TeacherScores, load_or_score
from distillery.train.strategy import TrainStrategy

log = logging.getLogger(__name__)


def prepare(
    student: Any,
    tokenizer: Any,
    data: Any,
    store: ArtifactStore,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> tuple[DistillationSpec, TeacherScores, dict[str, Any]] | None:
    """None for sft; for logits: the spec, the teacher's top-k and the summary's `distillation` block."""
    distillation: DistillationSpec = student.distillation
    if distillation.method != "logits":
        return None
    assert distillation.teacher is not None
    log.info(
        "logit distillation from %s: top-%d, alpha %s, temperature %s",
        distillation.teacher.model,
        distillation.top_k,
        distillation.alpha,
        distillation.temperature,
    )
    scores, stats = load_or_score(
        distillation,
        student.base_model,
        tokenizer,
        list(data.train["messages"]),
        store,
        endpoint_url=endpoint_url,
        region=region,
    )
    summary = {
        "method": "logits",
        "teacher": distillation.teacher.model,
        "top_k": distillation.top_k,
        "alpha": distillation.alpha,
        "temperature": distillation.temperature,
        **{
            k: stats[k]
            for k in ("scored_tokens", "bytes_per_token", "teacher_coverage", "topk_uri", "reused")
        },
        "scoring_seconds": stats.get("scoring_seconds"),
    }
    return distillation, scores, summary


def unpacked(strategy: TrainStrategy) -> TrainStrategy:
    """The teacher's rows are found per example, so KD trains unpacked (the spec refuses packing: true;
    an unset packing that the device would have packed is unpacked here)."""
    if not strategy.packing:
        return strategy
    reason = f"{strategy.reason}; unpacked for logit distillation (padded batches grouped by length)"
    return dataclasses.replace(strategy, packing=False, group_by_length=True, attention="sdpa", reason=reason)
