"""Seed 002's mode-collapse metrics over a set of texts (the kept completions, or model outputs)."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from typing import Any


def diversity(texts: list[str]) -> dict[str, Any]:
    """vocabulary_size (distinct words overall), mean_vocab_size (distinct words per text),
    length_std_dev (words) and top_bigram_frequency (share of the most common word bigram).

    One text at a time: the words of all texts are never held at once (100k answers: ~400 MB)."""
    bigrams: Counter[tuple[str, str]] = Counter()
    vocabulary: set[str] = set()
    lengths: list[int] = []
    distinct: list[int] = []
    for text in texts:
        tokens = text.split()
        bigrams.update(itertools.pairwise(tokens))
        vocabulary.update(tokens)
        lengths.append(len(tokens))
        distinct.append(len(set(tokens)))
    total_bigrams = sum(bigrams.values())
    top = bigrams.most_common(1)
    return {
        "count": len(texts),
        "vocabulary_size": len(vocabulary),
        "mean_vocab_size": statistics.mean(distinct) if distinct else 0.0,
        "mean_length_words": statistics.mean(lengths) if lengths else 0.0,
        "length_std_dev": statistics.stdev(lengths) if len(lengths) > 1 else 0.0,
        "top_bigram": " ".join(top[0][0]) if top else None,
        "top_bigram_frequency": top[0][1] / total_bigrams if total_bigrams else 0.0,
    }
