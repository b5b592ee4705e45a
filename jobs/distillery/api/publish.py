"""spec.publish: the model registry, champion/challenger comparison and what a version carries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from distillery.api.base import NAME_TEXT, RULE_NAME_PATTERN, URI_TEXT, ApiModel

# Student metrics a challenger is compared on (higher is better for each; see publish/comparison.py).
CompareMetric = Literal["contractPassRate", "quality", "teacherAgreement", "accuracy"]


class ComparisonSpec(ApiModel):
    """How a challenger is compared with the current champion on the same held-out set."""

    metrics: list[CompareMetric] = Field(
        default_factory=lambda: ["contractPassRate"],
        min_length=1,
        max_length=4,
        description="Metrics compared; the challenger must not be worse on any of them.",
    )
    margin: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="How much worse than the champion (absolute, per metric) still promotes.",
    )


class PublishSpec(ApiModel):
    """Register the adapter as a new model version and promote it when it beats the champion."""

    enabled: bool = Field(default=False, description="Publish after a passing evaluation.")
    registry: str | None = Field(
        default=None,
        max_length=URI_TEXT,
        pattern=r"^(s3|file)://.+",
        description="Registry root URI (default: <storage.uri>/<namespace>/.registry).",
    )
    model: str | None = Field(
        default=None,
        max_length=NAME_TEXT,
        pattern=RULE_NAME_PATTERN,
        description="Model name in the registry (default: the run's name).",
    )
    merge_weights: bool = Field(
        default=False, description="Also publish base+adapter merged into safetensors weights."
    )
    comparison: ComparisonSpec = Field(
        default_factory=ComparisonSpec, description="Champion/challenger comparison."
    )
