"""The held-out set split by what an example's reference is (seed 002's real-data check).

- anchor-like: the example carries an expected output (`expected` in the held-out source): a
  human-verified answer, the kind of example `curation.anchors` mixes into training. Quality is
  exact match with it (accuracy).
- teacher-like: no expected output; the only references are the output contract and the
  teacher. Quality is the strict contract pass rate; agreement with the teacher is given too
  when the teacher was compared.

A student that scores well on teacher-like examples and poorly on anchor-like ones has learnt the
teacher's distribution rather than the real one: seed 002's warning sign of model collapse.
"""

from __future__ import annotations

from typing import Any

from distillery.contract import ContractResult
from distillery.evaluate import metrics as m
from distillery.evaluate.metrics import Answer


def _pick(values: list[Any], indices: list[int]) -> list[Any]:
    return [values[i] for i in indices]


def subset_scores(
    answers: dict[str, list[Answer]], results: dict[str, list[ContractResult]], expected: list[Any]
) -> dict[str, Any]:
    """report.json's "subsets": examples and per-model quality for anchor-like and teacher-like items."""
    anchor = [i for i, value in enumerate(expected) if value is not None]
    teacher_like = [i for i, value in enumerate(expected) if value is None]
    section: dict[str, Any] = {}
    for key, indices in (("anchor_like", anchor), ("teacher_like", teacher_like)):
        quality = {
            name: m.rate([m.correct(results[name][i], model_answers[i].text, expected[i]) for i in indices])
            for name, model_answers in answers.items()
        }
        section[key] = {"examples": len(indices), "quality": quality}
    if "teacher" in answers and teacher_like:
        teacher_answers = _pick(answers["teacher"], teacher_like)
        teacher_results = _pick(results["teacher"], teacher_like)
        section["teacher_like"]["teacher_agreement"] = {
            name: m.agreement(
                _pick(results[name], teacher_like),
                _pick(model_answers, teacher_like),
                teacher_results,
                teacher_answers,
            )
            for name, model_answers in answers.items()
            if name != "teacher"
        }
    return section


def subset_summary(section: dict[str, Any]) -> dict[str, Any]:
    """summary.json's subset keys."""
    return {
        "anchor_like_examples": section["anchor_like"]["examples"],
        "teacher_like_examples": section["teacher_like"]["examples"],
        "quality_anchor_like": section["anchor_like"]["quality"],
        "quality_teacher_like": section["teacher_like"]["quality"],
    }
