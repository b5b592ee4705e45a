"""Label format (seed 004's retrieval routing: code, docs, hybrid, skip)."""

from __future__ import annotations

import pytest

from distillery.api.spec import OutputRule, OutputSpec
from distillery.contract import Contract

ROUTING_LABELS = ["code", "docs", "hybrid", "skip"]


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(OutputSpec(format="label", labels=ROUTING_LABELS))


@pytest.mark.parametrize("completion", ["docs", "  docs\n"])
def test_exact_label_is_strict(contract: Contract, completion: str) -> None:
    result = contract.check(completion)

    assert (result.parse, result.label, result.passed) == ("strict", "docs", True)
    assert result.failures == []


@pytest.mark.parametrize(
    "completion",
    ["Docs", "DOCS.", "`docs`", "**docs**", "Label: docs.", "Mode: docs", "I would route this to docs."],
)
def test_tolerant_label(contract: Contract, completion: str) -> None:
    result = contract.check(completion)

    assert result.parse == "tolerant"
    assert result.label == "docs"
    assert not result.passed
    assert result.passed_tolerant
    assert result.failures == ["parse-tolerant"]


@pytest.mark.parametrize(
    ("completion", "error"),
    [
        ("retrieval", "'retrieval' is not one of the labels: code, docs, hybrid, skip"),
        ("", "empty answer; expected one of: code, docs, hybrid, skip"),
        ("code or docs", "'code or docs' names several labels (code, docs)"),
        ("documentation", "'documentation' is not one of the labels: code, docs, hybrid, skip"),
        (
            "This question is mostly about the docs but one could argue that code matters too, so it depends",
            "is too long for a label; expected one of: code, docs, hybrid, skip",
        ),
    ],
)
def test_unknown_label_names_it_and_the_allowed_ones(contract: Contract, completion: str, error: str) -> None:
    result = contract.check(completion)

    assert result.label is None
    assert result.parse == "failed"
    assert result.parse_error is not None and error in result.parse_error
    assert result.failures == ["label"]
    assert not result.passed_tolerant


def test_hyphenated_labels_match_whole_words_only() -> None:
    contract = Contract(OutputSpec(format="label", labels=["relevant", "not-relevant"]))

    assert contract.check("Answer: not-relevant").label == "not-relevant"
    assert contract.check("relevant").parse == "strict"


def test_rules_see_the_canonical_label_and_the_prompt() -> None:
    spec = OutputSpec(
        format="label",
        labels=ROUTING_LABELS,
        rules=[
            OutputRule(
                name="no-skip-for-code-questions",
                expression="!(input.contains('function') && output == 'skip')",
            )
        ],
    )
    contract = Contract(spec)

    assert contract.check("Skip.", prompt="What does function foo do?").failures == [
        "parse-tolerant",
        "rule:no-skip-for-code-questions",
    ]
    assert contract.check("skip", prompt="What is the capital of France?").passed
