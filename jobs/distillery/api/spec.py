"""The DistillationRun spec: the one source of truth for the API (the CRD is generated from it).

The sections live in their own modules (task, teacher, data, student, evaluation); this module
holds storage, publishing and the root, and re-exports every model for `from distillery.api.spec`.
"""

from __future__ import annotations

from pydantic import Field

from distillery.api.base import (
    NAME_TEXT,
    SHORT_TEXT,
    URI_TEXT,
    ApiModel,
)
from distillery.api.data import (
    AnchorsSpec,
    ConfigMapKeyRef,
    CurationSpec,
    DatasetSource,
    Expansion,
    HeuristicFilters,
    JudgeSpec,
    Modifier,
    PromptSource,
    PromptsSpec,
)
from distillery.api.evaluation import EvaluationSpec, Gate, GateMetric
from distillery.api.publish import CompareMetric, ComparisonSpec, PublishSpec
from distillery.api.scheduling import SchedulingSpec, Toleration
from distillery.api.student import ALL_PROJECTIONS, LoraSpec, ResourcesSpec, StudentSpec, TrainingSpec
from distillery.api.task import OutputRepair, OutputRule, OutputSpec, TaskSpec
from distillery.api.teacher import Budget, Pricing, SecretKeyRef, TeacherSpec


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
    scheduling: SchedulingSpec = Field(
        default_factory=SchedulingSpec, description="Placement of every phase's pods."
    )


__all__ = [
    "ALL_PROJECTIONS",
    "AnchorsSpec",
    "Budget",
    "CompareMetric",
    "ComparisonSpec",
    "ConfigMapKeyRef",
    "CurationSpec",
    "DatasetSource",
    "DistillationRunSpec",
    "EvaluationSpec",
    "Expansion",
    "Gate",
    "GateMetric",
    "HeuristicFilters",
    "JudgeSpec",
    "LoraSpec",
    "Modifier",
    "OutputRepair",
    "OutputRule",
    "OutputSpec",
    "Pricing",
    "PromptSource",
    "PromptsSpec",
    "PublishSpec",
    "ResourcesSpec",
    "S3CredentialsRef",
    "SchedulingSpec",
    "SecretKeyRef",
    "StorageSpec",
    "StudentSpec",
    "TaskSpec",
    "TeacherSpec",
    "Toleration",
    "TrainingSpec",
]
