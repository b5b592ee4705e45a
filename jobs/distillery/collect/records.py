"""Collect records and their persistence: results land in the store in small chunks as they arrive
(never lost when the pod dies), and the final teacher.jsonl holds exactly one record per prompt id.

Record statuses: "ok" (a completion), "failed" (every attempt failed; `error` says why),
"skipped" (never sent: the budget ran out). Only "ok" records count as collected on a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from distillery.layout import COLLECT_CHUNKS
from distillery.pricing import TokenUsage
from distillery.prompts import Prompt
from distillery.teachers.base import Completion

log = logging.getLogger(__name__)

STATUS_OK, STATUS_FAILED, STATUS_SKIPPED = "ok", "failed", "skipped"


def _base(prompt: Prompt) -> dict[str, Any]:
    return {
        "id": prompt.id,
        "index": prompt.index,
        "sample": prompt.sample,
        "prompt": prompt.text,
        "category": prompt.category,
        "expected": prompt.expected,
    }


def ok_record(
    prompt: Prompt, completion: Completion, *, cost: float | None, attempts: int, batch_id: str | None = None
) -> dict[str, Any]:
    record = _base(prompt) | {
        "completion": completion.text,
        "model": completion.model,
        "stop_reason": completion.stop_reason,
        "usage": completion.usage.to_dict(),
        "cost_usd": cost,
        "attempts": attempts,
        "latency_ms": completion.latency_ms,
        "status": STATUS_OK,
        "error": None,
    }
    if batch_id is not None:
        record["batch_id"] = batch_id
    return record


def failed_record(
    prompt: Prompt, *, error: str, kind: str, attempts: int, status: str = STATUS_FAILED
) -> dict:
    return _base(prompt) | {
        "completion": None,
        "model": None,
        "stop_reason": None,
        "usage": TokenUsage().to_dict(),
        "cost_usd": 0.0,
        "attempts": attempts,
        "status": status,
        "error": error,
        "error_kind": kind,
    }


def _better(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    return old is None or (old.get("status") != STATUS_OK and new.get("status") == STATUS_OK)


def load_chunks(store: Any, prefix: str = COLLECT_CHUNKS) -> dict[str, dict[str, Any]]:
    """Every record already in the store's chunks, one per id ("ok" wins over "failed")."""
    records: dict[str, dict[str, Any]] = {}
    for key in store.list(prefix):
        if not key.endswith(".jsonl"):
            continue
        for record in store.read_jsonl(key):
            if _better(record, records.get(record["id"])):
                records[record["id"]] = record
    return records


def final_records(prompts: list[Prompt], records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Exactly one record per prompt, in prompt order; prompts never sent become "skipped"."""
    final = []
    for prompt in prompts:
        record = records.get(prompt.id)
        if record is None:
            record = failed_record(
                prompt, error="not sent: the budget ran out", kind="budget", attempts=0, status=STATUS_SKIPPED
            )
        final.append(record)
    return final


class ChunkWriter:
    """Buffers records and writes them as new chunk objects (the store has no append)."""

    def __init__(
        self, store: Any, *, chunk_size: int, flush_seconds: float, prefix: str = COLLECT_CHUNKS
    ) -> None:
        self.store = store
        self.chunk_size = chunk_size
        self.flush_seconds = flush_seconds
        self.prefix = prefix
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.run_token = f"{stamp}-{uuid.uuid4().hex[:6]}"  # keys of this run sort after earlier runs'
        self.chunks_written = 0
        self._buffer: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self._lock = asyncio.Lock()

    async def add(self, record: dict[str, Any]) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self.chunk_size or self.stale:
            await self.flush()

    @property
    def stale(self) -> bool:
        return bool(self._buffer) and time.monotonic() - self._last_flush >= self.flush_seconds

    async def flush(self) -> None:
        async with self._lock:
            records, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
            if not records:
                return
            key = f"{self.prefix}{self.run_token}-{self.chunks_written:05d}.jsonl"
            self.chunks_written += 1
            try:
                await asyncio.to_thread(self.store.write_jsonl, key, records)
            except BaseException:
                self._buffer[:0] = records  # keep them for the next flush
                raise
            log.debug("collect: wrote %d records to %s", len(records), key)
