"""The scripted sinc teacher satisfies the seed-001 contract for any prompt, edge cases included."""

from __future__ import annotations

import json

import pytest

from distillery.contract import Contract
from distillery.contract.sinc import SINC_BANDS, sinc_output_spec
from distillery.fakes.scripted import EDGE_PROMPTS, sinc_scatter, varied_prompts

CONTRACT = Contract(sinc_output_spec())


@pytest.mark.parametrize(
    "prompt",
    [*EDGE_PROMPTS, "", "   ", "ünïcödé ✓", 'say "quoted" things. Twice!', *varied_prompts(400)[::37]],
)
def test_every_answer_passes_the_contract(prompt: str) -> None:
    answer = sinc_scatter(prompt)
    result = CONTRACT.check(answer, prompt=prompt)
    assert result.passed, result.failures
    bands = json.loads(answer)["fragments"]
    assert [b["t"] for b in bands] == SINC_BANDS


def test_answers_reuse_the_prompt_words() -> None:
    assert "Input: kubernetes." in sinc_scatter("kubernetes, explained to a beginner")
    assert "input" in sinc_scatter("???")
