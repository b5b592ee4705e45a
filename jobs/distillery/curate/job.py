"""`distillery-job curate`: teacher.jsonl -> train.jsonl, validation.jsonl, rejected.jsonl, summary."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from distillery.context import JobContext
from distillery.errors import ArtifactNotFound, CurationError, PhaseInputMissing
from distillery.layout import COLLECT_TEACHER, CURATE_REJECTED, CURATE_TRAIN, CURATE_VALIDATION, SUMMARY

if TYPE_CHECKING:
    from distillery.curate.anchors import Mixed

log = logging.getLogger("distillery.curate")


def merge_shards(ctx: JobContext, collect: Any) -> None:
    """teacher.shards > 1: collect/teacher.jsonl and summary.json are the merge of the shards' own."""
    from distillery.collect.shards import merge_stored

    shards = ctx.run.spec.teacher.shards
    merged = merge_stored(collect, shards)
    if merged is None:
        raise PhaseInputMissing(
            f"curate needs the summary of each of the {shards} collect shards under "
            f"{collect.uri_for('shards/')}; run collect for attempt {ctx.attempt} first"
        )
    log.info("curate: merged %d collect shards: %d records", shards, merged["prompts"])


def read_teacher_records(ctx: JobContext) -> list[dict[str, Any]]:
    collect = ctx.store("collect")
    if ctx.run.spec.teacher.shards > 1:
        merge_shards(ctx, collect)
    try:
        return list(collect.read_jsonl(COLLECT_TEACHER))
    except ArtifactNotFound:
        raise PhaseInputMissing(
            f"curate needs {collect.uri_for(COLLECT_TEACHER)}; run collect for attempt {ctx.attempt} first"
        ) from None


def with_anchors(ctx: JobContext, train: list[dict[str, Any]]) -> Mixed:
    """train.jsonl's lines with curation.anchors mixed in (never a held-out prompt)."""
    from distillery.curate.anchors import mix_anchors
    from distillery.prompts import load_source

    spec = ctx.run.spec
    assert spec.curation.anchors is not None
    options = {
        "store_options": {"endpoint_url": spec.storage.endpoint, "region": spec.storage.region},
        "base_dir": ctx.manifest_path.parent,
    }
    anchors = load_source(spec.curation.anchors.source, **options)
    held_out = load_source(spec.evaluation.held_out, **options)
    return mix_anchors(train, anchors, held_out, spec.task, spec.curation.anchors, seed=spec.curation.seed)


def run(ctx: JobContext) -> dict[str, Any]:
    from distillery.curate.judge import judge_all, judge_api_key
    from distillery.curate.pipeline import curate_records

    spec = ctx.run.spec
    records = read_teacher_records(ctx)
    judge = None
    if spec.curation.judge is not None:
        judge_spec = spec.curation.judge
        if judge_spec.model == spec.teacher.model:
            log.warning(
                "curate: the judge is the teacher model (%s); prefer another family", judge_spec.model
            )
        api_key = judge_api_key(judge_spec)
        judge = functools.partial(judge_all, spec=judge_spec, api_key=api_key)
    log.info("curate: %d teacher records", len(records))
    curated = curate_records(records, spec.task, spec.curation, judge=judge)
    if spec.curation.anchors is not None:
        mixed = with_anchors(ctx, curated.train)
        curated.train = mixed.train
        curated.summary |= {"train": len(mixed.train), "anchors": mixed.stats}
        log.info("curate: anchors %s", mixed.stats)
    store = ctx.store("curate")
    store.write_jsonl(CURATE_TRAIN, curated.train)
    store.write_jsonl(CURATE_VALIDATION, curated.validation)
    store.write_jsonl(CURATE_REJECTED, curated.rejected)
    summary = curated.summary | {
        "status": "Succeeded" if curated.train else "Failed",
        "train_jsonl": store.uri_for(CURATE_TRAIN),
        "validation_jsonl": store.uri_for(CURATE_VALIDATION),
    }
    store.write_json(SUMMARY, summary)
    log.info(
        "curate: kept %d of %d (train %d, validation %d); rejected by reason: %s",
        summary["kept"],
        summary["input"],
        summary["train"],
        summary["validation"],
        summary["rejected_by_reason"],
    )
    if not curated.train:
        raise CurationError(f"no training examples left: rejected by reason {summary['rejected_by_reason']}")
    return summary
