"""The shingle hashes of many texts at once, for MinHash (see dedupe.py).

A text's shingles are the word 3-grams of its casefolded, whitespace-split words (a text of one or
two words is one shingle: those words), each hashed to the first 8 bytes of its blake2b digest,
little-endian. Words become integer ids (one dict lookup per word), a 3-gram becomes one 63-bit key
of its three ids, and the distinct keys of each text are found with numpy; only distinct 3-grams
are turned back into strings and hashed, once per chunk of texts (a bounded table keeps the
digests of earlier chunks). The hashes are those of hashing every shingle string one by one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

ID_BITS = 21  # three word ids in one 63-bit key: up to 2,097,152 distinct words
CHUNK_TEXTS = 10_000  # bounds the numpy temporaries (~80 MB per chunk of answers this long)
MAX_TABLE = 1 << 22  # digests kept across chunks (8 + 8 bytes each)


def digest(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "little")


class ShingleHasher:
    """Hashes texts chunk by chunk; `hash_texts` gives one flat array and each text's count."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.words: list[str] = []
        self.table_keys = np.empty(0, dtype=np.uint64)
        self.table_digests = np.empty(0, dtype=np.uint64)

    def hash_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, counts): each text's distinct shingle hashes, one text after another."""
        flats, counts = [], []
        for first in range(0, len(texts), CHUNK_TEXTS):
            flat, count = self._chunk(texts[first : first + CHUNK_TEXTS])
            flats.append(flat)
            counts.append(count)
        if not flats:
            return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
        return np.concatenate(flats), np.concatenate(counts)

    def _ids(self, words: list[str]) -> list[int]:
        """Each word's id; new words get the next ids (in no particular order: ids are only names)."""
        for word in set(words).difference(self.vocabulary):
            self.vocabulary[word] = len(self.words)
            self.words.append(word)
        return list(map(self.vocabulary.__getitem__, words))

    def _chunk(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        chunk_words: list[str] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        short: dict[int, int] = {}  # text -> the digest of its one shingle (one or two words)
        for index, text in enumerate(texts):
            words = text.casefold().split()
            if len(words) >= 3:
                chunk_words += words
                lengths[index] = len(words)
            elif words:
                short[index] = digest(" ".join(words))
        ids = self._ids(chunk_words)
        if len(self.words) >= 1 << ID_BITS:
            raise ValueError(f"more than {1 << ID_BITS} distinct words: too many for 63-bit shingle keys")
        word_ids = np.array(ids, dtype=np.uint64)
        long_texts = np.flatnonzero(lengths)
        per_text = lengths[long_texts] - 2
        starts = np.concatenate(([0], np.cumsum(lengths[long_texts])[:-1]))
        shingle_starts = np.concatenate(([0], np.cumsum(per_text)[:-1]))
        positions = np.arange(per_text.sum()) + np.repeat(starts - shingle_starts, per_text)
        shift = np.uint64(ID_BITS)
        keys = word_ids[positions] << (shift + shift)
        keys |= word_ids[positions + 1] << shift
        keys |= word_ids[positions + 2]
        owners = np.repeat(long_texts, per_text)
        order = np.lexsort((keys, owners))
        keys, owners = keys[order], owners[order]
        distinct = np.ones(len(keys), dtype=bool)
        distinct[1:] = (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])
        keys, owners = keys[distinct], owners[distinct]
        hashes = self._digests(keys)
        counts = np.bincount(owners, minlength=len(texts)).astype(np.int64)
        if not short:
            return hashes, counts
        # texts of one or two words: one shingle each, put in its place among the others
        extra_owners = np.array(list(short), dtype=np.int64)
        owners = np.concatenate((owners, extra_owners))
        hashes = np.concatenate((hashes, np.array(list(short.values()), dtype=np.uint64)))
        order = np.argsort(owners, kind="stable")
        counts[extra_owners] += 1
        return hashes[order], counts

    def _digests(self, keys: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(keys, return_inverse=True)
        if len(self.table_keys):
            place = np.minimum(np.searchsorted(self.table_keys, unique), len(self.table_keys) - 1)
            known = self.table_keys[place] == unique
        else:
            place, known = np.zeros(len(unique), dtype=np.int64), np.zeros(len(unique), dtype=bool)
        digests = np.empty(len(unique), dtype=np.uint64)
        digests[known] = self.table_digests[place[known]]
        missing = unique[~known]
        digests[~known] = np.array([digest(self._shingle(int(key))) for key in missing], dtype=np.uint64)
        if len(self.table_keys) + len(missing) <= MAX_TABLE:
            merged = np.concatenate((self.table_keys, missing))
            order = np.argsort(merged, kind="stable")
            self.table_keys = merged[order]
            self.table_digests = np.concatenate((self.table_digests, digests[~known]))[order]
        return digests[inverse.reshape(-1)]

    def _shingle(self, key: int) -> str:
        mask = (1 << ID_BITS) - 1
        words = self.words
        return f"{words[key >> (2 * ID_BITS)]} {words[(key >> ID_BITS) & mask]} {words[key & mask]}"
