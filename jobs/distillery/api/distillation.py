"""student.distillation: plain SFT on the teacher's answers, or logit knowledge distillation.

Logit KD needs the teacher's log-probabilities on the training text, so only an open-weights
teacher qualifies: Claude exposes no log-probs. The teacher's tokenizer must be the student's
(checked when the job loads both); the loss is
`alpha * CE + (1 - alpha) * T^2 * KL(teacher top-k renormalised || student)` on assistant tokens.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from distillery.api.base import URI_TEXT, ApiModel, cel_rule, validations

MAX_TOP_K = 128


class LogitTeacherSpec(ApiModel):
    """The model whose log-probs the student matches."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": validations(
            cel_rule(
                "self.provider != 'anthropic'",
                "provider anthropic cannot be a logit-distillation teacher (Claude exposes no log-probs)",
            ),
            cel_rule(
                "self.provider != 'openai-compatible' || has(self.baseUrl)",
                "baseUrl is required when provider is openai-compatible",
            ),
        )
    }

    provider: Literal["open-weights", "openai-compatible", "anthropic"] = Field(
        default="open-weights",
        description=(
            "open-weights: the model is loaded in the train Job. openai-compatible: a vLLM endpoint scores "
            "the text (/v1/completions with prompt_logprobs); anthropic is refused (no log-probs)."
        ),
    )
    model: str = Field(
        min_length=1,
        max_length=URI_TEXT,
        description=(
            "Hub id, local path, or s3:// prefix of the teacher model (openai-compatible: its tokenizer "
            "is loaded from here and checked against the student's)."
        ),
    )
    base_url: str | None = Field(
        default=None, max_length=URI_TEXT, description="vLLM server URL (required for openai-compatible)."
    )
    served_model_name: str | None = Field(
        default=None,
        max_length=URI_TEXT,
        description="The model name the vLLM server answers to (default: model).",
    )

    @model_validator(mode="after")
    def _open_weights_only(self) -> LogitTeacherSpec:
        if self.provider == "anthropic":
            raise ValueError(
                "provider: 'anthropic' cannot be a logit-distillation teacher: Claude exposes no log-probs "
                "(use method sft with spec.teacher, or an open-weights teacher here)"
            )
        if self.provider == "openai-compatible" and not self.base_url:
            raise ValueError("baseUrl: required when provider is 'openai-compatible' (the vLLM server)")
        return self


class DistillationSpec(ApiModel):
    """How the student learns from the teacher."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": validations(
            cel_rule(
                "self.method != 'logits' || has(self.teacher)",
                "teacher is required when method is logits",
            ),
        )
    }

    method: Literal["sft", "logits"] = Field(
        default="sft",
        description=(
            "sft: cross-entropy on the teacher's answers. logits: also match an open-weights "
            "teacher's top-k log-probs (KD)."
        ),
    )
    teacher: LogitTeacherSpec | None = Field(
        default=None, description="The open-weights teacher scored for logit KD (required for method logits)."
    )
    top_k: int = Field(
        default=20,
        ge=1,
        le=MAX_TOP_K,
        description=f"Teacher log-probs kept per token (1..{MAX_TOP_K}).",
    )
    alpha: float = Field(
        default=0.5, ge=0, le=1, description="Weight of the cross-entropy; 1 - alpha goes to KD."
    )
    temperature: float = Field(
        default=1.0, gt=0, le=10, description="Softens both distributions in the KD term (T^2 rescales it)."
    )

    @model_validator(mode="after")
    def _teacher_for_logits(self) -> DistillationSpec:
        if self.method == "logits" and self.teacher is None:
            raise ValueError("teacher: required when method is 'logits' (an open-weights model to score)")
        if self.method == "sft" and self.teacher is not None:
            raise ValueError("teacher: only used with method 'logits' (method is 'sft')")
        return self
