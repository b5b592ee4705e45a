"""Synthetic teacher records at scale (bench/curate.py, the curation parity test).

Text completions written from a shared pool of sentences around the prompt's topic, as an LLM
answering many similar prompts would: pairs of unrelated answers share some phrasing, and a known
share of records are the hard cases curation exists for: near-duplicates (an earlier answer with a
word or two changed), exact duplicates, hedged answers, one-liners, truncated or failed calls.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
from typing import Any

from distillery.fakes.scripted import varied_prompts

_OPENERS = (
    "Here is how to approach {t}.",
    "Short answer: {t} can do this.",
    "Good question about {t}.",
    "Let us walk through {t} step by step.",
    "There are a few things to know about {t}.",
)
_VERBS = (
    "configure",
    "check",
    "measure",
    "restart",
    "inspect",
    "upgrade",
    "document",
    "profile",
    "pin",
    "test",
)
_NOUNS = (
    "the cache",
    "the logs",
    "the config file",
    "your dependencies",
    "the network",
    "the build",
    "the permissions",
    "the environment",
    "the data model",
    "the deployment",
    "the queue",
    "the index",
)
_REASONS = (
    "so failures show up early",
    "because defaults change between versions",
    "to keep the setup reproducible",
    "since most slowdowns start there",
    "which saves a lot of time later",
    "so the team can follow along",
)
_CLOSERS = ("That should cover it.", "Hope this helps.", "Let me know if anything is unclear.", "")
UNCERTAIN = "I'm not sure, but"


def _sentence(rng: random.Random, topic: str) -> str:
    verb, noun, reason = rng.choice(_VERBS), rng.choice(_NOUNS), rng.choice(_REASONS)
    words = rng.sample(("first", "then", "also", "carefully", "in {t}", "again", "always", "quickly"), 2)
    return f"{words[0].format(t=topic).capitalize()} {verb} {noun} {words[1].format(t=topic)}, {reason}."


def _answer(rng: random.Random, prompt: str) -> str:
    topic = next((word for word in prompt.split() if len(word) > 3 and word.isalpha()), "this")
    body = [_sentence(rng, topic) for _ in range(rng.randint(4, 9))]
    extra = f" Note {rng.randrange(10**6)}: keep {rng.choice(_NOUNS)} at {rng.randrange(10**4)} units."
    asked = " ".join(word for word in prompt.split() if len(word) >= 5 and word.isalpha())
    opener = rng.choice(_OPENERS).format(t=topic) + (f" You asked: {asked}." if asked else "")
    return " ".join([opener, *body, extra, rng.choice(_CLOSERS)]).strip()


def _near_copy(rng: random.Random, text: str) -> str:
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        words[rng.randrange(len(words))] = rng.choice(("really", "simply", "now", "still"))
    return " ".join(words)


def synthetic_text_records(count: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """teacher.jsonl-shaped records: ~8% near-duplicates, ~2% exact duplicates, ~5% other rejects."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for index, prompt in enumerate(varied_prompts(count)):
        roll = rng.random()
        completion = _answer(rng, prompt)
        status, stop = "ok", "end_turn"
        if roll < 0.08 and index >= 400:
            # an answer to the same prompt shape and topic, reworded by a word or two
            completion = _near_copy(rng, records[index - 400]["completion"] or completion)
        elif roll < 0.10 and records:
            previous = rng.choice(records)
            prompt, completion = previous["prompt"], previous["completion"] or completion
        elif roll < 0.12:
            completion = f"{UNCERTAIN} {completion}"
        elif roll < 0.13:
            completion = "Yes."
        elif roll < 0.14:
            stop = "max_tokens"
        elif roll < 0.15:
            status, completion = "failed", None
        records.append(
            {
                "id": f"syn-{index}",
                "prompt": prompt,
                "category": ("code", "docs", "chat")[index % 3],
                "expected": None,
                "completion": completion,
                "model": "teacher-model",
                "stop_reason": stop,
                "status": status,
                "error": None if status == "ok" else "HTTP 529",
            }
        )
    return records
