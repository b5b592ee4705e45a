"""The task a student learns and the output contract every completion is held to."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from distillery.api.base import (
    EXPRESSION_TEXT,
    LONG_TEXT,
    MAX_LIST,
    NAME_TEXT,
    RULE_NAME_PATTERN,
    SHORT_TEXT,
    ApiModel,
    ShortText,
)


class OutputRule(ApiModel):
    """A CEL rule evaluated on the parsed output (`output`) and the prompt (`input`)."""

    name: str = Field(
        max_length=NAME_TEXT, pattern=RULE_NAME_PATTERN, description="Rule name, reported per rule."
    )
    expression: str = Field(
        min_length=1,
        max_length=EXPRESSION_TEXT,
        description="CEL expression that must evaluate to true, e.g. size(output.fragments) == 6.",
    )
    message: str | None = Field(
        default=None, max_length=SHORT_TEXT, description="What a failure means, shown in reports."
    )


class OutputSpec(ApiModel):
    """The output contract every teacher and student completion is held to."""

    format: Literal["json", "text", "label"] = Field(
        default="json", description="How completions are parsed: JSON object, free text, or one label."
    )
    # The user's own JSON Schema is a document of any shape: the CRD marks it (and only it)
    # x-kubernetes-preserve-unknown-fields; validate checks it is a valid JSON Schema instead.
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema (draft 2020-12) the parsed JSON output must satisfy (format json).",
        json_schema_extra={"x-distillery-opaque": True},
    )
    rules: list[OutputRule] = Field(
        default_factory=list, max_length=64, description="CEL rules on the parsed output."
    )
    labels: list[ShortText] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Allowed labels (format label); a completion must be exactly one of them.",
    )

    @model_validator(mode="after")
    def _labels_fit_format(self) -> OutputSpec:
        if self.format == "label" and not self.labels:
            raise ValueError("labels: format 'label' needs at least one label")
        if self.format != "label" and self.labels:
            raise ValueError(f"labels: only allowed with format 'label' (format is '{self.format}')")
        if self.json_schema is not None and self.format != "json":
            raise ValueError(f"jsonSchema: only allowed with format 'json' (format is '{self.format}')")
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"rules: names must be unique (repeated: {', '.join(duplicates)})")
        return self


class TaskSpec(ApiModel):
    """What the student is trained to do."""

    system_prompt: str = Field(
        min_length=1,
        max_length=LONG_TEXT,
        description="System prompt the student is trained and served with.",
    )
    output: OutputSpec = Field(default_factory=OutputSpec, description="The output contract.")
