"""What one collect run shares between its workers: budget, writers, journal, limits, progress."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from distillery.collect.budget import BudgetGuard, Reservation
from distillery.collect.cache import TeacherCache
from distillery.collect.durable import GroupWriter
from distillery.collect.ratelimit import RateLimiter
from distillery.collect.records import failed_record, ok_record
from distillery.errors import TeacherCallError
from distillery.pricing import Price, TokenUsage
from distillery.prompts import Prompt
from distillery.teachers.base import Completion
from distillery.teachers.retry import RetryPolicy, RetryStats

log = logging.getLogger("distillery.collect")


@dataclass
class RunState:
    total: int
    already_done: int
    budget: BudgetGuard
    writer: GroupWriter
    price: Price | None
    policy: RetryPolicy
    max_attempts: int
    stop: asyncio.Event
    journaled: bool = False  # realtime: every attempt is journaled (in chunks/) before it is sent
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(None))
    cache: TeacherCache | None = None
    batch: bool = False
    retries: RetryStats = field(default_factory=RetryStats)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    new_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: Counter[str] = field(default_factory=Counter)
    usage: TokenUsage = field(default_factory=TokenUsage)  # this run only
    cost: float = 0.0  # this run only
    started: float = field(default_factory=time.monotonic)
    note: str = ""  # what the run is waiting for (batch mode)

    @property
    def run_token(self) -> str:
        return self.writer.run_token

    @property
    def ok(self) -> int:
        return sum(1 for r in self.new_records.values() if r["status"] == "ok")

    @property
    def failed(self) -> int:
        return len(self.new_records) - self.ok

    def cost_of(self, usage: TokenUsage) -> float | None:
        return None if self.price is None else self.price.cost(usage, batch=self.batch)

    def record_ok(
        self,
        prompt: Prompt,
        completion: Completion,
        *,
        attempts: int,
        reservation: Reservation | None,
        unknown_attempts: int = 0,
        batch_id: str | None = None,
    ) -> asyncio.Future[None]:
        """Settle the call's cost and queue its record; the future is done once it is durable."""
        cost = self.cost_of(completion.usage)
        self.budget.settle(reservation, completion.usage, cost)
        self.usage += completion.usage
        self.cost += cost or 0.0
        self.models[completion.model] += 1
        record = ok_record(
            prompt,
            completion,
            cost=cost,
            attempts=attempts,
            run=self.run_token,
            unknown_attempts=unknown_attempts,
            batch_id=batch_id,
        )
        self.new_records[prompt.id] = record
        if self.cache is not None:
            self.cache.put(prompt, record)
        return self.writer.put(record)

    async def record_failure(
        self,
        prompt: Prompt,
        error: TeacherCallError | str,
        *,
        attempts: int,
        reservation: Reservation | None = None,
        unknown_attempts: int = 0,
    ) -> None:
        """Store a failed record (`reservation`: one still held, released as not billed)."""
        self.budget.settle(reservation, None, None)
        kind = error.kind if isinstance(error, TeacherCallError) else "failed"
        log.warning("collect: prompt %s failed after %d attempt(s): %s", prompt.id, attempts, error)
        record = failed_record(
            prompt,
            error=str(error),
            kind=kind,
            attempts=attempts,
            run=self.run_token,
            unknown_attempts=unknown_attempts,
        )
        self.new_records[prompt.id] = record
        await self.writer.add(record)

    def record_cached(self, record: dict[str, Any]) -> None:
        """A completion taken from the teacher cache (already durable in the chunks)."""
        self.new_records[record["id"]] = record

    def progress_line(self) -> str:
        done = self.already_done + len(self.new_records)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = len(self.new_records) / elapsed
        remaining = self.total - done
        eta = f"{remaining / rate:.0f}s" if rate > 0 else "?"
        spent = f"${self.budget.spent_cost:.4f}" if self.price is not None else "unknown (no price)"
        cap = self.budget.budget.max_cost_usd
        line = (
            f"collect: {done}/{self.total} done ({self.failed} failed this run), {rate:.1f}/s, ETA {eta}, "
            f"cost {spent}{f' of ${cap:g}' if cap else ''}, retries {self.retries.total}"
        )
        return f"{line}; {self.note}" if self.note else line

    async def report_progress(self, interval: float) -> None:
        """Log a progress line every `interval` seconds."""
        while True:
            await asyncio.sleep(interval)
            log.info(self.progress_line())
