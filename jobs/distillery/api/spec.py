"""The DistillationRun spec: the one source of truth for the API (the CRD is generated from it).

Defaults come from the seed articles: LoRA r=16, alpha=16 on all seven projections, 3 epochs,
lr 2e-4 with a cosine schedule and 5 warm-up steps, batch 2 x gradient accumulation 4.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from distillery.api.base import (
    EXPRESSION_TEXT,
    LONG_TEXT,
    MAX_INLINE_PROMPTS,
    MAX_LIST,
    NAME_TEXT,
    SHORT_TEXT,
    URI_TEXT,
    ApiModel,
)

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
RULE_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
ShortText = Annotated[str, Field(max_length=SHORT_TEXT)]
PromptText = Annotated[str, Field(max_length=LONG_TEXT)]


def _cel(rule: str, message: str) -> dict[str, Any]:
    return {"rule": rule, "message": message}


def _validations(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


# --- task and output contract -------------------------------------------------------------


class OutputRule(ApiModel):
    """A CEL rule evaluated on the parsed output (`output`) and the prompt (`input`)."""

    name: str = Field(
        max_length=NAME_TEXT, pattern=RULE_NAME_PATTERN, description="Rule name, reported per rule."
    )
    expression: str = Field(
        min_length=1,
        max_length=EXPRESSION_TEXT,
        description="CEL expression that must evaluate to true, e.g. size(output.fragments) == 6.",
    )
    message: str | None = Field(
        default=None, max_length=SHORT_TEXT, description="What a failure means, shown in reports."
    )


class OutputSpec(ApiModel):
    """The output contract every teacher and student completion is held to."""

    format: Literal["json", "text", "label"] = Field(
        default="json", description="How completions are parsed: JSON object, free text, or one label."
    )
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema (draft 2020-12) the parsed JSON output must satisfy (format json).",
        json_schema_extra={"x-distillery-opaque": True},
    )
    rules: list[OutputRule] = Field(
        default_factory=list, max_length=64, description="CEL rules on the parsed output."
    )
    labels: list[ShortText] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Allowed labels (format label); a completion must be exactly one of them.",
    )

    @model_validator(mode="after")
    def _labels_fit_format(self) -> OutputSpec:
        if self.format == "label" and not self.labels:
            raise ValueError("labels: format 'label' needs at least one label")
        if self.format != "label" and self.labels:
            raise ValueError(f"labels: only allowed with format 'label' (format is '{self.format}')")
        if self.json_schema is not None and self.format != "json":
            raise ValueError(f"jsonSchema: only allowed with format 'json' (format is '{self.format}')")
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"rules: names must be unique (repeated: {', '.join(duplicates)})")
        return self


class TaskSpec(ApiModel):
    """What the student is trained to do."""

    system_prompt: str = Field(
        min_length=1,
        max_length=LONG_TEXT,
        description="System prompt the student is trained and served with.",
    )
    output: OutputSpec = Field(default_factory=OutputSpec, description="The output contract.")


# --- teacher ----------------------------------------------------------------------------------


class SecretKeyRef(ApiModel):
    """A key of a Secret in the run's namespace; the value never appears in spec or status."""

    name: str = Field(max_length=SHORT_TEXT, description="Secret name.")
    key: str = Field(max_length=SHORT_TEXT, description="Key inside the Secret.")


class Pricing(ApiModel):
    """USD per million tokens; overrides the built-in table for the teacher model."""

    input_per_mtok: float = Field(ge=0, description="USD per million input tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens.")
    cache_write_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million cache-write tokens (default 1.25x input)."
    )
    cache_read_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million cache-read tokens (default 0.1x input)."
    )
    batch_discount: float = Field(
        default=0.5, ge=0, le=1, description="Price factor for Message Batches (0.5 = half price)."
    )


class Budget(ApiModel):
    """Collection stops cleanly (what was collected is kept) before exceeding a limit."""

    max_cost_usd: float | None = Field(
        default=None, gt=0, alias="maxCostUSD", description="Stop before the teacher cost exceeds this."
    )
    max_tokens: int | None = Field(
        default=None, gt=0, description="Stop before input+output tokens exceed this."
    )


class TeacherSpec(ApiModel):
    """The large model whose completions the student learns from."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(
            _cel(
                "self.provider != 'openai-compatible' || has(self.baseUrl)",
                "baseUrl is required when provider is openai-compatible",
            ),
            _cel(
                "self.mode != 'batch' || self.provider == 'anthropic'",
                "mode batch needs provider anthropic (Message Batches API)",
            ),
        )
    }

    provider: Literal["anthropic", "openai-compatible"] = Field(
        default="anthropic", description="Anthropic Messages API, or an OpenAI-compatible endpoint (vLLM)."
    )
    model: str = Field(min_length=1, max_length=SHORT_TEXT, description="Teacher model id.")
    system_prompt: str | None = Field(
        default=None,
        max_length=LONG_TEXT,
        description="The teacher's own instructions (default: task.systemPrompt).",
    )
    mode: Literal["realtime", "batch"] = Field(
        default="realtime", description="realtime calls, or the Message Batches API (half price)."
    )
    base_url: str | None = Field(
        default=None, max_length=URI_TEXT, description="API base URL (required for openai-compatible)."
    )
    max_tokens: int = Field(default=1024, ge=1, le=64_000, description="Max output tokens per completion.")
    temperature: float | None = Field(default=None, ge=0, le=2, description="Sampling temperature.")
    concurrency: int = Field(default=16, ge=1, le=512, description="Requests in flight at once.")
    max_attempts: int = Field(
        default=5, ge=1, le=20, description="Attempts per prompt before it is recorded as failed."
    )
    request_timeout_seconds: float = Field(default=120, gt=0, le=3600, description="Timeout of one call.")
    prompt_caching: bool = Field(default=True, description="Send the system prompt with cache_control.")
    api_key_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret holding the API key (mounted as an env var, never logged)."
    )
    pricing: Pricing | None = Field(default=None, description="Overrides the built-in price table.")
    budget: Budget = Field(default_factory=Budget, description="Cost and token caps for collection.")

    @model_validator(mode="after")
    def _provider_needs(self) -> TeacherSpec:
        if self.provider == "openai-compatible" and not self.base_url:
            raise ValueError("baseUrl: required when provider is 'openai-compatible'")
        if self.provider == "openai-compatible" and self.mode == "batch":
            raise ValueError("mode: 'batch' needs provider 'anthropic' (Message Batches API)")
        return self


# --- prompts ----------------------------------------------------------------------------------


class ConfigMapKeyRef(ApiModel):
    """A key of a ConfigMap holding JSONL or one prompt per line."""

    name: str = Field(max_length=SHORT_TEXT, description="ConfigMap name.")
    key: str = Field(max_length=SHORT_TEXT, description="Key inside the ConfigMap.")


class DatasetSource(ApiModel):
    """A local or mounted dataset file (JSON, JSONL, CSV or Parquet) read with `datasets`."""

    path: str = Field(max_length=URI_TEXT, description="Path of the file (json, jsonl, csv, parquet).")
    prompt_column: str = Field(default="prompt", max_length=SHORT_TEXT, description="Prompt column.")
    category_column: str | None = Field(default=None, max_length=SHORT_TEXT, description="Category column.")
    expected_column: str | None = Field(
        default=None, max_length=SHORT_TEXT, description="Expected output / label column."
    )
    limit: int | None = Field(default=None, ge=1, description="Take at most this many rows.")


class PromptSource(ApiModel):
    """Exactly one of inline, configMap, uri or dataset."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(
            _cel(
                "[has(self.inline), has(self.configMap), has(self.uri), has(self.dataset)]"
                ".filter(x, x).size() == 1",
                "exactly one of inline, configMap, uri or dataset must be set",
            )
        )
    }

    inline: list[PromptText] | None = Field(
        default=None,
        max_length=MAX_INLINE_PROMPTS,
        description="Prompts written in the manifest.",
    )
    config_map: ConfigMapKeyRef | None = Field(
        default=None, description="A ConfigMap key (mounted into the job as a file)."
    )
    uri: str | None = Field(
        default=None,
        max_length=URI_TEXT,
        description='JSONL at s3:// or file://, lines {"prompt", "category"?, "expected"?}.',
    )
    dataset: DatasetSource | None = Field(default=None, description="A dataset file with a prompt column.")

    @model_validator(mode="after")
    def _exactly_one(self) -> PromptSource:
        chosen = [
            name for name in ("inline", "config_map", "uri", "dataset") if getattr(self, name) is not None
        ]
        if len(chosen) != 1:
            raise ValueError(
                "exactly one of inline, configMap, uri or dataset must be set "
                f"(got {len(chosen)}: {', '.join(chosen) or 'none'})"
            )
        return self


class Modifier(ApiModel):
    """Text appended to a selection of base prompts, making new prompts (seed 003)."""

    text: str = Field(min_length=1, max_length=LONG_TEXT, description="Text appended to the prompt.")
    select: str = Field(
        default="all",
        max_length=SHORT_TEXT,
        pattern=r"^(all|\d+(-\d+)?(\s*,\s*\d+(-\d+)?)*)$",
        description='Base-prompt indices, e.g. "0-15" or "0-7, 20-23", or "all".',
    )


class Expansion(ApiModel):
    """How base prompts become the prompts sent to the teacher."""

    modifiers: list[Modifier] = Field(default_factory=list, max_length=MAX_LIST, description="Modifiers.")
    samples_per_prompt: int = Field(
        default=1, ge=1, le=64, description="Completions collected per prompt (needs temperature > 0)."
    )
    dedupe: bool = Field(default=True, description="Drop repeated prompts before collection.")


class PromptsSpec(ApiModel):
    """Where prompts come from and how they are expanded."""

    sources: list[PromptSource] = Field(min_length=1, max_length=64, description="Prompt sources.")
    expand: Expansion = Field(default_factory=Expansion, description="Prompt expansion.")


# --- curation ---------------------------------------------------------------------------------


class HeuristicFilters(ApiModel):
    """Seed 002's cheap filters; each is off unless set."""

    min_words: int | None = Field(default=None, ge=1, description="Reject completions with fewer words.")
    uncertainty_phrases: list[ShortText] | None = Field(
        default=None,
        max_length=MAX_LIST,
        description="Reject completions containing any of these phrases (case-insensitive).",
    )
    min_keyword_overlap: float | None = Field(
        default=None, ge=0, le=1, description="Reject when fewer prompt keywords appear in the completion."
    )


class JudgeSpec(ApiModel):
    """An LLM judge scoring each completion from 0 to 1 (another model family by default)."""

    provider: Literal["anthropic", "openai-compatible"] = Field(default="anthropic", description="Provider.")
    model: str = Field(min_length=1, max_length=SHORT_TEXT, description="Judge model id.")
    base_url: str | None = Field(default=None, max_length=URI_TEXT, description="API base URL.")
    rubric: str | None = Field(default=None, max_length=LONG_TEXT, description="What a good answer is.")
    min_score: float = Field(default=0.75, ge=0, le=1, description="Keep completions scoring at least this.")
    api_key_secret_ref: SecretKeyRef | None = Field(default=None, description="Secret with the API key.")


class CurationSpec(ApiModel):
    """From raw teacher completions to a clean train / validation split."""

    filters: HeuristicFilters = Field(default_factory=HeuristicFilters, description="Heuristic filters.")
    require_expected_match: bool = Field(
        default=True, description="Reject completions that differ from a prompt's expected output."
    )
    dedupe: bool = Field(default=True, description="Remove exact and near-duplicate completions.")
    near_duplicate_threshold: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Jaccard similarity of word shingles above which two are duplicates.",
    )
    judge: JudgeSpec | None = Field(default=None, description="Optional LLM judge.")
    validation_fraction: float = Field(
        default=0.1, ge=0, lt=1, description="Fraction held out for validation during training."
    )
    seed: int = Field(default=0, ge=0, description="Seed of the deterministic split.")


# --- student ----------------------------------------------------------------------------------


class LoraSpec(ApiModel):
    """LoRA adapter shape."""

    r: int = Field(default=16, ge=1, le=1024, description="Rank.")
    alpha: int = Field(default=16, ge=1, le=4096, description="Scaling numerator (alpha / r).")
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout on the adapter input.")
    target_modules: list[ShortText] = Field(
        default_factory=lambda: list(ALL_PROJECTIONS),
        min_length=1,
        max_length=64,
        description="Module names the adapter wraps (default: all 7 projections).",
        json_schema_extra={"default": list(ALL_PROJECTIONS)},
    )


class TrainingSpec(ApiModel):
    """SFT hyper-parameters."""

    epochs: float = Field(default=3, gt=0, le=1000, description="Passes over the training set.")
    learning_rate: float = Field(default=2e-4, gt=0, le=1, description="Peak learning rate.")
    batch_size: int = Field(default=2, ge=1, le=4096, description="Per-device batch size.")
    gradient_accumulation: int = Field(default=4, ge=1, le=4096, description="Gradient accumulation steps.")
    max_length: int = Field(default=2048, ge=16, le=131_072, description="Max tokens per example.")
    packing: bool = Field(default=True, description="Pack examples into full sequences (bfd).")
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = Field(
        default="cosine", description="Learning-rate schedule."
    )
    warmup_steps: int = Field(default=5, ge=0, description="Warm-up steps.")
    weight_decay: float = Field(default=0.0, ge=0, le=1, description="AdamW weight decay.")
    seed: int = Field(default=42, ge=0, description="Training seed.")
    gradient_checkpointing: bool = Field(default=False, description="Trade compute for memory.")
    checkpoint_every_steps: int = Field(
        default=50, ge=1, description="Save a resumable checkpoint to the store every N steps."
    )
    log_every_steps: int = Field(
        default=5, ge=1, description="Log loss, learning rate and tokens/s every N steps."
    )
    merge_adapter: bool = Field(default=False, description="Also write the merged model.")


class ResourcesSpec(ApiModel):
    """What the train and evaluate pods ask for."""

    gpus: int = Field(default=1, ge=0, le=64, description="GPUs per pod (0 runs on CPU).")
    memory: str = Field(
        default="48Gi",
        max_length=NAME_TEXT,
        pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$",
        description="Memory request, a Kubernetes quantity.",
    )
    cpu: str | None = Field(
        default=None, max_length=NAME_TEXT, pattern=r"^[0-9]+(\.[0-9]+)?m?$", description="CPU request."
    )
    gpu_hour_price_usd: float = Field(
        default=2.0, ge=0, alias="gpuHourPriceUSD", description="Used for the student's cost per 1k requests."
    )


class StudentSpec(ApiModel):
    """The small open-weights model that learns."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(
            _cel(
                "self.method != 'qlora' || !has(self.resources) || self.resources.gpus >= 1",
                "qlora needs at least one GPU (resources.gpus >= 1)",
            )
        )
    }

    base_model: str = Field(
        min_length=1,
        max_length=URI_TEXT,
        description="Hub id, local path, or s3:// prefix of the base model.",
    )
    method: Literal["lora", "qlora"] = Field(default="lora", description="LoRA, or QLoRA (4-bit, CUDA only).")
    lora: LoraSpec = Field(default_factory=LoraSpec, description="Adapter shape.")
    training: TrainingSpec = Field(default_factory=TrainingSpec, description="Hyper-parameters.")
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec, description="Pod resources.")

    @model_validator(mode="after")
    def _qlora_needs_gpu(self) -> StudentSpec:
        if self.method == "qlora" and self.resources.gpus < 1:
            raise ValueError("method: 'qlora' needs at least one GPU (resources.gpus is 0)")
        return self


# --- evaluation -------------------------------------------------------------------------------

GateMetric = Literal[
    "contractPassRate",
    "accuracy",
    "teacherAgreement",
    "judgeScore",
    "qualityDropVsTeacher",
    "speedupVsTeacher",
    "latencyP95Ms",
    "costPer1kRequestsUSD",
]


class Gate(ApiModel):
    """A threshold the student must meet; the run's verdict lists each gate's result."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(_cel("has(self.min) || has(self.max)", "a gate needs min or max"))
    }

    metric: GateMetric = Field(description="Student metric the gate checks.")
    min: float | None = Field(default=None, description="Pass when the metric is at least this.")
    max: float | None = Field(default=None, description="Pass when the metric is at most this.")

    @model_validator(mode="after")
    def _has_bound(self) -> Gate:
        if self.min is None and self.max is None:
            raise ValueError(f"gate '{self.metric}' needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"gate '{self.metric}': min ({self.min}) is greater than max ({self.max})")
        return self


class EvaluationSpec(ApiModel):
    """Held-out REAL examples and the gates the student must pass."""

    held_out: PromptSource = Field(description="Held-out examples; never trained on.")
    compare: list[Literal["base", "teacher"]] = Field(
        default_factory=lambda: ["base", "teacher"],
        max_length=2,
        description="Models evaluated beside the student.",
        json_schema_extra={"default": ["base", "teacher"]},
    )
    gates: list[Gate] = Field(default_factory=list, max_length=32, description="Pass / fail thresholds.")
    max_new_tokens: int = Field(
        default=512, ge=1, le=32_768, description="Generation length for the student."
    )
    batch_size: int = Field(default=8, ge=1, le=1024, description="Generation batch size.")
    judge: JudgeSpec | None = Field(default=None, description="Optional judge scoring each model's answers.")


# --- storage and run --------------------------------------------------------------------------


class S3CredentialsRef(ApiModel):
    """Secret with S3 credentials, passed to jobs as AWS_* env vars."""

    name: str = Field(max_length=SHORT_TEXT, description="Secret name.")
    access_key_id_key: str = Field(default="AWS_ACCESS_KEY_ID", max_length=SHORT_TEXT, description="Key id.")
    secret_access_key_key: str = Field(
        default="AWS_SECRET_ACCESS_KEY", max_length=SHORT_TEXT, description="Key of the secret access key."
    )


class StorageSpec(ApiModel):
    """The artifact store: s3:// (any S3-compatible endpoint) or file:// (local runs)."""

    uri: str = Field(
        default="file://./distillery-artifacts",
        max_length=URI_TEXT,
        pattern=r"^(s3|file)://.+",
        description="Root URI; artifacts go under <uri>/<namespace>/<run>/<attempt>/<phase>/.",
    )
    endpoint: str | None = Field(
        default=None, max_length=URI_TEXT, description="S3 endpoint URL (MinIO, moto)."
    )
    region: str | None = Field(default=None, max_length=NAME_TEXT, description="S3 region.")
    credentials_secret_ref: S3CredentialsRef | None = Field(default=None, description="S3 credentials.")


class PublishSpec(ApiModel):
    """Promote the adapter when every gate passes and it beats the current champion."""

    enabled: bool = Field(default=False, description="Publish after a passing evaluation.")
    uri: str | None = Field(
        default=None, max_length=URI_TEXT, description="Where the 'latest' pointer lives."
    )


class DistillationRunSpec(ApiModel):
    """Everything a distillation run needs, from prompts to gates."""

    task: TaskSpec = Field(description="The task and its output contract.")
    teacher: TeacherSpec = Field(description="The teacher model.")
    prompts: PromptsSpec = Field(description="Prompt sources and expansion.")
    curation: CurationSpec = Field(default_factory=CurationSpec, description="Curation.")
    student: StudentSpec = Field(description="The student model and training.")
    evaluation: EvaluationSpec = Field(description="Held-out evaluation and gates.")
    storage: StorageSpec = Field(default_factory=StorageSpec, description="Artifact store.")
    publish: PublishSpec = Field(default_factory=PublishSpec, description="Optional promotion.")
    schedule: str | None = Field(
        default=None, max_length=NAME_TEXT, description="Cron schedule for periodic retraining."
    )
    queue_name: str | None = Field(default=None, max_length=NAME_TEXT, description="Kueue LocalQueue name.")
