"""The champion's numbers on the challenger's held-out set: stored ones when comparable, else measured."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from distillery.api.spec import DistillationRunSpec
from distillery.prompts import Prompt
from distillery.publish.comparison import student_metrics
from distillery.publish.registry import Champion, Registry
from distillery.store import ArtifactStore

log = logging.getLogger(__name__)


def champion_metrics(
    registry: Registry,
    champion: Champion,
    *,
    spec: DistillationRunSpec,
    held_out: list[Prompt],
    evaluation_hash: str,
    work: ArtifactStore,
    teacher_store: ArtifactStore | None,
    store_options: dict[str, Any],
) -> tuple[dict[str, float | None], bool]:
    """(the champion's metrics, whether it had to be evaluated again).

    Reused from the version's metrics.json when its evaluation hash matches this run's (same
    held-out set, contract and generation settings); otherwise the champion's adapter is run on
    this run's held-out set, its evaluation written under `work`.
    """
    stored = registry.metrics(champion.version)
    if stored.get("evaluation_hash") == evaluation_hash:
        log.info("champion v%d: stored numbers reused (same held-out set)", champion.version)
        return dict(stored["student"]), False
    log.info("champion v%d: evaluated again on this run's held-out set", champion.version)
    return _reevaluate(registry, champion, stored, spec, held_out, work, teacher_store, store_options), True


def _reevaluate(
    registry: Registry,
    champion: Champion,
    stored: dict[str, Any],
    spec: DistillationRunSpec,
    held_out: list[Prompt],
    work: ArtifactStore,
    teacher_store: ArtifactStore | None,
    store_options: dict[str, Any],
) -> dict[str, float | None]:
    from distillery.evaluate.core import evaluate_to_store
    from distillery.evaluate.job import teacher_answers
    from distillery.train.model import resolve_model_path

    base_model = stored.get("base_model") or spec.student.base_model
    compare = ["teacher"] if teacher_store is not None else []
    evaluation = spec.evaluation.model_copy(update={"compare": compare})
    student = spec.student.model_copy(update={"base_model": base_model})
    champion_spec = spec.model_copy(update={"evaluation": evaluation, "student": student})
    teacher = None
    if teacher_store is not None:
        from distillery.collect.job import api_key_for

        # The challenger's evaluation collected these answers already: read back, never paid twice.
        teacher = teacher_answers(held_out, spec, teacher_store, api_key=api_key_for(spec.teacher.provider))
    with tempfile.TemporaryDirectory(prefix="distillery-champion-") as scratch:
        adapter = Path(scratch) / "adapter"
        registry.version_store(champion.version).download_dir("adapter/", adapter)
        summary = evaluate_to_store(
            champion_spec,
            held_out,
            resolve_model_path(base_model, **store_options),
            adapter,
            work,
            teacher=teacher,
            run_name=f"{registry.model} v{champion.version} (champion)",
        )
    return student_metrics(summary)
