"""Group commit to the artifact store: `await writer.add(record)` returns once the record is stored.

The store has no append, so records are written as new objects `<prefix><run>-<n>.jsonl`. One
background task writes whatever has been queued since its last write, as one object, while the
callers wait: with 16 workers finishing at about the same time, one write makes 16 records durable.
There is no timer and no buffer that outlives a write: a record is in the store within one write
(about a millisecond on file://, one PUT on s3://) of being added, so a kill loses only what was
being written at that moment, never "the last 50 records or 5 seconds".
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from distillery.errors import StoreError

log = logging.getLogger("distillery.collect")


def new_run_token() -> str:
    """Sorts after the tokens of earlier runs (keys of a later run list after earlier ones)."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


class GroupWriter:
    """Queues records; a single writer task stores each group as one object and wakes its callers."""

    def __init__(self, store: Any, *, prefix: str, run_token: str, max_records: int = 1000) -> None:
        self.store = store
        self.prefix = prefix
        self.run_token = run_token
        self.max_records = max_records
        self.objects_written = 0
        self.stored: list[dict[str, Any]] = []  # every record stored by this writer, in order
        self._queue: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writing: list[asyncio.Future[None]] = []  # the group being written now
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def put(self, record: dict[str, Any]) -> asyncio.Future[None]:
        """Queue `record`; the future is done when it is stored (or holds the store's error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append((record, future))
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name=f"group-writer {self.prefix}")
        self._wake.set()
        return future

    async def add(self, record: dict[str, Any]) -> None:
        """Store `record`; returns once it is durable (a caller cancelled while waiting leaves the
        write to go on: the writer's other callers wait on the same group)."""
        await asyncio.shield(self.put(record))

    async def flush(self) -> None:
        """Wait until everything queued so far is stored."""
        pending = self._writing + [future for _, future in self._queue]
        if pending:
            await asyncio.gather(*pending)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                group, self._queue = self._queue[: self.max_records], self._queue[self.max_records :]
                self._writing = [future for _, future in group]
                await self._write(group)
                self._writing = []

    async def _write(self, group: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        key = f"{self.prefix}{self.run_token}-{self.objects_written:06d}.jsonl"
        self.objects_written += 1
        try:
            await asyncio.to_thread(self.store.write_jsonl, key, [record for record, _ in group])
        except StoreError as error:  # every caller waiting on this group sees the store's error
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        except BaseException:  # cancelled, or a bug: the callers must not wait forever
            for _, future in group:
                future.cancel()
            raise
        self.stored.extend(record for record, _ in group)
        for _, future in group:
            if not future.done():
                future.set_result(None)
        log.debug("collect: stored %d records as %s", len(group), key)

    async def aclose(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
