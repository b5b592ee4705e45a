"""Reading a completion as JSON or text: strict first, then a tolerant extraction reported as such.

Strict JSON is `json.loads` of the whole stripped completion (NaN / Infinity rejected: they are not
JSON). Tolerant extraction, tried only when strict fails, takes the first ```json fenced block that
parses, else the first balanced {...} in the surrounding prose, else the first balanced [...]
(objects first, so a stray "[1]" citation before the real object is not taken for the output).
A bracket that never closes means a cut-off output: that is a failed parse, not a tolerant one.
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
    extraction = extract_json(text)
    if extraction.found:
        return Parsed("tolerant", extraction.value, error=strict_error)
    if extraction.truncated:
        return Parsed("failed", error=strict_error + "; the JSON is cut off (its brackets never close)")
    return Parsed("failed", error=strict_error + "; no JSON block found in the text either")


@dataclass(frozen=True)
class Extraction:
    found: bool
    value: Any = None
    truncated: bool = False


def extract_json(text: str) -> Extraction:
    """The first JSON found in a fenced block or in prose; `truncated` when it starts but never ends."""
    for match in FENCED_BLOCK.finditer(text):
        try:
            return Extraction(True, _DECODER.decode(match.group(1).strip()))
        except ValueError:
            continue
    truncated = False
    for opener in ("{", "["):
        extraction = _first_balanced(text, opener)
        if extraction.found:
            return extraction
        truncated = truncated or extraction.truncated
    return Extraction(False, truncated=truncated)


def _first_balanced(text: str, opener: str) -> Extraction:
    start = text.find(opener)
    attempts = 0
    while start != -1 and attempts < MAX_BRACKET_CANDIDATES:
        attempts += 1
        end = _balanced_end(text, start)
        if end == -1:
            # Never closes: every later candidate lies inside it, so taking one would hand an
            # inner fragment of a cut-off output over as the output.
            return Extraction(False, truncated=True)
        try:
            return Extraction(True, _DECODER.decode(text[start:end]))
        except ValueError:
            start = text.find(opener, start + 1)
    return Extraction(False)


def _balanced_end(text: str, start: int) -> int:
    """Index just past the bracket closing the one at `start` (strings skipped), or -1."""
    depth = 0
    in_string = escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def parse_text(raw: str) -> Parsed:
    """Free text: always a strict parse of the stripped completion."""
    return Parsed("strict", raw.strip())
