"""The test kubelet's volumes: each of a Pod's volumes becomes a local folder under the pod's work dir
(configMap, secret, emptyDir, downwardAPI and projected sources), and ``mount_paths`` maps each
container's volumeMounts onto those folders (see podspec.PathMap)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.cluster.podspec import ContainerConfigError, Lookup, Pod, field_ref

TokenSource = Callable[[str, Mapping[str, Any]], str]  # (service account, serviceAccountToken source)


def _mount_error(volume: str, message: str) -> ContainerConfigError:
    return ContainerConfigError(f'MountVolume.SetUp failed for volume "{volume}" : {message}',
                                reason="ContainerCreating")


def _write(folder: Path, relative: str, content: str | bytes, mode: int) -> None:
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content.encode() if isinstance(content, str) else content)
    target.chmod(mode)


def _keyed(volume: str, kind: str, source: Mapping[str, Any], data: dict[str, str] | None,
           folder: Path) -> None:
    """configMap / secret volume (or projected source): all keys, or ``items`` (key -> path, mode)."""
    name = source.get("name") or source.get("secretName", "")
    mode = int(source.get("defaultMode", 0o644))
    if data is None:
        if source.get("optional"):
            return
        raise _mount_error(volume, f'{kind} "{name}" not found')
    items = source.get("items") or [{"key": key, "path": key} for key in sorted(data)]
    for item in items:
        if item["key"] not in data:
            if source.get("optional"):
                continue
            raise _mount_error(volume, f"{kind} references non-existent config key: {item['key']}")
        _write(folder, item["path"], data[item["key"]], int(item.get("mode", mode)))


def _downward(source: Mapping[str, Any], pod: Pod, folder: Path) -> None:
    for item in source.get("items", []):
        if "fieldRef" not in item:
            raise ContainerConfigError(f"the test kubelet supports downwardAPI fieldRef only, not {item}")
        _write(folder, item["path"], field_ref(item["fieldRef"], pod), int(item.get("mode", 0o644)))


def _projected(volume: str, source: Mapping[str, Any], pod: Pod, lookup: Lookup, folder: Path,
               token: TokenSource | None) -> None:
    account = pod.get("spec", {}).get("serviceAccountName", "default")
    for part in source.get("sources", []):
        if "configMap" in part:
            ref = part["configMap"]
            _keyed(volume, "configmap", ref, lookup.config_map_data(ref.get("name", "")), folder)
        elif "secret" in part:
            ref = part["secret"]
            _keyed(volume, "secret", ref, lookup.secret_data(ref.get("name", "")), folder)
        elif "downwardAPI" in part:
            _downward(part["downwardAPI"], pod, folder)
        elif "serviceAccountToken" in part and token is not None:
            _write(folder, part["serviceAccountToken"]["path"], token(account, part["serviceAccountToken"]),
                   0o600)
        else:
            raise ContainerConfigError(f"the test kubelet does not support projected source {sorted(part)}")


def materialise_volumes(pod: Pod, lookup: Lookup, root: Path,
                        token: TokenSource | None = None) -> dict[str, Path]:
    """Write every volume of ``pod`` under ``root``: volume name -> local folder.
    Raises ContainerConfigError (reason ContainerCreating) for a missing ConfigMap / Secret / key."""
    folders: dict[str, Path] = {}
    for volume in pod.get("spec", {}).get("volumes", []):
        name = volume["name"]
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            source = volume["configMap"]
            _keyed(name, "configmap", source, lookup.config_map_data(source.get("name", "")), folder)
        elif "secret" in volume:
            source = volume["secret"]
            _keyed(name, "secret", source, lookup.secret_data(source.get("secretName", "")), folder)
        elif "downwardAPI" in volume:
            _downward(volume["downwardAPI"], pod, folder)
        elif "projected" in volume:
            _projected(name, volume["projected"], pod, lookup, folder, token)
        elif "emptyDir" not in volume:
            kinds = sorted(set(volume) - {"name"})
            raise ContainerConfigError(f"the test kubelet does not support volume {name!r} of type {kinds}")
        folders[name] = folder
    return folders


def mount_paths(container: Mapping[str, Any], folders: Mapping[str, Path]) -> dict[str, Path]:
    """mountPath -> local path for each volumeMount (``subPath`` selects a file or folder inside)."""
    mapping: dict[str, Path] = {}
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in folders:
            raise ContainerConfigError(
                f"volumeMount {mount['mountPath']} names unknown volume {mount['name']!r}")
        local = folders[mount["name"]]
        mapping[mount["mountPath"]] = local / mount["subPath"] if mount.get("subPath") else local
    return mapping


