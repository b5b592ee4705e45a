"""Held-out evaluation and the gates a student must pass."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from distillery.api.base import (
    ApiModel,
    cel_rule,
    validations,
)
from distillery.api.data import JudgeSpec, PromptSource

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
        "json_schema_extra": validations(
            cel_rule("has(self.min) || has(self.max)", "a gate needs min or max")
        )
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
