"""Realtime collection: `concurrency` workers, each sending one prompt at a time with retries.

Every attempt is journaled (stored in chunks/) before it is sent, its worst case reserved in the
budget and the rate limiter waited for. First attempts are journaled ahead, in groups, while the
workers are busy (ahead.py); a retry is journaled just before it goes out. A completion's record
is queued for the store at once and written by the next group write; a worker takes its next
prompt only once its last record but one is stored. No store write waits between an answer and
the next request.

What a SIGKILL can cost: a restart counts as possibly paid (`possibly_paid_twice`, charged to the
budget at its worst case) every journaled attempt without a stored record. That is at most
3 x `concurrency` prompts: per worker, a call in flight (or taken and about to be sent) and a
completion whose record was still being written, plus up to `concurrency` prompts journaled ahead
(2 x `concurrency` while the first group, one per worker and the lead, is handed out, before any
call is sent). The teacher has seen at most
2 x `concurrency` of them (the ones journaled ahead were never sent), so at most that many prompts
are billed twice; the summary's count is never below the teacher's. A finished run, and one
stopped by SIGTERM, withdraws what it journaled ahead and did not send: nothing is over-counted.

An attempt that ends in a timeout, a dropped connection or an unreadable answer may have been
billed: it is charged at its worst case and counted. On stop (SIGTERM), workers take no new prompt
and make no new attempt; the calls in flight finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace

from distillery.collect.ahead import JournalAhead
from distillery.collect.budget import Reservation
from distillery.collect.ledger import journal_entry
from distillery.collect.state import RunState
from distillery.errors import TeacherCallError
from distillery.prompts import Prompt
from distillery.teachers.base import Completion, Teacher

Stored = asyncio.Future[None] | None  # a record queued for the store, until it is durable


def request_chars(teacher: Teacher, prompt: Prompt) -> int:
    """Characters of what is sent (system prompt + message): the input side of the budget estimate."""
    return len(teacher.system_prompt or "") + len(prompt.text)


async def _timed_completion(teacher: Teacher, text: str) -> Completion:
    """The completion with its own call's latency (what a realtime request to the teacher costs)."""
    started = time.perf_counter()
    completion = await teacher.complete(text)
    return replace(completion, latency_ms=round((time.perf_counter() - started) * 1000, 1))


async def _pause(state: RunState, seconds: float) -> None:
    """Sleep before a retry, cut short by a stop request."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.stop.wait(), timeout=seconds)


async def _attempt(prompt: Prompt, teacher: Teacher, state: RunState, attempt: int) -> Completion:
    chars = request_chars(teacher, prompt)
    if state.journaled and attempt > 1:  # a retry is journaled now (the first attempt was ahead)
        await state.writer.add(journal_entry(prompt.id, state.run_token, attempt))
    await state.limiter.acquire(chars, teacher.max_tokens)
    completion = await _timed_completion(teacher, prompt.text)
    state.limiter.settle(completion.usage.output_tokens, teacher.max_tokens)
    return completion


async def _collect_one(prompt: Prompt, teacher: Teacher, state: RunState) -> tuple[bool, Stored]:
    """(False, None) when the budget leaves no room for this prompt (it is not sent); else (True,
    the store of its record: None when already durable)."""
    worst = state.budget.worst_case(request_chars(teacher, prompt), teacher.max_tokens)
    unknown = 0
    attempt = 0
    while True:
        attempt += 1
        if not await state.budget.reserve(worst):
            if attempt > 1:  # paid for what it tried; no room for another attempt
                error = TeacherCallError(
                    "budget ran out before another attempt", kind="budget", retryable=False
                )
                await state.record_failure(prompt, error, attempts=attempt - 1, unknown_attempts=unknown)
                return True, None
            return False, None
        reserved: Reservation | None = worst if state.budget.limited else None
        try:
            completion = await _attempt(prompt, teacher, state, attempt)
        except TeacherCallError as error:
            error.attempts = attempt
            if error.billing_unknown:
                unknown += 1
                state.budget.charge_worst_case(reserved)  # may have been billed: its worst case
            else:
                state.budget.settle(reserved, None, None)  # answered with an error: not billed
            if error.kind == "rate_limited":
                state.limiter.rate_limited(error.retry_after)
            final = _final_error(error, attempt, state)
            if final is None:
                state.retries.by_kind[error.kind] += 1
                await _pause(state, state.policy.delay(attempt - 1, error, state.rng))
                final = _final_error(error, attempt, state)
            if final is not None:
                await state.record_failure(prompt, final, attempts=attempt, unknown_attempts=unknown)
                return True, None
            continue
        stored = state.record_ok(
            prompt, completion, attempts=attempt, reservation=reserved, unknown_attempts=unknown
        )
        return True, stored


def _final_error(error: TeacherCallError, attempt: int, state: RunState) -> TeacherCallError | None:
    """The error to record if this prompt gets no further attempt, else None."""
    if not error.retryable or attempt >= state.max_attempts:
        return error
    if state.stop.is_set():
        return TeacherCallError(f"interrupted after: {error}", kind="interrupted", retryable=True)
    return None


async def collect_realtime(
    prompts: list[Prompt], teacher: Teacher, state: RunState, concurrency: int
) -> None:
    workers = min(concurrency, len(prompts)) or 1
    feed = JournalAhead(prompts, state, first=workers, ahead=concurrency)

    async def worker() -> None:
        older: Stored = None  # the store of this worker's last record but one
        newer: Stored = None
        while not state.budget.exceeded and not state.stop.is_set():
            if older is not None:  # so at most one completion of this worker is not stored yet
                await asyncio.shield(older)
            prompt = await feed.next()
            if prompt is None:
                return
            if state.budget.exceeded or state.stop.is_set():
                feed.withdraw(prompt)
                return
            sent, stored = await _collect_one(prompt, teacher, state)
            if not sent:
                feed.withdraw(prompt)
                return
            older, newer = newer, stored

    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        feed.close()
