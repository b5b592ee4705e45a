"""Pure functions of the test kubelet: how a container's paths, env and termination message map onto a
local process. No API calls: Secrets and ConfigMaps come through a ``Lookup``.

Path mapping: a container sees its volumes at ``volumeMounts[].mountPath`` (e.g. /etc/distillery/spec)
and its termination message file at ``terminationMessagePath`` (default /dev/termination-log). A local
process cannot use those root paths, so each is MAPPED to a local file or folder: every argument,
command word, env value and workingDir that equals a mapped path, starts with it followed by "/", or
has such a path after its first "=" (``--spec=/etc/distillery/spec/run.yaml``) gets that prefix
replaced by the local path - except the program (``command[0]``), which is a local path already
(sys.executable may well lie under a mountPath such as /work). A program that opens a hard-coded
path without receiving it through an argument or env var is NOT mapped (and fails, as
/dev/termination-log is not writable)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TERMINATION_PATH = "/dev/termination-log"
MAX_MESSAGE_BYTES = 4096  # the kubelet's cap on a termination message
FALLBACK_LINES, FALLBACK_BYTES = 80, 2048  # FallbackToLogsOnError: the log tail the kubelet takes

Pod = dict[str, Any]
Container = dict[str, Any]


class ContainerConfigError(Exception):
    """The container cannot be configured yet (a kubelet's CreateContainerConfigError / FailedMount)."""

    def __init__(self, message: str, reason: str = "CreateContainerConfigError") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass
class Lookup:
    """Reads Secrets (base64 data) and ConfigMaps of the pod's namespace: name -> data, None when absent."""

    namespace: str
    secret: Callable[[str], Mapping[str, str] | None]
    config_map: Callable[[str], Mapping[str, str] | None]
    cache: dict[tuple[str, str], Mapping[str, str] | None] = field(default_factory=dict)

    def secret_data(self, name: str) -> dict[str, str] | None:
        """The Secret's values decoded to text."""
        if ("secret", name) not in self.cache:
            self.cache[("secret", name)] = self.secret(name)
        data = self.cache[("secret", name)]
        if data is None:
            return None
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def config_map_data(self, name: str) -> dict[str, str] | None:
        if ("configmap", name) not in self.cache:
            self.cache[("configmap", name)] = self.config_map(name)
        data = self.cache[("configmap", name)]
        return None if data is None else dict(data)


@dataclass(frozen=True)
class PathMap:
    """Container paths -> local paths, longest container path first."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[str, str | Path]) -> PathMap:
        items = [(key.rstrip("/") or "/", str(value)) for key, value in mapping.items()]
        return cls(tuple(sorted(items, key=lambda kv: -len(kv[0]))))

    def map_path(self, value: str) -> str:
        """``value`` with a mapped prefix replaced (exact or followed by "/"); unchanged otherwise."""
        for container_path, local in self.pairs:
            if value == container_path or value.startswith(container_path + "/"):
                return local + value[len(container_path):]
        return value

    def map_word(self, value: str) -> str:
        """Like ``map_path``, also for the part after the first "=" (``--flag=/path``, ``KEY=/path``)."""
        mapped = self.map_path(value)
        if mapped != value or "=" not in value:
            return mapped
        head, _, tail = value.partition("=")
        return f"{head}={self.map_path(tail)}"


_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined names are replaced, ``$$`` escapes, unknown refs stay."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _REF.sub(replace, value)


def _key_ref(ref: Mapping[str, Any], kind: str, data: dict[str, str] | None, namespace: str) -> str | None:
    name, key = ref.get("name", ""), ref["key"]
    if data is None:
        if ref.get("optional"):
            return None
        raise ContainerConfigError(f'{kind.lower()} "{name}" not found')
    if key not in data:
        if ref.get("optional"):
            return None
        raise ContainerConfigError(f"couldn't find key {key} in {kind} {namespace}/{name}")
    return data[key]


def field_ref(ref: Mapping[str, Any], pod: Pod) -> str:
    path = ref["fieldPath"]
    meta = pod.get("metadata", {})
    values = {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
              "metadata.uid": meta.get("uid", ""), "spec.serviceAccountName":
              pod.get("spec", {}).get("serviceAccountName", "")}
    if path.startswith("metadata.labels['") or path.startswith("metadata.annotations['"):
        section, _, rest = path.partition("['")
        return str(meta.get(section.split(".")[1], {}).get(rest.rstrip("']"), ""))
    if path not in values:
        raise ContainerConfigError(f"the test kubelet does not support fieldRef {path}")
    return str(values[path])


def _value_from(source: Mapping[str, Any], pod: Pod, lookup: Lookup) -> str | None:
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return _key_ref(ref, "Secret", lookup.secret_data(ref.get("name", "")), lookup.namespace)
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return _key_ref(ref, "ConfigMap", lookup.config_map_data(ref.get("name", "")), lookup.namespace)
    if "fieldRef" in source:
        return field_ref(source["fieldRef"], pod)
    raise ContainerConfigError(f"the test kubelet does not support valueFrom {sorted(source)}")


def _env_from(sources: list[dict[str, Any]], lookup: Lookup) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in sources:
        prefix = source.get("prefix", "")
        kind, ref = ("Secret", source["secretRef"]) if "secretRef" in source else (
            "ConfigMap", source["configMapRef"])
        name = ref.get("name", "")
        data = lookup.secret_data(name) if kind == "Secret" else lookup.config_map_data(name)
        if data is None and not ref.get("optional"):
            raise ContainerConfigError(f'{kind.lower()} "{name}" not found')
        env.update({prefix + key: value for key, value in (data or {}).items()})
    return env


def container_env(container: Container, pod: Pod, lookup: Lookup, paths: PathMap) -> dict[str, str]:
    """The container's envFrom, then env, resolved (values $(VAR)-expanded and path-mapped)."""
    declared = _env_from(container.get("envFrom", []), lookup)
    for var in container.get("env", []):
        if "valueFrom" in var:
            value = _value_from(var["valueFrom"], pod, lookup)
            if value is None:
                continue
        else:
            value = expand(var.get("value", ""), declared)
        declared[var["name"]] = value
    return {name: paths.map_word(value) for name, value in declared.items()}


def container_argv(container: Container, env: Mapping[str, str], paths: PathMap) -> list[str]:
    """command + args, $(VAR)-expanded with the container's own ``env``; every word but the program
    path-mapped (the program is a local one: the venv plays the image). A command is required."""
    command = container.get("command") or []
    if not command:
        raise ContainerConfigError(f"container {container['name']!r} has no command: the test kubelet runs "
                                   "command + args as a local process and cannot use an image's entrypoint")
    words = [expand(word, env) for word in [*command, *container.get("args", [])]]
    return [words[0], *(paths.map_word(word) for word in words[1:])]


def output_tail(log: bytes) -> str:
    """The last 80 lines, at most 2048 bytes, of a container's output (FallbackToLogsOnError)."""
    lines = log.splitlines(keepends=True)[-FALLBACK_LINES:]
    return b"".join(lines)[-FALLBACK_BYTES:].decode(errors="replace")


def termination_message(file: Path, policy: str, exit_code: int, log: bytes) -> str:
    """What the kubelet puts into ``state.terminated.message``."""
    try:
        message = file.read_bytes()[:MAX_MESSAGE_BYTES].decode(errors="replace")
    except OSError:
        message = ""
    if not message and exit_code != 0 and policy == "FallbackToLogsOnError":
        return output_tail(log)
    return message
