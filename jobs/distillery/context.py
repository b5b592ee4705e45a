"""What every job knows about the run it works for: the manifest, the attempt and the store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from distillery.api.manifest import load_manifest
from distillery.api.resource import DistillationRun
from distillery.layout import AttemptLayout


@dataclass(frozen=True)
class JobContext:
    """One phase of one attempt of one run."""

    run: DistillationRun
    attempt: int
    manifest_path: Path

    @property
    def layout(self) -> AttemptLayout:
        storage = self.run.spec.storage
        return AttemptLayout(storage.uri, self.run.namespace, self.run.name, self.attempt)

    def store(self, phase: str):  # -> ArtifactStore (import kept lazy: boto3 is not free to import)
        """The artifact store rooted at this attempt's directory for `phase`."""
        from distillery.store import open_store

        storage = self.run.spec.storage
        return open_store(self.layout.phase(phase), endpoint_url=storage.endpoint, region=storage.region)

    @classmethod
    def load(cls, manifest: str | Path, attempt: int) -> JobContext:
        return cls(run=load_manifest(manifest), attempt=attempt, manifest_path=Path(manifest))


def secret_from_env(*names: str) -> str | None:
    """The first non-empty env var among `names` (secrets reach jobs only as env vars)."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
