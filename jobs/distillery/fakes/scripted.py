"""Deterministic scripted teachers: what a fake teacher answers, for tests and the offline demo.

`sinc_scatter` answers any prompt with a valid seed-001 sinc JSON (6 bands in order, CONSTRAINTS
the longest, TASK one sentence, a formula field). Answers are short and regular and reuse the
prompt's own words, so a tiny model can learn the format in a few CPU-minutes.
Outputs satisfy `distillery.contract.sinc.sinc_output_spec()`.
`routing_label` is seed 004's retrieval router: code | docs | hybrid | skip.
"""

from __future__ import annotations

import json
import re
from typing import Any

from distillery.contract.sinc import SINC_BANDS, SINC_FORMULA, SINC_T

SINC_SYSTEM_PROMPT = (
    "You are a sinc-LLM scatter engine. Decompose the user prompt into 6 sinc frequency bands "
    "as valid JSON. CONSTRAINTS must be the longest band. Output only JSON."
)
_WORD = re.compile(r"[a-z0-9]+")


def _topic(prompt: str) -> str:
    words = _WORD.findall(prompt.lower())
    return words[0][:12] if words else "input"


def _format_for(prompt: str) -> str:
    words = len(prompt.split())
    if words <= 2:
        return "A short answer."
    return "One paragraph." if words <= 8 else "A list of steps."


def sinc_fragments(prompt: str) -> list[str]:
    """The six band texts, in band order, for `prompt` (its first word is the topic)."""
    topic = _topic(prompt)
    return [
        f"An expert in {topic}.",
        f"The user asks about {topic}.",
        f"Input: {topic}.",
        f"Stay on {topic}. Do not invent facts. Keep it short and grounded in the input.",
        _format_for(prompt),
        f"Answer the request about {topic}.",
    ]


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


_TOPICS = (
    "python",
    "rust",
    "kubernetes",
    "postgres",
    "react",
    "docker",
    "linux",
    "pandas",
    "terraform",
    "golang",
    "redis",
    "nginx",
    "kafka",
    "spark",
    "graphql",
    "bash",
    "java",
    "swift",
    "css",
    "html",
    "numpy",
    "django",
    "flask",
    "helm",
    "git",
    "vim",
    "excel",
    "calculus",
    "poetry",
    "history",
    "cooking",
    "travel",
    "budget",
    "resume",
    "email",
    "marketing",
    "chess",
    "guitar",
    "yoga",
    "physics",
)
_SHAPES = (
    "{t}",
    "fix {t}",
    "help with {t} please",
    "explain {t} to a beginner",
    "write a {t} script that parses logs",
    "why is my {t} setup so slow today",
    "compare {t} and {u} for a small team",
    "I have been using {t} for a year and I want to move to {u}. What should I watch out for, "
    "and how do I plan the migration without downtime?",
    "{t}???",
    "summarize the {t} docs in three bullet points",
)
EDGE_PROMPTS = ("hi", "???", "asdf", "fix line 3", "ok", "help")


def varied_prompts(count: int, *, offset: int = 0) -> list[str]:
    """`count` distinct prompts from "hi" to paragraphs (seed 001's spread); `offset` gives a disjoint set."""
    prompts: list[str] = []
    index = offset
    while len(prompts) < count:
        topic = _TOPICS[index % len(_TOPICS)]
        other = _TOPICS[(index * 7 + 3) % len(_TOPICS)]
        shape = _SHAPES[(index // len(_TOPICS)) % len(_SHAPES)]
        prompts.append(shape.format(t=topic, u=other) + (f" #{index}" if index >= 400 else ""))
        index += 1
    return prompts


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
