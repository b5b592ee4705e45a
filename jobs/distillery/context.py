"""What every job knows about the run it works for: the manifest, the attempt and the store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from distillery import layout
from distillery.api.manifest import load_manifest
from distillery.api.resource import DistillationRun
from distillery.errors import SweepError
from distillery.layout import AttemptLayout


@dataclass(frozen=True)
class JobContext:
    """One phase of one attempt of one run (for one candidate of a size sweep: `run.spec.student`
    is then that candidate's student, and train / evaluate use its train-<c> / evaluate-<c>)."""

    run: DistillationRun
    attempt: int
    manifest_path: Path
    candidate: str | None = None

    @property
    def layout(self) -> AttemptLayout:
        storage = self.run.spec.storage
        return AttemptLayout(storage.uri, self.run.namespace, self.run.name, self.attempt)

    def store(self, phase: str):  # -> ArtifactStore (import kept lazy: boto3 is not free to import)
        """The artifact store rooted at this attempt's directory for `phase`."""
        from distillery.store import open_store

        storage = self.run.spec.storage
        if phase in layout.CANDIDATE_PHASES:
            phase = layout.candidate_step(phase, self.candidate)
        return open_store(self.layout.phase(phase), endpoint_url=storage.endpoint, region=storage.region)

    @classmethod
    def load(cls, manifest: str | Path, attempt: int, candidate: str | None = None) -> JobContext:
        run = load_manifest(manifest)
        if candidate is not None:
            run = for_candidate(run, candidate)
        return cls(run=run, attempt=attempt, manifest_path=Path(manifest), candidate=candidate)


def for_candidate(run: DistillationRun, candidate: str) -> DistillationRun:
    """The run as one candidate sees it: spec.student replaced by the candidate's student."""
    student = run.spec.student
    if candidate not in {c.name for c in student.candidates}:
        known = ", ".join(c.name for c in student.candidates) or "none: spec.student.candidates is empty"
        raise SweepError(f"--candidate {candidate!r} is not in spec.student.candidates (candidates: {known})")
    spec = run.spec.model_copy(update={"student": student.for_candidate(candidate)})
    return run.model_copy(update={"spec": spec})


def secret_from_env(*names: str) -> str | None:
    """The first non-empty env var among `names` (secrets reach jobs only as env vars)."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
