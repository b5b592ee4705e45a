"""Every error the project raises on purpose, in one place."""

from __future__ import annotations


class DistilleryError(Exception):
    """Base of every project error; its message is meant for the user as it is."""


class ManifestError(DistilleryError):
    """A manifest that cannot work; `problems` holds one 'field.path: what is wrong' per line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class StoreError(DistilleryError):
    """The artifact store failed or was asked for something that is not there."""


class ArtifactNotFound(StoreError):
    """A key that does not exist in the store."""


class PreconditionFailed(StoreError):
    """A conditional write lost: the object changed (or exists) since the caller read it."""


class ContractError(DistilleryError):
    """An output contract that cannot be compiled (bad CEL rule or JSON Schema)."""


# Failures after which the teacher may have billed a completion we never got.
BILLING_UNKNOWN_KINDS = frozenset({"timeout", "connection", "invalid_response"})


class TeacherError(DistilleryError):
    """The teacher failed in a way retries cannot fix."""


class CollectInterrupted(DistilleryError):
    """Collect stopped on SIGTERM / SIGINT: in-flight calls finished, records and a partial summary
    (status Interrupted) are stored; `distillery-job` exits with EXIT_INTERRUPTED, and a restart
    resumes without paying again for what was collected."""

    exit_code = 75  # EX_TEMPFAIL: stopped on request, run it again


class BudgetExceeded(DistilleryError):
    """Collecting more would exceed the configured budget."""


class PhaseInputMissing(DistilleryError):
    """A phase was started before the phase it depends on wrote its outputs."""


class TrainingError(DistilleryError):
    """Training cannot start or cannot go on (bad data, bad model, no CUDA for QLoRA...)."""


class EvaluationError(DistilleryError):
    """Evaluation cannot run (e.g. held-out prompts leaked into the training set)."""


class PromptSourceError(DistilleryError):
    """A prompt source that cannot be read or expanded (missing file, bad JSONL line, bad select)."""


class PricingError(DistilleryError):
    """A cost cannot be computed where one is required (e.g. a budget on a model with no known price)."""


class TeacherCallError(TeacherError):
    """One teacher call failed; `retryable` says whether another attempt may succeed.

    `retry_after` is the server's requested wait in seconds (None when it gave none); `kind` is a
    short machine-readable reason (rate_limited, overloaded, server_error, timeout, connection,
    invalid_response, bad_request, auth...), counted in the collect summary.
    """

    def __init__(self, message: str, *, kind: str, retryable: bool, retry_after: float | None = None) -> None:
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = 1  # set by the retry loop when it gives up
        super().__init__(message)

    @property
    def billing_unknown(self) -> bool:
        """The request reached the teacher and no answer came back: it may have been billed."""
        return self.kind in BILLING_UNKNOWN_KINDS


class TrainingInterrupted(TrainingError):
    """Training stopped on a signal (SIGTERM) after saving a checkpoint; a restart resumes from it."""


class RunError(DistilleryError):
    """A local run cannot start or go on (e.g. `--resume` after the manifest changed)."""


class CurationError(DistilleryError):
    """Curation cannot produce a training set (e.g. every completion was rejected)."""


class PublishError(DistilleryError):
    """The publish phase or `distillery promote` cannot go on (no champion, unknown version...)."""


class ShardError(DistilleryError):
    """A sharded collect process that does not know which shard it is, or names one out of range."""


class SweepError(DistilleryError):
    """A size sweep (student.candidates) that cannot be run or judged as asked."""
