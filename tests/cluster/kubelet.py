"""``TestKubelet``: runs the Pods of one namespace as local processes, for a cluster without nodes.

A background thread lists and then watches the namespace's Pods (resourceVersion, relist after 410
Gone). Each new Pod (by uid, once) gets a ``PodRun`` (podrun.py): volumes materialised as local
folders, init containers then containers run one after another as ``command + args`` in their own
process group, the env built from the test process's environment overlaid with the container's env,
and the Pod's status patched through ``pods/status`` as a kubelet does (Running, then Succeeded /
Failed with each container's exit code, reason and termination message). Mount paths and the
termination message path are mapped onto local paths: see podspec.py. A deleted Pod's process gets
SIGTERM, then SIGKILL after its terminationGracePeriodSeconds (capped at ``max_grace_seconds``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from tests.cluster.podrun import PodRun, RunContext
from tests.cluster.podspec import Lookup, Pod

WATCH_SECONDS = 60


def default_env() -> dict[str, str]:
    """The test process's environment, with the folder of its Python (the venv's bin, where console
    scripts such as distillery-job live) first on PATH: the venv stands in for the container image."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


class TestKubelet:
    """``started`` (pod names in start order), ``exit_codes`` (pod -> exit code of its last container
    that ran), ``killed`` (pods whose process was signalled because the Pod was deleted)."""

    __test__ = False  # not a pytest test class

    def __init__(self, api: k8s.ApiClient, namespace: str, *, work_dir: Path | None = None,
                 base_env: Mapping[str, str] | None = None, echo: bool = False,
                 max_grace_seconds: float = 10.0) -> None:
        self.core = k8s.CoreV1Api(api)
        self.namespace = namespace
        self._own_dir = work_dir is None
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix=f"test-kubelet-{namespace}-"))
        self.started: list[str] = []
        self.exit_codes: dict[str, int] = {}
        self.killed: list[str] = []
        self._runs: dict[str, PodRun] = {}  # by uid
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._response: urllib3.BaseHTTPResponse | None = None
        self.context = RunContext(
            patch_status=self._patch_status, lookup=self._lookup, token=self._token, work_dir=self.work_dir,
            base_env=default_env() if base_env is None else dict(base_env), echo=echo,
            max_grace_seconds=max_grace_seconds, on_exit=self._on_exit, on_done=self._on_done,
        )
        self._thread = threading.Thread(target=self._watch_loop, name=f"test-kubelet-{namespace}",
                                        daemon=True)

    def __enter__(self) -> TestKubelet:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> TestKubelet:
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop watching; SIGTERM every process still running (SIGKILL after the grace); join."""
        self.context.stopping.set()
        response = self._response
        if response is not None:
            response.shutdown()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.delete()
        deadline = time.monotonic() + timeout
        for thread in [self._thread, *(run.thread for run in runs)]:
            if thread.is_alive():
                thread.join(max(0.1, deadline - time.monotonic()))
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # --- for tests ------------------------------------------------------------------------------

    def log_path(self, pod: str, container: str) -> Path:
        """The file holding the stdout + stderr of ``container`` in ``pod``."""
        return self.work_dir / pod / f"{container}.log"

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
        """Block until ``predicate()`` holds (checked whenever a pod starts or exits)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"test kubelet: no {what} within {timeout}s (started={self.started}, "
                                       f"exit_codes={self.exit_codes})")
                self._changed.wait(min(left, 0.5))

    def wait_exit(self, pod: str, timeout: float = 30.0) -> int:
        """The exit code of ``pod`` once its last container exited."""
        self.wait_for(lambda: pod in self.exit_codes and not self._running(pod), timeout, f"exit of {pod}")
        return self.exit_codes[pod]

    def _running(self, pod: str) -> bool:
        return any(run.name == pod and run.thread.is_alive() for run in self._runs.values())

    # --- the watch ------------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        version: str | None = None
        while not self.context.stopping.is_set():
            try:
                version = version or self._list()
                version = self._watch(version)
            except ApiException as error:
                if error.status != 410:  # 410 Gone: the resourceVersion expired, list again
                    self._log(f"watch failed: {error.status} {error.reason}")
                    self.context.stopping.wait(0.5)
                version = None
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                if not self.context.stopping.is_set():
                    self._log(f"watch connection lost: {error!r}")
                    self.context.stopping.wait(0.5)

    def _list(self) -> str:
        response = self.core.list_namespaced_pod(self.namespace, _preload_content=False)
        listing = json.loads(response.data)
        for pod in listing.get("items", []):
            self._on_event("ADDED", pod)
        return str(listing["metadata"]["resourceVersion"])

    def _watch(self, version: str) -> str | None:
        """Follow the watch from ``version``; returns the last version seen when the server ends it."""
        self._response = self.core.list_namespaced_pod(
            self.namespace, watch=True, resource_version=version, allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS, _preload_content=False)
        if self.context.stopping.is_set():  # stop() may have missed this response: do not block on it
            self._response.release_conn()
            return version
        try:
            for line in iter_resp_lines(self._response):
                if self.context.stopping.is_set():
                    break
                event = json.loads(line)
                if event["type"] == "ERROR":
                    status = event["object"]
                    raise ApiException(status=status.get("code", 500), reason=status.get("message", ""))
                version = event["object"]["metadata"]["resourceVersion"]
                if event["type"] != "BOOKMARK":
                    self._on_event(event["type"], event["object"])
        finally:
            self._response.release_conn()
        return version

    def _on_event(self, kind: str, pod: Pod) -> None:
        meta = pod["metadata"]
        with self._lock:
            run = self._runs.get(meta["uid"])
            if kind == "DELETED" or meta.get("deletionTimestamp"):
                if run is not None and not run.cancelled.is_set():
                    self.killed.append(run.name)
                    run.delete()  # the Pod's own grace: unscheduled Pods are deleted with grace 0
                return
            if run is not None or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                return
            if self.context.stopping.is_set():
                return
            self._runs[meta["uid"]] = PodRun(pod, self.context).start()
            self.started.append(meta["name"])
            self._changed.notify_all()

    def _on_exit(self, pod: str, container: str, code: int) -> None:
        with self._changed:
            self.exit_codes[pod] = code
            self._changed.notify_all()

    def _on_done(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # --- API access for PodRun ------------------------------------------------------------------

    def _patch_status(self, pod: str, body: dict[str, Any]) -> None:
        self.core.patch_namespaced_pod_status(pod, self.namespace, body)

    def _read(self, reader: Callable[..., Any], name: str) -> dict[str, str] | None:
        try:
            response = reader(name, self.namespace, _preload_content=False)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return dict(json.loads(response.data).get("data") or {})

    def _lookup(self) -> Lookup:
        return Lookup(self.namespace, lambda name: self._read(self.core.read_namespaced_secret, name),
                      lambda name: self._read(self.core.read_namespaced_config_map, name))

    def _token(self, account: str, source: Mapping[str, Any]) -> str:
        spec: dict[str, Any] = {"expirationSeconds": int(source.get("expirationSeconds", 3600))}
        if source.get("audience"):
            spec["audiences"] = [source["audience"]]
        response = self.core.create_namespaced_service_account_token(account, self.namespace, {"spec": spec})
        return str(response.status.token)

    def _log(self, message: str) -> None:
        print(f"[test-kubelet {self.namespace}] {message}", file=sys.stderr, flush=True)
