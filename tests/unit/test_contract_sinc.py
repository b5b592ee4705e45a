"""The seed-001 sinc JSON contract: the seed's valid "???" example and each invariant broken once."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from distillery.contract import Contract
from distillery.contract.sinc import SINC_BANDS, SINC_FORMULA, sinc_output_spec

# Seed 001, "Edge cases": Haiku's answer to the prompt "???" (data, copied verbatim).
SEED_QUESTION_MARKS = """{
  "formula": "x(t) = Σ x(nT) · sinc((t − nT) / T)",
  "T": "specification-axis",
  "fragments": [
    {"n": 0, "t": "PERSONA", "x": "A clarification-seeking assistant prepared to resolve ambiguity before proceeding."},
    {"n": 1, "t": "CONTEXT", "x": "The user has submitted a non-linguistic input consisting only of question marks, indicating confusion, a request for clarification, or a test of the system boundary."},
    {"n": 2, "t": "DATA",    "x": "Input received: '???'. No additional context. No prior conversation history."},
    {"n": 3, "t": "CONSTRAINTS", "x": "Do not invent intent where none is present. Do not assume the user wants any specific action. The response must acknowledge the ambiguity explicitly. Do not ask multiple clarifying questions at once — ask the single most useful one. Do not produce a complex or lengthy response. Do not fail silently or produce an empty output. The system must handle this gracefully and return a useful response regardless of input quality."},
    {"n": 4, "t": "FORMAT",  "x": "A single short question or prompt to the user requesting clarification."},
    {"n": 5, "t": "TASK",    "x": "Ask the user what they need help with."}
  ]
}"""  # noqa: E501


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(sinc_output_spec())


def seed_value() -> dict[str, Any]:
    return json.loads(SEED_QUESTION_MARKS)


def broken(change) -> str:
    value = copy.deepcopy(seed_value())
    change(value)
    return json.dumps(value, ensure_ascii=False)


def test_seed_example_passes_every_invariant(contract: Contract) -> None:
    result = contract.check(SEED_QUESTION_MARKS, prompt="???")

    assert result.parse == "strict"
    assert result.passed and result.passed_tolerant
    assert result.failures == []
    assert result.schema_errors == []
    assert [rule.name for rule in result.rules] == [
        "six-bands",
        "band-order",
        "constraints-longest",
        "task-one-sentence",
        "has-formula",
    ]
    assert all(rule.passed and rule.message is None for rule in result.rules)
    assert result.value["fragments"][5]["x"] == "Ask the user what they need help with."


def test_missing_formula_is_the_seed_failure(contract: Contract) -> None:
    result = contract.check(broken(lambda v: v.pop("formula")))

    assert result.parse == "strict"
    assert result.failures == ["rule:has-formula"]
    assert SINC_FORMULA in next(rule.message for rule in result.rules if not rule.passed)


def test_wrong_formula_fails_has_formula(contract: Contract) -> None:
    result = contract.check(broken(lambda v: v.update(formula="x(t) = sinc(t)")))

    assert result.failures == ["rule:has-formula"]


def test_bands_out_of_order(contract: Contract) -> None:
    def swap_context_and_data(value: dict[str, Any]) -> None:
        fragments = value["fragments"]
        fragments[1], fragments[2] = fragments[2], fragments[1]

    result = contract.check(broken(swap_context_and_data))

    assert result.failures == ["rule:band-order"]
    assert not result.passed_tolerant


def test_five_bands(contract: Contract) -> None:
    result = contract.check(broken(lambda v: v["fragments"].pop(4)))

    assert result.failures == ["rule:six-bands", "rule:band-order"]
    assert result.schema_errors == []


def test_constraints_not_the_longest(contract: Contract) -> None:
    def long_context(value: dict[str, Any]) -> None:
        value["fragments"][1]["x"] = value["fragments"][3]["x"] + " And more context."

    result = contract.check(broken(long_context))

    assert result.failures == ["rule:constraints-longest"]


def test_constraints_as_long_as_another_band_is_not_longest(contract: Contract) -> None:
    # "must exceed" every other band: a tie fails.
    result = contract.check(broken(lambda v: v["fragments"][0].update(x=v["fragments"][3]["x"])))

    assert result.failures == ["rule:constraints-longest"]


@pytest.mark.parametrize(
    "task",
    [
        "Ask the user what they need help with. Then wait for an answer.",
        "Ask the user what they need help with!  Be kind.",
        "Ask the user what they need help with.\nBe kind",
        "Ask what they need? Offer examples.",
        "   ",
    ],
)
def test_task_of_more_than_one_sentence(contract: Contract, task: str) -> None:
    result = contract.check(broken(lambda v: v["fragments"][5].update(x=task)))

    assert result.failures == ["rule:task-one-sentence"]
    failed_rule = next(rule for rule in result.rules if not rule.passed)
    assert failed_rule.message is not None and failed_rule.message.startswith("TASK must be exactly one")


@pytest.mark.parametrize(
    "task",
    [
        "Fix the off-by-one error on line 3 of main.py.",
        "Rate the answer from 1.5 to 4.5 stars",
        "Ask the user what they need help with?",
        "Summarise the input (about 3 sentences).",
    ],
)
def test_task_of_one_sentence_with_inner_dots(contract: Contract, task: str) -> None:
    result = contract.check(broken(lambda v: v["fragments"][5].update(x=task)))

    assert result.passed, result.failures


def test_not_json_at_all(contract: Contract) -> None:
    result = contract.check("I cannot decompose this prompt, sorry.")

    assert result.parse == "failed"
    assert result.parse_error is not None
    assert result.parse_error.startswith("not JSON: Expecting value at line 1 column 1")
    assert result.failures == ["parse"]
    assert result.rules == [] and result.schema_errors == []
    assert not result.passed_tolerant


def test_json_in_a_code_fence_is_tolerant_not_strict(contract: Contract) -> None:
    completion = f"Here is the sinc JSON:\n```json\n{SEED_QUESTION_MARKS}\n```\nLet me know if you need more."

    result = contract.check(completion)

    assert result.parse == "tolerant"
    assert result.value == seed_value()
    assert not result.passed
    assert result.passed_tolerant
    assert result.failures == ["parse-tolerant"]
    assert result.failure_reasons(tolerant=True) == []


def test_schema_errors_name_their_json_path(contract: Contract) -> None:
    def bad_band_name(value: dict[str, Any]) -> None:
        value["fragments"][2]["t"] = "X"
        value["T"] = "time"

    result = contract.check(broken(bad_band_name))

    assert result.schema_errors == [
        "$.T: 'specification-axis' was expected",
        f"$.fragments[2].t: 'X' is not one of {SINC_BANDS}",
    ]
    assert result.failures == ["schema", "rule:band-order"]


def test_rules_still_run_when_the_schema_fails(contract: Contract) -> None:
    result = contract.check(broken(lambda v: v.update(extra=1, fragments=v["fragments"][:5])))

    assert result.schema_errors == ["$: Additional properties are not allowed ('extra' was unexpected)"]
    assert result.failures == ["schema", "rule:six-bands", "rule:band-order", "rule:task-one-sentence"]


def test_to_dict_is_a_json_report_line(contract: Contract) -> None:
    result = contract.check(broken(lambda v: v.pop("formula")))

    record = json.loads(json.dumps(result.to_dict()))

    assert record["parse"] == "strict"
    assert record["passed"] is False and record["passed_tolerant"] is False
    assert record["failures"] == ["rule:has-formula"]
    assert {"name": "six-bands", "passed": True, "message": None} in record["rules"]
    assert "value" not in record
    assert result.to_dict(include_value=True)["value"]["T"] == "specification-axis"
