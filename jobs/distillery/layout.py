"""Where an attempt's artifacts live: <storage.uri>/<namespace>/<run>/a<attempt>/<phase>/.

Keys inside a phase directory are fixed here so that jobs, the local runner and the operator
agree on them without passing paths around.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PHASES = ("collect", "curate", "train", "evaluate", "publish")
# A size sweep (student.candidates): train-<c> and evaluate-<c> per candidate, then sweep.
SWEEP = "sweep"
CANDIDATE_PHASES = ("train", "evaluate")
_CANDIDATE_STEP = re.compile(r"^(train|evaluate)-([a-z0-9]([-a-z0-9]*[a-z0-9])?)$")

# Files each phase writes (relative to its phase prefix).
SUMMARY = "summary.json"
COLLECT_PROMPTS = "prompts.jsonl"
COLLECT_CHUNKS = "chunks/"
COLLECT_TEACHER = "teacher.jsonl"
COLLECT_SHARDS = "shards/"  # teacher.shards > 1: shards/<i>/ holds one shard's prompts, chunks, summary
CURATE_TRAIN = "train.jsonl"
CURATE_VALIDATION = "validation.jsonl"
CURATE_REJECTED = "rejected.jsonl"
TRAIN_ADAPTER = "adapter/"
TRAIN_MERGED = "merged/"
TRAIN_CHECKPOINTS = "checkpoints/"
TRAIN_LOSS = "loss.json"
EVALUATE_REPORT_JSON = "report.json"
EVALUATE_REPORT_MD = "report.md"
EVALUATE_REPORT_HTML = "report.html"
EVALUATE_PREDICTIONS = "predictions.jsonl"
EVALUATE_TEACHER = "teacher/"
SWEEP_REPORT_JSON = "report.json"
SWEEP_REPORT_MD = "report.md"
SWEEP_REPORT_HTML = "report.html"
# Shared by every run and attempt of a namespace: <storage.uri>/<namespace>/.teacher-cache/
TEACHER_CACHE = ".teacher-cache"


def candidate_step(phase: str, candidate: str | None) -> str:
    """The step (and directory) name of a phase for one candidate: train-<c>; the phase itself without one."""
    return f"{phase}-{candidate}" if candidate else phase


def split_step(step: str) -> tuple[str, str | None]:
    """(phase, candidate) of a step: train-small -> (train, small); curate -> (curate, None)."""
    match = _CANDIDATE_STEP.match(step)
    return (match.group(1), match.group(2)) if match else (step, None)


def is_step(step: str) -> bool:
    return step in PHASES or step == SWEEP or _CANDIDATE_STEP.match(step) is not None


@dataclass(frozen=True)
class AttemptLayout:
    """The URIs of one attempt of one run."""

    storage_uri: str
    namespace: str
    run: str
    attempt: int

    @property
    def root(self) -> str:
        return f"{self.storage_uri.rstrip('/')}/{self.namespace}/{self.run}/a{self.attempt}"

    @property
    def teacher_cache(self) -> str:
        """The namespace's teacher cache (collect/cache.py), shared across runs and attempts."""
        return f"{self.storage_uri.rstrip('/')}/{self.namespace}/{TEACHER_CACHE}"

    def phase(self, phase: str) -> str:
        if not is_step(phase):
            expected = ", ".join((*PHASES, SWEEP, "train-<candidate>", "evaluate-<candidate>"))
            raise ValueError(f"unknown phase {phase!r} (expected one of {expected})")
        return f"{self.root}/{phase}"

    def artifact(self, phase: str, key: str) -> str:
        return f"{self.phase(phase)}/{key}"
