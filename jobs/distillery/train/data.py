"""Training data: curate's `messages` records -> a `datasets.Dataset`, checked before training.

TRL silently drops examples whose assistant tokens were all cut by `max_length` and silently
truncates the others, so every example is tokenized here with the tokenizer's own chat template
and the job fails loudly when one does not fit or has no assistant tokens to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillery.errors import TrainingError

GENERATION_MARKER = "{% generation %}"


@dataclass(frozen=True)
class PreparedData:
    """The examples as TRL takes them, with what the length check measured."""

    train: Any  # datasets.Dataset
    validation: Any | None
    examples: int
    train_tokens: int
    assistant_tokens: int
    longest: int


def messages_of(record: dict[str, Any], *, source: str, line: int) -> list[dict[str, str]]:
    """The validated `messages` list of one curate record."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise TrainingError(f"{source} line {line}: expected a non-empty 'messages' list")
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise TrainingError(f"{source} line {line}: every message needs a string 'content'")
        if message.get("role") not in ("system", "user", "assistant"):
            raise TrainingError(f"{source} line {line}: unknown role {message.get('role')!r}")
    if messages[-1]["role"] != "assistant":
        raise TrainingError(f"{source} line {line}: the last message must be the assistant's answer")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def check_chat_template(tokenizer: Any) -> None:
    """Assistant-only loss needs a template that marks the assistant's tokens."""
    template = tokenizer.chat_template
    if not template:
        raise TrainingError("the base model's tokenizer has no chat_template: cannot format chat examples")
    # Without `{% generation %}` markers TRL swaps in its own training template when it knows the
    # template byte for byte (Qwen2.5...) and rejects any other: see trainer.build_trainer.


def measure(
    tokenizer: Any, conversations: list[list[dict[str, str]]], max_length: int
) -> tuple[int, int, int]:
    """(total tokens, assistant tokens, longest) over `conversations`; raise if any does not fit."""
    total = assistant = longest = 0
    too_long: list[tuple[int, int]] = []
    empty: list[int] = []
    for index, messages in enumerate(conversations):
        encoded = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        length = len(encoded["input_ids"])
        learnt = sum(encoded.get("assistant_masks") or [])
        total, assistant, longest = total + length, assistant + learnt, max(longest, length)
        if length > max_length:
            too_long.append((index, length))
        if learnt == 0 and GENERATION_MARKER in str(tokenizer.chat_template):
            empty.append(index)
    if too_long:
        shown = ", ".join(f"#{i} ({n} tokens)" for i, n in too_long[:5])
        raise TrainingError(
            f"student.training.maxLength is {max_length} but {len(too_long)} of {len(conversations)} "
            f"examples are longer ({shown}); they would be truncated or dropped. "
            f"Raise maxLength to at least {longest}."
        )
    if empty:
        raise TrainingError(
            f"{len(empty)} examples have no assistant tokens to learn from (e.g. #{empty[0]})"
        )
    return total, assistant, longest


def prepare(
    tokenizer: Any,
    train_records: list[dict[str, Any]],
    validation_records: list[dict[str, Any]],
    *,
    max_length: int,
) -> PreparedData:
    """Validate, measure and wrap the records as `messages` datasets."""
    from datasets import Dataset

    if not train_records:
        raise TrainingError("train.jsonl has no examples: nothing to train on")
    check_chat_template(tokenizer)
    train = [messages_of(r, source="train.jsonl", line=i + 1) for i, r in enumerate(train_records)]
    validation = [
        messages_of(r, source="validation.jsonl", line=i + 1) for i, r in enumerate(validation_records)
    ]
    tokens, assistant, longest = measure(tokenizer, train + validation, max_length)
    return PreparedData(
        train=Dataset.from_list([{"messages": m} for m in train]),
        validation=Dataset.from_list([{"messages": m} for m in validation]) if validation else None,
        examples=len(train),
        train_tokens=tokens,
        assistant_tokens=assistant,
        longest=longest,
    )


def check_prepared_size(trainer: Any, expected_examples: int, packing: bool) -> None:
    """After SFTTrainer tokenized (and maybe packed) the data, nothing may have gone missing."""
    rows = len(trainer.train_dataset)
    if rows == 0:
        raise TrainingError("the prepared training set is empty after tokenization (check maxLength)")
    if not packing and rows != expected_examples:
        raise TrainingError(
            f"tokenization kept {rows} of {expected_examples} examples; "
            "the rest were dropped (check maxLength)"
        )
