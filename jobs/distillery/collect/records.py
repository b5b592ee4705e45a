"""Collect records: results land in the store's `chunks/` as they arrive (durable.GroupWriter),
and the final teacher.jsonl holds exactly one record per prompt id.

Record statuses: "ok" (a completion), "failed" (every attempt failed, or the run was stopped
between attempts; `error` says why), "skipped" (never sent: the budget ran out or the run was
interrupted). Only "ok" records count as collected on a restart. `run` names the run that wrote
the record, `attempts` its calls for the prompt and `unknown_attempts` those whose outcome is
unknown (timeout, dropped connection, unreadable answer: possibly billed, charged at worst case).
"""

from __future__ import annotations

from typing import Any

from distillery.layout import COLLECT_CHUNKS
from distillery.pricing import TokenUsage
from distillery.prompts import Prompt
from distillery.teachers.base import Completion

STATUS_OK, STATUS_FAILED, STATUS_SKIPPED = "ok", "failed", "skipped"


def base_record(prompt: Prompt) -> dict[str, Any]:
    return {
        "id": prompt.id,
        "index": prompt.index,
        "sample": prompt.sample,
        "prompt": prompt.text,
        "category": prompt.category,
        "expected": prompt.expected,
    }


def ok_record(
    prompt: Prompt,
    completion: Completion,
    *,
    cost: float | None,
    attempts: int,
    run: str = "",
    unknown_attempts: int = 0,
    batch_id: str | None = None,
) -> dict[str, Any]:
    record = base_record(prompt) | {
        "completion": completion.text,
        "model": completion.model,
        "stop_reason": completion.stop_reason,
        "usage": completion.usage.to_dict(),
        "cost_usd": cost,
        "attempts": attempts,
        "unknown_attempts": unknown_attempts,
        "run": run,
        "latency_ms": completion.latency_ms,
        "status": STATUS_OK,
        "error": None,
    }
    if batch_id is not None:
        record["batch_id"] = batch_id
    return record


def failed_record(
    prompt: Prompt,
    *,
    error: str,
    kind: str,
    attempts: int,
    status: str = STATUS_FAILED,
    run: str = "",
    unknown_attempts: int = 0,
) -> dict[str, Any]:
    return base_record(prompt) | {
        "completion": None,
        "model": None,
        "stop_reason": None,
        "usage": TokenUsage().to_dict(),
        "cost_usd": 0.0,
        "attempts": attempts,
        "unknown_attempts": unknown_attempts,
        "run": run,
        "status": status,
        "error": error,
        "error_kind": kind,
    }


def _better(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    return old is None or (old.get("status") != STATUS_OK and new.get("status") == STATUS_OK)


def read_all(store: Any, prefix: str) -> list[dict[str, Any]]:
    """Every JSONL record under `prefix`, in key order (runs in the order they ran)."""
    return [
        record for key in store.list(prefix) if key.endswith(".jsonl") for record in store.read_jsonl(key)
    ]


def best_by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One record per id ("ok" wins over "failed"); journal lines (no status) are skipped."""
    best: dict[str, dict[str, Any]] = {}
    for record in records:
        if "status" not in record:
            continue
        if _better(record, best.get(record["id"])):
            best[record["id"]] = record
    return best


def load_chunks(store: Any, prefix: str = COLLECT_CHUNKS) -> dict[str, dict[str, Any]]:
    """Every record already in the store's chunks, one per id ("ok" wins over "failed")."""
    return best_by_id(read_all(store, prefix))


def final_records(
    prompts: list[Prompt], records: dict[str, dict[str, Any]], *, why_not_sent: str = "the budget ran out"
) -> list[dict[str, Any]]:
    """Exactly one record per prompt, in prompt order; prompts never sent become "skipped"."""
    final = []
    for prompt in prompts:
        record = records.get(prompt.id)
        if record is None:
            record = failed_record(
                prompt, error=f"not sent: {why_not_sent}", kind="budget", attempts=0, status=STATUS_SKIPPED
            )
        final.append(record)
    return final
