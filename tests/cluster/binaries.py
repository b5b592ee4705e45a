"""Where the test cluster's binaries come from, in this order:

1. ``KUBEBUILDER_ASSETS`` (controller-runtime envtest convention): a folder with ``kube-apiserver``,
   ``etcd`` and ideally ``kubectl`` and ``kube-controller-manager``;
2. the cache that ``tests/cluster/build-binaries.sh`` fills (``$DISTILLERY_KUBE_CACHE/bin``, by default
   ``~/.cache/distillery/kube-1.20.2/bin``);
3. otherwise ``build-binaries.sh`` runs now (about 6 minutes once) and prints the folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REQUIRED = ("kube-apiserver", "etcd")
BUILT = ("kube-apiserver", "kube-controller-manager", "etcd", "kubectl")
BUILD_SCRIPT = Path(__file__).with_name("build-binaries.sh")


def cache_bin_dir() -> Path:
    cache = os.environ.get("DISTILLERY_KUBE_CACHE") or str(Path.home() / ".cache/distillery/kube-1.20.2")
    return Path(cache) / "bin"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _missing(bin_dir: Path, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not _executable(bin_dir / name)]


def _build() -> Path:
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def find_bin_dir() -> Path:
    """The folder holding kube-apiserver and etcd (building the cache when needed)."""
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        missing = _missing(Path(assets), REQUIRED)
        if missing:
            raise RuntimeError(f"KUBEBUILDER_ASSETS={assets} lacks {', '.join(missing)}")
        return Path(assets)
    cached = cache_bin_dir()
    if not _missing(cached, BUILT):
        return cached
    built = _build()
    missing = _missing(built, BUILT)
    if missing:
        raise RuntimeError(f"{BUILD_SCRIPT} printed {built}, which lacks {', '.join(missing)}")
    return built


def find_kubectl(bin_dir: Path | None) -> Path:
    """kubectl from ``bin_dir``, else from the cache, else from PATH."""
    for folder in (bin_dir, cache_bin_dir()):
        if folder is not None and _executable(folder / "kubectl"):
            return folder / "kubectl"
    on_path = shutil.which("kubectl")
    if on_path is None:
        raise RuntimeError(f"no kubectl in {bin_dir}, {cache_bin_dir()} or PATH")
    return Path(on_path)
