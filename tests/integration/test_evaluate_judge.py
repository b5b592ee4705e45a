"""Evaluation's judge score per model, through the real SDK against the fake server."""

from __future__ import annotations

import json
from typing import Any

from distillery.api.spec import JudgeSpec
from distillery.evaluate.judging import judge_models
from distillery.evaluate.metrics import Answer
from distillery.fakes.anthropic_server import user_text
from distillery.prompts import Prompt, renumber


def strict_judge(body: dict[str, Any]) -> str:
    answer = user_text(body).split("Answer:\n", 1)[1].split("\n\nScore on:", 1)[0]
    return json.dumps({"score": 1.0 if answer.startswith("{") else 0.25, "reason": "json or not"})


def test_each_model_gets_the_mean_score_and_missing_answers_count_as_zero(make_fake_anthropic: Any) -> None:
    server = make_fake_anthropic(strict_judge)
    held_out = renumber(Prompt(id="", text=f"prompt {i}") for i in range(4))
    answers = {
        "student": [Answer('{"a": 1}'), Answer('{"b": 2}'), Answer("plain"), Answer(None)],
        "teacher": [Answer('{"a": 1}')] * 4,
    }
    spec = JudgeSpec(model="claude-sonnet-4-6", base_url=server.base_url)
    scores, stats = judge_models(answers, held_out, spec, api_key="judge-key")

    assert scores == {"student": round((1 + 1 + 0.25 + 0) / 4, 4), "teacher": 1.0}
    assert stats["judged"] == 7  # the missing answer is not sent
    assert sum(server.completions.values()) == 7
