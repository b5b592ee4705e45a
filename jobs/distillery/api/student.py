"""The student: base model, LoRA shape, training hyper-parameters and resources.

Defaults come from the seed articles: LoRA r=16, alpha=16 on all seven projections, 3 epochs,
lr 2e-4 with a cosine schedule and 5 warm-up steps, batch 2 x gradient accumulation 4.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from distillery.api.base import (
    NAME_TEXT,
    RULE_NAME_PATTERN,
    URI_TEXT,
    ApiModel,
    ShortText,
    cel_rule,
    validations,
)
from distillery.api.distillation import DistillationSpec
from distillery.api.scheduling import SchedulingSpec

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


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
    packing: bool | None = Field(
        default=None,
        description=(
            "Pack examples into full sequences (bfd, padding-free). Unset: chosen by the device at run time "
            "(packed on a GPU with a varlen FlashAttention kernel, else not)."
        ),
    )
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

    model_config = ApiModel.model_config | {
        "json_schema_extra": validations(
            cel_rule(
                "!has(self.processesPerNode) || self.gpus == 0 || self.processesPerNode == self.gpus",
                "processesPerNode must equal gpus on GPUs (one process per GPU)",
            )
        )
    }

    gpus: int = Field(default=1, ge=0, le=64, description="GPUs per pod (0 runs on CPU).")
    nodes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Pods that train together; > 1 runs an Indexed Job with torchrun across them.",
    )
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
    processes_per_node: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description=(
            "Training processes per pod (torchrun --nproc-per-node). Unset: one per GPU, or 1 on CPU. "
            "On GPUs it must equal gpus; on CPU (gpus: 0) several processes share the pod's cores (gloo)."
        ),
    )
    distributed: Literal["ddp", "fsdp"] = Field(
        default="ddp",
        description=(
            "How several training processes share the work: ddp (each holds the whole model) or fsdp "
            "(parameters, gradients and optimizer state sharded across processes)."
        ),
    )

    @model_validator(mode="after")
    def _one_process_per_gpu(self) -> ResourcesSpec:
        wanted = self.processes_per_node
        if wanted is not None and self.gpus >= 1 and wanted != self.gpus:
            raise ValueError(
                f"resources.processesPerNode is {wanted} but gpus is {self.gpus}: on GPUs training runs one "
                "process per GPU (leave processesPerNode unset, or set it only with gpus: 0)"
            )
        return self

    def processes(self) -> int:
        """Training processes per pod."""
        if self.processes_per_node is not None:
            return self.processes_per_node
        return max(1, self.gpus)


MAX_CANDIDATES = 8
CANDIDATE_NAME_TEXT = 20


class CandidateTraining(ApiModel):
    """What a candidate may change of student.training: sizes differ in the batch that fits in memory
    and in the learning rate they tolerate; everything else stays shared so the sizes stay comparable."""

    learning_rate: float | None = Field(default=None, gt=0, le=1, description="Peak learning rate.")
    batch_size: int | None = Field(default=None, ge=1, le=4096, description="Per-device batch size.")
    gradient_accumulation: int | None = Field(
        default=None, ge=1, le=4096, description="Gradient accumulation steps."
    )


class CandidateSpec(ApiModel):
    """One student size of a sweep: trained and evaluated on the same data as the others."""

    name: str = Field(
        min_length=1,
        max_length=CANDIDATE_NAME_TEXT,
        pattern=RULE_NAME_PATTERN,
        description="Short DNS label; part of the candidate's Job names (<run>-a<N>-train-<name>).",
    )
    base_model: str = Field(
        min_length=1,
        max_length=URI_TEXT,
        description="Hub id, local path, or s3:// prefix of its base model.",
    )
    resources: ResourcesSpec | None = Field(
        default=None, description="Pod resources of its train and evaluate Jobs (default: student.resources)."
    )
    training: CandidateTraining | None = Field(
        default=None, description="Overrides of student.training for this size only."
    )


class StudentSpec(ApiModel):
    """The small open-weights model that learns."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": validations(
            cel_rule(
                "self.method != 'qlora' || !has(self.resources) || self.resources.gpus >= 1",
                "qlora needs at least one GPU (resources.gpus >= 1)",
            ),
            cel_rule(
                "!has(self.distillation) || self.distillation.method != 'logits' || !has(self.training)"
                " || !has(self.training.packing) || !self.training.packing",
                "logit distillation trains on unpacked examples (training.packing must not be true)",
            ),
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
    distillation: DistillationSpec = Field(
        default_factory=DistillationSpec,
        description="sft (default), or logit KD from an open-weights teacher.",
    )
    scheduling: SchedulingSpec | None = Field(
        default=None, description="Placement of the train and evaluate pods (replaces spec.scheduling)."
    )
    trainer: Literal["job", "kubeflow"] = Field(
        default="job",
        description=(
            "Who runs the train phase on a cluster: the operator's own (Indexed) Job, or a Kubeflow Trainer "
            "v2 TrainJob on the ClusterTrainingRuntime torch-distributed (the cluster must run Kubeflow "
            "Trainer). `distillery run` ignores it."
        ),
    )
    candidates: list[CandidateSpec] = Field(
        default_factory=list,
        max_length=MAX_CANDIDATES,
        description=(
            "A size sweep: each candidate is trained and evaluated; the smallest (parameter count) that "
            "passes the gates is the run's student. Empty: baseModel alone."
        ),
    )

    @model_validator(mode="after")
    def _unique_candidates(self) -> StudentSpec:
        names = [candidate.name for candidate in self.candidates]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"candidates: names must be unique (repeated: {', '.join(repeated)})")
        for candidate in self.candidates:
            gpus = candidate.resources.gpus if candidate.resources else self.resources.gpus
            if self.method == "qlora" and gpus < 1:
                raise ValueError(f"candidates[{candidate.name}]: method 'qlora' needs resources.gpus >= 1")
        return self

    def candidate(self, name: str) -> CandidateSpec:
        for candidate in self.candidates:
            if candidate.name == name:
                return candidate
        known = ", ".join(c.name for c in self.candidates) or "none"
        raise KeyError(f"no candidate named {name!r} in student.candidates (candidates: {known})")

    def for_candidate(self, name: str) -> StudentSpec:
        """The student one candidate trains: its base model, resources and training overrides."""
        candidate = self.candidate(name)
        overrides = candidate.training.model_dump(exclude_none=True) if candidate.training else {}
        return self.model_copy(
            update={
                "base_model": candidate.base_model,
                "resources": candidate.resources or self.resources,
                "training": self.training.model_copy(update=overrides),
                "candidates": [],
            }
        )

    @model_validator(mode="after")
    def _qlora_needs_gpu(self) -> StudentSpec:
        if self.method == "qlora" and self.resources.gpus < 1:
            raise ValueError("method: 'qlora' needs at least one GPU (resources.gpus is 0)")
        return self

    @model_validator(mode="after")
    def _logits_unpacked(self) -> StudentSpec:
        if self.distillation.method == "logits" and self.training.packing:
            raise ValueError(
                "training.packing: must not be true with distillation.method 'logits' (the teacher's "
                "log-probs are matched per example, unpacked)"
            )
        return self

    @model_validator(mode="after")
    def _logits_in_one_process(self) -> StudentSpec:
        world = self.resources.nodes * self.resources.processes()
        if self.distillation.method == "logits" and world > 1:
            raise ValueError(
                f"resources: distillation.method 'logits' trains in one process for now (these resources ask "
                f"for {world}: nodes x processes per node); the teacher's scores are not yet computed once "
                "and shared across ranks"
            )
        return self
