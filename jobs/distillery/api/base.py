"""Base class shared by every API model: camelCase in YAML, unknown fields rejected."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """A Kubernetes-style API object: camelCase keys, strict about unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=True,
    )

    def to_api(self) -> dict[str, Any]:
        """The object as it is written in a manifest (camelCase, unset optionals left out)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# Bounds that keep the API server's CEL cost estimate finite (every string and list is bounded).
SHORT_TEXT = 253
NAME_TEXT = 63
LONG_TEXT = 32_768
URI_TEXT = 2_048
EXPRESSION_TEXT = 4_096
MAX_LIST = 256
MAX_INLINE_PROMPTS = 10_000

ShortText = Annotated[str, Field(max_length=SHORT_TEXT)]
PromptText = Annotated[str, Field(max_length=LONG_TEXT)]
RULE_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def cel_rule(rule: str, message: str) -> dict[str, Any]:
    """One x-kubernetes-validations entry."""
    return {"rule": rule, "message": message}


def validations(*rules: dict[str, Any]) -> dict[str, Any]:
    """json_schema_extra carrying CEL rules into the generated CRD."""
    return {"x-kubernetes-validations": list(rules)}
