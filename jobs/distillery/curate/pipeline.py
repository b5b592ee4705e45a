"""Curation as a pure function of the teacher records: checks -> dedupe -> judge -> split.

Every record ends either in train / validation (in the chat `messages` format TRL trains on, with
the student's system prompt) or in rejected with all its reasons.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from distillery.api.spec import CurationSpec, TaskSpec
from distillery.contract import Contract, ContractResult
from distillery.curate.dedupe import exact_duplicates, near_duplicates
from distillery.curate.diversity import diversity
from distillery.curate.filters import (
    contract_reasons,
    heuristic_reasons,
    matches_expected,
    repaired_completion,
    teacher_reasons,
)
from distillery.curate.split import split

log = logging.getLogger("distillery.curate")

JudgeFn = Callable[[list[tuple[str, str, str]]], Coroutine[Any, Any, tuple[dict[str, Any], dict[str, Any]]]]


@dataclass
class Candidate:
    record: dict[str, Any]
    completion: str
    reasons: list[str] = field(default_factory=list)
    repaired: bool = False
    contract: ContractResult | None = None  # its report is written only for rejected records
    judge_score: float | None = None
    judge_reason: str | None = None


@dataclass
class Curated:
    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    summary: dict[str, Any]


def check_record(record: dict[str, Any], contract: Contract, spec: CurationSpec) -> Candidate:
    """All per-record reasons (contract, heuristics, expected output) at once."""
    reasons = teacher_reasons(record)
    completion = record.get("completion") or ""
    candidate = Candidate(record, completion, reasons)
    if "teacher-failed" in reasons or "empty" in reasons:
        return candidate
    prompt = record.get("prompt") or ""
    result = contract.check(completion, prompt=prompt)
    reasons += contract_reasons(result)
    candidate.completion = repaired_completion(result, completion)
    candidate.repaired = candidate.completion != completion
    reasons += heuristic_reasons(prompt, candidate.completion, spec.filters)
    expected = record.get("expected")
    if (
        spec.require_expected_match
        and expected is not None
        and not matches_expected(expected, completion, result)
    ):
        reasons.append("expected-mismatch")
    result.value = None  # the parsed output is not reported; at 100k records it is memory
    candidate.contract = result
    return candidate


def remove_duplicates(candidates: list[Candidate], spec: CurationSpec, output_format: str) -> None:
    pairs = [(c.record.get("prompt") or "", c.completion) for c in candidates]
    exact = exact_duplicates(pairs)
    for index in exact:
        candidates[index].reasons.append("duplicate")
    if output_format == "label":
        return
    near = near_duplicates([c.completion for c in candidates], spec.near_duplicate_threshold, skip=set(exact))
    for index in near:
        candidates[index].reasons.append("near-duplicate")


def example(candidate: Candidate, system_prompt: str) -> dict[str, Any]:
    record = candidate.record
    return {
        "id": record["id"],
        "category": record.get("category"),
        "messages": [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": record.get("prompt") or ""},
            {"role": "assistant", "content": candidate.completion},
        ],
    }


def rejected_line(candidate: Candidate) -> dict[str, Any]:
    return candidate.record | {
        "reasons": candidate.reasons,
        "contract": candidate.contract.to_dict() if candidate.contract is not None else None,
        "judge_score": candidate.judge_score,
        "judge_reason": candidate.judge_reason,
    }


def _judge(survivors: list[Candidate], spec: CurationSpec, judge: JudgeFn | None) -> dict[str, Any] | None:
    if spec.judge is None or judge is None or not survivors:
        return None
    items = [(c.record["id"], c.record.get("prompt") or "", c.completion) for c in survivors]
    verdicts, report = asyncio.run(judge(items))
    for candidate in survivors:
        verdict = verdicts.get(candidate.record["id"])
        candidate.judge_score = verdict.score if verdict else None
        candidate.judge_reason = verdict.reason if verdict else "not judged"
        if candidate.judge_score is None:
            candidate.reasons.append("judge-error")
        elif candidate.judge_score < spec.judge.min_score:
            candidate.reasons.append("judge-below-min")
    return report


def curate_records(
    records: list[dict[str, Any]], task: TaskSpec, spec: CurationSpec, *, judge: JudgeFn | None = None
) -> Curated:
    """Curate teacher records (teacher.jsonl) into train / validation / rejected and a summary."""
    contract = Contract(task.output)
    candidates = [check_record(record, contract, spec) for record in records]
    if spec.dedupe:
        passing = [c for c in candidates if not c.reasons]
        remove_duplicates(passing, spec, task.output.format)
    judge_report = _judge([c for c in candidates if not c.reasons], spec, judge)
    kept = [c for c in candidates if not c.reasons]
    rejected = [c for c in candidates if c.reasons]
    train_ids, validation_ids = split(
        [{"id": c.record["id"], "category": c.record.get("category")} for c in kept],
        fraction=spec.validation_fraction,
        seed=spec.seed,
    )
    by_id = {c.record["id"]: c for c in kept}
    train = [example(by_id[r["id"]], task.system_prompt) for r in train_ids]
    validation = [example(by_id[r["id"]], task.system_prompt) for r in validation_ids]
    by_reason = Counter(reason for c in rejected for reason in c.reasons)
    models = Counter(c.record.get("model") for c in kept if c.record.get("model"))
    summary = {
        "phase": "curate",
        "input": len(records),
        "kept": len(kept),
        "train": len(train),
        "validation": len(validation),
        "rejected": len(rejected),
        "repaired": sum(1 for c in kept if c.repaired),
        "rejected_by_reason": dict(by_reason.most_common()),
        "keep_rate": len(kept) / len(records) if records else 0.0,
        "diversity": diversity([c.completion for c in kept]),
        "teacher_models": dict(models),
        "judge": judge_report,
    }
    return Curated(train, validation, [rejected_line(c) for c in rejected], summary)
