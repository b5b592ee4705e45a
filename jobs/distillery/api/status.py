"""The DistillationRun status: phase, conditions, jobs, artifacts and a numeric summary."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from distillery.api.base import LONG_TEXT, NAME_TEXT, SHORT_TEXT, URI_TEXT, ApiModel
from distillery.api.summaries import (
    CollectResult,
    CurateResult,
    EvaluateResult,
    PublishResult,
    SweepResult,
    TrainResult,
)

Phase = Literal[
    "Pending",
    "Collecting",
    "Curating",
    "Training",
    "Evaluating",
    "Sweeping",
    "Publishing",
    "Succeeded",
    "Failed",
]
CandidatePhase = Literal["Pending", "Training", "Trained", "Evaluating", "Evaluated", "Failed"]


class Condition(ApiModel):
    """A Kubernetes condition; lastTransitionTime changes only when status changes."""

    type: str = Field(max_length=NAME_TEXT, description="Condition type, e.g. Collected.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(max_length=NAME_TEXT, description="UpperCamelCase reason.")
    message: str = Field(default="", max_length=LONG_TEXT, description="Human-readable detail.")
    last_transition_time: str | None = Field(default=None, max_length=NAME_TEXT, description="RFC 3339 time.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="Generation the condition is for."
    )


class PhaseJobs(ApiModel):
    """Names of the Jobs of the current attempt."""

    collect: str | None = Field(default=None, max_length=SHORT_TEXT, description="Collect Job.")
    curate: str | None = Field(default=None, max_length=SHORT_TEXT, description="Curate Job.")
    train: str | None = Field(default=None, max_length=SHORT_TEXT, description="Train Job.")
    evaluate: str | None = Field(default=None, max_length=SHORT_TEXT, description="Evaluate Job.")
    publish: str | None = Field(default=None, max_length=SHORT_TEXT, description="Publish Job.")
    sweep: str | None = Field(default=None, max_length=SHORT_TEXT, description="Sweep Job (size sweep).")


class Artifacts(ApiModel):
    """Where the attempt's outputs are."""

    prefix: str | None = Field(default=None, max_length=URI_TEXT, description="The attempt's root URI.")
    dataset: str | None = Field(default=None, max_length=URI_TEXT, description="Curated train.jsonl.")
    adapter: str | None = Field(default=None, max_length=URI_TEXT, description="Trained adapter.")
    report: str | None = Field(default=None, max_length=URI_TEXT, description="Evaluation report.")


class Summary(ApiModel):
    """Numbers copied from the phases' summaries (shown by kubectl get)."""

    prompts: int | None = Field(default=None, ge=0, description="Prompts sent to the teacher.")
    collected: int | None = Field(default=None, ge=0, description="Completions collected.")
    examples: int | None = Field(default=None, ge=0, description="Training examples kept.")
    rejected: int | None = Field(default=None, ge=0, description="Completions rejected by curation.")
    teacher_cost_usd: float | None = Field(default=None, ge=0, alias="teacherCostUSD", description="USD.")
    teacher_tokens: int | None = Field(default=None, ge=0, description="Teacher input+output tokens.")
    final_loss: float | None = Field(default=None, description="Last training loss.")
    contract_pass_rate: float | None = Field(default=None, ge=0, le=1, description="Student pass rate.")
    base_pass_rate: float | None = Field(default=None, ge=0, le=1, description="Base model pass rate.")
    teacher_pass_rate: float | None = Field(default=None, ge=0, le=1, description="Teacher pass rate.")
    verdict: str | None = Field(
        default=None, max_length=NAME_TEXT, description="viable, marginal or not-ready."
    )
    gates_passed: bool | None = Field(default=None, description="Every gate passed.")


class Published(ApiModel):
    """What the publish phase did with this attempt's student."""

    model: str | None = Field(default=None, max_length=NAME_TEXT, description="Model name in the registry.")
    version: int | None = Field(default=None, ge=1, description="Version registered (when promoted).")
    uri: str | None = Field(default=None, max_length=URI_TEXT, description="The version's URI.")
    promoted: bool | None = Field(default=None, description="This attempt's version is the champion.")
    reason: str | None = Field(default=None, max_length=NAME_TEXT, description="Promoted or NotPromoted.")
    champion_version: int | None = Field(default=None, ge=1, description="The champion it was compared with.")


class PhaseResults(ApiModel):
    """Each finished phase's compact result, as its job reported it (termination message)."""

    collect: CollectResult | None = Field(default=None, description="Collect result.")
    curate: CurateResult | None = Field(default=None, description="Curate result.")
    train: TrainResult | None = Field(default=None, description="Train result.")
    evaluate: EvaluateResult | None = Field(default=None, description="Evaluate result.")
    publish: PublishResult | None = Field(default=None, description="Publish result.")
    sweep: SweepResult | None = Field(default=None, description="Sweep result (size sweep).")


class CandidateResults(ApiModel):
    """A candidate's finished steps, as their jobs reported them."""

    train: TrainResult | None = Field(default=None, description="Its train result.")
    evaluate: EvaluateResult | None = Field(default=None, description="Its evaluate result.")


class CandidateStatus(ApiModel):
    """One candidate of a size sweep (spec.student.candidates), in spec order."""

    name: str = Field(max_length=NAME_TEXT, description="Candidate name.")
    base_model: str = Field(max_length=URI_TEXT, description="Its base model.")
    phase: CandidatePhase = Field(default="Pending", description="Where the candidate is.")
    message: str | None = Field(default=None, max_length=LONG_TEXT, description="Why it failed, if it did.")
    train_job: str | None = Field(default=None, max_length=SHORT_TEXT, description="Its train Job.")
    evaluate_job: str | None = Field(default=None, max_length=SHORT_TEXT, description="Its evaluate Job.")
    parameters: int | None = Field(default=None, ge=0, description="Parameters measured by its train Job.")
    final_loss: float | None = Field(default=None, description="Last training loss.")
    contract_pass_rate: float | None = Field(default=None, ge=0, le=1, description="Student pass rate.")
    latency_p95_ms: float | None = Field(default=None, ge=0, description="Latency p95 (ms), from the sweep.")
    cost_per_1k_requests_usd: float | None = Field(
        default=None, ge=0, alias="costPer1kRequestsUSD", description="Cost per 1k requests, from the sweep."
    )
    gates_passed: bool | None = Field(default=None, description="Every gate passed.")
    chosen: bool = Field(default=False, description="The sweep chose it as the run's student.")
    results: CandidateResults = Field(default_factory=CandidateResults, description="Its step results.")


AttemptOutcome = Literal["Succeeded", "Failed", "Superseded"]
HISTORY_LIMIT = 10


class AttemptRecord(ApiModel):
    """One finished (or superseded) attempt, kept in status.history."""

    attempt: int = Field(ge=1, description="Attempt number.")
    generation: int | None = Field(default=None, ge=0, description="Spec generation it ran.")
    outcome: AttemptOutcome = Field(description="Succeeded, Failed or Superseded.")
    reason: str = Field(default="", max_length=NAME_TEXT, description="UpperCamelCase reason.")
    message: str = Field(default="", max_length=LONG_TEXT, description="Detail.")
    start_time: str | None = Field(default=None, max_length=NAME_TEXT, description="Start (RFC 3339).")
    completion_time: str | None = Field(default=None, max_length=NAME_TEXT, description="End (RFC 3339).")
    summary: Summary = Field(default_factory=Summary, description="Its numbers.")


class DistillationRunStatus(ApiModel):
    """Observed state, written by the operator (or the local runner)."""

    phase: Phase = Field(default="Pending", description="Where the current attempt is.")
    observed_generation: int | None = Field(default=None, ge=0, description="Spec generation acted on.")
    attempt: int = Field(default=0, ge=0, description="Attempt number; a spec change starts a new one.")
    conditions: list[Condition] = Field(default_factory=list, max_length=32, description="Conditions.")
    jobs: PhaseJobs = Field(default_factory=PhaseJobs, description="Job names.")
    artifacts: Artifacts = Field(default_factory=Artifacts, description="Artifact URIs.")
    summary: Summary = Field(default_factory=Summary, description="Numbers.")
    published: Published | None = Field(default=None, description="The registry version of this attempt.")
    start_time: str | None = Field(
        default=None, max_length=NAME_TEXT, description="Attempt start (RFC 3339)."
    )
    completion_time: str | None = Field(default=None, max_length=NAME_TEXT, description="Attempt end.")
    message: str | None = Field(default=None, max_length=LONG_TEXT, description="Last failure, if any.")
    results: PhaseResults = Field(default_factory=PhaseResults, description="Phase results.")
    candidates: list[CandidateStatus] = Field(
        default_factory=list, max_length=8, description="The size sweep's candidates (student.candidates)."
    )
    history: list[AttemptRecord] = Field(
        default_factory=list, max_length=HISTORY_LIMIT, description="Earlier attempts, newest first."
    )
    rerun: str | None = Field(
        default=None, max_length=NAME_TEXT, description="The distillery.dev/rerun token acted on."
    )
    job_recreations: int = Field(default=0, ge=0, description="Jobs recreated after deletion.")
    last_schedule_time: str | None = Field(default=None, max_length=NAME_TEXT, description="Last cron tick.")
    next_schedule_time: str | None = Field(default=None, max_length=NAME_TEXT, description="Next cron tick.")
