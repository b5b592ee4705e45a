"""The optional judge in evaluation: one 0..1 score per model, the mean over held-out answers.

The same judge code as curation (seed 002's rubric scoring); a model that gave no answer to a
prompt scores 0 there, so a model cannot look better by failing to answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from statistics import fmean
from typing import Any

from distillery.api.spec import JudgeSpec
from distillery.evaluate.metrics import Answer
from distillery.prompts import Prompt

JudgeScores = tuple[dict[str, float | None], dict[str, Any]]
ModelJudge = Callable[[dict[str, list[Answer]], list[Prompt]], JudgeScores]


def judge_models(
    answers: dict[str, list[Answer]], held_out: list[Prompt], spec: JudgeSpec, *, api_key: str | None
) -> JudgeScores:
    """Mean judge score per model (None when the judge could read none of its verdicts) and stats."""
    from distillery.curate.judge import judge_all

    items = [
        (f"{name}/{prompt.id}", prompt.text, answer.text)
        for name, model_answers in answers.items()
        for answer, prompt in zip(model_answers, held_out, strict=True)
        if answer.text
    ]
    verdicts, stats = asyncio.run(judge_all(items, spec, api_key=api_key))
    scores: dict[str, float | None] = {}
    for name, model_answers in answers.items():
        per_prompt = [
            verdicts[f"{name}/{prompt.id}"].score if answer.text else 0.0
            for answer, prompt in zip(model_answers, held_out, strict=True)
        ]
        readable = [score for score in per_prompt if score is not None]
        scores[name] = round(fmean(readable), 4) if readable else None
    return scores, stats


def model_judge(spec: JudgeSpec, *, api_key: str | None) -> ModelJudge:
    """A judge bound to its spec and key, as evaluate_to_store takes it."""
    return lambda answers, held_out: judge_models(answers, held_out, spec, api_key=api_key)
