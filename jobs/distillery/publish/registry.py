"""The model registry on the artifact store: immutable versions and a conditionally written champion.

    <registry>/<model>/versions/<N>/version.json   claimed first, with a create-only write
    <registry>/<model>/versions/<N>/...            adapter/, tokenizer/, merged/, metrics.json (last)
    <registry>/<model>/champion                    {"version": N, "uri": ..., "history": [...]}

A version number belongs to whoever created its version.json (If-None-Match: * on S3, an exclusive
link on file://), so two publishers never share one. The champion pointer is replaced only with
If-Match on the tag read before deciding: of two promotions racing from the same champion, one
wins and the other gets PreconditionFailed. The pointer carries the history of every change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from distillery.errors import ArtifactNotFound, PreconditionFailed, PublishError
from distillery.store import ArtifactStore, open_store

CHAMPION = "champion"
VERSIONS = "versions/"
VERSION_FILE = "version.json"
METRICS_FILE = "metrics.json"  # written last: a version without it is incomplete
HISTORY_LIMIT = 100
MAX_CLAIM_TRIES = 64
_VERSION_KEY = re.compile(r"^versions/(\d+)/")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Champion:
    """The champion pointer as read, with the tag a conditional update must match."""

    version: int
    uri: str
    tag: str
    history: list[dict[str, Any]] = field(default_factory=list)


class Registry:
    """One model's versions and champion under `<registry>/<model>/`."""

    def __init__(self, store: ArtifactStore, model: str) -> None:
        self.model = model
        self.store = store.child(model)

    @classmethod
    def open(
        cls, uri: str, model: str, *, endpoint_url: str | None = None, region: str | None = None
    ) -> Registry:
        return cls(open_store(uri, endpoint_url=endpoint_url, region=region), model)

    @property
    def uri(self) -> str:
        return self.store.root_uri

    def versions(self) -> list[int]:
        """Every claimed version number, ascending (complete or not)."""
        found = {int(m.group(1)) for key in self.store.list(VERSIONS) if (m := _VERSION_KEY.match(key))}
        return sorted(found)

    def version_store(self, version: int) -> ArtifactStore:
        return self.store.child(f"{VERSIONS}{version}")

    def version_uri(self, version: int) -> str:
        return self.version_store(version).root_uri

    def is_complete(self, version: int) -> bool:
        return self.version_store(version).exists(METRICS_FILE)

    def record(self, version: int) -> dict[str, Any]:
        return self.version_store(version).read_json(VERSION_FILE)

    def metrics(self, version: int) -> dict[str, Any]:
        try:
            return self.version_store(version).read_json(METRICS_FILE)
        except ArtifactNotFound as exc:
            raise PublishError(f"{self.model} v{version} is incomplete: {exc}") from exc

    def claim(self, record: dict[str, Any]) -> int:
        """The next free version number, taken with a create-only write of its version.json."""
        candidate = (self.versions() or [0])[-1] + 1
        for _ in range(MAX_CLAIM_TRIES):
            body = json.dumps({**record, "model": self.model, "version": candidate}, indent=2).encode()
            try:
                self.version_store(candidate).write_conditional(VERSION_FILE, body + b"\n")
                return candidate
            except PreconditionFailed:
                candidate += 1
        raise PublishError(f"could not claim a version of {self.model} after {MAX_CLAIM_TRIES} tries")

    def claimed_by(self, lineage_id: str) -> int | None:
        """The version an earlier try of the same attempt claimed (a retried job resumes it)."""
        for version in reversed(self.versions()):
            try:
                if self.record(version).get("lineage_id") == lineage_id:
                    return version
            except ArtifactNotFound:
                continue
        return None

    def champion(self) -> Champion | None:
        try:
            stored = self.store.read_versioned(CHAMPION)
        except ArtifactNotFound:
            return None
        pointer = json.loads(stored.data)
        return Champion(int(pointer["version"]), pointer["uri"], stored.tag, pointer.get("history", []))

    def set_champion(self, version: int, *, expected: Champion | None, action: str, by: str) -> Champion:
        """Point `champion` at `version` if it still is `expected` (PreconditionFailed otherwise)."""
        if version not in self.versions() or not self.is_complete(version):
            known = ", ".join(f"v{v}" for v in self.versions() if self.is_complete(v)) or "none"
            raise PublishError(f"{self.model} has no complete version {version} (complete versions: {known})")
        entry = {
            "version": version,
            "previous": expected.version if expected else None,
            "action": action,
            "by": by,
            "at": utc_now(),
        }
        history = [entry, *(expected.history if expected else [])][:HISTORY_LIMIT]
        pointer = {
            "model": self.model,
            "version": version,
            "uri": self.version_uri(version),
            "history": history,
        }
        data = (json.dumps(pointer, indent=2) + "\n").encode()
        tag = self.store.write_conditional(CHAMPION, data, if_match=expected.tag if expected else None)
        return Champion(version, pointer["uri"], tag, history)


def put_once(store: ArtifactStore, key: str, data: bytes) -> None:
    """Write a file of a claimed version unless an earlier try of the same claimant already did."""
    if not store.exists(key):
        store.write_bytes(key, data)
