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
    cel_rule,
    validations,
)

# Marks a field holding any JSON value (the CRD gives it no type, only preserve-unknown-fields).
ANY_JSON_MARKER = "x-distillery-any-json"
# A dotted path of object keys into the parsed JSON output: "formula", "meta.version".
FIELD_PATH_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$"


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


class SetField(ApiModel):
    """Set a field of the JSON output to a fixed value (missing parent objects are created)."""

    path: str = Field(
        max_length=SHORT_TEXT,
        pattern=FIELD_PATH_PATTERN,
        description='Dotted path of object keys in the output, e.g. "formula" or "meta.version".',
    )
    value: Any = Field(
        description="The JSON value to write (string, number, bool, null, list or object).",
        json_schema_extra={ANY_JSON_MARKER: True},
    )


class RemoveField(ApiModel):
    """Remove a field of the JSON output (nothing happens when it is absent)."""

    path: str = Field(
        max_length=SHORT_TEXT,
        pattern=FIELD_PATH_PATTERN,
        description='Dotted path of object keys in the output, e.g. "debug".',
    )


class OutputRepair(ApiModel):
    """A deterministic fix of a model's JSON output, applied when its CEL condition holds."""

    # Applied at evaluation (reported before / after) and listed for serving; never applied to the
    # teacher's data in curation (contract/repairs.py).

    model_config = ApiModel.model_config | {
        "json_schema_extra": validations(
            cel_rule(
                "[has(self.set), has(self.remove)].filter(x, x).size() == 1",
                "exactly one of set or remove must be set",
            )
        )
    }

    name: str = Field(
        max_length=NAME_TEXT, pattern=RULE_NAME_PATTERN, description="Repair name, reported per repair."
    )
    when: str = Field(
        min_length=1,
        max_length=EXPRESSION_TEXT,
        description="CEL condition on `output` and `input`, e.g. !has(output.formula).",
    )
    set: SetField | None = Field(default=None, description="Set a field to a value.")
    remove: RemoveField | None = Field(default=None, description="Remove a field.")

    @model_validator(mode="after")
    def _one_action(self) -> OutputRepair:
        if (self.set is None) == (self.remove is None):
            raise ValueError(f"repair '{self.name}': exactly one of set or remove must be set")
        return self


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
    repairs: list[OutputRepair] = Field(
        default_factory=list,
        max_length=32,
        description="Deterministic fixes of JSON outputs, applied in order at evaluation, never in curation.",
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
        if self.repairs and self.format != "json":
            raise ValueError(f"repairs: only allowed with format 'json' (format is '{self.format}')")
        names = [repair.name for repair in self.repairs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"repairs: names must be unique (repeated: {', '.join(duplicates)})")
        return self


class TaskSpec(ApiModel):
    """What the student is trained to do."""

    system_prompt: str = Field(
        min_length=1,
        max_length=LONG_TEXT,
        description="System prompt the student is trained and served with.",
    )
    output: OutputSpec = Field(default_factory=OutputSpec, description="The output contract.")
