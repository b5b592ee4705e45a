"""Per-record checks: teacher status, output contract, seed 002's heuristics, expected output.

Each check returns rejection reasons (short, stable strings counted in the summary):
teacher-failed, empty, truncated, contract:<reason> (contract:parse, contract:schema,
contract:rule:<name>, contract:label...), uncertain, too-short, off-topic, expected-mismatch.
"""

from __future__ import annotations

import json
import re
from typing import Any

from distillery.api.spec import HeuristicFilters
from distillery.contract import ContractResult
from distillery.contract.expected import matches_expected as answer_matches

KEYWORD = re.compile(r"\b\w{5,}\b")


def teacher_reasons(record: dict[str, Any]) -> list[str]:
    if record.get("status") != "ok" or record.get("completion") is None:
        return ["teacher-failed"]
    reasons = []
    if not str(record["completion"]).strip():
        reasons.append("empty")
    if record.get("stop_reason") == "max_tokens":
        reasons.append("truncated")
    return reasons


def contract_reasons(result: ContractResult) -> list[str]:
    """Contract failures; a tolerant parse is not one here (the completion is repaired instead)."""
    return [f"contract:{reason}" for reason in result.failure_reasons(tolerant=True)]


def repaired_completion(result: ContractResult, completion: str) -> str:
    """The completion as the student should learn it: the clean output when it had to be dug out."""
    if result.parse != "tolerant":
        return completion
    if result.format == "label" and result.label is not None:
        return result.label
    if result.format == "json":
        return json.dumps(result.value, ensure_ascii=False)
    return completion


def keywords(text: str) -> set[str]:
    return set(KEYWORD.findall(text.lower()))


def keyword_overlap(prompt: str, completion: str) -> float | None:
    """Share of the prompt's long words found in the completion (None: the prompt has none)."""
    wanted = keywords(prompt)
    if not wanted:
        return None
    return len(wanted & keywords(completion)) / len(wanted)


def heuristic_reasons(prompt: str, completion: str, filters: HeuristicFilters) -> list[str]:
    """Seed 002's filters; each runs only when configured."""
    reasons = []
    lowered = completion.lower()
    if filters.uncertainty_phrases and any(p.lower() in lowered for p in filters.uncertainty_phrases):
        reasons.append("uncertain")
    if filters.min_words is not None and len(completion.split()) < filters.min_words:
        reasons.append("too-short")
    if filters.min_keyword_overlap is not None:
        overlap = keyword_overlap(prompt, completion)
        if overlap is not None and overlap < filters.min_keyword_overlap:
            reasons.append("off-topic")
    return reasons


def matches_expected(expected: Any, completion: str, result: ContractResult) -> bool:
    """Seed 004: the teacher's answer equals the prompt's expected output (distillery.contract.expected)."""
    return answer_matches(result, completion, expected)
