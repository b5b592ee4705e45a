"""Reading a completion as JSON or text: strict first, then a tolerant extraction reported as such.

Strict JSON is `json.loads` of the whole stripped completion (NaN / Infinity rejected: they are not
JSON). Tolerant extraction, tried only when strict fails, takes the first ```json fenced block that
parses, else the first balanced {...} in the surrounding prose, else the first balanced [...]
(objects first, so a stray "[1]" citation before the real object is not taken for the output).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from distillery.contract.results import ParseKind

FENCED_BLOCK = re.compile(r"```[ \t]*(?:json5?|jsonc|JSON)?[ \t]*\r?\n(.*?)```", re.DOTALL)
# Bounds the work on long prose full of braces: each candidate is one raw_decode attempt.
MAX_BRACKET_CANDIDATES = 64


@dataclass(frozen=True)
class Parsed:
    """The outcome of reading one completion."""

    kind: ParseKind
    value: Any = None
    error: str | None = None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def describe_json_error(error: ValueError) -> str:
    """'not JSON: Expecting value at line 1 column 1' (the position is 1-based, as editors show it)."""
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
    return f"not JSON: {error}"


def parse_json(raw: str) -> Parsed:
    """Strict JSON, else tolerant extraction; `error` keeps why the strict parse failed."""
    text = raw.strip()
    if not text:
        return Parsed("failed", error="not JSON: the completion is empty")
    try:
        return Parsed("strict", _DECODER.decode(text))
    except ValueError as error:
        strict_error = describe_json_error(error)
    found, value = extract_json(text)
    if found:
        return Parsed("tolerant", value, error=strict_error)
    return Parsed("failed", error=strict_error + "; no JSON block found in the text either")


def extract_json(text: str) -> tuple[bool, Any]:
    """(True, value) for the first JSON found in a fenced block or in prose, else (False, None)."""
    for match in FENCED_BLOCK.finditer(text):
        try:
            return True, _DECODER.decode(match.group(1).strip())
        except ValueError:
            continue
    for opener in ("{", "["):
        found, value = _first_balanced(text, opener)
        if found:
            return True, value
    return False, None


def _first_balanced(text: str, opener: str) -> tuple[bool, Any]:
    start = text.find(opener)
    attempts = 0
    while start != -1 and attempts < MAX_BRACKET_CANDIDATES:
        attempts += 1
        try:
            value, _end = _DECODER.raw_decode(text, start)
            return True, value
        except ValueError:
            start = text.find(opener, start + 1)
    return False, None


def parse_text(raw: str) -> Parsed:
    """Free text: always a strict parse of the stripped completion."""
    return Parsed("strict", raw.strip())
