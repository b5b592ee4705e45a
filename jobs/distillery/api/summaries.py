"""What each phase reports about itself: one typed model per phase, one name per number.

Two layers per phase:
- `<Phase>Result` — the compact numbers (well under 4 KiB as JSON). A job writes it to its
  container's termination-message file, the operator copies it into `status.results.<phase>`, and
  the phase machine reads it. Its fields are camelCase in status and snake_case in JSON files.
- `<Phase>Summary` — the result plus everything else the phase knows (provenance, per-kind
  breakdowns), written as `<phase>/summary.json` in the artifact store.

Both forbid unknown keys: a job that writes a key its model does not declare fails loudly (and
so do the tests that run it), instead of the phase machine guessing between spellings.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from distillery.api.base import LONG_TEXT, NAME_TEXT, SHORT_TEXT, URI_TEXT, ApiModel

PhaseStatus = Literal["Succeeded", "BudgetExceeded", "Failed", "Interrupted"]
TERMINATION_MESSAGE_LIMIT = 4096  # bytes a kubelet keeps of a termination message


class PhaseResult(ApiModel):
    """How the phase ended; the numbers follow in each phase's own model."""

    status: PhaseStatus = Field(default="Succeeded", description="How the phase ended.")
    reason: str | None = Field(
        default=None, max_length=LONG_TEXT, description="Why it did not simply succeed."
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON-file form: snake_case, unset values left out."""
        return self.model_dump(mode="json", exclude_none=True)


class TokenCounts(ApiModel):
    """Teacher tokens billed."""

    input_tokens: int = Field(default=0, ge=0, description="Input tokens.")
    output_tokens: int = Field(default=0, ge=0, description="Output tokens.")
    cache_creation_input_tokens: int = Field(default=0, ge=0, description="Prompt-cache writes.")
    cache_read_input_tokens: int = Field(default=0, ge=0, description="Prompt-cache reads.")
    total: int = Field(default=0, ge=0, description="All tokens.")


class CollectResult(PhaseResult):
    """Collect: how many prompts were answered, at what cost."""

    prompts: int = Field(default=0, ge=0, description="Prompts (after expansion).")
    collected: int = Field(default=0, ge=0, description="Usable teacher completions.")
    failed: int = Field(default=0, ge=0, description="Prompts that failed for good.")
    cost_usd: float | None = Field(default=None, ge=0, alias="costUSD", description="Teacher cost.")
    tokens: TokenCounts = Field(default_factory=TokenCounts, description="Tokens billed.")
    model: str | None = Field(default=None, max_length=SHORT_TEXT, description="Model id the API returned.")
    possibly_paid_twice: int = Field(
        default=0, ge=0, description="Prompts the teacher may have billed more than once (after a kill)."
    )
    teacher_jsonl: str | None = Field(default=None, max_length=URI_TEXT, description="teacher.jsonl URI.")
    shards: int | None = Field(
        default=None, ge=1, le=64, description="Shards merged into these numbers (teacher.shards > 1)."
    )
    shard: int | None = Field(
        default=None,
        ge=0,
        le=63,
        description="The shard these numbers are of (one pod of a sharded collect).",
    )


class CurateResult(PhaseResult):
    """Curate: what was kept for training and why the rest was rejected."""

    input: int = Field(default=0, ge=0, description="Teacher records read.")
    kept: int = Field(default=0, ge=0, description="Records that passed every check.")
    train: int = Field(default=0, ge=0, description="Training examples.")
    validation: int = Field(default=0, ge=0, description="Validation examples.")
    rejected: int = Field(default=0, ge=0, description="Records rejected.")
    rejected_by_reason: dict[str, int] = Field(
        default_factory=dict, max_length=64, description="Rejections per reason."
    )
    keep_rate: float = Field(default=0.0, ge=0, le=1, description="kept / input.")
    train_jsonl: str | None = Field(default=None, max_length=URI_TEXT, description="train.jsonl URI.")
    validation_jsonl: str | None = Field(default=None, max_length=URI_TEXT, description="validation URI.")


class TrainResult(PhaseResult):
    """Train: the loss and where the adapter is."""

    examples: int = Field(default=0, ge=0, description="Training examples.")
    initial_loss: float | None = Field(default=None, description="First logged loss.")
    final_loss: float | None = Field(default=None, description="Last logged loss.")
    eval_loss: float | None = Field(default=None, description="Validation loss at the end.")
    steps: int = Field(default=0, ge=0, description="Optimizer steps.")
    epochs: float = Field(default=0, ge=0, description="Epochs done.")
    tokens_seen: int = Field(default=0, ge=0, description="Tokens trained on.")
    tokens_per_second: float | None = Field(default=None, ge=0, description="Training throughput.")
    wall_seconds: float | None = Field(default=None, ge=0, description="Wall time of the job.")
    parameters: int | None = Field(
        default=None, ge=0, description="Parameters of the base model as loaded (the sweep's size)."
    )
    adapter_uri: str | None = Field(default=None, max_length=URI_TEXT, description="Adapter URI.")


class ModelRates(ApiModel):
    """One number per compared model."""

    base: float | None = Field(default=None, description="The base model.")
    student: float | None = Field(default=None, description="The trained student.")
    teacher: float | None = Field(default=None, description="The teacher.")


class GateOutcome(ApiModel):
    """One gate's verdict."""

    metric: str = Field(max_length=NAME_TEXT, description="Gate metric.")
    passed: bool = Field(description="Whether it passed.")
    value: float | None = Field(default=None, description="Measured value (none: not measured).")


class EvaluateResult(PhaseResult):
    """Evaluate: the student against the base and the teacher, and the gates."""

    examples: int = Field(default=0, ge=0, description="Held-out examples.")
    contract_pass_rate: ModelRates = Field(default_factory=ModelRates, description="Contract pass rates.")
    quality: ModelRates = Field(default_factory=ModelRates, description="Task quality per model.")
    quality_drop_vs_teacher: float | None = Field(default=None, description="Teacher minus student quality.")
    speedup_vs_teacher: float | None = Field(default=None, description="Teacher / student latency.")
    cost_ratio_vs_teacher: float | None = Field(default=None, description="Teacher / student cost.")
    agreement_margin: float | None = Field(
        default=None, description="Student's agreement with the teacher minus the best memorised answer's."
    )
    gates: list[GateOutcome] = Field(default_factory=list, max_length=32, description="Gate results.")
    gates_passed: bool | None = Field(default=None, description="Every gate passed.")
    verdict: str | None = Field(default=None, max_length=NAME_TEXT, description="The verdict.")
    report_uri: str | None = Field(default=None, max_length=URI_TEXT, description="report.html URI.")


class CandidateOutcome(ApiModel):
    """One candidate of a size sweep, as the sweep judged it."""

    name: str = Field(max_length=NAME_TEXT, description="Candidate name.")
    base_model: str | None = Field(default=None, max_length=URI_TEXT, description="Its base model.")
    parameters: int | None = Field(
        default=None, ge=0, description="Parameters measured from the loaded model."
    )
    contract_pass_rate: float | None = Field(default=None, ge=0, le=1, description="Student pass rate.")
    latency_p95_ms: float | None = Field(default=None, ge=0, description="Student latency p95 (ms).")
    cost_per_1k_requests_usd: float | None = Field(
        default=None, ge=0, alias="costPer1kRequestsUSD", description="Student cost per 1k requests."
    )
    gates_passed: bool | None = Field(default=None, description="Every gate passed (none: not evaluated).")
    failed: str | None = Field(
        default=None,
        max_length=LONG_TEXT,
        description="Why it has no evaluation (its train or evaluate failed).",
    )


class SweepResult(PhaseResult):
    """Sweep: which candidate became the run's student (the smallest that passes every gate)."""

    chosen: str | None = Field(
        default=None, max_length=NAME_TEXT, description="Chosen candidate (none passed: unset)."
    )
    gates_passed: bool | None = Field(default=None, description="The chosen candidate passed every gate.")
    candidates: list[CandidateOutcome] = Field(
        default_factory=list, max_length=8, description="Every candidate, in spec order."
    )
    report_uri: str | None = Field(default=None, max_length=URI_TEXT, description="report.html URI.")


class MetricComparison(ApiModel):
    """One compared metric: the challenger next to the champion."""

    metric: str = Field(max_length=NAME_TEXT, description="Compared metric.")
    challenger: float | None = Field(default=None, description="This run's student.")
    champion: float | None = Field(default=None, description="The champion on the same held-out set.")
    passed: bool = Field(description="Challenger >= champion - margin.")


PromotionDecision = Literal["Promoted", "NotPromoted"]


class PublishResult(PhaseResult):
    """Publish: the comparison with the champion, and the version registered (when promoted)."""

    model: str | None = Field(default=None, max_length=NAME_TEXT, description="Model name in the registry.")
    version: int | None = Field(default=None, ge=1, description="Version registered by this run.")
    uri: str | None = Field(default=None, max_length=URI_TEXT, description="The version's URI.")
    promoted: bool | None = Field(default=None, description="Whether this run's version is the champion now.")
    decision: PromotionDecision | None = Field(default=None, description="Promoted or NotPromoted.")
    champion_version: int | None = Field(
        default=None, ge=1, description="The champion compared against (none: there was none)."
    )
    champion_reevaluated: bool | None = Field(
        default=None, description="The champion was evaluated again (stored numbers were for another set)."
    )
    margin: float | None = Field(default=None, ge=0, description="Allowed margin per metric.")
    comparison: list[MetricComparison] = Field(
        default_factory=list, max_length=8, description="Challenger vs champion, per metric."
    )


Blob = dict[str, Any]


class CacheStats(ApiModel):
    enabled: bool = True
    hits: int = 0
    saved_usd: float | None = None
    written: int = 0


class CollectSummary(CollectResult):
    phase: Literal["collect"] = "collect"
    uncertain_calls: int = 0
    uncertain_cost_usd: float | None = None
    cache: CacheStats = Field(default_factory=CacheStats)
    skipped: int = 0
    resumed: int = 0
    retries: int = 0
    retries_by_kind: dict[str, int] = Field(default_factory=dict)
    this_run: Blob = Field(default_factory=dict)
    models: dict[str, int] = Field(default_factory=dict)
    provenance: Blob = Field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None


class AnchorStats(ApiModel):
    """curation.anchors: the human-verified examples mixed into train.jsonl (curate/anchors.py)."""

    available: int = Field(default=0, ge=0, description="Examples in the anchor source.")
    excluded_held_out: int = Field(default=0, ge=0, description="Left out: prompt also in the held-out set.")
    rejected: int = Field(default=0, ge=0, description="Left out: expected output fails the contract.")
    count: int = Field(default=0, ge=0, description="Anchors written to train.jsonl.")
    share_configured: float = Field(default=0, ge=0, le=1, description="curation.anchors.share.")
    share_achieved: float = Field(default=0, ge=0, le=1, description="Anchors / train.jsonl lines.")


class CurateSummary(CurateResult):
    phase: Literal["curate"] = "curate"
    repaired: int = 0
    anchors: AnchorStats | None = None
    diversity: Blob = Field(default_factory=dict)
    teacher_models: dict[str, int] = Field(default_factory=dict)
    judge: Blob | None = None


class DistillationStats(ApiModel):
    """student.distillation (logits): the KD settings and what scoring the teacher measured."""

    method: Literal["logits"] = "logits"
    teacher: str = Field(max_length=URI_TEXT, description="The open-weights teacher scored.")
    top_k: int = Field(ge=1, description="Teacher log-probs kept per token.")
    alpha: float = Field(ge=0, le=1, description="CE weight (1 - alpha on the KD term).")
    temperature: float = Field(gt=0, description="KD temperature.")
    scored_tokens: int = Field(ge=0, description="Assistant positions with stored teacher top-k.")
    bytes_per_token: float = Field(ge=0, description="Stored bytes per scored token (int32 ids, fp16).")
    teacher_coverage: float = Field(ge=0, le=1.01, description="Mean teacher probability mass in the top-k.")
    topk_uri: str = Field(max_length=URI_TEXT, description="The stored top-k (npz).")
    reused: bool = Field(default=False, description="Scores reused from an earlier attempt of this phase.")
    scoring_seconds: float | None = Field(default=None, ge=0, description="Teacher load + scoring time.")


class TrainSummary(TrainResult):
    phase: Literal["train"] = "train"
    validation_examples: int = 0
    train_tokens_per_epoch: int | None = None
    assistant_tokens_per_epoch: int | None = None
    longest_example_tokens: int | None = None
    resumed_from_step: int | None = None
    mean_train_loss: float | None = None
    train_runtime_seconds: float | None = None
    peak_memory_bytes: int | None = None
    base_model: str | None = None
    method: str | None = None
    merged_uri: str | None = None
    loss_uri: str | None = None
    packing: bool | None = None
    strategy: str | None = None
    train_cpu_seconds: float | None = None
    world_size: int | None = None
    nodes: int | None = None
    distillation: DistillationStats | None = None


Rates = dict[str, float | None]


class RepairCount(ApiModel):
    """One repair on the student's held-out answers."""

    name: str = Field(max_length=NAME_TEXT, description="Repair name.")
    touched: int = Field(ge=0, description="Answers the repair changed.")
    passed_after: int = Field(ge=0, description="Of those, answers passing the contract after all repairs.")


class EvaluateSummary(EvaluateResult):
    phase: Literal["evaluate"] = "evaluate"
    artifacts: dict[str, str] = Field(default_factory=dict)
    teacher_agreement: Rates | None = None
    best_constant_agreement: float | None = None
    novel_held_out: int | None = None
    novel_share: float | None = None
    teacher_agreement_novel: Rates | None = None
    accuracy: Rates | None = None
    best_constant_accuracy: float | None = None
    accuracy_margin: float | None = None
    input_rule_pass_rate: Rates | None = None
    # spec.task.output.repairs (evaluate/repairs.py); absent without repairs
    contract_pass_rate_repaired: Rates | None = None
    repairs: list[RepairCount] | None = None
    # held-out items with an expected output (anchor-like) vs without (teacher-like): evaluate/subsets.py
    anchor_like_examples: int | None = None
    teacher_like_examples: int | None = None
    quality_anchor_like: Rates | None = None
    quality_teacher_like: Rates | None = None


class SweepSummary(SweepResult):
    phase: Literal["sweep"] = "sweep"
    rule: str | None = None
    train_prefix: str | None = None
    evaluate_prefix: str | None = None
    artifacts: dict[str, str] = Field(default_factory=dict)


class PublishSummary(PublishResult):
    phase: Literal["publish"] = "publish"
    registry: str | None = None
    evaluation_hash: str | None = None
    files: list[str] = Field(default_factory=list)
    report_uri: str | None = None
    serving_uri: str | None = None


RESULTS: dict[str, type[PhaseResult]] = {
    "collect": CollectResult,
    "curate": CurateResult,
    "train": TrainResult,
    "evaluate": EvaluateResult,
    "publish": PublishResult,
    "sweep": SweepResult,
}
SUMMARIES: dict[str, type[PhaseResult]] = {
    "collect": CollectSummary,
    "curate": CurateSummary,
    "train": TrainSummary,
    "evaluate": EvaluateSummary,
    "publish": PublishSummary,
    "sweep": SweepSummary,
}


def parse_summary(phase: str, data: dict[str, Any]) -> PhaseResult:
    """A phase's summary.json as its typed model (raises pydantic.ValidationError on unknown keys)."""
    return SUMMARIES[phase].model_validate(data)


def parse_result(phase: str, data: dict[str, Any]) -> PhaseResult:
    """A compact result (termination message, status) as its typed model."""
    return RESULTS[phase].model_validate(data)


def result_of(phase: str, summary: PhaseResult) -> PhaseResult:
    """The compact result inside a full summary."""
    model = RESULTS[phase]
    return model.model_validate(summary.model_dump(include=set(model.model_fields)))


def termination_message(phase: str, summary: PhaseResult) -> str:
    """The compact result as JSON that fits a termination message (maps and lists dropped if not)."""
    data = result_of(phase, summary).to_json()
    text = json.dumps(data, separators=(",", ":"))
    if len(text.encode()) <= TERMINATION_MESSAGE_LIMIT:
        return text
    dropped = {"gates", "rejected_by_reason", "comparison", "candidates"}
    slim = {key: value for key, value in data.items() if key not in dropped}
    if "reason" in slim:
        slim["reason"] = slim["reason"][:1024]
    return json.dumps(slim, separators=(",", ":"))
