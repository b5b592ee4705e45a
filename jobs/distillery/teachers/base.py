"""What every teacher returns, and the one small interface the collect engine and the judge use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from distillery.pricing import TokenUsage


@dataclass(frozen=True)
class Completion:
    """One completion as the API returned it; `model` is the exact id the API reported."""

    text: str
    model: str
    stop_reason: str | None
    usage: TokenUsage
    latency_ms: float | None = None  # wall time of the call that succeeded (realtime only)


@dataclass(frozen=True)
class BatchOutcome:
    """One line of a Message Batch's results: a completion, or why there is none."""

    custom_id: str
    completion: Completion | None = None
    error_kind: str | None = None
    error: str | None = None
    retryable: bool = False


@dataclass(frozen=True)
class BatchState:
    """Where a submitted batch stands."""

    batch_id: str
    ended: bool
    counts: dict[str, int]
    created_at: datetime | None = None

    @property
    def requests(self) -> int:
        return sum(self.counts.values())


class Teacher(Protocol):
    """A model that completes prompts; one call is one attempt (retries are the caller's)."""

    provider: str
    sdk_version: str
    model: str
    system_prompt: str
    max_tokens: int

    async def complete(self, text: str) -> Completion:
        """Raises distillery.errors.TeacherCallError (retryable or not) when the call fails."""
        ...

    def request_params(self, text: str) -> dict[str, Any]:
        """The request body sent for `text` (used for sizes and batch requests)."""
        ...

    async def aclose(self) -> None: ...


class BatchTeacher(Teacher, Protocol):
    """A teacher that also speaks the Message Batches API."""

    async def create_batch(self, requests: list[tuple[str, str]]) -> str:
        """Submit (custom_id, prompt text) pairs; returns the batch id."""
        ...

    async def batch_state(self, batch_id: str) -> BatchState: ...

    async def batch_results(self, batch_id: str) -> list[BatchOutcome]: ...

    async def batches_since(self, since: datetime) -> list[BatchState]:
        """Batches of this API key created at or after `since`, newest first (the batches list)."""
        ...
