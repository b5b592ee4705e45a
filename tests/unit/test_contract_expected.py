"""One definition of "the answer matches the expected output", used by curation and evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from distillery.api.spec import OutputSpec
from distillery.contract import Contract
from distillery.contract.expected import canonical
from distillery.curate.filters import matches_expected as curation_matches
from distillery.evaluate.metrics import matches as evaluation_matches

CONTRACTS = {
    "label": Contract(OutputSpec(format="label", labels=["code", "docs"])),
    "json": Contract(OutputSpec(format="json")),
    "text": Contract(OutputSpec(format="text")),
}

# (format, completion, expected, matches): the definition, pinned.
CASES: list[tuple[str, str, Any, bool]] = [
    ("label", "code", "code", True),
    ("label", "Code.", "CODE", True),  # tolerant label, case folded
    ("label", "docs", "code", False),
    ("label", "maybe", "maybe", False),  # no label found: never a match
    ("json", '{"a": 1, "b": [1, 2]}', {"b": [1, 2], "a": 1}, True),
    ("json", '{"a": 1}', '{"a": 1.0}', True),  # expected given as JSON text; 1 and 1.0 are one number
    ("json", '{"a": true}', {"a": 1}, False),  # true is not 1
    ("json", '{"a": "X"}', {"a": "x"}, False),  # strings inside JSON compare exactly
    ("json", 'Sure: {"a": 1}', {"a": 1}, True),  # a tolerant parse is the answer
    ("json", '"Yes"', "yes", True),  # a JSON string answer compares as text
    ("json", "not json at all", "Not  JSON at all", True),  # no JSON: the text is the answer
    ("json", "{oops", {"a": 1}, False),
    ("text", "  Paris\n", "paris", True),  # whitespace collapsed, case folded
    ("text", "the  answer is\n42", "The answer is 42", True),
    ("text", "42", 42, True),
    ("text", "Paris", None, False),  # no expected output: no match
]


@pytest.mark.parametrize("output_format,completion,expected,match", CASES)
def test_curation_and_evaluation_share_one_definition(
    output_format: str, completion: str, expected: Any, match: bool
) -> None:
    result = CONTRACTS[output_format].check(completion)
    assert curation_matches(expected, completion, result) is match
    assert evaluation_matches(result, completion, expected) is match


def test_canonical_forms() -> None:
    assert canonical("  A\tB  ") == "a b"
    assert canonical({"b": 2.0, "a": [1.5, True]}) == '{"a": [1.5, true], "b": 2}'
