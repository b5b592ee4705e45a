"""The scripted teachers' prompts: topics x shapes, and a split that holds out COMBINATIONS.

Every prompt is one shape (a one-word topic, a fix request, a question, a paragraph, gibberish ...)
filled with one topic word; each topic belongs to one domain. The held-out split keeps whole
(shape, domain) pairs out of training while every shape and every topic still appears in training,
so a held-out prompt is a new combination of known parts: the scripted teacher's answer to it
(composed from the shape and the domain) appears nowhere in training.
"""

from __future__ import annotations

TOPICS = (
    "python", "rust", "kubernetes", "postgres", "react", "docker", "linux", "pandas", "terraform",
    "golang", "redis", "nginx", "kafka", "spark", "graphql", "bash", "java", "swift", "css", "html",
    "numpy", "django", "flask", "helm", "git", "vim", "excel", "calculus", "poetry", "history",
    "cooking", "travel", "budget", "resume", "email", "marketing", "chess", "guitar", "yoga", "physics",
)  # fmt: skip
DOMAINS = {
    "software development": "python rust react golang bash java swift css html django flask git vim graphql",
    "infrastructure operations": "kubernetes docker linux terraform nginx helm redis kafka",
    "data analysis": "postgres pandas spark numpy excel",
    "learning a subject": "calculus physics history poetry chess guitar",
    "everyday life": "cooking travel budget resume email marketing yoga",
}
DOMAIN_OF = {topic: domain for domain, topics in DOMAINS.items() for topic in topics.split()}
_DOMAIN_INDEX = {domain: index for index, domain in enumerate(DOMAINS)}
assert set(DOMAIN_OF) == set(TOPICS), "every topic has exactly one domain"
_SYLLABLES = ("zor", "blip", "quax", "vrun", "mip", "tek", "glo", "fra")
SHAPES = (
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
    "{g}",  # gibberish: no topic word at all
)
POOL_SIZE = len(TOPICS) * len(SHAPES)
GIBBERISH_SHAPE = len(SHAPES) - 1
EDGE_PROMPTS = ("hi", "???", "asdf", "fix line 3", "ok", "help")


def gibberish(topic_index: int) -> str:
    """A made-up word, distinct per topic index (e.g. 'zorblip')."""
    return _SYLLABLES[topic_index % 8] + _SYLLABLES[(topic_index // 8) % 8] + _SYLLABLES[topic_index % 5]


def _combination(index: int) -> tuple[int, int]:
    """(shape, topic) of pool position `index`: shapes cycle fastest, so any prefix spans every shape."""
    return index % len(SHAPES), (index // len(SHAPES)) % len(TOPICS)


def is_held_out(index: int) -> bool:
    """Held-out combinations: each shape with one domain (shape s holds out domain (2s + 1) % 5).

    Gibberish has no topic, hence no domain: it is held out for the same topics as shape 0 so that
    held-out prompts include gibberish too (its answer is the same as in training, never novel).
    """
    shape, topic = _combination(index)
    domain = _DOMAIN_INDEX[DOMAIN_OF[TOPICS[topic]]]
    return domain == (2 * (0 if shape == GIBBERISH_SHAPE else shape) + 1) % len(DOMAINS)


def pool_prompt(index: int) -> str:
    shape, topic = _combination(index)
    other = TOPICS[(topic * 7 + 3) % len(TOPICS)]
    text = SHAPES[shape].format(t=TOPICS[topic], u=other, g=gibberish(topic))
    return text + (f" #{index}" if index >= POOL_SIZE else "")


def varied_prompts(count: int, *, offset: int = 0) -> list[str]:
    """`count` distinct prompts from one word to paragraphs and gibberish; `offset` gives a disjoint set."""
    return [pool_prompt(index) for index in range(offset, offset + count)]


def _round_robin(indices: list[int], group: int) -> list[int]:
    """`indices` reordered so that consecutive ones come from different groups (0 shape, 1 topic).

    Each group's members are rotated by the group's number, so a prefix does not favour the
    members that come first in pool order (e.g. always the same shapes of every topic).
    """
    groups: dict[int, list[int]] = {}
    for index in indices:
        groups.setdefault(_combination(index)[group], []).append(index)
    for key, members in groups.items():
        shift = key % len(members)
        groups[key] = members[shift:] + members[:shift]
    rounds = max((len(members) for members in groups.values()), default=0)
    return [members[r] for r in range(rounds) for members in groups.values() if r < len(members)]


def split_prompts(train: int, held_out: int) -> tuple[list[str], list[str]]:
    """(training prompts, held-out prompts) from the pool; held-out ones are unseen combinations.

    Training prompts cycle through the topics (any prefix teaches every topic's domain); held-out
    prompts cycle through the shapes (any prefix covers one word, gibberish, questions, paragraphs).
    """
    indices = range(POOL_SIZE)
    train_indices = _round_robin([i for i in indices if not is_held_out(i)], group=1)[:train]
    held_out_indices = _round_robin([i for i in indices if is_held_out(i)], group=0)[:held_out]
    return [pool_prompt(i) for i in train_indices], [pool_prompt(i) for i in held_out_indices]
