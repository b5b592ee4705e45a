"""The whole DistillationRun object and how manifests are loaded."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from distillery.api.spec import DistillationRunSpec
from distillery.api.status import DistillationRunStatus

GROUP = "distillery.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "DistillationRun"
PLURAL = "distillationruns"
SINGULAR = "distillationrun"
SHORT_NAMES = ["dr"]
CATEGORIES = ["distillery"]
# Job names are "<run>-a<attempt>-<phase>" and must stay within 63 characters.
MAX_RUN_NAME = 40


class ObjectMeta(BaseModel):
    """The parts of Kubernetes metadata we read; the rest is kept as the API server wrote it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str
    namespace: str = "default"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int | None = None
    uid: str | None = None


class DistillationRun(BaseModel):
    """A DistillationRun manifest."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    api_version: Literal["distillery.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["DistillationRun"]
    metadata: ObjectMeta
    spec: DistillationRunSpec
    status: DistillationRunStatus | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    def to_manifest(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": self.metadata.model_dump(exclude_none=True),
            "spec": self.spec.to_api(),
        }
        return body
