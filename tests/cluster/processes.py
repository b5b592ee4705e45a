"""Child processes of the test cluster: started with their output in a log file, in their own process
group, and always stopped (terminate, then kill) - also at interpreter exit as a safety net."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

_LIVE: set[ManagedProcess] = set()
_CHILDREN: set[subprocess.Popen[bytes]] = set()  # the test kubelet's container processes
_LIVE_LOCK = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """One long-running binary whose stdout and stderr go to ``log_path``."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, start_new_session=True,
            )
        with _LIVE_LOCK:
            _LIVE.add(self)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def describe(self, lines: int = 30) -> str:
        """Name, state and log tail, for error messages."""
        state = "running" if self.running() else f"exited with {self.proc.returncode if self.proc else None}"
        return f"--- {self.name} ({state}), last lines of {self.log_path}:\n{log_tail(self.log_path, lines)}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it when still alive after ``timeout`` seconds."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
        with _LIVE_LOCK:
            _LIVE.discard(self)


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid`` (gone already is fine)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def track(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process``'s group at interpreter exit if it still runs then (the kubelet's safety net)."""
    with _LIVE_LOCK:
        _CHILDREN.add(process)


def untrack(process: subprocess.Popen[bytes]) -> None:
    with _LIVE_LOCK:
        _CHILDREN.discard(process)


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        live, children = list(_LIVE), list(_CHILDREN)
    for child in children:
        if child.poll() is None:
            signal_group(child.pid, signal.SIGKILL)
    for process in live:
        process.stop(timeout=5)
