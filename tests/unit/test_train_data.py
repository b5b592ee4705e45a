"""Training data preparation: assistant-only labels, loud length checks, record validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillery.api.spec import StudentSpec
from distillery.errors import TrainingError
from distillery.fakes.scripted import chat_records, sinc_scatter
from distillery.train.data import prepare
from distillery.train.model import load_model, load_tokenizer
from distillery.train.strategy import TrainStrategy
from distillery.train.trainer import build_trainer
from tests.fixtures.models import SHORT_SYSTEM_PROMPT

PROMPTS = [
    "hi",
    "???",
    "fix line 3",
    "explain kubernetes to a beginner",
    "compare rust and golang for a team",
]


def _student(model_dir: Path, **training: object) -> StudentSpec:
    return StudentSpec.model_validate(
        {"baseModel": str(model_dir), "training": {"batchSize": 8, "maxLength": 512, **training}}
    )


def _spans(labels: list[int]) -> list[list[int]]:
    spans: list[list[int]] = []
    current: list[int] = []
    for token in labels:
        if token == -100:
            if current:
                spans.append(current)
            current = []
        else:
            current.append(token)
    return [*spans, current] if current else spans


@pytest.mark.parametrize("packing", [True, False])
def test_only_assistant_tokens_carry_labels(tiny_model_dir: Path, tmp_path: Path, packing: bool) -> None:
    tokenizer = load_tokenizer(str(tiny_model_dir))
    records = chat_records(PROMPTS, sinc_scatter, system_prompt=SHORT_SYSTEM_PROMPT)
    data = prepare(tokenizer, records, [], max_length=512)
    student = _student(tiny_model_dir, packing=packing)
    # All five examples in one batch: padded rows, or one padding-free packed row.
    strategy = TrainStrategy(packing, 8, 1, group_by_length=False, attention="sdpa", reason="test")
    trainer = build_trainer(
        load_model(str(tiny_model_dir)),
        tokenizer,
        student,
        tmp_path,
        strategy,
        train_dataset=data.train,
        eval_dataset=None,
        callbacks=[],
    )
    batch = next(iter(trainer.get_train_dataloader()))
    decoded = [tokenizer.decode(span) for row in batch["labels"].tolist() for span in _spans(row)]
    expected = {sinc_scatter(p) + "<|im_end|>" for p in PROMPTS}
    assert len(decoded) == len(PROMPTS)
    assert set(decoded) == expected
    everything = tokenizer.decode([t for row in batch["input_ids"].tolist() for t in row])
    assert SHORT_SYSTEM_PROMPT in everything and "fix line 3" in everything  # present, but never labelled
    assert not any(SHORT_SYSTEM_PROMPT in text or "<|im_start|>" in text for text in decoded)


def test_max_length_shorter_than_examples_fails_loudly(tiny_model_dir: Path) -> None:
    tokenizer = load_tokenizer(str(tiny_model_dir))
    records = chat_records(PROMPTS, sinc_scatter, system_prompt=SHORT_SYSTEM_PROMPT)
    with pytest.raises(TrainingError, match=r"maxLength is 64 but 5 of 5 examples are longer"):
        prepare(tokenizer, records, [], max_length=64)


def test_measures_tokens_and_longest(tiny_model_dir: Path) -> None:
    tokenizer = load_tokenizer(str(tiny_model_dir))
    records = chat_records(PROMPTS, sinc_scatter, system_prompt=SHORT_SYSTEM_PROMPT)
    data = prepare(tokenizer, records, records[:1], max_length=512)
    assert data.examples == 5 and len(data.validation) == 1
    assert 0 < data.assistant_tokens < data.train_tokens
    assert data.longest <= 512


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"id": "x"}, "non-empty 'messages' list"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "last message must be the assistant"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "unknown role 'robot'"),
        ({"messages": [{"role": "assistant", "content": 3}]}, "string 'content'"),
    ],
)
def test_bad_records_are_named(tiny_model_dir: Path, record: dict, problem: str) -> None:
    tokenizer = load_tokenizer(str(tiny_model_dir))
    with pytest.raises(TrainingError, match=f"train.jsonl line 1: .*{problem}"):
        prepare(tokenizer, [record], [], max_length=512)


def test_empty_training_set_is_an_error(tiny_model_dir: Path) -> None:
    with pytest.raises(TrainingError, match="no examples"):
        prepare(load_tokenizer(str(tiny_model_dir)), [], [], max_length=512)
