"""The scripted sinc teacher: valid for any prompt, composed from input features, and a held-out split
whose teacher answers are mostly new (so agreement on them cannot come from memorising)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from distillery.api.spec import OutputRule, OutputSpec
from distillery.contract import Contract
from distillery.contract.sinc import SINC_BANDS, sinc_output_spec
from distillery.fakes.prompt_pool import ENDINGS, POOL_SIZE, TEMPLATES, combination, varied_prompts
from distillery.fakes.scripted import EDGE_PROMPTS, INPUT_RULES, sinc_scatter, split_prompts

BASE = sinc_output_spec()
CONTRACT = Contract(
    OutputSpec(
        format="json",
        json_schema=BASE.json_schema,
        rules=[*BASE.rules, *(OutputRule(**r) for r in INPUT_RULES)],
    )
)
ODD = ["", "   ", "ünïcödé ✓", 'say "quoted" things. Twice!', "a  b", "hi ! ", "why?"]


@pytest.mark.parametrize("prompt", [*EDGE_PROMPTS, *ODD, *varied_prompts(POOL_SIZE)[::29]])
def test_every_answer_passes_the_contract_and_the_input_rules(prompt: str) -> None:
    answer = sinc_scatter(prompt)
    result = CONTRACT.check(answer, prompt=prompt)
    assert result.passed, result.failures
    assert [b["t"] for b in json.loads(answer)["fragments"]] == SINC_BANDS


def _bands(prompt: str) -> list[str]:
    return [band["x"] for band in json.loads(sinc_scatter(prompt))["fragments"]]


def test_answers_are_composed_from_first_word_length_and_ending() -> None:
    fix, fix_asked, explain = _bands("fix nginx"), _bands("fix pandas?"), _bands("explain docker to me!")
    assert fix[0] == fix_asked[0] == "A senior engineer." != explain[0]  # PERSONA: the first word
    assert fix[5] == fix_asked[5] == "Fix the reported problem."  # TASK: the first word
    assert fix[2] == fix_asked[2] == "A few words." and explain[2] == "One sentence."  # DATA: the length
    assert fix[1] == "The user states a request." and fix_asked[1] == "The user asks a question."
    assert explain[1] == "The user is in a hurry."  # CONTEXT: the ending
    assert _bands("fix kubernetes") == fix  # the topic word plays no part beyond a first word
    assert _bands("kubernetes")[0] == "A subject expert." and _bands("zorblip")[0] == "A helpful assistant."


def test_the_input_rules_fail_a_memorised_answer() -> None:
    constant = sinc_scatter("fix kubernetes")
    prompts = ("fix pandas", "fix pandas?", "explain docker to a beginner")
    assert [CONTRACT.check(constant, prompt=p).failures for p in prompts] == [
        [],
        ["rule:context-matches-ending"],
        ["rule:data-states-input-size"],
    ]
    assert CONTRACT.input_rule_names == ["data-states-input-size", "context-matches-ending"]


def test_held_out_answers_are_new_combinations_of_trained_parts() -> None:
    train, held_out = split_prompts(300, 24)
    assert not set(train) & set(held_out)
    trained = {sinc_scatter(p) for p in train}
    assert sum(sinc_scatter(p) not in trained for p in held_out) / len(held_out) >= 0.5
    # Every part is trained: every template and every ending; held-out prompts span every template.
    shapes = {combination(i)[:2] for i in range(POOL_SIZE) if varied_prompts(1, offset=i)[0] in set(train)}
    assert {t for t, _ in shapes} == set(range(len(TEMPLATES))) and {e for _, e in shapes} == set(
        range(len(ENDINGS))
    )
    held = {combination(i)[0] for i in range(POOL_SIZE) if varied_prompts(1, offset=i)[0] in set(held_out)}
    assert held == set(range(len(TEMPLATES)))
    # One memorised answer repeated for every held-out prompt agrees with the teacher on few of them.
    assert Counter(map(sinc_scatter, held_out)).most_common(1)[0][1] / len(held_out) <= 0.15
