"""Seed 002's mode-collapse metrics over a set of texts (the kept completions, or model outputs)."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from typing import Any


def diversity(texts: list[str]) -> dict[str, Any]:
    """vocabulary_size (distinct words overall), mean_vocab_size (distinct words per text),
    length_std_dev (words) and top_bigram_frequency (share of the most common word bigram)."""
    words = [text.split() for text in texts]
    bigrams: Counter[tuple[str, str]] = Counter()
    for tokens in words:
        bigrams.update(itertools.pairwise(tokens))
    total_bigrams = sum(bigrams.values())
    top = bigrams.most_common(1)
    lengths = [len(tokens) for tokens in words]
    return {
        "count": len(texts),
        "vocabulary_size": len({word for tokens in words for word in tokens}),
        "mean_vocab_size": statistics.mean(len(set(tokens)) for tokens in words) if words else 0.0,
        "mean_length_words": statistics.mean(lengths) if lengths else 0.0,
        "length_std_dev": statistics.stdev(lengths) if len(lengths) > 1 else 0.0,
        "top_bigram": " ".join(top[0][0]) if top else None,
        "top_bigram_frequency": top[0][1] / total_bigrams if total_bigrams else 0.0,
    }
