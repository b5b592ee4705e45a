"""Deterministic scripted teachers: what a fake teacher answers, for tests and the offline demo.

`sinc_scatter` answers any prompt with a valid seed-001 sinc JSON (6 bands in order, CONSTRAINTS
the longest, TASK one sentence, a formula field), COMPOSED from three features of the input:
- the intent, from the first word (fix / explain / ... / a question word / a known topic word /
  anything else): PERSONA, FORMAT and TASK;
- the ending ("?" a question, "!" urgent, else a plain request): CONTEXT (measured: a tiny student
  reads the ending for the second band, not for the last one);
- the length bucket (a few words / one sentence / a paragraph): DATA and CONSTRAINTS.
A prompt combining known features in a new way gets an answer that no training example holds: a
student can only match it by composing what it learnt. The topic word is not used
(see `prompt_pool` for what a tiny CPU student learns in demo time); a real teacher's answers
depend on much more, which only a real base model can learn.
Outputs satisfy `distillery.contract.sinc.sinc_output_spec()` and the input-dependent rules
`INPUT_RULES` (DATA states the prompt's size; CONTEXT matches its ending).
`routing_label` is seed 004's retrieval router: code | docs | hybrid | skip.
"""

from __future__ import annotations

import json
import re
from typing import Any

from distillery.contract.sinc import SINC_BANDS, SINC_FORMULA, SINC_T
from distillery.fakes.prompt_pool import EDGE_PROMPTS, TOPICS, split_prompts, varied_prompts

__all__ = ["EDGE_PROMPTS", "split_prompts", "varied_prompts"]

SINC_SYSTEM_PROMPT = (
    "You are a sinc-LLM scatter engine. Decompose the user prompt into 6 sinc frequency bands "
    "as valid JSON. CONSTRAINTS must be the longest band. Output only JSON."
)
_WORD = re.compile(r"[a-z0-9]+")
_INTENT_OF_VERB = {
    "fix": "fix", "debug": "fix", "explain": "explain", "write": "write", "draft": "write",
    "compare": "compare", "summarize": "summarize", "summarise": "summarize", "help": "help",
}  # fmt: skip
_QUESTION_WORDS = {"why", "what", "how", "when", "where", "who", "which", "is", "can", "should", "does"}
_ENDINGS = {
    "?": "The user asks a question.",
    "!": "The user is in a hurry.",
    "": "The user states a request.",
}
# intent -> (PERSONA, FORMAT, TASK)
_INTENTS = {
    "fix": ("A senior engineer.", "The fix first, then one line on why.", "Fix the reported problem."),
    "explain": ("A patient teacher.", "One plain paragraph.", "Explain the subject simply."),
    "write": ("A careful author.", "One code block.", "Write what is asked for."),
    "compare": ("A neutral analyst.", "A two-column table.", "Compare the options fairly."),
    "summarize": ("A concise editor.", "Three bullet points.", "Summarize the material."),
    "help": ("A friendly helper.", "A short numbered list.", "Help the user get unstuck."),
    "question": ("A domain expert.", "A direct answer, then details.", "Answer the question directly."),
    "topic": ("A subject expert.", "A short overview.", "Describe the subject briefly."),
    "other": ("A helpful assistant.", "A short answer.", "Respond to the request."),
}
_TOPIC_WORDS = frozenset(TOPICS)
# length bucket -> (DATA, CONSTRAINTS); CONSTRAINTS is the longest band.
_LENGTHS = {
    "short": ("A few words.", "The prompt is short: ask one clarifying question and invent no facts."),
    "medium": ("One sentence.", "Stay on the one topic asked about, do not invent facts, keep it grounded."),
    "long": (
        "A paragraph.",
        "Answer every part of the request in order, state assumptions, invent no facts.",
    ),
}
SHORT_WORDS, MEDIUM_WORDS = 2, 8
_SIZES = {bucket: data for bucket, (data, _) in _LENGTHS.items()}


def _at_most(words: int) -> str:
    """A CEL raw-string regex matching an input of at most `words` whitespace-separated words."""
    return rf"r'^\s*(\S+(\s+\S+){{0,{words - 1}}})?\s*$'"


# The input-dependent rules (rules read `input`): the right DATA and CONTEXT depend on the prompt,
# so no single memorised answer passes them on every prompt.
DATA_SIZE_RULE: dict[str, str] = {
    "name": "data-states-input-size",
    "expression": (
        f"input.matches({_at_most(SHORT_WORDS)}) ? output.fragments[2].x == '{_SIZES['short']}' : "
        f"input.matches({_at_most(MEDIUM_WORDS)}) ? output.fragments[2].x == '{_SIZES['medium']}' : "
        f"output.fragments[2].x == '{_SIZES['long']}'"
    ),
    "message": (
        f"DATA must state the prompt's size: '{_SIZES['short']}' (up to {SHORT_WORDS} words), "
        f"'{_SIZES['medium']}' (up to {MEDIUM_WORDS}) or '{_SIZES['long']}'"
    ),
}
CONTEXT_ENDING_RULE: dict[str, str] = {
    "name": "context-matches-ending",
    "expression": (
        f"input.trim().endsWith('?') ? output.fragments[1].x == '{_ENDINGS['?']}' : "
        f"input.trim().endsWith('!') ? output.fragments[1].x == '{_ENDINGS['!']}' : "
        f"output.fragments[1].x == '{_ENDINGS['']}'"
    ),
    "message": "CONTEXT must say whether the prompt asks a question (?), is urgent (!) or states a request",
}
INPUT_RULES = [DATA_SIZE_RULE, CONTEXT_ENDING_RULE]


def features(prompt: str) -> tuple[str, str, str]:
    """(intent, ending, length bucket) of a prompt: all the scripted teacher looks at."""
    words = _WORD.findall(prompt.lower())
    first = words[0] if words else ""
    if first in _INTENT_OF_VERB:
        intent = _INTENT_OF_VERB[first]
    elif first in _QUESTION_WORDS:
        intent = "question"
    elif first in _TOPIC_WORDS:
        intent = "topic"
    else:
        intent = "other"
    stripped = prompt.strip()
    ending = stripped[-1] if stripped and stripped[-1] in "?!" else ""
    count = len(prompt.split())
    length = "short" if count <= SHORT_WORDS else "medium" if count <= MEDIUM_WORDS else "long"
    return intent, ending, length


def sinc_fragments(prompt: str) -> list[str]:
    """The six band texts, in band order, for `prompt`."""
    intent, ending, length = features(prompt)
    persona, form, task = _INTENTS[intent]
    data, constraints = _LENGTHS[length]
    return [persona, _ENDINGS[ending], data, constraints, form, task]


def sinc_scatter(prompt: str) -> str:
    """A valid seed-001 sinc JSON for any prompt (deterministic, compact)."""
    fragments = [
        {"n": n, "t": band, "x": text}
        for n, (band, text) in enumerate(zip(SINC_BANDS, sinc_fragments(prompt), strict=False))
    ]
    document = {"formula": SINC_FORMULA, "T": SINC_T, "fragments": fragments}
    return json.dumps(document, ensure_ascii=False)


ROUTING_LABELS = ("code", "docs", "hybrid", "skip")
_CODE_WORDS = {"function", "class", "file", "bug", "error", "line", "method", "code", "stack", "variable"}
_DOCS_WORDS = {"readme", "docs", "documentation", "guide", "setup", "install", "tutorial", "configure"}


def routing_label(prompt: str) -> str:
    """Seed 004's router: `code`, `docs`, `hybrid` (both) or `skip` (neither)."""
    words = set(_WORD.findall(prompt.lower()))
    code, docs = bool(words & _CODE_WORDS), bool(words & _DOCS_WORDS)
    if code and docs:
        return "hybrid"
    if code:
        return "code"
    if docs:
        return "docs"
    return "skip"


def chat_records(prompts: list[str], answer: Any, *, system_prompt: str) -> list[dict[str, Any]]:
    """curate-format records (`id`, `category`, `messages`) with `answer(prompt)` as the assistant turn."""
    return [
        {
            "id": f"scripted-{index}",
            "category": None,
            "messages": [
                {"role": "system", "content": system_prompt},
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": answer(prompt)},
            ],
        }
        for index, prompt in enumerate(prompts)
    ]
