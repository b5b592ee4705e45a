"""One Pod run by the test kubelet: volumes, then init containers and containers one after another as
local processes (own process group), with the Pod's status patched as a kubelet does."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import urllib3
from kubernetes.client.exceptions import ApiException

from tests.cluster import podstatus
from tests.cluster.podspec import (
    DEFAULT_TERMINATION_PATH,
    Container,
    ContainerConfigError,
    Lookup,
    PathMap,
    Pod,
    container_argv,
    container_env,
    termination_message,
)
from tests.cluster.processes import signal_group, track, untrack
from tests.cluster.volumes import TokenSource, materialise_volumes, mount_paths

T = TypeVar("T")
Launch = tuple[list[str], dict[str, str], str]  # argv, env, working dir
CONFIG_RETRY_SECONDS = 1.0
RESTART_DELAY_SECONDS = 1.0


@dataclass
class RunContext:
    """What every PodRun shares with its TestKubelet."""

    patch_status: Callable[[str, dict[str, Any]], None]  # (pod name, body) -> PATCH pods/status
    lookup: Callable[[], Lookup]  # a fresh (uncached) Lookup for the namespace
    token: TokenSource | None
    work_dir: Path
    base_env: Mapping[str, str]
    echo: bool
    max_grace_seconds: float
    on_exit: Callable[[str, str, int], None]  # (pod, container, exit code)
    on_done: Callable[[], None]  # a PodRun's thread is about to end
    stopping: threading.Event = field(default_factory=threading.Event)


class PodRun:
    """Runs one Pod in a thread; ``delete()`` stops it (SIGTERM, SIGKILL after the grace period)."""

    def __init__(self, pod: Pod, context: RunContext) -> None:
        self.pod = pod
        self.name: str = pod["metadata"]["name"]
        self.context = context
        self.dir = context.work_dir / self.name
        self.cancelled = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.start_time = podstatus.now()
        self.statuses: dict[str, dict[str, Any]] = {}
        self.init_statuses: dict[str, dict[str, Any]] = {}
        self.thread = threading.Thread(target=self._run, name=f"test-kubelet-{self.name}", daemon=True)
        self._lock = threading.Lock()

    @property
    def spec(self) -> dict[str, Any]:
        return self.pod.get("spec", {})

    def start(self) -> PodRun:
        self.thread.start()
        return self

    def log_path(self, container: str) -> Path:
        return self.dir / f"{container}.log"

    # --- deletion -------------------------------------------------------------------------------

    def delete(self) -> None:
        """The Pod is gone or going: no more containers; SIGTERM the running one, SIGKILL after the Pod's
        terminationGracePeriodSeconds (capped at max_grace_seconds). The apiserver deletes a Pod
        without nodeName at once with grace 0, so its deletionGracePeriodSeconds says nothing."""
        grace = min(float(self.spec.get("terminationGracePeriodSeconds", 30)), self.context.max_grace_seconds)
        with self._lock:
            self.cancelled.set()
            process = self.process
        if process is not None and process.poll() is None:
            signal_group(process.pid, signal.SIGTERM)
            timer = threading.Timer(grace, self._kill, args=(process,))
            timer.daemon = True
            timer.start()

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            signal_group(process.pid, signal.SIGKILL)

    # --- the run --------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._run_pod()
        except ApiException as error:
            if error.status != 404:  # 404: the Pod was deleted while it ran
                print(f"[test-kubelet] {self.name}: status patch failed: {error}", file=sys.stderr)
        except urllib3.exceptions.HTTPError as error:  # the apiserver went away (end of session)
            print(f"[test-kubelet] {self.name}: apiserver unreachable: {error!r}", file=sys.stderr)
        finally:
            self.context.on_done()

    def _run_pod(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        folders = self._until_configured(self._volumes, self.spec.get("containers", []))
        if folders is None:
            return
        for container in self.spec.get("initContainers", []):
            if self._run_container(container, folders, init=True) != 0:
                self._patch("Failed", initialized=False)
                return
        codes = [self._run_container(container, folders, init=False)
                 for container in self.spec.get("containers", []) if not self.cancelled.is_set()]
        if not self.cancelled.is_set():
            self._patch("Succeeded" if all(code == 0 for code in codes) else "Failed")

    def _volumes(self) -> dict[str, Path]:
        return materialise_volumes(self.pod, self.context.lookup(), self.dir / "volumes", self.context.token)

    def _until_configured(self, configure: Callable[[], T], waiting_for: list[Container],
                          init: bool = False) -> T | None:
        """``configure()``, retried like a kubelet while it raises ContainerConfigError (the containers
        then wait with that reason); None when the Pod is deleted or the kubelet stops meanwhile."""
        statuses = self.init_statuses if init else self.statuses
        while not self.cancelled.is_set() and not self.context.stopping.is_set():
            try:
                return configure()
            except ContainerConfigError as error:
                for container in waiting_for:
                    statuses[container["name"]] = podstatus.waiting(
                        container["name"], container.get("image", ""), error.reason, error.message)
                self._patch("Pending", initialized=False)
            self.cancelled.wait(CONFIG_RETRY_SECONDS)
        return None

    def _configure(self, container: Container, folders: dict[str, Path]) -> Launch:
        """(argv, env, working dir) of ``container``, its paths mapped (see podspec)."""
        name = container["name"]
        termination = self.dir / f"{name}.termination-log"
        termination.write_bytes(b"")
        mapping: dict[str, str | Path] = {**mount_paths(container, folders)}
        mapping[container.get("terminationMessagePath") or DEFAULT_TERMINATION_PATH] = termination
        paths = PathMap.of(mapping)
        declared = container_env(container, self.pod, self.context.lookup(), paths)
        argv = container_argv(container, declared, paths)
        env = {**self.context.base_env, "HOSTNAME": self.name, **declared}
        return argv, env, self._working_dir(container, paths)

    def _working_dir(self, container: Container, paths: PathMap) -> str:
        wanted = container.get("workingDir")
        if not wanted:
            return str(self.dir)
        local = paths.map_path(wanted)
        if local == wanted and not Path(wanted).is_dir():
            raise ContainerConfigError(f"workingDir {wanted} is neither under a volumeMount nor a local "
                                       "folder")
        Path(local).mkdir(parents=True, exist_ok=True)
        return local

    def _run_container(self, container: Container, folders: dict[str, Path], *, init: bool) -> int:
        """Run until it exits 0, or fails under restartPolicy Never; OnFailure restarts it."""
        name, restarts = container["name"], 0
        while True:
            configured = self._until_configured(lambda: self._configure(container, folders), [container],
                                                init)
            if configured is None:
                return 137
            code = self._execute(container, *configured, init=init, restarts=restarts)
            if code == 0 or self.spec.get("restartPolicy", "Always") == "Never" or self.cancelled.is_set():
                return code
            restarts += 1
            if self.cancelled.wait(RESTART_DELAY_SECONDS):
                return code
            print(f"[test-kubelet] {self.name}/{name}: restart {restarts} (exit {code})", file=sys.stderr)

    def _execute(self, container: Container, argv: list[str], env: dict[str, str], cwd: str, *,
                 init: bool, restarts: int) -> int:
        name, image = container["name"], container.get("image", "")
        statuses = self.init_statuses if init else self.statuses
        started = podstatus.now()
        with self._lock:
            if self.cancelled.is_set():
                return 137
            try:
                self.process = self._popen(name, argv, env, cwd)
            except OSError as error:  # what a runtime reports as StartError, exit code 128
                statuses[name] = podstatus.terminated(name, image, 128, _start_error(argv[0], error), started,
                                                      podstatus.now(), restarts, reason="StartError")
                self.context.on_exit(self.name, name, 128)
                return 128
        statuses[name] = podstatus.running(name, image, started, restarts)
        self._patch("Pending" if init else "Running", initialized=not init)
        code = self._wait(self.process)
        message = termination_message(self.dir / f"{name}.termination-log",
                                      container.get("terminationMessagePolicy", "File"), code,
                                      self.log_path(name).read_bytes())
        statuses[name] = podstatus.terminated(name, image, code, message, started, podstatus.now(), restarts,
                                              f"test-kubelet://{self.name}/{name}/{restarts}")
        self.context.on_exit(self.name, name, code)
        return code

    def _popen(self, name: str, argv: list[str], env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
        with open(self.log_path(name), "ab") as log:
            process = subprocess.Popen(
                argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True,
                stdout=subprocess.PIPE if self.context.echo else log, stderr=subprocess.STDOUT,
            )
        track(process)
        if process.stdout is not None:
            threading.Thread(target=_echo, args=(process.stdout, self.log_path(name), f"{self.name}/{name}"),
                             daemon=True).start()
        return process

    @staticmethod
    def _wait(process: subprocess.Popen[bytes]) -> int:
        code = process.wait()
        untrack(process)
        return 128 - code if code < 0 else code  # killed by signal N: a kubelet reports 128 + N

    def _patch(self, phase: str, *, initialized: bool = True) -> None:
        body = podstatus.pod_status(phase, self.start_time, list(self.statuses.values()),
                                    list(self.init_statuses.values()), initialized=initialized)
        if not self.statuses:  # containers not reached yet
            body["status"]["containerStatuses"] = [
                podstatus.waiting(c["name"], c.get("image", ""), "PodInitializing")
                for c in self.spec.get("containers", [])]
        self.context.patch_status(self.name, body)


def _start_error(program: str, error: OSError) -> str:
    if isinstance(error, FileNotFoundError) and "/" not in program:
        return f'exec: "{program}": executable file not found in $PATH'
    return f'exec: "{program}": {error.strerror}'


def _echo(stream: IO[bytes], log_path: Path, prefix: str) -> None:
    """Copy a process's output to its log file and to stderr with a prefix (echo mode)."""
    with stream, open(log_path, "ab") as log:
        for line in stream:
            log.write(line)
            log.flush()
            sys.stderr.write(f"[{prefix}] {line.decode(errors='replace')}")

