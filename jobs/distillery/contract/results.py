"""What checking one completion against the output contract found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ParseKind = Literal["strict", "tolerant", "failed"]
OutputFormat = Literal["json", "text", "label"]


@dataclass(frozen=True)
class RuleResult:
    """One CEL rule's verdict; `message` says why it failed (None when it passed)."""

    name: str
    passed: bool
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "message": self.message}


@dataclass
class ContractResult:
    """Parse outcome, schema errors, rule verdicts and label of one completion.

    `parse` is "strict" when the whole completion is the output as specified, "tolerant" when the
    output had to be dug out of it (a fenced block, prose around JSON, a label in a short sentence),
    "failed" when nothing usable was found (`parse_error` says why).
    """

    format: OutputFormat
    parse: ParseKind
    value: Any = None
    parse_error: str | None = None
    schema_errors: list[str] = field(default_factory=list)
    rules: list[RuleResult] = field(default_factory=list)
    label: str | None = None

    @property
    def passed(self) -> bool:
        """Strict parse and every check ok."""
        return not self.failure_reasons(tolerant=False)

    @property
    def passed_tolerant(self) -> bool:
        """Strict or tolerant parse, and every check ok."""
        return not self.failure_reasons(tolerant=True)

    @property
    def failures(self) -> list[str]:
        """Why `passed` is false, as short rejection reasons ("parse", "schema", "rule:NAME", "label")."""
        return self.failure_reasons(tolerant=False)

    def failure_reasons(self, *, tolerant: bool) -> list[str]:
        """Rejection reasons; with tolerant=False a tolerant parse is itself a reason ("parse-tolerant")."""
        reasons: list[str] = []
        if self.format == "label":
            if self.label is None:
                reasons.append("label")
        elif self.parse == "failed":
            reasons.append("parse")
        if self.parse == "tolerant" and not tolerant:
            reasons.append("parse-tolerant")
        if self.schema_errors:
            reasons.append("schema")
        reasons.extend(f"rule:{rule.name}" for rule in self.rules if not rule.passed)
        return reasons

    def to_dict(self, *, include_value: bool = False) -> dict[str, Any]:
        """A JSON-ready record for reports (the parsed value only when asked for)."""
        record: dict[str, Any] = {
            "format": self.format,
            "parse": self.parse,
            "parse_error": self.parse_error,
            "schema_errors": list(self.schema_errors),
            "rules": [rule.to_dict() for rule in self.rules],
            "label": self.label,
            "passed": self.passed,
            "passed_tolerant": self.passed_tolerant,
            "failures": self.failures,
        }
        if include_value:
            record["value"] = self.value
        return record
