"""Client-side rate limits (`teacher.rateLimits`): requests, input tokens and output tokens per minute.

The three dimensions Anthropic's usage tiers limit, each a token bucket refilled continuously (as
the API's own limiter is) holding at most half a second of its rate, so the run starts without a
burst the server would refuse. Input tokens are estimated at 4 characters per token; output tokens
are taken at `max_tokens` when a request is sent and the unused part is given back when the answer
says how many were used (the API estimates OTPM the same way). A 429 with retry-after pauses every
worker for that long and lowers the rate by a fifth; each success gives back a little (1 %) until
the configured rate is reached again.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from distillery.api.teacher import RateLimits

CHARS_PER_TOKEN = 4
BURST_SECONDS = 0.5
SLOW_DOWN = 0.8
RECOVER = 1.01
MIN_FACTOR = 0.1


@dataclass
class _Bucket:
    per_minute: float
    level: float = 0.0
    at: float = 0.0

    @property
    def capacity(self) -> float:
        return max(1.0, self.per_minute / 60.0 * BURST_SECONDS)

    def refill(self, now: float, factor: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.at) * self.per_minute * factor / 60.0)
        self.at = now

    def wait_for(self, need: float, factor: float) -> float:
        """Seconds until `need` (at most a full bucket) is available."""
        missing = min(need, self.capacity) - self.level
        return 0.0 if missing <= 0 else missing * 60.0 / (self.per_minute * factor)


class RateLimiter:
    """`await acquire(chars, max_tokens)` before each call; `settle`/`rate_limited` after it."""

    def __init__(self, limits: RateLimits | None) -> None:
        now = time.monotonic()
        self.buckets: dict[str, _Bucket] = {}
        if limits is not None:
            for name, rate in (
                ("requests", limits.requests_per_minute),
                ("input_tokens", limits.input_tokens_per_minute),
                ("output_tokens", limits.output_tokens_per_minute),
            ):
                if rate is not None:
                    bucket = _Bucket(float(rate), at=now)
                    bucket.level = bucket.capacity
                    self.buckets[name] = bucket
        self.factor = 1.0
        self.paused_until = 0.0
        self.waited_seconds = 0.0
        self.slowdowns = 0
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return bool(self.buckets)

    async def acquire(self, chars: int, max_tokens: int) -> None:
        if not self.active:
            return
        needs = {
            "requests": 1.0,
            "input_tokens": math.ceil(chars / CHARS_PER_TOKEN),
            "output_tokens": max_tokens,
        }
        async with self._lock:  # first come, first served
            started = time.monotonic()
            while True:
                now = time.monotonic()
                wait = max(0.0, self.paused_until - now)
                for name, bucket in self.buckets.items():
                    bucket.refill(now, self.factor)
                    wait = max(wait, bucket.wait_for(needs[name], self.factor))
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            for name, bucket in self.buckets.items():
                bucket.level -= needs[name]
            self.waited_seconds += time.monotonic() - started

    def settle(self, output_tokens: int, max_tokens: int) -> None:
        """Give back the output tokens reserved but not used; a success recovers the rate a little."""
        bucket = self.buckets.get("output_tokens")
        if bucket is not None:
            bucket.level = min(bucket.capacity, bucket.level + max(0, max_tokens - output_tokens))
        self.factor = min(1.0, self.factor * RECOVER)

    def rate_limited(self, retry_after: float | None) -> None:
        """The server said 429: pause everyone for retry-after and lower the rate."""
        if not self.active:
            return
        self.slowdowns += 1
        self.factor = max(MIN_FACTOR, self.factor * SLOW_DOWN)
        if retry_after:
            self.paused_until = max(self.paused_until, time.monotonic() + retry_after)
