"""The one definition of "the answer matches the expected output", for curation and evaluation alike.

The answer of a completion is its canonical label (format label; none when no label was found),
its parsed JSON value (format json, when it parsed), else its stripped text. An expected output
given as a string for a JSON task is read as JSON when it parses. Then both sides are compared in
canonical form: a string (label, text, JSON string) with whitespace runs collapsed and case folded;
any other value as sorted-key JSON with integral floats written as integers (1 and 1.0 are the
same JSON number; true is not 1).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from distillery.contract.results import ContractResult


def normal_text(text: str) -> str:
    """Whitespace runs collapsed to one space, stripped, case folded."""
    return " ".join(text.split()).casefold()


def answer_of(result: ContractResult, text: str | None) -> Any:
    """What is compared: the label, the parsed JSON value, or the stripped text."""
    if result.format == "label":
        return result.label
    if result.format == "json" and result.parse != "failed":
        return result.value
    return (text or "").strip()


def _json_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_json_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_numbers(item) for key, item in value.items()}
    return value


def canonical(value: Any) -> str:
    """The form two answers are compared in (see the module docstring)."""
    if isinstance(value, str):
        return normal_text(value)
    return json.dumps(_json_numbers(value), sort_keys=True, ensure_ascii=False)


def matches_expected(result: ContractResult, text: str | None, expected: Any) -> bool:
    """Whether the completion's answer is the expected output; never with no expected output or label."""
    if expected is None:
        return False
    answer = answer_of(result, text)
    if answer is None:
        return False
    if result.format == "json" and isinstance(expected, str):
        with contextlib.suppress(json.JSONDecodeError):
            expected = json.loads(expected)
    return canonical(answer) == canonical(expected)
