"""Realtime collection: `concurrency` workers, each sending one prompt at a time with retries."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import replace

from distillery.collect.state import RunState
from distillery.errors import TeacherCallError
from distillery.prompts import Prompt
from distillery.teachers.base import Completion, Teacher
from distillery.teachers.retry import call_with_retries


def request_chars(teacher: Teacher, prompt: Prompt) -> int:
    """Characters of what is sent (system prompt + message): the input side of the budget estimate."""
    return len(teacher.system_prompt or "") + len(prompt.text)


async def _timed_completion(teacher: Teacher, text: str) -> Completion:
    """The completion with its own call's latency (what a realtime request to the teacher costs)."""
    started = time.perf_counter()
    completion = await teacher.complete(text)
    return replace(completion, latency_ms=round((time.perf_counter() - started) * 1000, 1))


async def _collect_one(prompt: Prompt, teacher: Teacher, state: RunState) -> bool:
    """False when the budget leaves no room for this prompt (it is not sent)."""
    reservation = state.budget.worst_case(request_chars(teacher, prompt), teacher.max_tokens)
    if not await state.budget.reserve(reservation):
        return False
    reserved = reservation if state.budget.limited else None
    try:
        completion, attempts = await call_with_retries(
            lambda: _timed_completion(teacher, prompt.text),
            max_attempts=state.max_attempts,
            policy=state.policy,
            stats=state.retries,
            rng=state.rng,
            what=f"prompt {prompt.id}",
        )
    except TeacherCallError as error:
        await state.record_failure(prompt, error, attempts=error.attempts, reservation=reserved)
        return True
    await state.record_ok(prompt, completion, attempts=attempts, reservation=reserved)
    return True


async def collect_realtime(
    prompts: list[Prompt], teacher: Teacher, state: RunState, concurrency: int
) -> None:
    queue = deque(prompts)

    async def worker() -> None:
        while queue and not state.budget.exceeded:
            prompt = queue.popleft()
            if not await _collect_one(prompt, teacher, state):
                return

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(prompts)) or 1)))
