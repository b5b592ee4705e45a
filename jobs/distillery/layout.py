"""Where an attempt's artifacts live: <storage.uri>/<namespace>/<run>/a<attempt>/<phase>/.

Keys inside a phase directory are fixed here so that jobs, the local runner and the operator
agree on them without passing paths around.
"""

from __future__ import annotations

from dataclasses import dataclass

PHASES = ("collect", "curate", "train", "evaluate", "publish")

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
# Shared by every run and attempt of a namespace: <storage.uri>/<namespace>/.teacher-cache/
TEACHER_CACHE = ".teacher-cache"


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
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r} (expected one of {', '.join(PHASES)})")
        return f"{self.root}/{phase}"

    def artifact(self, phase: str, key: str) -> str:
        return f"{self.phase(phase)}/{key}"
