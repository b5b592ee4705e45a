"""(Baseline: curate/dedupe.py before its LSH was vectorised.)

Exact and near-duplicate removal; the first occurrence (in prompt order) is kept.

Exact: same prompt and same completion (whitespace and case normalised). Near: Jaccard similarity
of the completions' word 3-gram shingles at or above the threshold, found with MinHash + LSH
(deterministic hashes) and confirmed exactly. Label outputs are only deduplicated exactly: two
prompts answered with the same label are not duplicates.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

SHINGLE_WORDS = 3
PERMUTATIONS = 64
BANDS = 16  # 16 bands x 4 rows: pairs with Jaccard >= ~0.5 become candidates
_MASKS = np.random.default_rng(20240601).integers(1, 2**63 - 1, size=PERMUTATIONS, dtype=np.uint64)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def shingles(text: str) -> set[str]:
    words = normal(text).split()
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _signature(items: set[str]) -> np.ndarray:
    hashes = np.array(
        [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") for s in items],
        dtype=np.uint64,
    )
    mixed = (hashes[None, :] ^ _MASKS[:, None]) * _MULTIPLIER  # wraps mod 2^64 on purpose
    mixed ^= mixed >> np.uint64(29)
    return mixed.min(axis=1)


def exact_duplicates(pairs: list[tuple[str, str]]) -> dict[int, int]:
    """index -> index of the first identical (prompt, completion)."""
    first: dict[tuple[str, str], int] = {}
    duplicates = {}
    for index, (prompt, completion) in enumerate(pairs):
        key = (normal(prompt), normal(completion))
        if key in first:
            duplicates[index] = first[key]
        else:
            first[key] = index
    return duplicates


def near_duplicates(texts: list[str], threshold: float, skip: set[int] | None = None) -> dict[int, int]:
    """index -> index of an earlier kept text at least `threshold` similar."""
    skip = skip or set()
    sets = [shingles(text) for text in texts]
    rows = PERMUTATIONS // BANDS
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    duplicates: dict[int, int] = {}
    for index, items in enumerate(sets):
        if index in skip or not items:
            continue
        signature = _signature(items)
        keys = [(band, signature[band * rows : (band + 1) * rows].tobytes()) for band in range(BANDS)]
        candidates = sorted({other for key in keys for other in buckets.get(key, [])})
        match = next((other for other in candidates if jaccard(items, sets[other]) >= threshold), None)
        if match is not None:
            duplicates[index] = match
            continue
        for key in keys:
            buckets[key].append(index)
    return duplicates
