"""Graceful stop: on SIGTERM (eviction, preemption, node drain) collect sends nothing new, lets the
calls in flight finish within `teacher.stopGracePeriodSeconds`, then stops; the engine stores every
record and the job writes a summary with status Interrupted and exits with EXIT_INTERRUPTED (75).

Calls still running when the grace period ends are cancelled: they were journaled before they were
sent, so the restart counts them as possibly paid (ledger.py). Prompts journaled ahead and never
sent are withdrawn (ahead.py), so a stop within the grace period counts nothing it did not send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterator
from typing import Any

from distillery.collect.state import RunState
from distillery.prompts import Prompt

log = logging.getLogger("distillery.collect")


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event, signals: tuple[int, ...]) -> Iterator[None]:
    """Set `stop` when one of `signals` arrives (handlers removed on exit)."""
    loop = asyncio.get_running_loop()

    def requested(number: int) -> None:
        if not stop.is_set():
            log.warning(
                "collect: %s received: sending nothing new, finishing the calls in flight",
                signal.Signals(number).name,
            )
        stop.set()

    for number in signals:
        loop.add_signal_handler(number, requested, number)
    try:
        yield
    finally:
        for number in signals:
            loop.remove_signal_handler(number)


async def run_until_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event, grace: float) -> None:
    """Run `work`; once `stop` is set, give it `grace` seconds to finish, then cancel it."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                log.warning("collect: calls still in flight after the %gs grace period are abandoned", grace)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return
        task.result()  # a bug or a store error in the work surfaces here
    finally:
        stopped.cancel()


def finished(pending: list[Prompt], state: RunState) -> bool:
    """Whether every prompt this run was to send has a final record (a stop left none half done)."""
    for prompt in pending:
        record = state.new_records.get(prompt.id)
        if record is None and not state.budget.exceeded:
            return False
        if record is not None and record.get("error_kind") == "interrupted":
            return False
    return True
