"""The DistillationRun API: spec and status models, CRD generation, manifest validation."""

from distillery.api.resource import API_VERSION, KIND, DistillationRun
from distillery.api.spec import DistillationRunSpec
from distillery.api.status import DistillationRunStatus

__all__ = ["API_VERSION", "KIND", "DistillationRun", "DistillationRunSpec", "DistillationRunStatus"]
