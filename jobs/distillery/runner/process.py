"""One phase as a `distillery-job` child process, its output streamed line by line as it comes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# How long a phase may take to stop after SIGTERM (train saves a checkpoint) before it is killed.
STOP_GRACE_SECONDS = 60.0
TAIL_LINES = 40
ERROR_MARK = ": error: "


def job_command(phase: str, manifest: Path, attempt: int, candidate: str | None = None) -> list[str]:
    """Exactly the arguments a Kubernetes Job of this phase runs with."""
    return [
        sys.executable,
        "-m",
        "distillery.cli.job",
        phase,
        "--manifest",
        str(manifest),
        "--attempt",
        str(attempt),
        *(["--candidate", candidate] if candidate else []),
    ]


@dataclass
class PhaseExit:
    """How a phase process ended."""

    returncode: int
    seconds: float
    tail: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.interrupted

    def error(self) -> str:
        """The job's own error line if it printed one, else the last lines of its output."""
        for line in reversed(self.tail):
            if line.startswith("distillery-job") and ERROR_MARK in line:
                return line.split(ERROR_MARK, 1)[1].strip()
        # A traceback ends with the exception line; anything else: its last line says most.
        last = next((line.strip() for line in reversed(self.tail) if line.strip()), "no output")
        return f"exited with code {self.returncode}: {last}"


def _pump(stream, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def stop_child(process: subprocess.Popen[str], grace: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_child(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """A child process whose stdout and stderr come back as one stream of text lines."""
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
        env=env,
    )


def run_process(
    command: list[str],
    *,
    on_line: Callable[[str], None],
    on_tick: Callable[[float], None] = lambda seconds: None,
    env: dict[str, str] | None = None,
    tick_seconds: float = 1.0,
    stop_grace: float = STOP_GRACE_SECONDS,
) -> PhaseExit:
    """Run `command`, calling `on_line` for each output line and `on_tick` while it is quiet.

    Ctrl-C (KeyboardInterrupt) stops the child with SIGTERM, waits `stop_grace` seconds for it to
    save its state, and returns with `interrupted` set.
    """
    child_env = {**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    process = start_child(command, child_env)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    reader.start()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        while True:
            try:
                line = lines.get(timeout=tick_seconds)
            except queue.Empty:
                on_tick(time.monotonic() - started)
                continue
            if line is None:
                break
            tail.append(line)
            on_line(line)
        returncode = process.wait()
    except KeyboardInterrupt:
        stop_child(process, stop_grace)
        return PhaseExit(process.returncode, time.monotonic() - started, list(tail), interrupted=True)
    finally:
        reader.join(timeout=5)
    return PhaseExit(returncode, time.monotonic() - started, list(tail))
