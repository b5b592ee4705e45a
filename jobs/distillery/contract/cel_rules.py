"""CEL rules: type-checked and compiled once per contract with cel-cpp, evaluated per completion.

Variables: `output` (the parsed output: JSON value, text or label) and `input` (the prompt, "" when
unknown). The dialect is standard CEL (cel-spec) with cel-go's strings extension (lowerAscii,
upperAscii, trim, split, join, replace, indexOf, lastIndexOf, substring, charAt, format, quote,
reverse; Kubernetes has it too) and math extension (math.greatest, math.least, ...).

Type-checking: a JSON output is typed from `jsonSchema` when there is one (see cel_types: closed
objects are checked field by field, the rest is dyn), text and label outputs are strings, `input`
is a string. Unknown functions and variables, misspelt fields of closed objects, operator misuse
(`1 + "a"`, `output.n == 1.0` on an integer) and rules that cannot return a bool are ContractErrors
naming the rule. Evaluation is dynamic (a record that breaks its schema still meets its rules):
a missing key, a bad index or a value of the wrong type at run time fails that rule with
"evaluation error: ...", as do integers beyond 64 bits when a rule reads them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cel_expr_python import cel

from distillery.contract.cel_check import (
    CelCheckError,
    TypedScope,
    compile_checked,
    new_env,
    returns_bool,
    type_name,
)
from distillery.contract.cel_regex import regex_extension, with_cached_matches
from distillery.contract.cel_types import Kind, SchemaTypes
from distillery.contract.results import RuleResult
from distillery.errors import ContractError

SHOWN_VALUE_CHARS = 80
_STATUS_CODE = re.compile(r"^[A-Z_]+: ")
_STRING = Kind("scalar", "string")


class RuleEnvironment:
    """Where the rules of one output contract compile: typed for checking, dynamic for evaluation."""

    def __init__(self, output_format: str = "json", json_schema: dict[str, Any] | None = None) -> None:
        variables = {
            "output": cel.Type.DYN if output_format == "json" else cel.Type.STRING,
            "input": cel.Type.STRING,
        }
        self.env = new_env(variables, extra=[regex_extension()])
        self._check_env = new_env(variables)
        self._scope: TypedScope | None = None
        if output_format == "json" and json_schema is not None:
            self._scope = TypedScope(lambda types: _variables(types, json_schema), structural=False)

    def compile(self, name: str, expression: str, *, kind: str = "rule") -> Any:
        """The runnable program; ContractError naming the rule (or repair) when it does not type-check."""
        try:
            if self._scope is not None:
                result_type = self._scope.check(expression)
            else:
                result_type = compile_checked(self._check_env, expression).return_type()
            program = compile_checked(self.env, with_cached_matches(expression))
        except CelCheckError as error:
            raise ContractError(f"{kind} '{name}': {'; '.join(error.problems)}") from error
        if not returns_bool(result_type):
            raise ContractError(f"{kind} '{name}': returns {type_name(result_type)}, not a bool")
        return program

    def compile_all(self, expressions: list[str]) -> Any:
        """One program listing every rule's result (rules that each compiled alone)."""
        listed = ", ".join(f"({expression}\n)" for expression in expressions)  # "\n": ends a // comment
        return compile_checked(self.env, with_cached_matches(f"[{listed}]"))

    def activation(self, value: Any, prompt: str | None) -> Any:
        """The variables of one completion; ValueError/TypeError when `value` cannot be a CEL value."""
        try:
            return self.env.Activation({"output": value, "input": prompt or ""})
        except RuntimeError as error:
            raise ValueError(str(error)) from error


def _variables(types: SchemaTypes, json_schema: dict[str, Any]) -> Mapping[str, Kind]:
    return {"output": types.kind(json_schema, "output"), "input": _STRING}


def compile_rule(
    expression: str,
    *,
    name: str = "rule",
    output_format: str = "json",
    json_schema: dict[str, Any] | None = None,
) -> None:
    """Raise ContractError (naming the rule) when `expression` is not a usable CEL rule."""
    RuleEnvironment(output_format, json_schema).compile(name, expression)


# String literals ("..." or '...', with escapes) and // comments: their text is not code.
_LITERALS = re.compile(r'"(?:[^"\\\n]|\\.)*"' + r"|'(?:[^'\\\n]|\\.)*'" + r"|//[^\n]*")


def reads_variable(expression: str, variable: str) -> bool:
    """Whether a rule refers to `variable`: the identifier outside string literals and comments,
    and not as a field name (`output.input` does not read `input`)."""
    code = _LITERALS.sub(" ", expression)
    return re.search(rf"(?<![\w.]){re.escape(variable)}\b", code) is not None


def describe_eval_error(message: str) -> str:
    """cel-cpp's status text without its code ('NOT_FOUND: Key not found...' -> 'Key not found...')."""
    return _STATUS_CODE.sub("", message, count=1)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[:SHOWN_VALUE_CHARS] + "..."


class CompiledRule:
    """One named rule, compiled at construction and evaluated many times."""

    def __init__(
        self,
        name: str,
        expression: str,
        message: str | None = None,
        environment: RuleEnvironment | None = None,
    ) -> None:
        self.name = name
        self.expression = expression
        self.message = message
        self.reads_input = reads_variable(expression, "input")
        self._program = (environment or RuleEnvironment()).compile(name, expression)

    def evaluate(self, activation: Any) -> RuleResult:
        value = self._program.eval(activation)
        result = value.value()
        if result is True or result is False:
            return self.verdict(result)
        kind = value.type()
        if kind == cel.Type.ERROR:
            return self._failed(f"evaluation error: {describe_eval_error(str(result))}")
        return self._failed(f"returned {type_name(kind)} {_shown(value.plain_value())}, not a bool")

    def verdict(self, passed: bool) -> RuleResult:
        if passed:
            return RuleResult(self.name, True)
        return self._failed(self.message or f"expression is false: {self.expression}")

    def failed_without_evaluation(self, reason: str) -> RuleResult:
        return self._failed(reason)

    def _failed(self, message: str) -> RuleResult:
        return RuleResult(self.name, False, message)


class RuleSet:
    """A contract's rules, evaluated in one pass when every rule gives a bool.

    One program lists all results (one call into cel-cpp instead of one per rule); when any rule
    errors or returns a non-bool, each rule is evaluated on its own so its message is its own.
    """

    def __init__(self, rules: list[CompiledRule], environment: RuleEnvironment) -> None:
        self.rules = rules
        self._all = None
        if len(rules) > 1:
            try:
                self._all = environment.compile_all([rule.expression for rule in rules])
            except CelCheckError:  # rules that compile alone always list together; if not, one by one
                self._all = None

    def evaluate(self, activation: Any) -> list[RuleResult]:
        if self._all is not None:
            verdicts = self._all.eval(activation).plain_value()
            if isinstance(verdicts, list) and all(
                verdict is True or verdict is False for verdict in verdicts
            ):
                return [rule.verdict(verdict) for rule, verdict in zip(self.rules, verdicts, strict=True)]
        return [rule.evaluate(activation) for rule in self.rules]
