"""Reading completions as JSON (strict, tolerant, failed) and as text."""

from __future__ import annotations

import pytest

from distillery.api.spec import OutputRule, OutputSpec
from distillery.contract import Contract
from distillery.contract.parsing import parse_json


def test_strict_json_ignores_surrounding_whitespace() -> None:
    parsed = parse_json('\n  {"a": [1, 2]}  \n')

    assert (parsed.kind, parsed.value, parsed.error) == ("strict", {"a": [1, 2]}, None)


@pytest.mark.parametrize(
    ("completion", "value"),
    [
        ('Sure! Here it is: {"a": 1, "b": "}"} Hope that helps.', {"a": 1, "b": "}"}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ("```JSON\n[1, 2]\n```", [1, 2]),
        ('See [1] for details.\n{"a": {"b": [2]}}', {"a": {"b": [2]}}),
        ("Result:\n[1, 2, 3]\nDone.", [1, 2, 3]),
        ('```json\n{broken}\n```\nbut then {"a": 2}', {"a": 2}),
    ],
)
def test_tolerant_extraction(completion: str, value: object) -> None:
    parsed = parse_json(completion)

    assert parsed.kind == "tolerant"
    assert parsed.value == value
    assert parsed.error is not None and parsed.error.startswith("not JSON: ")


@pytest.mark.parametrize(
    ("completion", "error"),
    [
        ("", "not JSON: the completion is empty"),
        ("no json here", "not JSON: Expecting value at line 1 column 1"),
        ('{"a": 1,}', "not JSON: Expecting property name enclosed in double quotes at line 1 column 9"),
        ('{"a": NaN}', "not JSON: NaN is not valid JSON"),
    ],
)
def test_failed_parse_says_why(completion: str, error: str) -> None:
    parsed = parse_json(completion)

    assert parsed.kind == "failed"
    assert parsed.error is not None and parsed.error.startswith(error)


@pytest.mark.parametrize(
    "completion",
    ['{"fragments": [{"n": 0}, {"n": 1, "t": "CON', 'Here you go: {"a": {"b": 1}, "c": "}{"'],
)
def test_cut_off_json_fails_instead_of_passing_an_inner_object(completion: str) -> None:
    # A completion cut off by max_tokens: an inner {"n": 0} must not pass for the output.
    parsed = parse_json(completion)

    assert parsed.kind == "failed"
    assert parsed.error is not None
    assert parsed.error.endswith("the JSON is cut off (its brackets never close)")


def test_text_format_rule_on_size_of_output() -> None:
    spec = OutputSpec(
        format="text",
        rules=[OutputRule(name="short", expression="size(output) <= 20", message="at most 20 characters")],
    )
    contract = Contract(spec)

    short = contract.check("  A brief answer.  \n")
    long = contract.check("An answer that goes on and on and on.")

    assert (short.parse, short.value, short.passed) == ("strict", "A brief answer.", True)
    assert long.failures == ["rule:short"]
    assert long.rules[0].message == "at most 20 characters"


def test_json_format_without_schema_or_rules_only_parses() -> None:
    contract = Contract(OutputSpec(format="json"))

    assert contract.check("42").passed
    assert contract.check("forty-two").failures == ["parse"]
