"""Compiling CEL with Google's cel-cpp (`cel-expr-python`): parse, type-check, readable errors.

`TypedScope` declares variables, some typed from a schema (see cel_types), and compiles an
expression in it; a problem is a `CelCheckError` whose message names the line, column and what is
wrong ("undefined field 'fragmnts' (not a property of output)", "found no matching overload for
'_+_' applied to '(int, string)'").

cel-cpp's checker has no cross-type numeric ordering (`double > int`), which cel-go and the
kube-apiserver accept and cel-cpp's runtime evaluates: an expression whose only problems are such
comparisons is checked again with the schema's numbers typed dyn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_math, ext_strings

from distillery.contract.cel_types import Kind, SchemaTypes

_ERROR_LINE = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_UNDEFINED_FIELD = re.compile(r"undefined field '(\w+)' not found in struct '([\w.]+)'")
_CROSS_NUMERIC = re.compile(
    r"no matching overload for '_(?:<|<=|>|>=)_' applied to '\((int|uint|double), (int|uint|double)\)'"
)
KindsFn = Callable[[SchemaTypes], Mapping[str, Kind]]


class CelCheckError(ValueError):
    """An expression that does not compile or type-check; `problems` are its readable messages."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def extensions(*, kubernetes: bool = False) -> list[cel.CelExtensionBase]:
    """The libraries beyond core CEL: cel-go's strings extension (Kubernetes has it), and math for rules."""
    return [ext_strings.ExtStrings()] if kubernetes else [ext_strings.ExtStrings(), ext_math.ExtMath()]


def new_env(
    variables: Mapping[str, cel.Type],
    pool: Any = None,
    extra: list[cel.CelExtensionBase] | None = None,
    *,
    kubernetes: bool = False,
) -> cel.Env:
    libraries = extensions(kubernetes=kubernetes) + (extra or [])
    return cel.NewEnv(pool, variables=dict(variables), extensions=libraries)


class TypedScope:
    """Variables typed by `kinds(types)`; compiles expressions, retrying lenient on int/double mixes.

    `structural=True` is the kube-apiserver's view: structural OpenAPI types, strings extension only.
    """

    def __init__(self, kinds: KindsFn, *, structural: bool) -> None:
        self._strict = _Scope(kinds, SchemaTypes(structural=structural))
        self._kinds = kinds
        self._structural = structural
        self._lenient: _Scope | None = None

    def check(self, expression: str) -> cel.Type:
        """The expression's result type; CelCheckError when it does not parse or type-check."""
        try:
            return self._strict.check(expression)
        except CelCheckError as error:
            if not all(_CROSS_NUMERIC.search(problem) for problem in error.problems):
                raise
            if self._lenient is None:
                self._lenient = _Scope(
                    self._kinds, SchemaTypes(structural=self._structural, numbers_dyn=True)
                )
            return self._lenient.check(expression)


class _Scope:
    def __init__(self, kinds: KindsFn, types: SchemaTypes) -> None:
        declared = kinds(types)
        self.types = types
        variables = {name: kind.cel_type() for name, kind in declared.items()}
        self.env = new_env(variables, types.pool(), kubernetes=types.structural)

    def check(self, expression: str) -> cel.Type:
        return compile_checked(self.env, expression, self.types.readable).return_type()


def compile_checked(env: cel.Env, expression: str, readable: Mapping[str, str] | None = None) -> Any:
    """`env.compile(expression)` with cel-cpp's status text turned into readable problems."""
    try:
        return env.compile(expression)
    except RuntimeError as error:
        raise CelCheckError(readable_problems(str(error), expression, readable or {})) from error


def readable_problems(status: str, expression: str, readable: Mapping[str, str]) -> list[str]:
    """'line 1, column 7: undefined field ...' for each ERROR in a cel-cpp status message."""
    problems = []
    lines = expression.splitlines() or [""]
    for match in _ERROR_LINE.finditer(status):
        line, column, message = int(match.group(1)), int(match.group(2)), match.group(3)
        message = message.replace(" (in container '')", "").removesuffix(" [INVALID_ARGUMENT]")
        message = _UNDEFINED_FIELD.sub(
            lambda found: (
                f"undefined field '{found.group(1)}' (not a property of "
                f"{readable.get(found.group(2), found.group(2))})"
            ),
            message,
        )
        if message.startswith("undeclared reference to"):
            message += " (an unknown function or variable)"
        source = lines[min(line, len(lines)) - 1]
        near = source[max(column - 1, 0) : column + 19]
        where = f"line {line}, column {column}" + (f" (near {near!r})" if near else "")
        if message.startswith("Syntax error: "):
            problems.append(f"CEL syntax error at {where}: {message.removeprefix('Syntax error: ')}")
        else:
            problems.append(f"at {where}: {message}")
    return problems or [status.strip()]


def type_name(kind: cel.Type) -> str:
    """'bool', 'int', 'list(dyn)'... as CEL writes types."""
    return kind.name().lower().replace("<", "(").replace(">", ")")


def returns_bool(kind: cel.Type) -> bool:
    """Whether a result of this static type can be a bool (bool, its wrapper, or dyn)."""
    return type_name(kind) in ("bool", "dyn", "google.protobuf.boolvalue", "wrapper(bool)")
