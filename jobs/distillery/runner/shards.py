"""`distillery run` with `teacher.shards: N`: the collect phase as N `distillery-job collect` processes.

Each process gets `DISTILLERY_SHARD_INDEX` (what an Indexed Job's pod gets from its completion
index), they run at once, their lines are prefixed with their shard, and once all have exited
their stored summaries are merged into the phase's (collect/shards.py: `merge_stored`).
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable

from distillery.collect.shards import SHARD_INDEX_ENV
from distillery.runner.process import STOP_GRACE_SECONDS, TAIL_LINES, PhaseExit, start_child, stop_child


def _pump(index: int, stream, lines: queue.Queue[tuple[int, str | None]]) -> None:
    for line in stream:
        lines.put((index, line.rstrip("\n")))
    lines.put((index, None))


def run_shards(
    command: list[str],
    shards: int,
    *,
    on_line: Callable[[int, str], None],
    on_tick: Callable[[float], None] = lambda seconds: None,
    env: dict[str, str] | None = None,
    tick_seconds: float = 1.0,
    stop_grace: float = STOP_GRACE_SECONDS,
) -> list[PhaseExit]:
    """Run `command` once per shard at the same time; one PhaseExit per shard, in shard order.

    Ctrl-C stops every shard with SIGTERM (collect stores what it has and exits 75) and marks each
    exit interrupted.
    """
    base = {**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    processes = [start_child(command, base | {SHARD_INDEX_ENV: str(i)}) for i in range(shards)]
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()
    readers = [
        threading.Thread(target=_pump, args=(i, process.stdout, lines), daemon=True)
        for i, process in enumerate(processes)
    ]
    for reader in readers:
        reader.start()
    tails: list[deque[str]] = [deque(maxlen=TAIL_LINES) for _ in processes]
    open_streams = shards
    try:
        while open_streams:
            try:
                index, line = lines.get(timeout=tick_seconds)
            except queue.Empty:
                on_tick(time.monotonic() - started)
                continue
            if line is None:
                open_streams -= 1
                continue
            tails[index].append(line)
            on_line(index, line)
        codes = [process.wait() for process in processes]
    except KeyboardInterrupt:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # all at once: each then has the whole grace
        for process in processes:
            stop_child(process, stop_grace)
        seconds = time.monotonic() - started
        return [
            PhaseExit(p.returncode, seconds, list(t), interrupted=True)
            for p, t in zip(processes, tails, strict=True)
        ]
    finally:
        for reader in readers:
            reader.join(timeout=5)
    seconds = time.monotonic() - started
    return [PhaseExit(code, seconds, list(tail)) for code, tail in zip(codes, tails, strict=True)]
