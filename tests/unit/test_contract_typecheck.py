"""Contract rules are type-checked against the output's JSON Schema (or as strings for text/labels)."""

from __future__ import annotations

from typing import Any

import pytest

from distillery.contract import compile_rule
from distillery.contract.cel_rules import reads_variable
from distillery.contract.sinc import SINC_JSON_SCHEMA
from distillery.errors import ContractError

CLOSED = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "count": {"type": "integer"},
        "note": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "scores": {"type": "object", "additionalProperties": {"type": "integer"}},
        "extra": {"type": "object"},
    },
}


def check(expression: str, schema: dict[str, Any] | None = CLOSED, output_format: str = "json") -> None:
    compile_rule(expression, name="r", output_format=output_format, json_schema=schema)


@pytest.mark.parametrize(
    "expression,problem",
    [
        ("output.fragmnts.size() == 6", r"undefined field 'fragmnts' \(not a property of output\)"),
        (
            "output.fragments[0].txt == ''",
            r"undefined field 'txt' \(not a property of output.fragments\[\]\)",
        ),
        (
            "size(output.fragments) + 'a' == 1",
            r"no matching overload for '_\+_' applied to '\(int, string\)'",
        ),
        ("1 + 'a' == 2", r"no matching overload for '_\+_' applied to '\(int, string\)'"),
        ("frobnicate(output) == 1", r"undeclared reference to 'frobnicate' \(an unknown function"),
        ("output.fragments[0].n == 1.0", r"no matching overload for '_==_' applied to '\(int, double\)'"),
        ("output.T.size()", r"returns int, not a bool"),
    ],
)
def test_sinc_rule_mistakes_are_named(expression: str, problem: str) -> None:
    with pytest.raises(ContractError, match=r"rule 'r': .*" + problem):
        check(expression, SINC_JSON_SCHEMA)


@pytest.mark.parametrize(
    "expression",
    [
        "has(output.formula) && output.formula.startsWith('x')",
        "output.fragments.all(f, f.n >= 0 && f.t in ['TASK', 'DATA'])",
        "output.fragments[0].n > 0.5",  # int/double ordering: cel-go and the kube-apiserver accept it
        "output.score > 0",
        "output.note == null || output.note.size() > 3",
        "output.tags.exists(t, t.lowerAscii() == 'x')",
        "output.scores.all(k, output.scores[k] >= 0)",
        "output.extra.anything == 1",  # an open object is a map: any key may be there
    ],
)
def test_valid_rules_type_check(expression: str) -> None:
    check(expression, SINC_JSON_SCHEMA if "fragments" in expression or "formula" in expression else CLOSED)


def test_an_object_without_additional_properties_false_is_open() -> None:
    check("output.whatever == 'x'", {"type": "object", "properties": {"a": {"type": "string"}}})


def test_without_a_schema_output_is_dyn_but_functions_and_operators_are_still_checked() -> None:
    check("output.anything.goes == 1", schema=None)
    with pytest.raises(ContractError, match=r"no matching overload for '_\+_'"):
        check("1 + 'a' == output", schema=None)
    with pytest.raises(ContractError, match=r"undeclared reference to 'nope'"):
        check("nope(output)", schema=None)


def test_text_output_is_a_string() -> None:
    check("output.contains('```') && size(output) <= 12000", schema=None, output_format="text")
    with pytest.raises(ContractError, match=r"rule 'r': .*type 'string' cannot be the operand of a select"):
        check("output.title == 'x'", schema=None, output_format="text")


def test_wrong_typed_field_use() -> None:
    with pytest.raises(
        ContractError, match=r"no matching overload for 'startsWith' applied to '\(int, string\)'"
    ):
        check("output.count.startsWith('1')")
    with pytest.raises(ContractError, match=r"no matching overload for '_\+_' applied to '\(string, int\)'"):
        check("output.tags[0] + 1 == 'x'")


def test_awkward_property_names_and_shapes_still_type() -> None:
    closed = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "foo_bar": {"type": "string"},
            "fooBar": {"type": "string"},  # the same JSON name as foo_bar for protobuf
            "m": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}},
            "M": {"type": "object", "additionalProperties": {"type": "integer"}},
            "grid": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
            "maybe": {"type": ["object", "null"], "properties": {"a": {"type": "string"}}},
        },
    }
    for expression in (
        "output.foo_bar == output.fooBar",
        "output.m['k'].size() > 0 && output.M['k'] > 0",
        "output.grid[0][0] == 'x'",
        "output.maybe == null || output.maybe.a == 'x'",
    ):
        check(expression, closed)
    with pytest.raises(ContractError, match=r"undefined field 'nope' \(not a property of output\)"):
        check("output.nope == 1", closed)
    with pytest.raises(ContractError, match=r"no matching overload for '_\+_' applied to '\(string, int\)'"):
        check("output.fooBar + 1 == 2", closed)
    # a property name CEL cannot spell leaves the object open (a map): nothing is rejected for it
    dashed = {**closed, "properties": {**closed["properties"], "with-dash": {"type": "string"}}}
    check("output['with-dash'] == 'x' && output.anything == 1", dashed)


@pytest.mark.parametrize(
    ("expression", "reads"),
    [
        ("size(input) > 3", True),
        ('input.startsWith("a")', True),
        ("output.input == 1", False),
        ('"input" == output.x', False),
        ("output.x == 'a\\'input' // input", False),
        ("inputs == 1", False),
    ],
)
def test_which_rules_read_the_prompt(expression: str, reads: bool) -> None:
    assert reads_variable(expression, "input") is reads
