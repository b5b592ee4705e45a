"""The teacher cache: completions already paid for, shared by every attempt and run of a namespace.

    <storage.uri>/<namespace>/.teacher-cache/<sha256>.json

The key is the SHA-256 of what decides a completion: provider, model, system prompt, sampling
parameters (temperature), max tokens, prompt text and sample index. A new attempt (a spec change
elsewhere, e.g. the student's LoRA rank, or a plain rerun) with an unchanged teacher section finds
every completion here and pays nothing. Collect lists the cache once, reads the entries it needs,
and writes every completion it pays for (off the workers' path: a lost cache write only costs a
future attempt a call). `teacher.cache: false` neither reads nor writes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from distillery.api.spec import TeacherSpec
from distillery.collect.records import base_record
from distillery.prompts import Prompt

if TYPE_CHECKING:
    from distillery.collect.state import RunState

log = logging.getLogger("distillery.collect")

CACHED_FIELDS = ("completion", "model", "stop_reason", "usage", "cost_usd")


class TeacherCache:
    """Content-addressed completions in an artifact store (the namespace's `.teacher-cache/`)."""

    def __init__(self, store: Any, spec: TeacherSpec, system_prompt: str) -> None:
        self.store = store
        self.identity = {
            "provider": spec.provider,
            "model": spec.model,
            "system_prompt": system_prompt,
            "sampling": {"temperature": spec.temperature},
            "max_tokens": spec.max_tokens,
        }
        self._writes: set[asyncio.Task[None]] = set()
        self.written = 0

    def key(self, prompt: Prompt) -> str:
        material = self.identity | {"prompt": prompt.text, "sample": prompt.sample}
        digest = hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        return f"{digest}.json"

    def lookup(self, prompts: list[Prompt]) -> dict[str, dict[str, Any]]:
        """Cached entries for the prompts that have one, by prompt id (one listing, then the hits)."""
        stored = set(self.store.list())
        hits = {}
        for prompt in prompts:
            key = self.key(prompt)
            if key in stored:
                entry = self.store.read_json(key)
                if isinstance(entry, dict) and entry.get("completion") is not None:
                    hits[prompt.id] = entry
        return hits

    def entry(self, prompt: Prompt, record: dict[str, Any]) -> dict[str, Any]:
        return {name: record.get(name) for name in CACHED_FIELDS} | {
            "key": self.identity | {"prompt": prompt.text, "sample": prompt.sample},
            "paid_by_run": record.get("run"),
        }

    def put(self, prompt: Prompt, record: dict[str, Any]) -> None:
        """Store a paid completion in the background (awaited by `aclose`)."""
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self.store.write_json, self.key(prompt), self.entry(prompt, record))
        )
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        self.written += 1

    async def aclose(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes)


def cached_record(prompt: Prompt, entry: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """This attempt's record for a cache hit: the cached completion, nothing paid (cost 0)."""
    return base | {
        "completion": entry["completion"],
        "model": entry.get("model"),
        "stop_reason": entry.get("stop_reason"),
        "usage": entry.get("usage") or {},
        "cost_usd": 0.0,
        "cost_saved_usd": entry.get("cost_usd"),
        "cache_hit": True,
        "attempts": 0,
        "unknown_attempts": 0,
        "latency_ms": None,
        "status": "ok",
        "error": None,
    }


async def take_cached(pending: list[Prompt], state: RunState, cache: TeacherCache | None) -> list[Prompt]:
    """Record the cache hits among `pending` (stored in the chunks); returns the prompts left to send."""
    if cache is None or not pending:
        return pending
    hits = await asyncio.to_thread(cache.lookup, pending)
    for prompt in pending:
        entry = hits.get(prompt.id)
        if entry is not None:
            record = cached_record(prompt, entry, base_record(prompt) | {"run": state.run_token})
            state.record_cached(record)
            state.writer.put(record)
    await state.writer.flush()
    if hits:
        log.info(
            "collect: %d of %d prompts answered from the teacher cache (nothing paid)",
            len(hits),
            len(pending),
        )
    return [prompt for prompt in pending if prompt.id not in hits]
