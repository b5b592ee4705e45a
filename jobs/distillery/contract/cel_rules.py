"""CEL rules: compiled once per contract with cel-python (`celpy`), evaluated per completion.

Variables: `output` (the parsed output: JSON value, text or label) and `input` (the prompt, "" when
unknown). Core CEL works as specified: size(), has(), all(), exists(), exists_one(), map(),
filter(), `in`, index access, startsWith/endsWith/contains, RE2 `matches`, int()/string()/double()
conversions, duration()/timestamp().

Known gaps of celpy 0.5 (write rules around them):
- The cel-go strings extension is not part of celpy; we add lowerAscii, upperAscii, trim, split,
  join, replace, indexOf and substring (see cel_extensions.py). charAt, format, quote, reverse and
  the math extension (math.greatest / min / max) are not available.
- No heterogeneous numeric equality: `1 == 1.0` is an error, not true. JSON numbers with a fraction
  part (even `3.0`) arrive as doubles, so compare them with doubles (`output.score >= 0.5`).
- Nested comprehensions are slow in celpy's interpreter (a 6x6 all() inside exists() costs ~25 ms);
  prefer index access (`output.fragments[3]`) where the position is part of the contract.
- Unknown functions and misspelt variables are only runtime errors in celpy; compile_rule checks
  them up front so a typo is a ContractError, not a rule that fails on every record.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, base_functions
from lark import Tree

from distillery.contract.cel_extensions import STRING_EXTENSIONS
from distillery.contract.results import RuleResult
from distillery.errors import ContractError

VARIABLES = frozenset({"output", "input"})
MACROS = frozenset({"has", "dyn", "all", "exists", "exists_one", "map", "filter"})
BINDING_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
TYPE_NAMES = frozenset({"bool", "bytes", "double", "duration", "int", "list", "map", "null_type", "string"})
TYPE_NAMES |= frozenset({"timestamp", "uint", "type", "google"})
KNOWN_FUNCTIONS = frozenset(name for name in base_functions if name.isidentifier()) | MACROS
KNOWN_FUNCTIONS |= frozenset(STRING_EXTENSIONS)
SHOWN_VALUE_CHARS = 80
CEL_TYPE_NAMES: dict[type, str] = {
    celtypes.BoolType: "bool",
    celtypes.IntType: "int",
    celtypes.UintType: "uint",
    celtypes.DoubleType: "double",
    celtypes.StringType: "string",
    celtypes.BytesType: "bytes",
    celtypes.ListType: "list",
    celtypes.MapType: "map",
    type(None): "null",
}


@lru_cache(maxsize=1)
def _environment() -> celpy.Environment:
    # Building the environment builds the lark parser (~0.15 s): once per process.
    return celpy.Environment()


def compile_rule(expression: str, *, name: str = "rule") -> None:
    """Raise ContractError (naming the rule) when `expression` is not a usable CEL rule."""
    _compile_program(name, expression)


def _compile_program(name: str, expression: str) -> tuple[Any, set[str]]:
    environment = _environment()
    try:
        ast = environment.compile(expression)
    except CELParseError as error:
        raise ContractError(f"rule '{name}': CEL syntax error {_where(error, expression)}") from error
    except Exception as error:  # lark raises its own errors for some malformed input
        raise ContractError(f"rule '{name}': CEL syntax error: {error}") from error
    variables = _check_names(name, ast)
    return environment.program(ast, functions=STRING_EXTENSIONS), variables


def _where(error: CELParseError, expression: str) -> str:
    line, column = error.line or 1, error.column or 1
    lines = expression.splitlines() or [""]
    source_line = lines[min(line, len(lines)) - 1]
    near = source_line[column - 1 : column + 19]
    return f"at line {line}, column {column} (near {near!r})" if near else f"at line {line}, column {column}"


def _check_names(rule_name: str, ast: Tree) -> set[str]:
    """Raise ContractError on unknown functions or variables; return the free variables used."""
    bound = set(VARIABLES)
    functions: list[str] = []
    idents: list[str] = []
    for node in ast.iter_subtrees():
        if node.data == "ident_arg":
            functions.append(str(node.children[0]))
        elif node.data == "member_dot_arg":
            method = str(node.children[1])
            functions.append(method)
            if method in BINDING_MACROS:
                bound.update(_bound_variable(node))
        elif node.data == "ident":
            idents.append(str(node.children[0]))
    unknown_functions = sorted({fn for fn in functions if fn not in KNOWN_FUNCTIONS})
    if unknown_functions:
        raise ContractError(
            f"rule '{rule_name}': unknown CEL function {', '.join(map(repr, unknown_functions))} "
            f"(celpy implements core CEL plus {', '.join(STRING_EXTENSIONS)})"
        )
    unknown_variables = sorted({ident for ident in idents if ident not in bound and ident not in TYPE_NAMES})
    if unknown_variables:
        raise ContractError(
            f"rule '{rule_name}': unknown variable {', '.join(map(repr, unknown_variables))} "
            "(rules see `output` and `input`)"
        )
    return {ident for ident in idents if ident in VARIABLES}


def _bound_variable(macro_call: Tree) -> list[str]:
    arguments = macro_call.children[2] if len(macro_call.children) > 2 else None
    if not isinstance(arguments, Tree) or not arguments.children:
        return []
    first = arguments.children[0]
    return [str(node.children[0]) for node in first.iter_subtrees() if node.data == "ident"][:1]


def cel_activation(value: Any, prompt: str | None) -> dict[str, Any]:
    """The variables a rule sees; raises ValueError when `value` cannot be a CEL value (int overflow)."""
    return {"output": celpy.json_to_cel(value), "input": celtypes.StringType(prompt or "")}


def describe_eval_error(error: CELEvalError) -> str:
    """celpy's (message, exception type, exception args) as one readable line."""
    args = error.args
    message = str(args[0]) if args else "unknown error"
    message = message.split(" (in activation", 1)[0]
    detail = args[2] if len(args) > 2 else None
    if isinstance(detail, tuple | list):
        detail = ", ".join(_plain(part) for part in detail)
    if detail and str(detail) not in message:
        message = f"{message}: {_plain(detail)}"
    return message


def _plain(part: Any) -> str:
    return part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[:SHOWN_VALUE_CHARS] + "..."


class CompiledRule:
    """One named rule, compiled at construction and evaluated many times."""

    def __init__(self, name: str, expression: str, message: str | None = None) -> None:
        self.name = name
        self.expression = expression
        self.message = message
        self._program, variables = _compile_program(name, expression)
        # Reads the prompt: its verdict depends on the input, so no single memorised answer passes it.
        self.reads_input = "input" in variables

    def evaluate(self, activation: dict[str, Any]) -> RuleResult:
        try:
            result = self._program.evaluate(activation)
        except CELEvalError as error:
            return self._failed(f"evaluation error: {describe_eval_error(error)}")
        except Exception as error:  # celpy lets some Python errors through (e.g. RecursionError)
            return self._failed(f"evaluation error: {type(error).__name__}: {error}")
        if isinstance(result, CELEvalError):
            return self._failed(f"evaluation error: {describe_eval_error(result)}")
        if not isinstance(result, bool | celtypes.BoolType):
            kind = CEL_TYPE_NAMES.get(type(result), type(result).__name__)
            return self._failed(f"returned {kind} {_shown(result)}, not a bool")
        if result:
            return RuleResult(self.name, True)
        return self._failed(self.message or f"expression is false: {self.expression}")

    def failed_without_evaluation(self, reason: str) -> RuleResult:
        return self._failed(reason)

    def _failed(self, message: str) -> RuleResult:
        return RuleResult(self.name, False, message)
