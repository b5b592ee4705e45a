"""Prompt sources and expansion: seed 003's 32 x 6 modifiers -> 104, stable ids, every source kind."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from distillery.api.spec import PromptSource, PromptsSpec
from distillery.errors import PromptSourceError
from distillery.prompts import CONFIGMAP_ROOT_ENV, load_source, parse_select, resolve_prompts

SEED_003_MODIFIERS = [
    {"text": "Add comprehensive error handling.", "select": "0-15"},
    {"text": "Include unit tests using pytest.", "select": "0-15"},
    {"text": "Analyze the time and space complexity.", "select": "0-7"},
    {"text": "Implement an alternative approach.", "select": "0-7, 20-23"},
    {"text": "Walk through your reasoning step by step.", "select": "8-19"},
    {"text": "Make this production-ready.", "select": "8-15"},
]


def spec(sources: list[dict], **expand: object) -> PromptsSpec:
    return PromptsSpec.model_validate({"sources": sources, "expand": expand})


def test_seed_003_expansion_gives_104_unique_prompts_with_stable_ids() -> None:
    base = [f"Write a Python function number {i}." for i in range(32)]
    prompts = resolve_prompts(spec([{"inline": base}], modifiers=SEED_003_MODIFIERS))
    assert len(prompts) == 104
    assert len({p.id for p in prompts}) == 104
    assert [p.index for p in prompts] == list(range(104))
    assert prompts[32].text == f"{base[0]}\n\nAdd comprehensive error handling."
    assert prompts[-1].text.startswith(base[15]) and prompts[-1].text.endswith("production-ready.")
    again = resolve_prompts(spec([{"inline": base}], modifiers=SEED_003_MODIFIERS))
    assert [p.id for p in again] == [p.id for p in prompts]


def test_dedupe_and_samples() -> None:
    prompts = resolve_prompts(spec([{"inline": ["hi", "hi ", "asdf"]}], samplesPerPrompt=3))
    assert [p.text for p in prompts] == ["hi"] * 3 + ["asdf"] * 3
    assert [p.sample for p in prompts] == [0, 1, 2, 0, 1, 2]
    assert len({p.id for p in prompts}) == 6
    kept = resolve_prompts(spec([{"inline": ["hi", "hi"]}], dedupe=False))
    assert len(kept) == 2 and kept[0].id != kept[1].id


def test_select_out_of_range_names_the_modifier() -> None:
    with pytest.raises(
        PromptSourceError,
        match=r"modifiers\[0\]\.select: index 2 is out of range \(there are 2 base prompts, indices 0-1\)",
    ):
        resolve_prompts(spec([{"inline": ["a", "b"]}], modifiers=[{"text": "x", "select": "0-15"}]))
    assert parse_select("0-2, 5", 6, where="w") == [0, 1, 2, 5]


def test_jsonl_uri_source_keeps_category_and_expected(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    lines = [
        {"prompt": "Where is the retry logic?", "category": "code", "expected": "code"},
        {"prompt": "hi"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    prompts = load_source(PromptSource(uri=f"file://{path}"))
    assert [(p.text, p.category, p.expected) for p in prompts] == [
        ("Where is the retry logic?", "code", "code"),
        ("hi", None, None),
    ]


def test_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "ok"}\n{"text": "no prompt field"}\n')
    with pytest.raises(PromptSourceError, match="line 2: 'prompt' must be a string"):
        load_source(PromptSource(uri=f"file://{path}"))
    with pytest.raises(PromptSourceError, match="no such object"):
        load_source(PromptSource(uri=f"file://{tmp_path}/missing.jsonl"))


def test_configmap_source_reads_the_mounted_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "lines.txt").write_text("first prompt\n\nsecond prompt\n")
    monkeypatch.setenv(CONFIGMAP_ROOT_ENV, str(tmp_path))
    prompts = load_source(PromptSource.model_validate({"configMap": {"name": "prompts", "key": "lines.txt"}}))
    assert [p.text for p in prompts] == ["first prompt", "second prompt"]


def test_dataset_csv_source_with_columns_and_limit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "questions.csv"
    path.write_text("question,kind,label\nWhy is it slow?,code,code\nWhat is the policy?,docs,docs\nx,y,z\n")
    source = PromptSource.model_validate(
        {
            "dataset": {
                "path": str(path),
                "promptColumn": "question",
                "categoryColumn": "kind",
                "expectedColumn": "label",
                "limit": 2,
            }
        }
    )
    with caplog.at_level(logging.WARNING):
        prompts = load_source(source)
    assert [(p.text, p.category, p.expected) for p in prompts] == [
        ("Why is it slow?", "code", "code"),
        ("What is the policy?", "docs", "docs"),
    ]
    wrong = PromptSource.model_validate({"dataset": {"path": str(path), "promptColumn": "prompt"}})
    with pytest.raises(PromptSourceError, match="no column 'prompt'"):
        load_source(wrong)
