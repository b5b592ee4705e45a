"""Message Batches collection (half price): submit in chunks within the API limits, poll with
backoff, stream results, map them by custom_id (= prompt id), resubmit errored and expired items
until `maxAttempts`, then record why an item was given up.

Every submitted batch gets a marker (batches/<id>.json) right after it is created, so a restarted
job polls the batches it already paid for instead of submitting them again; a marker is closed once
its results are in the chunks. (A kill between the API's answer and the marker write, a few
milliseconds, is the one window in which a batch could be submitted twice.)
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from distillery.collect.budget import Reservation
from distillery.collect.realtime import request_chars
from distillery.collect.state import RunState
from distillery.errors import TeacherCallError
from distillery.prompts import Prompt
from distillery.teachers.base import BatchOutcome, BatchTeacher
from distillery.teachers.retry import call_with_retries

log = logging.getLogger("distillery.collect")

MARKERS = "batches/"
MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class BatchLimits:
    max_requests: int = MAX_BATCH_REQUESTS
    max_bytes: int = int(MAX_BATCH_BYTES * 0.9)  # room for the envelope the SDK adds
    poll_initial: float = 2.0
    poll_max: float = 60.0


@dataclass
class Submitted:
    batch_id: str
    prompts: list[Prompt]
    reservations: dict[str, Reservation] = field(default_factory=dict)


def split_by_limits(prompts: list[Prompt], teacher: BatchTeacher, limits: BatchLimits) -> list[list[Prompt]]:
    chunks: list[list[Prompt]] = [[]]
    size = 0
    for prompt in prompts:
        request_size = len(json.dumps(teacher.request_params(prompt.text))) + len(prompt.id) + 64
        if chunks[-1] and (len(chunks[-1]) >= limits.max_requests or size + request_size > limits.max_bytes):
            chunks.append([])
            size = 0
        chunks[-1].append(prompt)
        size += request_size
    return [chunk for chunk in chunks if chunk]


class BatchCollector:
    def __init__(self, teacher: BatchTeacher, state: RunState, store: Any, limits: BatchLimits) -> None:
        self.teacher, self.state, self.store, self.limits = teacher, state, store, limits
        self.attempts: Counter[str] = Counter()
        self.by_id: dict[str, Prompt] = {}

    async def _retrying(self, call: Any, what: str) -> Any:
        result, _ = await call_with_retries(
            call,
            max_attempts=self.state.max_attempts,
            policy=self.state.policy,
            stats=self.state.retries,
            rng=self.state.rng,
            what=what,
        )
        return result

    # --- markers ------------------------------------------------------------------------------

    def _write_marker(self, batch_id: str, prompts: list[Prompt], *, ingested: bool) -> None:
        self.store.write_json(
            f"{MARKERS}{batch_id}.json",
            {
                "batch_id": batch_id,
                "ids": [p.id for p in prompts],
                "ingested": ingested,
                "updated_at": datetime.now(UTC).isoformat(),
            },
        )

    def _open_markers(self) -> list[dict[str, Any]]:
        markers = [self.store.read_json(key) for key in self.store.list(MARKERS) if key.endswith(".json")]
        return [m for m in markers if not m.get("ingested")]

    # --- submit, wait, ingest ----------------------------------------------------------------

    async def _reserve_prefix(self, chunk: list[Prompt]) -> dict[str, Reservation]:
        reservations: dict[str, Reservation] = {}
        for prompt in chunk:
            reservation = self.state.budget.worst_case(
                request_chars(self.teacher, prompt), self.teacher.max_tokens
            )
            if self.state.budget.limited and not self.state.budget.try_reserve(reservation):
                break
            reservations[prompt.id] = reservation
        return reservations

    async def _submit(self, queue: list[Prompt]) -> tuple[list[Submitted], list[Prompt]]:
        """Submit what the budget allows; returns the batches and the prompts left for a later round."""
        submitted: list[Submitted] = []
        chunks = split_by_limits(queue, self.teacher, self.limits)
        for number, chunk in enumerate(chunks):
            reservations = await self._reserve_prefix(chunk)
            fitting = [p for p in chunk if p.id in reservations]
            if fitting:
                await self._create(fitting, reservations, submitted)
            if len(fitting) < len(chunk):
                return submitted, chunk[len(fitting) :] + [p for later in chunks[number + 1 :] for p in later]
        return submitted, []

    async def _create(
        self, fitting: list[Prompt], reservations: dict[str, Reservation], submitted: list[Submitted]
    ) -> None:
        try:
            batch_id = await self._retrying(
                lambda: self.teacher.create_batch([(p.id, p.text) for p in fitting]), "batch create"
            )
        except TeacherCallError as error:
            for prompt in fitting:
                reservation = self._limited(reservations[prompt.id])
                await self.state.record_failure(
                    prompt, error, attempts=error.attempts, reservation=reservation
                )
            return
        await asyncio.to_thread(self._write_marker, batch_id, fitting, ingested=False)
        for prompt in fitting:
            self.attempts[prompt.id] += 1
        log.info("collect: submitted batch %s with %d requests", batch_id, len(fitting))
        submitted.append(Submitted(batch_id, fitting, reservations))

    def _limited(self, reservation: Reservation | None) -> Reservation | None:
        return reservation if self.state.budget.limited else None

    async def _wait(self, batch_id: str) -> None:
        delay = self.limits.poll_initial
        while True:
            state = await self._retrying(lambda: self.teacher.batch_state(batch_id), "batch retrieve")
            self.state.note = f"batch {batch_id}: {'ended' if state.ended else 'in progress'} {state.counts}"
            if state.ended:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self.limits.poll_max)

    async def _ingest(self, batch: Submitted) -> list[Prompt]:
        """Record the results of an ended batch; returns the prompts to submit again."""
        await self._wait(batch.batch_id)
        outcomes: list[BatchOutcome] = await self._retrying(
            lambda: self.teacher.batch_results(batch.batch_id), "batch results"
        )
        by_custom_id = {o.custom_id: o for o in outcomes}
        again = []
        for prompt in batch.prompts:
            outcome = by_custom_id.get(prompt.id) or BatchOutcome(
                prompt.id, error_kind="missing", error="no result line for this request", retryable=True
            )
            if await self._apply(prompt, outcome, batch):
                again.append(prompt)
        await self.state.writer.flush()  # results are in the store before the marker is closed
        await asyncio.to_thread(self._write_marker, batch.batch_id, batch.prompts, ingested=True)
        return again

    async def _apply(self, prompt: Prompt, outcome: BatchOutcome, batch: Submitted) -> bool:
        reservation = self._limited(batch.reservations.get(prompt.id))
        attempts = max(self.attempts[prompt.id], 1)
        if outcome.completion is not None:
            await self.state.record_ok(
                prompt,
                outcome.completion,
                attempts=attempts,
                reservation=reservation,
                batch_id=batch.batch_id,
            )
            return False
        if outcome.retryable and attempts < self.state.max_attempts:
            self.state.budget.settle(reservation, None, None)
            self.state.retries.by_kind[f"batch_{outcome.error_kind}"] += 1
            return True
        error = TeacherCallError(
            outcome.error or "batch item failed", kind=outcome.error_kind or "batch", retryable=False
        )
        await self.state.record_failure(prompt, error, attempts=attempts, reservation=reservation)
        return False

    async def run(self, prompts: list[Prompt]) -> None:
        self.by_id = {p.id: p for p in prompts}
        resumed = []
        for marker in await asyncio.to_thread(self._open_markers):
            mine = [self.by_id[i] for i in marker["ids"] if i in self.by_id]
            for prompt in mine:
                self.attempts[prompt.id] += 1
            log.info(
                "collect: resuming batch %s (%d requests) from an earlier run", marker["batch_id"], len(mine)
            )
            resumed.append(Submitted(marker["batch_id"], mine))
        in_resumed = {p.id for batch in resumed for p in batch.prompts}
        queue = [p for p in prompts if p.id not in in_resumed]
        pending = resumed
        while pending or (queue and not self.state.budget.exceeded):
            leftover: list[Prompt] = []
            if queue and not self.state.budget.exceeded:
                submitted, leftover = await self._submit(queue)
                pending = pending + submitted
            again = await asyncio.gather(*(self._ingest(batch) for batch in pending))
            queue = leftover + [p for group in again for p in group]
            pending = []
        self.state.note = ""


async def collect_batches(
    prompts: list[Prompt], teacher: BatchTeacher, state: RunState, store: Any, limits: BatchLimits
) -> None:
    await BatchCollector(teacher, state, store, limits).run(prompts)
