"""Did the student learn the task or memorise an answer? Scores a memorised answer cannot reach.

- Agreement with the teacher next to the BEST CONSTANT ANSWER's agreement on the same held-out set
  (the most frequent teacher answer, i.e. what one memorised answer repeated for every prompt would
  score), and the margin between them. The same for accuracy when expected outputs are given.
- The NOVEL subset: held-out prompts whose teacher answer appears nowhere in the training data
  (train + validation targets); agreement there can only come from composing what was learnt.
- The pass rate of the input-dependent rules (rules whose expression reads `input`): a contract
  pass rate alone is prompt-blind, these rules are not.
Answers are compared as the contract reads them (label, parsed JSON value, or stripped text).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from distillery.contract import Contract, ContractResult
from distillery.evaluate import metrics as m
from distillery.evaluate.metrics import Answer


def answer_key(contract_format: str, text: str | None) -> str | None:
    """A canonical form of an answer for 'is this the same answer' (JSON re-serialised, text folded)."""
    if text is None:
        return None
    stripped = text.strip()
    if contract_format == "json":
        try:
            return json.dumps(json.loads(stripped), sort_keys=True, ensure_ascii=False)
        except json.JSONDecodeError:
            return stripped
    return stripped.casefold()


def agreement_flags(
    results: list[ContractResult],
    answers: list[Answer],
    teacher: list[ContractResult],
    teacher_answers: list[Answer],
) -> list[bool | None]:
    """Per prompt: does the model's output equal the teacher's (None where the teacher has no answer)."""
    return [
        None if ta.text is None else m.matches(r, a.text, m.output_of(t, ta.text))
        for r, a, t, ta in zip(results, answers, teacher, teacher_answers, strict=True)
    ]


def _rate(flags: list[bool | None], indices: list[int] | None = None) -> float | None:
    chosen = [flags[i] for i in (indices if indices is not None else range(len(flags)))]
    known = [flag for flag in chosen if flag is not None]
    return round(sum(known) / len(known), 6) if known else None


def _margin(model: float | None, baseline: float | None) -> float | None:
    return round(model - baseline, 6) if model is not None and baseline is not None else None


def best_constant(keys: list[str | None]) -> tuple[float | None, str | None]:
    """(share of the known targets equal to the most frequent one, that target)."""
    known = [key for key in keys if key is not None]
    if not known:
        return None, None
    key, count = Counter(known).most_common(1)[0]
    return round(count / len(known), 6), key


def input_rule_pass_rate(results: list[ContractResult], rule_names: list[str]) -> float | None:
    """Share of answers that pass every input-dependent rule (an unparsable answer fails them)."""
    if not rule_names or not results:
        return None
    wanted = set(rule_names)
    passed = [
        r.parse != "failed" and all(rule.passed for rule in r.rules if rule.name in wanted) and bool(r.rules)
        for r in results
    ]
    return round(sum(passed) / len(passed), 6)


def generalisation(
    contract: Contract,
    answers: dict[str, list[Answer]],
    results: dict[str, list[ContractResult]],
    expected: list[Any],
    *,
    train_targets: list[str] | None,
) -> dict[str, Any]:
    """Agreement, accuracy and input-rule scores per model next to the best constant answer's."""
    fmt = contract.format
    models = [name for name in answers if name != "teacher"]
    teacher = answers.get("teacher")
    report: dict[str, Any] = {
        "input_rules": contract.input_rule_names,
        "input_rule_pass_rate": {
            name: input_rule_pass_rate(results[name], contract.input_rule_names) for name in answers
        },
    }
    agreement: dict[str, list[bool | None]] = {}
    if teacher is not None:
        teacher_results = results["teacher"]
        agreement = {
            name: agreement_flags(results[name], answers[name], teacher_results, teacher) for name in models
        }
        teacher_keys = [answer_key(fmt, a.text) for a in teacher]
        constant, constant_answer = best_constant(teacher_keys)
        student = _rate(agreement["student"]) if "student" in agreement else None
        report |= {
            "teacher_agreement": {name: _rate(flags) for name, flags in agreement.items()},
            "best_constant_agreement": constant,
            "best_constant_answer": constant_answer,
            "agreement_margin": _margin(student, constant),
        }
        if train_targets is not None:
            seen = {answer_key(fmt, text) for text in train_targets}
            novel = [i for i, key in enumerate(teacher_keys) if key is not None and key not in seen]
            known = sum(key is not None for key in teacher_keys)
            report |= {
                "novel_held_out": len(novel),
                "novel_share": round(len(novel) / known, 6) if known else None,
                "novel_indices": novel,
                "teacher_agreement_novel": {name: _rate(flags, novel) for name, flags in agreement.items()},
            }
    with_expected = [i for i, value in enumerate(expected) if value is not None]
    if with_expected:
        labels = [_expected_key(fmt, expected[i]) for i in with_expected]
        constant, _ = best_constant(labels)
        accuracy = {
            name: _rate([m.matches(results[name][i], model[i].text, expected[i]) for i in with_expected])
            for name, model in answers.items()
        }
        report |= {
            "accuracy": accuracy,
            "best_constant_accuracy": constant,
            "accuracy_margin": _margin(accuracy.get("student"), constant),
        }
    return report


def _expected_key(contract_format: str, value: Any) -> str:
    if isinstance(value, str):
        return answer_key(contract_format, value) or ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
