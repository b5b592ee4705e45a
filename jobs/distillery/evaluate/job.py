"""`distillery-job evaluate`: base vs student vs teacher on held-out REAL examples.

Refuses to run when a held-out prompt (by id or by text) is in curate's train.jsonl. Teacher answers
come from the collect machinery into `evaluate/teacher/` (cached across retries and costed). Writes
report.json, report.md, report.html, predictions.jsonl and summary.json to the evaluate phase.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.context import JobContext
from distillery.errors import ArtifactNotFound, EvaluationError, PhaseInputMissing
from distillery.evaluate.metrics import Answer
from distillery.prompts import Prompt
from distillery.store import ArtifactStore

log = logging.getLogger(__name__)


def check_no_leak(held_out: list[Prompt], train_records: list[dict[str, Any]]) -> None:
    """EvaluationError when any held-out prompt id or prompt text was trained on."""
    train_ids = {str(r.get("id")) for r in train_records}
    train_texts = {
        m["content"].strip() for r in train_records for m in r.get("messages", []) if m.get("role") == "user"
    }
    leaked = [p for p in held_out if p.id in train_ids or p.text.strip() in train_texts]
    if leaked:
        shown = ", ".join(f"{p.id} ({p.text[:40]!r})" for p in leaked[:5])
        raise EvaluationError(
            f"{len(leaked)} of {len(held_out)} held-out prompts are in train.jsonl (e.g. {shown}); "
            "evaluation.heldOut must never be trained on"
        )


def read_train_records(curate: ArtifactStore) -> list[dict[str, Any]]:
    try:
        return list(curate.read_jsonl(layout.CURATE_TRAIN))
    except ArtifactNotFound as exc:
        raise PhaseInputMissing(
            f"evaluate needs {curate.uri_for(layout.CURATE_TRAIN)} (run curate first)"
        ) from exc


def teacher_answers(
    held_out: list[Prompt], spec: DistillationRunSpec, store: ArtifactStore, *, api_key: str | None
) -> list[Answer]:
    """The teacher's answers via the collect machinery (resumable, costed) in `store`."""
    from distillery.collect.engine import collect_to_store
    from distillery.pricing import TokenUsage, price_for

    system_prompt = spec.teacher.system_prompt or spec.task.system_prompt
    collect_to_store(held_out, spec.teacher, store, api_key=api_key, system_prompt=system_prompt)
    records = {r["id"]: r for r in store.read_jsonl(layout.COLLECT_TEACHER)}
    price = price_for(spec.teacher.model, spec.teacher.pricing)
    answers = []
    for prompt in held_out:
        record = records.get(prompt.id, {})
        cost = record.get("cost_usd")
        if cost is None and price is not None and record.get("usage"):
            cost = price.cost(TokenUsage.from_dict(record["usage"]))
        usage = record.get("usage") or {}
        answers.append(
            Answer(
                text=record.get("completion") if record.get("status") == "ok" else None,
                latency_ms=record.get("latency_ms"),
                new_tokens=usage.get("output_tokens"),
                cost_usd=cost,
            )
        )
    return answers


def run(ctx: JobContext) -> dict[str, Any]:
    """Evaluate the attempt's adapter; returns (and stores) the summary."""
    from distillery.collect.job import api_key_for
    from distillery.evaluate.core import evaluate_to_store
    from distillery.evaluate.provenance import assistant_texts, provenance
    from distillery.prompts import load_source
    from distillery.train.model import resolve_model_path

    spec = ctx.run.spec
    options = {"endpoint_url": spec.storage.endpoint, "region": spec.storage.region}
    held_out = load_source(spec.evaluation.held_out, store_options=options, base_dir=ctx.manifest_path.parent)
    curate = ctx.store("curate")
    train_records = read_train_records(curate)
    check_no_leak(held_out, train_records)
    validation = (
        list(curate.read_jsonl(layout.CURATE_VALIDATION)) if curate.exists(layout.CURATE_VALIDATION) else []
    )
    store = ctx.store("evaluate")
    teacher = None
    if "teacher" in spec.evaluation.compare:
        teacher = teacher_answers(
            held_out, spec, store.child(layout.EVALUATE_TEACHER), api_key=api_key_for(spec.teacher.provider)
        )
    judge = None
    if spec.evaluation.judge is not None:
        from distillery.curate.judge import judge_api_key
        from distillery.evaluate.judging import model_judge

        judge = model_judge(spec.evaluation.judge, api_key=judge_api_key(spec.evaluation.judge))
    train_store = ctx.store("train")
    run_name = f"{ctx.run.namespace}/{ctx.run.name} a{ctx.attempt}"
    stores = {phase: ctx.store(phase) for phase in ("collect", "curate", "train")}
    facts = provenance(spec, stores, attempt=ctx.attempt, run=f"{ctx.run.namespace}/{ctx.run.name}")
    base_path = resolve_model_path(spec.student.base_model, **options)
    with tempfile.TemporaryDirectory(prefix="distillery-eval-") as work:
        adapter_dir = Path(work) / "adapter"
        try:
            train_store.download_dir(layout.TRAIN_ADAPTER, adapter_dir)
        except ArtifactNotFound as exc:
            raise PhaseInputMissing(
                f"evaluate needs the adapter at {train_store.uri_for(layout.TRAIN_ADAPTER)} (run train first)"
            ) from exc
        loss = train_store.read_json(layout.TRAIN_LOSS) if train_store.exists(layout.TRAIN_LOSS) else None
        return evaluate_to_store(
            spec,
            held_out,
            base_path,
            adapter_dir,
            store,
            teacher=teacher,
            loss=loss,
            run_name=run_name,
            judge=judge,
            train_targets=assistant_texts([*train_records, *validation]),
            provenance=facts,
        )
