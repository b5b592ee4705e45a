"""Reading a completion as one label from an allowed set.

Strict: the stripped completion is exactly one of the labels. Tolerant: the same after dropping
case and wrapping punctuation ("Docs.", "`docs`", "**docs**"), or, in a short answer (at most
MAX_TOLERANT_WORDS words, e.g. "Label: docs."), exactly one distinct label found as a whole word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from distillery.contract.parsing import Parsed

MAX_TOLERANT_WORDS = 12
WRAPPING = " \t\r\n.,;:!?\"'`*_()[]{}<>"
SHOWN_CHARS = 60


def _whole_word(label: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(label)}(?![\w-])", re.IGNORECASE)


@dataclass(frozen=True)
class LabelMatch:
    """A parse outcome plus the canonical label found (None when none was)."""

    parsed: Parsed
    label: str | None


class LabelMatcher:
    """Matches completions against a fixed label set; built once per contract."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = list(labels)
        self._exact = set(self.labels)
        self._by_folded = {label.casefold(): label for label in self.labels}
        self._patterns = [(label, _whole_word(label)) for label in self.labels]

    def match(self, raw: str) -> LabelMatch:
        text = raw.strip()
        if text in self._exact:
            return LabelMatch(Parsed("strict", text), text)
        folded = self._by_folded.get(text.strip(WRAPPING).casefold())
        if folded is not None:
            return LabelMatch(Parsed("tolerant", text, error=self._not_exact(text)), folded)
        return self._match_in_short_answer(text)

    def _match_in_short_answer(self, text: str) -> LabelMatch:
        if not text:
            return self._failed(text, f"empty answer; expected one of: {self._allowed()}")
        if len(text.split()) > MAX_TOLERANT_WORDS:
            too_long = f"{self._shown(text)} is too long for a label"
            return self._failed(text, f"{too_long}; expected one of: {self._allowed()}")
        found = [label for label, pattern in self._patterns if pattern.search(text)]
        if len(found) == 1:
            return LabelMatch(Parsed("tolerant", text, error=self._not_exact(text)), found[0])
        if found:
            return self._failed(text, f"{self._shown(text)} names several labels ({', '.join(found)})")
        return self._failed(text, f"{self._shown(text)} is not one of the labels: {self._allowed()}")

    def _failed(self, text: str, error: str) -> LabelMatch:
        return LabelMatch(Parsed("failed", text, error=error), None)

    def _not_exact(self, text: str) -> str:
        return f"{self._shown(text)} is not exactly one of the labels"

    def _allowed(self) -> str:
        return ", ".join(self.labels)

    @staticmethod
    def _shown(text: str) -> str:
        return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")
