"""The output contract: parse a completion, validate it, run the CEL rules; compile once, check many."""

from __future__ import annotations

from typing import Any

from distillery.api.spec import OutputSpec
from distillery.contract.cel_rules import CompiledRule, RuleEnvironment, RuleSet
from distillery.contract.labels import LabelMatcher
from distillery.contract.parsing import Parsed, parse_json, parse_text
from distillery.contract.results import ContractResult, RuleResult
from distillery.contract.schema import SchemaCheck


class Contract:
    """An OutputSpec compiled for checking completions; ContractError on a bad rule or schema."""

    def __init__(self, output_spec: OutputSpec) -> None:
        self.spec = output_spec
        self.format = output_spec.format
        schema = output_spec.json_schema
        self._schema = SchemaCheck(schema) if schema is not None else None
        self._environment = RuleEnvironment(output_spec.format, schema)
        self._rules = [
            CompiledRule(rule.name, rule.expression, rule.message, self._environment)
            for rule in output_spec.rules
        ]
        self._rule_set = RuleSet(self._rules, self._environment)
        self._labels = LabelMatcher(output_spec.labels) if output_spec.format == "label" else None

    @property
    def rule_names(self) -> list[str]:
        return [rule.name for rule in self._rules]

    @property
    def input_rule_names(self) -> list[str]:
        """The rules whose expression reads `input` (the prompt)."""
        return [rule.name for rule in self._rules if rule.reads_input]

    def check(self, raw: str, *, prompt: str | None = None) -> ContractResult:
        """Check one completion; every check runs (schema and rules alike) so reports are complete.

        Rules see the parsed JSON, the stripped text, or the canonical label (the stripped answer
        when no label was found). A JSON completion that cannot be parsed gets no schema or rules.
        """
        parsed, label = self._parse(raw)
        result = ContractResult(
            format=self.format, parse=parsed.kind, value=parsed.value, parse_error=parsed.error, label=label
        )
        if parsed.kind == "failed" and self.format != "label":
            return result
        if self._schema is not None:
            result.schema_errors = self._schema.errors(parsed.value)
        result.rules = self._evaluate_rules(label if label is not None else parsed.value, prompt)
        return result

    def _parse(self, raw: str) -> tuple[Parsed, str | None]:
        if self._labels is not None:
            match = self._labels.match(raw)
            return match.parsed, match.label
        if self.format == "json":
            return parse_json(raw), None
        return parse_text(raw), None

    def _evaluate_rules(self, value: Any, prompt: str | None) -> list[RuleResult]:
        if not self._rules:
            return []
        try:
            activation = self._environment.activation(value, prompt)
        except (ValueError, TypeError) as error:
            reason = f"output cannot be given to CEL: {error}"
            return [rule.failed_without_evaluation(reason) for rule in self._rules]
        return self._rule_set.evaluate(activation)
