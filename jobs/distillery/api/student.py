"""The student: base model, LoRA shape, training hyper-parameters and resources.

Defaults come from the seed articles: LoRA r=16, alpha=16 on all seven projections, 3 epochs,
lr 2e-4 with a cosine schedule and 5 warm-up steps, batch 2 x gradient accumulation 4.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from distillery.api.base import (
    NAME_TEXT,
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
