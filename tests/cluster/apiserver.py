"""``TestCluster``: a real Kubernetes control plane on 127.0.0.1 - etcd, kube-apiserver (TLS, token
auth, RBAC, ServiceAccount tokens) and kube-controller-manager (Job controller, garbage collector,
namespace and ServiceAccount controllers) - started from binaries (see binaries.py), or, with
``DISTILLERY_TEST_USE_KUBECONFIG=1``, the real cluster that ``KUBECONFIG`` points at (nothing started).

There is no scheduler and no kubelet: Pods stay Pending unless tests/cluster/kubelet.py runs them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from tests.cluster import controlplane
from tests.cluster.binaries import find_bin_dir, find_kubectl
from tests.cluster.processes import ManagedProcess

ADMIN_USER = "distillery-test-admin"


class KubectlError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {self.stderr}\nstdout: {str(self.output)[-2000:]}"


class TestCluster:
    """Start with ``start()`` (or ``with TestCluster() as cluster``), stop with ``stop()``.

    Attributes once started: ``kubeconfig`` (Path), ``server`` (URL), ``token`` (admin bearer token;
    None for an external cluster that authenticates otherwise), ``bin_dir``, ``version`` (the server's
    gitVersion), ``has_controller_manager``, ``external``, ``start_seconds`` (until /readyz answered ok)
    and ``controllers_seconds`` (until the controller-manager had created the default ServiceAccount's
    token: the controllers are then running).
    """

    __test__ = False  # not a pytest test class

    def __init__(self, *, startup_timeout: float = 90.0, verbose: bool = True) -> None:
        self.startup_timeout = startup_timeout
        self.verbose = verbose
        self.external = os.environ.get("DISTILLERY_TEST_USE_KUBECONFIG") == "1"
        self.kubeconfig = Path()
        self.server = ""
        self.token: str | None = None
        self.bin_dir: Path | None = None
        self.version = ""
        self.has_controller_manager = False
        self.start_seconds = 0.0
        self.controllers_seconds = 0.0
        self._work_dir: Path | None = None
        self._processes: list[ManagedProcess] = []
        self._kubectl: Path | None = None

    def __enter__(self) -> TestCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> TestCluster:
        began = time.monotonic()
        if self.external:
            self._use_kubeconfig()
        else:
            self._start_local(began)
        self._kubectl = find_kubectl(self.bin_dir)
        self.version = self._server_version()
        if self.external:
            self._log(f"using the cluster of {self.kubeconfig}: {self.server}, {self.version}")
        else:
            self._log(f"kube-apiserver {self.version} at {self.server}: /readyz ok after "
                      f"{self.start_seconds:.1f}s, controllers running after {self.controllers_seconds:.1f}s")
        return self

    def stop(self) -> None:
        """Stop every process this cluster started (controller-manager, apiserver, etcd); remove its files."""
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    def _use_kubeconfig(self) -> None:
        path = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or str(Path.home() / ".kube/config")
        if not Path(path).is_file():
            raise RuntimeError(f"DISTILLERY_TEST_USE_KUBECONFIG=1 but the kubeconfig {path} does not exist")
        self.kubeconfig = Path(path)
        with self.api_client() as api:
            configuration = api.configuration
        self.server = configuration.host
        bearer = configuration.get_api_key_with_prefix("BearerToken", alias="authorization") or ""
        self.token = bearer.removeprefix("Bearer ").strip() or None
        self.has_controller_manager = True

    def _start_local(self, began: float) -> None:
        self.bin_dir = find_bin_dir()
        self._work_dir = Path(tempfile.mkdtemp(prefix="distillery-kube-", dir=_fast_tmp()))
        self.token = secrets.token_hex(24)
        plane = controlplane.ControlPlane(self.bin_dir, self._work_dir, self.token, ADMIN_USER)
        self._processes = plane.processes
        try:
            self.server = plane.start_apiserver()
            self.kubeconfig = plane.admin_kubeconfig
            plane.wait_ready(self.startup_timeout)
            self.start_seconds = time.monotonic() - began
            self.has_controller_manager = plane.start_controller_manager()
            if self.has_controller_manager:
                plane.wait_controllers(self.startup_timeout)
            else:
                self._log(f"{self.bin_dir} has no kube-controller-manager: no Job controller, GC or "
                          "namespace finalisation in this cluster")
            self.controllers_seconds = time.monotonic() - began
        except BaseException:
            self.stop()
            raise

    # --- clients --------------------------------------------------------------------------------

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster (its kubeconfig); text mode, output captured."""
        if self._kubectl is None:
            raise RuntimeError("TestCluster.kubectl() before start()")
        argv = [str(self._kubectl), f"--kubeconfig={self.kubeconfig}", *args]
        result = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                                check=False)
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, argv, result.stdout, result.stderr)
        return result

    def api_client(self) -> k8s.ApiClient:
        """A new ``kubernetes.client.ApiClient`` for this cluster (close it when done)."""
        return k8s_config.new_client_from_config(config_file=str(self.kubeconfig))

    def require_controller_manager(self, needed_for: str) -> None:
        """Fail clearly when the cluster runs without kube-controller-manager (KUBEBUILDER_ASSETS)."""
        if not self.has_controller_manager:
            raise RuntimeError(f"{needed_for} needs kube-controller-manager, which {self.bin_dir} lacks "
                               "(KUBEBUILDER_ASSETS): unset KUBEBUILDER_ASSETS to use build-binaries.sh's "
                               "cache")

    @property
    def minor_version(self) -> int:
        """The server's minor version (20 for v1.20.2; 20 when the gitVersion does not say)."""
        match = re.match(r"v1\.(\d+)", self.version)
        return int(match.group(1)) if match else 20

    def _server_version(self) -> str:
        with self.api_client() as api:
            info: Any = k8s.VersionApi(api).get_code()
        return str(info.git_version)

    def _log(self, message: str) -> None:
        if self.verbose:
            print(f"[test-cluster] {message}", file=sys.stderr, flush=True)


def _fast_tmp() -> str | None:
    """/dev/shm when writable (etcd fsyncs are free on tmpfs), else the default temp dir."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
