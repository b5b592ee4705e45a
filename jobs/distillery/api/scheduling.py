"""Where the phases' pods may run: node selector, tolerations, affinity, priority class."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from distillery.api.base import NAME_TEXT, SHORT_TEXT, ApiModel


class Toleration(ApiModel):
    """A Kubernetes toleration (core/v1 Toleration)."""

    key: str | None = Field(default=None, max_length=SHORT_TEXT, description="Taint key.")
    operator: Literal["Exists", "Equal"] | None = Field(default=None, description="Exists or Equal.")
    value: str | None = Field(default=None, max_length=SHORT_TEXT, description="Taint value.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect to tolerate."
    )
    toleration_seconds: int | None = Field(default=None, description="For NoExecute: how long.")


class SchedulingSpec(ApiModel):
    """Pod placement for the phases' Jobs."""

    node_selector: dict[str, str] = Field(
        default_factory=dict, max_length=64, description="Node labels the pods require."
    )
    tolerations: list[Toleration] = Field(default_factory=list, max_length=64, description="Tolerations.")
    # A core/v1 Affinity of any shape: passed to the pod as written (the API server validates it).
    affinity: dict[str, Any] | None = Field(
        default=None,
        description="A core/v1 Affinity, passed to the pods unchanged.",
        json_schema_extra={"x-distillery-opaque": True},
    )
    priority_class_name: str | None = Field(
        default=None, max_length=NAME_TEXT, description="PriorityClass of the pods."
    )

    def to_pod_fields(self) -> dict[str, Any]:
        """The pod spec fields this placement sets (none when unset)."""
        fields: dict[str, Any] = {}
        if self.node_selector:
            fields["nodeSelector"] = dict(self.node_selector)
        if self.tolerations:
            fields["tolerations"] = [t.to_api() for t in self.tolerations]
        if self.affinity:
            fields["affinity"] = self.affinity
        if self.priority_class_name:
            fields["priorityClassName"] = self.priority_class_name
        return fields
