"""The scripted sinc teacher: valid for any prompt, composed from input features, and a held-out split
whose teacher answers are mostly new (so agreement on them cannot come from memorising)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from distillery.api.spec import OutputRule, OutputSpec
from distillery.contract import Contract
from distillery.contract.sinc import SINC_BANDS, sinc_output_spec
from distillery.fakes.prompt_pool import POOL_SIZE, SHAPES, TOPICS
from distillery.fakes.scripted import (
    DATA_SIZE_RULE,
    EDGE_PROMPTS,
    sinc_scatter,
    split_prompts,
    varied_prompts,
)

BASE = sinc_output_spec()
CONTRACT = Contract(
    OutputSpec(format="json", json_schema=BASE.json_schema, rules=[*BASE.rules, OutputRule(**DATA_SIZE_RULE)])
)


@pytest.mark.parametrize(
    "prompt",
    [
        *EDGE_PROMPTS,
        "",
        "   ",
        "ünïcödé ✓",
        'say "quoted" things. Twice!',
        "a  b",
        *varied_prompts(POOL_SIZE)[::23],
    ],
)
def test_every_answer_passes_the_contract_and_the_input_rule(prompt: str) -> None:
    answer = sinc_scatter(prompt)
    result = CONTRACT.check(answer, prompt=prompt)
    assert result.passed, result.failures
    assert [b["t"] for b in json.loads(answer)["fragments"]] == SINC_BANDS


def _bands(prompt: str) -> list[str]:
    return [band["x"] for band in json.loads(sinc_scatter(prompt))["fragments"]]


def test_answers_are_composed_from_intent_domain_and_length() -> None:
    fix_k8s, fix_pandas, explain_k8s = (
        _bands("fix kubernetes"),
        _bands("fix pandas"),
        _bands("explain kubernetes now"),
    )
    assert fix_k8s[0] == fix_pandas[0] != explain_k8s[0]  # PERSONA: from the verb
    assert fix_k8s[1] == explain_k8s[1] == "The request is about infrastructure operations."
    assert fix_pandas[1] == "The request is about data analysis."  # CONTEXT: from the topic's domain
    assert fix_k8s[2] == "A few words." and explain_k8s[2] == "One sentence."  # DATA: from the length
    assert _bands("zorblip")[1] == "The request is about an unclear subject."


def test_the_input_rule_fails_a_memorised_answer() -> None:
    constant = sinc_scatter("fix kubernetes")
    verdicts = [
        CONTRACT.check(constant, prompt=p).passed for p in ("fix pandas", "explain docker to a beginner")
    ]
    assert verdicts == [True, False]  # right size for two words, wrong for five
    assert CONTRACT.input_rule_names == ["data-states-input-size"]


def test_held_out_answers_are_new_combinations_of_trained_parts() -> None:
    train, held_out = split_prompts(300, 24)
    assert not set(train) & set(held_out)
    trained = {sinc_scatter(p) for p in train}
    novel = [p for p in held_out if sinc_scatter(p) not in trained]
    assert len(novel) / len(held_out) >= 0.5, len(novel)
    # Every part is trained: every topic is in training, and held-out prompts span every shape.
    assert all(any(topic in p.lower().replace("?", " ").split() for p in train) for topic in TOPICS)
    assert len({_shape(p) for p in held_out}) == len(SHAPES)
    # One memorised answer repeated for every held-out prompt agrees with the teacher rarely.
    assert Counter(map(sinc_scatter, held_out)).most_common(1)[0][1] / len(held_out) <= 0.2


def _shape(prompt: str) -> str:
    for index in range(POOL_SIZE):
        if varied_prompts(1, offset=index)[0] == prompt:
            return SHAPES[index % len(SHAPES)]
    raise AssertionError(prompt)
