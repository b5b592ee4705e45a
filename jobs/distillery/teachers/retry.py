"""Retries of teacher calls: exponential backoff with jitter, the server's retry-after honoured up
to a cap (the SDK would wait however long the server asks), every retry counted by reason."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from time import time
from typing import TypeVar

from distillery.errors import TeacherCallError

log = logging.getLogger(__name__)
T = TypeVar("T")


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait the server asked for: retry-after-ms, else retry-after in seconds or as an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def should_retry_header(headers: Mapping[str, str], *, default: bool) -> bool:
    """The server's x-should-retry verdict when it gives one."""
    value = (headers.get("x-should-retry") or "").lower()
    return {"true": True, "false": False}.get(value, default)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts: base * 2^n (jittered, capped), or the server's retry-after (capped)."""

    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, retry_number: int, error: TeacherCallError, rng: random.Random) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2**retry_number)
        return backoff * rng.uniform(0.5, 1.0)


@dataclass
class RetryStats:
    """Retries made so far, by reason (shared by every worker of one run)."""

    by_kind: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    max_attempts: int,
    policy: RetryPolicy,
    stats: RetryStats,
    rng: random.Random | None = None,
    what: str = "teacher call",
) -> tuple[T, int]:
    """`call()`'s result and the attempts it took; re-raises the last error when retries cannot help."""
    rng = rng or random.Random()
    attempt = 1
    while True:
        try:
            return await call(), attempt
        except TeacherCallError as error:
            error.attempts = attempt
            if not error.retryable or attempt >= max_attempts:
                raise
            wait = policy.delay(attempt - 1, error, rng)
            stats.by_kind[error.kind] += 1
            log.debug("%s: %s (attempt %d/%d), retrying in %.2fs", what, error, attempt, max_attempts, wait)
            await asyncio.sleep(wait)
            attempt += 1
