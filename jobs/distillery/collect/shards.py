"""Sharded collection (`teacher.shards: N`): which prompts a shard takes, what it may spend, the merge.

    shard_of(prompt_id, shards)           -> the shard that collects a prompt (a stable hash of its id)
    shard_index(environ)                  -> this process's shard (DISTILLERY_SHARD_INDEX, else the
                                             Indexed Job's JOB_COMPLETION_INDEX), None when unsharded
    shard_teacher(spec)                   -> the teacher spec one shard runs with (1/N of the limits)
    merge_summaries(summaries)            -> one collect summary from the shards' (typed, pure)
    merge_stored(store, shards)           -> merge what the shards stored into collect/teacher.jsonl
                                             and collect/summary.json; None while a shard has not finished

Each shard keeps its own prompts, chunks, journal, teacher.jsonl and summary.json under
`collect/shards/<i>/`, so shards never write the same key and each resumes on its own.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from collections.abc import Mapping
from typing import Any

from distillery.api.spec import TeacherSpec
from distillery.api.summaries import CollectSummary, parse_summary
from distillery.errors import ShardError
from distillery.layout import COLLECT_SHARDS, COLLECT_TEACHER, SUMMARY

SHARD_INDEX_ENV = "DISTILLERY_SHARD_INDEX"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
# A merged status: the worst a shard reports wins.
STATUS_ORDER = ("Interrupted", "Failed", "BudgetExceeded", "Succeeded")
SUMMED = ("prompts", "collected", "failed", "skipped", "resumed", "retries", "possibly_paid_twice")
SUMMED_OPTIONAL = ("cost_usd", "uncertain_cost_usd")


def shard_of(prompt_id: str, shards: int) -> int:
    """The shard of a prompt: sha256 of its id (Python's hash() differs per process)."""
    digest = hashlib.sha256(prompt_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def shard_prefix(index: int) -> str:
    return f"{COLLECT_SHARDS}{index}"


def shard_index(shards: int, environ: Mapping[str, str] | None = None) -> int | None:
    """This process's shard, or None when collection is not sharded; a bad index is an error."""
    environ = os.environ if environ is None else environ
    if shards <= 1:
        return None
    for name in (SHARD_INDEX_ENV, COMPLETION_INDEX_ENV):
        value = environ.get(name)
        if value is None or value == "":
            continue
        if not value.isdigit() or int(value) >= shards:
            raise ShardError(
                f"{name}={value!r}: expected a shard index from 0 to {shards - 1} "
                f"(teacher.shards is {shards})"
            )
        return int(value)
    raise ShardError(
        f"teacher.shards is {shards}: set {SHARD_INDEX_ENV} (or {COMPLETION_INDEX_ENV}) to this shard's index"
    )


def _part(value: int | None, shards: int) -> int | None:
    return None if value is None else max(1, value // shards)


def shard_teacher(spec: TeacherSpec) -> TeacherSpec:
    """One shard's teacher: 1/N of each rate limit, of concurrency and of each budget cap.

    N shards together thus never cross `budget.maxCostUSD` / `maxTokens` (each stops at its share,
    even when another shard left its own share unspent).
    """
    n = spec.shards
    if n <= 1:
        return spec
    budget = spec.budget.model_copy(
        update={
            "max_cost_usd": None if spec.budget.max_cost_usd is None else spec.budget.max_cost_usd / n,
            "max_tokens": _part(spec.budget.max_tokens, n),
        }
    )
    limits = spec.rate_limits
    if limits is not None:
        limits = limits.model_copy(
            update={
                "requests_per_minute": _part(limits.requests_per_minute, n),
                "input_tokens_per_minute": _part(limits.input_tokens_per_minute, n),
                "output_tokens_per_minute": _part(limits.output_tokens_per_minute, n),
            }
        )
    concurrency = max(1, math.ceil(spec.concurrency / n))
    return spec.model_copy(update={"budget": budget, "rate_limits": limits, "concurrency": concurrency})


def _merged_status(parts: list[CollectSummary]) -> tuple[str, str | None]:
    worst = min(parts, key=lambda part: STATUS_ORDER.index(part.status)).status
    reasons = [f"shard {i}: {part.reason}" for i, part in enumerate(parts) if part.reason]
    return worst, ("; ".join(reasons) or None)


def _sum_counts(maps: list[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for counts in maps:
        total.update(counts)
    return dict(total)


def merge_summaries(summaries: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One collect summary from the shards' summaries (in shard order); each is checked by its model."""
    parts = [parse_summary("collect", dict(s)) for s in summaries]
    assert all(isinstance(part, CollectSummary) for part in parts)
    typed: list[CollectSummary] = parts  # type: ignore[assignment]
    data = [part.to_json() for part in typed]
    status, reason = _merged_status(typed)
    merged: dict[str, Any] = {"phase": "collect", "status": status, "shards": len(typed)}
    if reason:
        merged["reason"] = reason
    for key in SUMMED:
        merged[key] = sum(item.get(key, 0) for item in data)
    for key in SUMMED_OPTIONAL:
        values = [item.get(key) for item in data]
        merged[key] = None if any(value is None for value in values) else sum(values)
    merged["uncertain_calls"] = sum(part.uncertain_calls for part in typed)
    merged["tokens"] = _sum_counts([item.get("tokens", {}) for item in data])
    merged["retries_by_kind"] = _sum_counts([part.retries_by_kind for part in typed])
    merged["models"] = _sum_counts([part.models for part in typed])
    merged["model"] = Counter(merged["models"]).most_common(1)[0][0] if merged["models"] else None
    merged["cache"] = {
        "enabled": all(part.cache.enabled for part in typed),
        "hits": sum(part.cache.hits for part in typed),
        "written": sum(part.cache.written for part in typed),
        "saved_usd": sum(part.cache.saved_usd or 0.0 for part in typed),
    }
    merged["this_run"] = {"shards": [part.this_run for part in typed]}
    merged["provenance"] = typed[0].provenance | {"shards": len(typed)}
    starts = [part.started_at for part in typed if part.started_at]
    ends = [part.finished_at for part in typed if part.finished_at]
    merged["started_at"] = min(starts) if starts else None
    merged["finished_at"] = max(ends) if ends else None
    return parse_summary("collect", merged).to_json()


def merge_stored(store: Any, shards: int) -> dict[str, Any] | None:
    """Write the phase's teacher.jsonl and summary.json from its shards' (None: a shard is missing).

    The teacher records are concatenated in shard order; the summary is `merge_summaries`. Both are
    written only when every shard has stored its summary, and rewritten on every call (idempotent).
    """
    summaries = []
    for index in range(shards):
        key = f"{shard_prefix(index)}/{SUMMARY}"
        if not store.exists(key):
            return None
        summaries.append(store.read_json(key))
    merged = merge_summaries(summaries)
    if all(store.exists(f"{shard_prefix(i)}/{COLLECT_TEACHER}") for i in range(shards)):
        records = (
            record
            for index in range(shards)
            for record in store.read_jsonl(f"{shard_prefix(index)}/{COLLECT_TEACHER}")
        )
        store.write_jsonl(COLLECT_TEACHER, records)
        merged["teacher_jsonl"] = store.uri_for(COLLECT_TEACHER)
    store.write_json(SUMMARY, merged)
    return merged
