"""Journal ahead: first attempts are journaled in groups before the workers need them.

A worker must not send a call before its journal line is durable (ledger.py), but waiting for that
write before every call puts a store write (an fsync on file://, a PUT on s3://) between each
answer and the next request. Instead a group of upcoming prompts is journaled as one write while
the workers are busy, and the next group (topping the lead up to `ahead` again) once half of it is
handed out: a worker takes a prompt already durable as "may be in flight" and sends it at once.

A prompt journaled but never sent (the run ended, the budget ran out, a SIGTERM) is withdrawn by
an `unsent` journal line, so a finished or gracefully stopped run counts nothing it did not send.
After a SIGKILL the prompts journaled ahead count as possibly paid (and are charged to the budget
at their worst case) although the teacher never saw them: at most `ahead` of them, plus one per
worker while the first group (the workers' first prompts and the lead) is being handed out.
"""

from __future__ import annotations

import asyncio
from collections import deque

from distillery.collect.ledger import journal_entry
from distillery.collect.state import RunState
from distillery.prompts import Prompt


class JournalAhead:
    """Hands out prompts whose first attempt is already journaled (durable) in the store."""

    def __init__(self, prompts: list[Prompt], state: RunState, *, first: int, ahead: int) -> None:
        self.state = state
        self.ahead = max(1, ahead)
        self._first = max(1, first)  # the workers' first prompts, journaled with the first lead
        self._waiting = deque(prompts)  # not journaled yet
        self._ready: deque[Prompt] = deque()  # journaled, not handed out
        self._writing: list[Prompt] = []  # being journaled now
        self._write: asyncio.Task[None] | None = None

    async def next(self) -> Prompt | None:
        """The next journaled prompt, or None when every prompt has been handed out."""
        while True:
            self._top_up()
            if self._ready:
                return self._ready.popleft()
            if self._write is None:
                return None
            await asyncio.shield(self._write)

    def withdraw(self, prompt: Prompt) -> None:
        """`prompt` was handed out but not sent: its first attempt did not happen."""
        self.state.writer.put(journal_entry(prompt.id, self.state.run_token, 1, unsent=True))

    def close(self) -> None:
        """Withdraw every prompt journaled and never handed out (stored with the writer's next group;
        a group still being journaled is written first: the writer keeps the order)."""
        for prompt in [*self._writing, *self._ready]:
            self.withdraw(prompt)
        self._writing, self._ready = [], deque()

    def _top_up(self) -> None:
        """Journal the next group once half of the lead is used: at most `ahead` journaled and not
        handed out (the first group also covers one prompt per worker)."""
        if self._write is not None or not self._waiting or len(self._ready) > self.ahead // 2:
            return
        size = self._first + self.ahead if self._first else self.ahead - len(self._ready)
        self._first = 0
        group = [self._waiting.popleft() for _ in range(min(size, len(self._waiting)))]
        self._writing = group
        self._write = asyncio.get_running_loop().create_task(self._journal(group))

    async def _journal(self, group: list[Prompt]) -> None:
        token = self.state.run_token
        stored = [self.state.writer.put(journal_entry(p.id, token, 1)) for p in group]
        try:
            await asyncio.gather(*stored)
        finally:
            self._write = None
        self._writing = []
        self._ready.extend(group)
