"""Declarative repairs (spec.task.output.repairs): the pure function serving teams apply per output."""

from __future__ import annotations

import json

import pytest

from distillery.api.spec import OutputSpec
from distillery.contract import Contract, Repairs, apply_repairs
from distillery.contract.sinc import SINC_FORMULA, SINC_JSON_SCHEMA, SINC_RULES
from distillery.errors import ContractError
from distillery.fakes.scripted import sinc_scatter

ADD_FORMULA = {
    "name": "add-formula",
    "when": "!has(output.formula)",
    "set": {"path": "formula", "value": SINC_FORMULA},
}


def sinc_spec(*repairs: dict) -> OutputSpec:
    return OutputSpec(format="json", json_schema=SINC_JSON_SCHEMA, rules=SINC_RULES, repairs=list(repairs))


def without_formula(prompt: str) -> str:
    document = json.loads(sinc_scatter(prompt))
    del document["formula"]
    return json.dumps(document, ensure_ascii=False)


def test_seed_001_missing_formula_is_repaired_and_then_passes() -> None:
    spec = sinc_spec(ADD_FORMULA)
    contract = Contract(spec)
    broken = without_formula("???")
    assert contract.check(broken).failures == ["rule:has-formula"]

    repaired = apply_repairs(spec, broken, prompt="???")

    assert repaired.applied == ("add-formula",)
    assert json.loads(repaired.text)["formula"] == SINC_FORMULA
    assert json.loads(repaired.text)["fragments"] == json.loads(broken)["fragments"]
    assert contract.check(repaired.text).passed


def test_an_output_no_repair_changes_comes_back_byte_for_byte() -> None:
    spec = sinc_spec(ADD_FORMULA)
    good = sinc_scatter("fix nginx") + "\n"
    assert apply_repairs(spec, good).text == good
    assert apply_repairs(spec, good).applied == ()
    assert apply_repairs(spec, "not json at all").text == "not json at all"


def test_a_repaired_fenced_output_is_reserialised_as_plain_json() -> None:
    fenced = f"Here you go:\n```json\n{without_formula('hi')}\n```"
    repaired = apply_repairs(sinc_spec(ADD_FORMULA), fenced)
    assert repaired.applied == ("add-formula",)
    assert json.loads(repaired.text)["formula"] == SINC_FORMULA  # the whole text is the JSON now


def test_repairs_run_in_order_each_seeing_the_previous_result() -> None:
    spec = OutputSpec(
        format="json",
        repairs=[
            {
                "name": "default-version",
                "when": "!has(output.meta)",
                "set": {"path": "meta.version", "value": 2},
            },
            {"name": "drop-debug", "when": "output.meta.version == 2", "remove": {"path": "debug"}},
            {"name": "tag-long", "when": "size(input) > 100", "set": {"path": "long", "value": True}},
        ],
    )
    repairs = Repairs(spec)
    repaired = repairs.apply('{"answer": 1, "debug": "x"}', "short prompt")
    assert repaired.applied == ("default-version", "drop-debug")
    assert json.loads(repaired.text) == {"answer": 1, "meta": {"version": 2}}
    # A condition that errors at run time (output.meta.version missing) changes nothing.
    assert repairs.apply('{"meta": {}}', "p").applied == ()
    assert repairs.apply("x" * 101, "p").applied == ()  # not JSON: left alone


def test_a_repair_applies_only_when_it_changes_the_output() -> None:
    spec = OutputSpec(repairs=[{"name": "set-a", "when": "true", "set": {"path": "a.b", "value": 1}}])
    assert apply_repairs(spec, '{"a": {"b": 1}}').applied == ()  # already so
    assert apply_repairs(spec, '{"a": "flat"}').applied == ()  # the path runs through a string
    assert apply_repairs(spec, "[1, 2]").applied == ()  # not an object
    assert apply_repairs(spec, "{}").text == '{"a": {"b": 1}}'


def test_a_bad_condition_names_the_repair_and_the_field() -> None:
    with pytest.raises(ContractError, match=r"repair 'add-formula': .*undefined field 'formla'"):
        Repairs(sinc_spec(ADD_FORMULA | {"when": "!has(output.formla)"}))
    with pytest.raises(ContractError, match=r"repair 'add-formula': returns string, not a bool"):
        Repairs(sinc_spec(ADD_FORMULA | {"when": "output.T"}))


def test_repairs_need_json_output_one_action_and_unique_names() -> None:
    with pytest.raises(ValueError, match="repairs: only allowed with format 'json'"):
        OutputSpec(format="text", repairs=[{"name": "x", "when": "true", "remove": {"path": "a"}}])
    with pytest.raises(ValueError, match="exactly one of set or remove"):
        OutputSpec(repairs=[{"name": "x", "when": "true"}])
    with pytest.raises(ValueError, match="names must be unique"):
        OutputSpec(repairs=[ADD_FORMULA, ADD_FORMULA])
