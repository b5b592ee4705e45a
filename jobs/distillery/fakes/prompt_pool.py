"""The scripted teachers' prompts: request templates x endings x topics, and a split that holds out
COMBINATIONS.

Every prompt is one template (a bare topic, a fix request, a question, a paragraph, gibberish ...)
filled with a topic word and closed by one ending ("", "?" or "!"). The held-out split keeps
(template, ending) pairs out of training while every template and every ending still appears in
training, so a held-out prompt is a new combination of known parts: the scripted teacher's answer
(composed from the first word, the ending and the length) appears nowhere in training.

Measured on the tiny CPU student (2 layers, hidden 64, LoRA r=64, ~290 steps): features at the
prompt's edges (first word, last character, length) are learnt and partly composed (46% of the
held-out answers exact, 12.5% for the best memorised answer); a topic word in the middle of the
prompt (its domain, or the word itself) is not learnt in demo time, so answers do not use it; and
a split where only the opening word told requests apart (same wording after it) was not learnt.
"""

from __future__ import annotations

TOPICS = (
    "python", "rust", "kubernetes", "postgres", "react", "docker", "linux", "pandas", "terraform",
    "golang", "redis", "nginx", "kafka", "spark", "graphql", "bash", "java", "swift", "css", "html",
    "numpy", "django", "flask", "helm", "git", "vim", "excel", "calculus", "poetry", "history",
    "cooking", "travel", "budget", "resume", "email", "marketing", "chess", "guitar", "yoga", "physics",
)  # fmt: skip
_SYLLABLES = ("zor", "blip", "quax", "vrun", "mip", "tek", "glo", "fra")
TEMPLATES = (
    "{t}",
    "fix {t}",
    "help with {t} please",
    "explain {t} to a beginner",
    "write a {t} script that parses logs",
    "why is my {t} setup so slow today",
    "compare {t} and {u} for a small team",
    "I have been using {t} for a year and I want to move to {u}. What should I watch out for, "
    "and how do I plan the migration without downtime",
    "summarize the {t} docs in three bullet points",
    "{g}",  # gibberish: no real word at all
)
ENDINGS = ("", "?", "!")
SHAPES = len(TEMPLATES) * len(ENDINGS)
POOL_SIZE = SHAPES * len(TOPICS)
EDGE_PROMPTS = ("hi", "???", "asdf", "fix line 3", "ok", "help")


def gibberish(topic_index: int) -> str:
    """A made-up word, distinct per topic index (e.g. 'zorblipzor')."""
    return _SYLLABLES[topic_index % 8] + _SYLLABLES[(topic_index // 8) % 8] + _SYLLABLES[topic_index % 5]


def combination(index: int) -> tuple[int, int, int]:
    """(template, ending, topic) of pool position `index`; templates cycle fastest, then endings."""
    return index % len(TEMPLATES), (index // len(TEMPLATES)) % len(ENDINGS), (index // SHAPES) % len(TOPICS)


def is_held_out(index: int) -> bool:
    """Held-out combinations: template k is held out with ending k % 3 (for every topic)."""
    template, ending, _ = combination(index)
    return ending == template % len(ENDINGS)


def pool_prompt(index: int) -> str:
    template, ending, topic = combination(index)
    other = TOPICS[(topic * 7 + 3) % len(TOPICS)]
    text = TEMPLATES[template].format(t=TOPICS[topic], u=other, g=gibberish(topic)) + ENDINGS[ending]
    return text + (f" #{index}" if index >= POOL_SIZE else "")


def varied_prompts(count: int, *, offset: int = 0) -> list[str]:
    """`count` distinct prompts from one word to paragraphs and gibberish; `offset` gives a disjoint set."""
    return [pool_prompt(index) for index in range(offset, offset + count)]


def _round_robin(indices: list[int]) -> list[int]:
    """`indices` reordered so that consecutive ones come from different (template, ending) shapes."""
    groups: dict[tuple[int, int], list[int]] = {}
    for index in indices:
        groups.setdefault(combination(index)[:2], []).append(index)
    rounds = max((len(members) for members in groups.values()), default=0)
    return [members[r] for r in range(rounds) for members in groups.values() if r < len(members)]


def split_prompts(train: int, held_out: int) -> tuple[list[str], list[str]]:
    """(training prompts, held-out prompts) from the pool; held-out ones are unseen combinations.

    Both cycle through the shapes, so any prefix spans one word, gibberish, questions and paragraphs.
    """
    indices = range(POOL_SIZE)
    train_indices = _round_robin([i for i in indices if not is_held_out(i)])[:train]
    held_out_indices = _round_robin([i for i in indices if is_held_out(i)])[:held_out]
    return [pool_prompt(i) for i in train_indices], [pool_prompt(i) for i in held_out_indices]
