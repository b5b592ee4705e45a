"""Curation rejects each kind of bad completion for the right reason and keeps the good ones."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from distillery.api.spec import CurationSpec, TaskSpec
from distillery.curate.judge import Verdict, parse_verdict
from distillery.curate.pipeline import curate_records

TASK = TaskSpec.model_validate(
    {
        "systemPrompt": "Answer with a JSON object.",
        "output": {
            "format": "json",
            "jsonSchema": {
                "type": "object",
                "required": ["answer"],
                "properties": {"answer": {"type": "string"}},
            },
            "rules": [{"name": "has-steps", "expression": "has(output.steps) && size(output.steps) >= 1"}],
        },
    }
)
LABEL_TASK = TaskSpec.model_validate(
    {"systemPrompt": "One word.", "output": {"format": "label", "labels": ["code", "docs", "hybrid", "skip"]}}
)


def record(rid: str, completion: Any, *, prompt: str | None = None, **extra: Any) -> dict[str, Any]:
    text = completion if isinstance(completion, str) or completion is None else json.dumps(completion)
    return {
        "id": rid,
        "prompt": prompt or f"Explain kubernetes deployment rollout number {rid}",
        "category": None,
        "expected": None,
        "completion": text,
        "model": "claude-haiku-4-5-20251001",
        "stop_reason": "end_turn",
        "status": "ok",
        "error": None,
    } | extra


def good(rid: str, words: str = "") -> dict[str, Any]:
    answer = f"The kubernetes deployment rollout {rid} replaces pods gradually {words}".strip()
    return record(rid, {"answer": answer, "steps": [f"step for {rid}"]})


def reasons_by_id(curated: Any) -> dict[str, list[str]]:
    return {line["id"]: line["reasons"] for line in curated.rejected}


def test_each_bad_completion_is_rejected_for_its_reason() -> None:
    records = [
        good("ok1", "while watching readiness probes"),
        record("failed", None, status="failed", error="HTTP 529"),
        record("empty", "   "),
        record("truncated", '{"answer": "The kubernetes deployment', stop_reason="max_tokens"),
        record("parse", "this is not json at all"),
        record("schema", {"steps": ["kubernetes deployment"]}),
        record("rule", {"answer": "kubernetes deployment rollout without any steps"}),
        good("uncertain", "but I'm not sure about it"),
        record("short", {"answer": "yes", "steps": ["x"]}),
        record("offtopic", {"answer": "bananas are yellow fruit", "steps": ["peel"]}),
        good("expected", "") | {"expected": {"answer": "something else"}},
    ]
    spec = CurationSpec.model_validate(
        {
            "filters": {"minWords": 5, "uncertaintyPhrases": ["I'm not sure"], "minKeywordOverlap": 0.2},
            "validationFraction": 0,
        }
    )
    curated = curate_records(records, TASK, spec)
    reasons = reasons_by_id(curated)
    assert reasons["failed"] == ["teacher-failed"]
    assert reasons["empty"] == ["empty"]
    assert "truncated" in reasons["truncated"] and "contract:parse" in reasons["truncated"]
    assert reasons["parse"][0] == "contract:parse"
    assert "contract:schema" in reasons["schema"]
    assert reasons["rule"] == ["contract:rule:has-steps"]
    assert reasons["uncertain"] == ["uncertain"]
    assert "too-short" in reasons["short"]
    assert "off-topic" in reasons["offtopic"]
    assert reasons["expected"] == ["expected-mismatch"]
    assert [example["id"] for example in curated.train] == ["ok1"]
    assert curated.summary["rejected_by_reason"]["contract:parse"] == 2
    assert curated.summary["kept"] == 1 and curated.summary["rejected"] == 10


def test_training_lines_use_the_students_system_prompt_and_repair_fenced_json() -> None:
    fenced = (
        "Here you go:\n```json\n" + json.dumps({"answer": "kubernetes deployment", "steps": ["a"]}) + "\n```"
    )
    curated = curate_records([record("fenced", fenced)], TASK, CurationSpec(validation_fraction=0))
    (line,) = curated.train
    assert [m["role"] for m in line["messages"]] == ["system", "user", "assistant"]
    assert line["messages"][0]["content"] == TASK.system_prompt
    assert json.loads(line["messages"][2]["content"]) == {"answer": "kubernetes deployment", "steps": ["a"]}
    assert curated.summary["repaired"] == 1


def test_exact_and_near_duplicates_are_removed_first_kept() -> None:
    long_text = " ".join(f"word{i}" for i in range(120))
    records = [
        record("a", {"answer": long_text, "steps": ["s"]}, prompt="same prompt"),
        record("b", {"answer": long_text, "steps": ["s"]}, prompt="same prompt"),
        record("c", {"answer": long_text + " extra", "steps": ["s"]}, prompt="another prompt"),
        record("d", {"answer": "completely different answer about something", "steps": ["t"]}),
    ]
    curated = curate_records(records, TASK, CurationSpec(validation_fraction=0))
    assert reasons_by_id(curated) == {"b": ["duplicate"], "c": ["near-duplicate"]}
    assert sorted(line["id"] for line in curated.train) == ["a", "d"]


def test_expected_label_match_seed_004() -> None:
    records = [
        record("right", "code", expected="code", category="code"),
        record("wrong", "docs", expected="code", category="code"),
        record("unknown", "maybe", expected="docs", category="docs"),
    ]
    curated = curate_records(records, LABEL_TASK, CurationSpec(validation_fraction=0, dedupe=False))
    reasons = reasons_by_id(curated)
    assert reasons["wrong"] == ["expected-mismatch"]
    assert "contract:label" in reasons["unknown"] and "expected-mismatch" in reasons["unknown"]
    assert [line["id"] for line in curated.train] == ["right"]


def test_split_is_deterministic_and_stratified() -> None:
    records = [
        record(
            f"{cat}{i}",
            {"answer": f"kubernetes deployment {cat} {i} unique words {i * 7}", "steps": ["s"]},
            category=cat,
        )
        for cat in ("code", "docs")
        for i in range(20)
    ]
    spec = CurationSpec(validation_fraction=0.1, seed=3, dedupe=False)
    first = curate_records(records, TASK, spec)
    second = curate_records(list(reversed(records)), TASK, spec)
    assert sorted(line["id"] for line in first.validation) == sorted(line["id"] for line in second.validation)
    categories = sorted(line["category"] for line in first.validation)
    assert categories == ["code", "code", "docs", "docs"]
    other_seed = curate_records(records, TASK, CurationSpec(validation_fraction=0.1, seed=4, dedupe=False))
    assert {line["id"] for line in other_seed.validation} != {line["id"] for line in first.validation}


def test_judge_scores_below_min_are_rejected() -> None:
    records = [good("high"), good("low", "and more"), good("broken", "and even more")]

    async def judge(items: list[tuple[str, str, str]]) -> tuple[dict[str, Verdict], dict[str, Any]]:
        scores = {"high": '{"score": 0.9, "reason": "fine"}', "low": '{"score": 0.2}', "broken": "no idea"}
        return {item_id: parse_verdict(scores[item_id]) for item_id, _, _ in items}, {"judged": len(items)}

    spec = CurationSpec.model_validate(
        {"judge": {"model": "claude-sonnet-4-6", "minScore": 0.75}, "validationFraction": 0}
    )
    curated = curate_records(records, TASK, spec, judge=judge)
    assert reasons_by_id(curated) == {"low": ["judge-below-min"], "broken": ["judge-error"]}
    assert curated.summary["judge"] == {"judged": 3}
    assert asyncio.iscoroutinefunction(judge)


def test_summary_has_seed_002_diversity_metrics() -> None:
    curated = curate_records(
        [good("a", "alpha beta"), good("b", "gamma delta epsilon")], TASK, CurationSpec()
    )
    diversity = curated.summary["diversity"]
    assert diversity["count"] == 2
    assert diversity["vocabulary_size"] > 0 and diversity["length_std_dev"] > 0
    assert 0 < diversity["top_bigram_frequency"] <= 1


def test_diversity_counts_exactly() -> None:
    from distillery.curate.diversity import diversity

    result = diversity(["a b a b", "b a", "c"])

    assert result == {
        "count": 3,
        "vocabulary_size": 3,
        "mean_vocab_size": 5 / 3,
        "mean_length_words": 7 / 3,
        "length_std_dev": pytest.approx(1.5275252),
        "top_bigram": "a b",
        "top_bigram_frequency": 2 / 4,
    }
