"""Message Batches collection (half price): submit in chunks within the API limits, poll with
backoff, stream results, map them by custom_id (= prompt id), resubmit errored and expired items
until `maxAttempts`, then record why an item was given up.

Every batch gets a marker (batches/<marker>.json: its prompt ids, the time, no batch id yet) stored
BEFORE it is created, and the batch id is added once the API answers; a marker is closed once its
results are in the chunks. A restarted job polls the batches it already paid for instead of
submitting them again. For a marker without a batch id (killed between the call and the write),
it looks the batch up in the batches list: the Message Batches API takes no metadata or name on a
batch, so the match is by creation time (at or after the marker's time, less a minute of clock
skew), request count, and, when more than one batch fits, the custom_ids of its results once it
has ended. Not found: the create never reached the API, and the prompts are submitted again.
Prompts of a resumed batch are charged to the budget at their worst case before anything new is
submitted (they are paid whether they fit or not).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
CLOCK_SKEW = timedelta(minutes=1)


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
    marker: dict[str, Any] = field(default_factory=dict)


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

    def _write_marker(self, marker: dict[str, Any], **changes: Any) -> dict[str, Any]:
        marker = marker | changes | {"updated_at": datetime.now(UTC).isoformat()}
        self.store.write_json(f"{MARKERS}{marker['marker']}.json", marker)
        return marker

    def _new_marker(self, prompts: list[Prompt]) -> dict[str, Any]:
        ids = [p.id for p in prompts]
        material = json.dumps([self.state.run_token, [(i, self.attempts[i] + 1) for i in ids]])
        return {
            "marker": hashlib.sha256(material.encode()).hexdigest()[:32],
            "batch_id": None,
            "ids": ids,
            "intent_at": datetime.now(UTC).isoformat(),
            "ingested": False,
        }

    def _all_markers(self) -> list[dict[str, Any]]:
        return [self.store.read_json(key) for key in self.store.list(MARKERS) if key.endswith(".json")]

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
        marker = await asyncio.to_thread(self._write_marker, self._new_marker(fitting))
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
            await asyncio.to_thread(self._write_marker, marker, ingested=True)
            return
        marker = await asyncio.to_thread(self._write_marker, marker, batch_id=batch_id)
        for prompt in fitting:
            self.attempts[prompt.id] += 1
        log.info("collect: submitted batch %s with %d requests", batch_id, len(fitting))
        submitted.append(Submitted(batch_id, fitting, reservations, marker))

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
        await asyncio.to_thread(self._write_marker, batch.marker, ingested=True)
        return again

    async def _apply(self, prompt: Prompt, outcome: BatchOutcome, batch: Submitted) -> bool:
        reservation = self._limited(batch.reservations.get(prompt.id))
        attempts = max(self.attempts[prompt.id], 1)
        if outcome.completion is not None:
            self.state.record_ok(  # stored together (flushed) before the marker is closed
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

    async def _resume(self, marker: dict[str, Any], claimed: set[str]) -> Submitted | None:
        """The batch an earlier run submitted for `marker` (looked up when its id was never stored)."""
        mine = [self.by_id[i] for i in marker["ids"] if i in self.by_id]
        batch_id = marker.get("batch_id") or await self._find(marker, claimed)
        if batch_id is None:
            log.info(
                "collect: batch marker %s: no batch was created; its prompts are sent again", marker["marker"]
            )
            await asyncio.to_thread(self._write_marker, marker, ingested=True)
            return None
        if not marker.get("batch_id"):
            marker = await asyncio.to_thread(self._write_marker, marker, batch_id=batch_id)
        claimed.add(batch_id)
        reservations = {}
        for prompt in mine:
            self.attempts[prompt.id] += 1
            reservation = self.state.budget.worst_case(
                request_chars(self.teacher, prompt), self.teacher.max_tokens
            )
            self.state.budget.force_reserve(reservation)
            reservations[prompt.id] = reservation
        log.info("collect: resuming batch %s (%d requests) from an earlier run", batch_id, len(mine))
        return Submitted(batch_id, mine, reservations, marker)

    async def _find(self, marker: dict[str, Any], claimed: set[str]) -> str | None:
        since = datetime.fromisoformat(marker["intent_at"]) - CLOCK_SKEW
        listed = await self._retrying(lambda: self.teacher.batches_since(since), "batch list")
        candidates = [b for b in listed if b.requests == len(marker["ids"]) and b.batch_id not in claimed]
        if len(candidates) <= 1:
            return candidates[0].batch_id if candidates else None
        for candidate in reversed(candidates):  # oldest first: the one created right after the marker
            await self._wait(candidate.batch_id)
            outcomes = await self._retrying(
                lambda c=candidate: self.teacher.batch_results(c.batch_id), "batch results"
            )
            if {o.custom_id for o in outcomes} == set(marker["ids"]):
                return candidate.batch_id
        return None

    async def run(self, prompts: list[Prompt]) -> None:
        self.by_id = {p.id: p for p in prompts}
        markers = await asyncio.to_thread(self._all_markers)
        claimed = {m["batch_id"] for m in markers if m.get("batch_id")}
        resumed = []
        for marker in markers:
            if not marker.get("ingested"):
                batch = await self._resume(marker, claimed)
                if batch is not None:
                    resumed.append(batch)
        in_resumed = {p.id for batch in resumed for p in batch.prompts}
        queue = [p for p in prompts if p.id not in in_resumed]
        pending = resumed
        while pending or (queue and not self.state.budget.exceeded and not self.state.stop.is_set()):
            leftover: list[Prompt] = []
            if queue and not self.state.budget.exceeded and not self.state.stop.is_set():
                submitted, leftover = await self._submit(queue)
                pending = pending + submitted
            if self.state.stop.is_set():  # submitted batches are polled by the next run
                return
            again = await asyncio.gather(*(self._ingest(batch) for batch in pending))
            queue = leftover + [p for group in again for p in group]
            pending = []
        self.state.note = ""


async def collect_batches(
    prompts: list[Prompt], teacher: BatchTeacher, state: RunState, store: Any, limits: BatchLimits
) -> None:
    await BatchCollector(teacher, state, store, limits).run(prompts)
