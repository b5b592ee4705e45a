"""`distillery-job publish`: compare the challenger with the champion; register and promote it if it wins.

Steps: the challenger's evaluation (it must have passed every gate) -> the champion's numbers on
the same held-out set (stored, or measured again) -> per metric, challenger >= champion - margin ->
if so: claim the next version, copy adapter / tokenizer / merged weights, write serving.json,
README.md and metrics.json (last), then move `champion` with a conditional write. A champion that
moved meanwhile (another run promoted first) leaves this version registered but not champion.
Writes publish/report.md and publish/summary.json.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.api.summaries import MetricComparison, PublishSummary
from distillery.context import JobContext
from distillery.errors import ArtifactNotFound, PhaseInputMissing, PreconditionFailed, PublishError
from distillery.publish import card, comparison, serving, version
from distillery.publish.challenger import Challenger, locate_challenger
from distillery.publish.champion import champion_metrics
from distillery.publish.registry import Champion, Registry
from distillery.store import ArtifactStore

log = logging.getLogger(__name__)

REGISTRY_DIR = ".registry"
REPORT = "report.md"


def registry_uri(ctx: JobContext) -> str:
    spec = ctx.run.spec
    return spec.publish.registry or f"{spec.storage.uri.rstrip('/')}/{ctx.run.namespace}/{REGISTRY_DIR}"


def model_name(ctx: JobContext) -> str:
    return ctx.run.spec.publish.model or ctx.run.name


def _summary_of(store: ArtifactStore) -> dict[str, Any]:
    return store.read_json(layout.SUMMARY) if store.exists(layout.SUMMARY) else {}


def challenger_evaluation(challenger: Challenger) -> dict[str, Any]:
    try:
        evaluated = challenger.evaluate.read_json(layout.SUMMARY)
    except ArtifactNotFound as exc:
        raise PhaseInputMissing(f"publish needs the evaluation: {exc} (run evaluate first)") from exc
    if evaluated.get("gates_passed") is not True:
        raise PublishError("publish refuses a student whose evaluation did not pass every gate")
    return evaluated


def lineage(ctx: JobContext, challenger: Challenger) -> dict[str, Any]:
    where = ctx.layout
    return {
        "namespace": ctx.run.namespace,
        "run": ctx.run.name,
        "attempt": ctx.attempt,
        "attempt_uri": where.root,
        "teacher_jsonl": where.artifact("collect", layout.COLLECT_TEACHER),
        "train_jsonl": where.artifact("curate", layout.CURATE_TRAIN),
        "adapter": challenger.train.uri_for(challenger.adapter_key),
        "evaluation": challenger.evaluate.uri_for(layout.SUMMARY),
        "report": challenger.evaluate.uri_for(layout.EVALUATE_REPORT_HTML),
    }


def data_facts(ctx: JobContext, spec: DistillationRunSpec, train: dict[str, Any]) -> dict[str, Any]:
    collected, curated = _summary_of(ctx.store("collect")), _summary_of(ctx.store("curate"))
    return {
        "teacher_model": collected.get("model"),
        "prompts": collected.get("prompts"),
        "collected": collected.get("collected"),
        "teacher_cost_usd": collected.get("cost_usd"),
        "train_examples": curated.get("train"),
        "validation_examples": curated.get("validation"),
        "base_model": train.get("base_model") or spec.student.base_model,
        "final_loss": train.get("final_loss"),
    }


def comparison_report(
    model: str, champion: Champion | None, rows: list[MetricComparison], decision: str
) -> str:
    lines = [
        f"# Publish: {model}",
        "",
        f"Decision: **{decision}** (champion: {f'v{champion.version}' if champion else 'none'})",
        "",
        "| metric | challenger (this run) | champion | passed |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.metric} | {r.challenger} | {r.champion} | {r.passed} |" for r in rows]
    return "\n".join(lines) + "\n"


def run(ctx: JobContext) -> dict[str, Any]:
    """Compare, register and promote (or not); returns (and stores) the publish summary."""
    from distillery.prompts import load_source

    spec = ctx.run.spec
    options = {"endpoint_url": spec.storage.endpoint, "region": spec.storage.region}
    challenger = locate_challenger(ctx)
    evaluated = challenger_evaluation(challenger)
    held_out = load_source(spec.evaluation.held_out, store_options=options, base_dir=ctx.manifest_path.parent)
    digest = comparison.evaluation_hash(spec, held_out)
    registry = Registry.open(registry_uri(ctx), model_name(ctx), **options)
    publish_store = ctx.store("publish")
    champion = registry.champion()
    mine = comparison.student_metrics(evaluated)
    theirs, reevaluated = None, False
    if champion is not None:
        teacher = ctx.store("evaluate").child(layout.EVALUATE_TEACHER)
        wants_teacher = "teacherAgreement" in spec.publish.comparison.metrics
        theirs, reevaluated = champion_metrics(
            registry, champion, spec=spec, held_out=held_out, evaluation_hash=digest,
            work=publish_store.child("champion"), teacher_store=teacher if wants_teacher else None,
            store_options=options,
        )  # fmt: skip
    rows = comparison.compare(mine, theirs, spec.publish.comparison)
    summary = PublishSummary(
        model=registry.model,
        registry=registry.uri,
        champion_version=champion.version if champion else None,
        champion_reevaluated=reevaluated if champion else None,
        margin=spec.publish.comparison.margin,
        comparison=rows,
        evaluation_hash=digest,
        report_uri=publish_store.uri_for(REPORT),
    )
    if champion is not None and not all(row.passed for row in rows):
        summary.promoted, summary.decision = False, "NotPromoted"
        summary.reason = comparison.losing_reason(rows, champion.version, spec.publish.comparison.margin)
    else:
        _register_and_promote(ctx, registry, challenger, champion, evaluated, mine, rows, summary)
    log.info("publish: %s (%s)", summary.decision, summary.reason or f"v{summary.version}")
    publish_store.write_text(
        REPORT, comparison_report(registry.model, champion, rows, summary.decision or "")
    )
    data = summary.to_json()
    publish_store.write_json(layout.SUMMARY, data)
    return data


def _register_and_promote(
    ctx: JobContext,
    registry: Registry,
    challenger: Challenger,
    champion: Champion | None,
    evaluated: dict[str, Any],
    mine: dict[str, float | None],
    rows: list[MetricComparison],
    summary: PublishSummary,
) -> None:
    spec = ctx.run.spec
    train = _summary_of(challenger.train)
    facts = data_facts(ctx, spec, train)
    origin = lineage(ctx, challenger)
    lineage_id = f"{ctx.layout.root}"
    number = registry.claimed_by(lineage_id) or registry.claim({"lineage_id": lineage_id, "lineage": origin})
    target = registry.version_store(number)
    log.info("claimed %s v%d at %s", registry.model, number, target.root_uri)
    base_path = None
    if spec.publish.merge_weights:
        from distillery.train.model import resolve_model_path

        base_path = resolve_model_path(
            facts["base_model"], endpoint_url=spec.storage.endpoint, region=spec.storage.region
        )
    files = version.publish_weights(challenger, target, merge=spec.publish.merge_weights, base_path=base_path)
    if challenger.evaluate.exists(layout.EVALUATE_PREDICTIONS):
        version.write_text_once(
            target, version.PREDICTIONS, challenger.evaluate.read_text(layout.EVALUATE_PREDICTIONS)
        )
        files.append(version.PREDICTIONS)
    described = serving.descriptor(
        spec,
        model=registry.model,
        version=number,
        version_uri=target.root_uri,
        base_model=facts["base_model"],
    )
    files.append(version.write_text_once(target, version.SERVING, json.dumps(described, indent=2) + "\n"))
    compared = [row.model_dump(mode="json") for row in rows]
    text = card.model_card(
        spec,
        model=registry.model,
        version=number,
        facts=facts,
        evaluate=evaluated,
        comparison=compared,
        lineage=origin,
    )
    files.append(version.write_text_once(target, version.CARD, text))
    metrics = {
        "model": registry.model,
        "version": number,
        "evaluation_hash": summary.evaluation_hash,
        "student": mine,
        "base_model": facts["base_model"],
        "evaluate": evaluated,
        "facts": facts,
        "lineage": origin,
    }
    files.append(version.write_metrics(target, metrics))
    summary.version, summary.uri, summary.files = number, target.root_uri, files
    summary.serving_uri = target.uri_for(version.SERVING)
    current = registry.champion()
    if current is not None and current.version == number:  # a retried job already promoted it
        summary.promoted, summary.decision = True, "Promoted"
        return
    try:
        registry.set_champion(
            number,
            expected=champion,
            action="promote",
            by=f"{ctx.run.namespace}/{ctx.run.name} a{ctx.attempt}",
        )
    except PreconditionFailed:
        now = registry.champion()
        summary.promoted, summary.decision = False, "NotPromoted"
        summary.reason = (
            f"not promoted: the champion moved to v{now.version if now else '?'} while this run compared "
            f"with {f'v{champion.version}' if champion else 'none'}; v{number} is registered, not champion "
            "(run again to compare with the new champion)"
        )
        return
    summary.promoted, summary.decision = True, "Promoted"
