"""The processes of a local control plane and their flags: etcd, kube-apiserver, kube-controller-manager.
Flags that later Kubernetes versions removed are passed only to the versions that still have them, so
``KUBEBUILDER_ASSETS`` can point at newer binaries."""

from __future__ import annotations

import base64
import json
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.cluster.certs import ClusterPki, write_pki
from tests.cluster.processes import ManagedProcess, free_port

SERVICE_CIDR = "10.0.0.0/24"
ISSUER = "https://kubernetes.default.svc.cluster.local"


def binary_minor_version(binary: Path) -> int:
    """The minor version ``binary --version`` reports ("Kubernetes v1.20.2" -> 20); 20 when unparsable."""
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"v1\.(\d+)\.", out)
    return int(match.group(1)) if match else 20


class ControlPlane:
    """Builds the command lines, starts the processes (appended to ``processes``) and waits for them."""

    def __init__(self, bin_dir: Path, work_dir: Path, token: str, user: str) -> None:
        self.bin_dir = bin_dir
        self.work_dir = work_dir
        self.token = token
        self.user = user
        self.processes: list[ManagedProcess] = []
        self.pki: ClusterPki = write_pki(work_dir)
        self.admin_kubeconfig = work_dir / "admin.kubeconfig"
        self.server = ""
        self.minor = binary_minor_version(bin_dir / "kube-apiserver")

    def _start(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.work_dir / f"{name}.log").start()
        self.processes.append(process)
        return process

    def _etcd(self) -> str:
        client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
        self._start("etcd", [
            str(self.bin_dir / "etcd"), "--name=default", f"--data-dir={self.work_dir / 'etcd'}",
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}", "--logger=zap", "--log-level=warn",
        ])
        return client

    def start_apiserver(self) -> str:
        """Start etcd and kube-apiserver, write the admin kubeconfig; returns the server URL."""
        etcd = self._etcd()
        port = free_port()
        tokens = self.work_dir / "tokens.csv"
        tokens.write_text(f'{self.token},{self.user},{self.user},"system:masters"\n')
        tokens.chmod(0o600)
        argv = [
            str(self.bin_dir / "kube-apiserver"), f"--etcd-servers={etcd}",
            f"--secure-port={port}", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--tls-cert-file={self.pki.serving_cert}", f"--tls-private-key-file={self.pki.serving_key}",
            f"--token-auth-file={tokens}", "--authorization-mode=RBAC",
            f"--service-account-issuer={ISSUER}", f"--service-account-key-file={self.pki.sa_pub}",
            f"--service-account-signing-key-file={self.pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
        ]
        if self.minor < 24:
            argv.append("--insecure-port=0")
        argv += self.feature_gates()
        self._start("kube-apiserver", argv)
        self.server = f"https://127.0.0.1:{port}"
        self._write_kubeconfig()
        return self.server

    def feature_gates(self) -> list[str]:
        """Alpha features the tests use: ttlSecondsAfterFinished (alpha in 1.20, dropped unless enabled;
        GA in 1.23) and Indexed Jobs (absent in 1.20, alpha in 1.21, on by default from 1.22)."""
        gates = ["TTLAfterFinished=true"] if self.minor < 23 else []
        if self.minor == 21:
            gates.append("IndexedJob=true")
        return [f"--feature-gates={','.join(gates)}"] if gates else []

    def start_controller_manager(self) -> bool:
        """Start kube-controller-manager when the bin dir has it; False when it does not."""
        binary = self.bin_dir / "kube-controller-manager"
        if not binary.is_file():
            return False
        argv = [
            str(binary), f"--kubeconfig={self.admin_kubeconfig}", "--controllers=*",
            f"--service-account-private-key-file={self.pki.sa_key}", f"--root-ca-file={self.pki.ca_cert}",
            "--use-service-account-credentials=false", "--leader-elect=false",
            "--bind-address=127.0.0.1", "--secure-port=0",
        ]
        if binary_minor_version(binary) < 24:
            argv.append("--port=0")
        argv += self.feature_gates()
        self._start("kube-controller-manager", argv)
        return True

    def _write_kubeconfig(self) -> None:
        ca = base64.b64encode(self.pki.ca_cert.read_bytes()).decode()
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "distillery-test",
            "clusters": [{"name": "distillery-test",
                          "cluster": {"server": self.server, "certificate-authority-data": ca}}],
            "users": [{"name": self.user, "user": {"token": self.token}}],
            "contexts": [{"name": "distillery-test",
                          "context": {"cluster": "distillery-test", "user": self.user}}],
        }
        self.admin_kubeconfig.write_text(yaml.safe_dump(config))
        self.admin_kubeconfig.chmod(0o600)

    # --- readiness ------------------------------------------------------------------------------

    def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` with the admin token: (HTTP status, body); (0, b'') when unreachable."""
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        headers = {"Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.server + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, OSError):
            return 0, b""

    def wait_ready(self, timeout: float) -> None:
        """Until /readyz answers 200."""
        self._wait("kube-apiserver /readyz", timeout, lambda: self.get("/readyz")[0] == 200)

    def wait_controllers(self, timeout: float) -> None:
        """Until the default ServiceAccount in ``default`` has its token secret (controllers are running)."""
        self._wait("the controller-manager's ServiceAccount token for default/default", timeout,
                   self._default_token_exists)

    def _default_token_exists(self) -> bool:
        status, body = self.get("/api/v1/namespaces/default/serviceaccounts/default")
        account: dict[str, Any] = json.loads(body) if status == 200 else {}
        return bool(account.get("secrets")) or (self.minor >= 24 and status == 200)

    def _wait(self, what: str, timeout: float, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if any(not process.running() for process in self.processes):
                break
            time.sleep(0.1)
        logs = "\n".join(process.describe() for process in self.processes)
        raise RuntimeError(f"test cluster: no {what} within {timeout:.0f}s (or a process exited):\n{logs}")
