"""Issue 12's faster engines give the previous engines' results (bench/legacy/ keeps those)."""

from __future__ import annotations

import pytest

from bench.contract import completions
from bench.curate import SPEC, TASK, outcome
from bench.legacy.contract import LegacyContract
from bench.legacy.curate import legacy_curate_records
from bench.legacy.dedupe import near_duplicates as legacy_near_duplicates
from distillery.contract import Contract
from distillery.contract.sinc import sinc_output_spec
from distillery.curate import shingling
from distillery.curate.dedupe import near_duplicates, shingles
from distillery.curate.pipeline import curate_records
from distillery.fakes.synthetic import synthetic_text_records


def test_curation_of_a_sample_is_unchanged() -> None:
    records = synthetic_text_records(1000, seed=3)

    ours = outcome(curate_records(records, TASK, SPEC))
    previous = outcome(legacy_curate_records(records, TASK, SPEC))

    assert ours == previous
    reasons = {reason for line in ours["rejected"].values() for reason in line}
    assert {"near-duplicate", "duplicate", "uncertain", "too-short"} <= reasons  # the sample has every case


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.9])
def test_near_duplicates_are_those_of_the_text_by_text_loop(threshold: float) -> None:
    texts = [record["completion"] or "" for record in synthetic_text_records(800, seed=5)]
    texts += ["", "one", "two words", texts[3], texts[3].upper()]
    skip = {7, 11}

    ours = near_duplicates(texts, threshold, skip=skip)

    assert ours == legacy_near_duplicates(texts, threshold, skip=skip)
    assert len(ours) > 20


def test_sinc_contract_verdicts_are_unchanged() -> None:
    pairs = completions(150)
    ours, previous = Contract(sinc_output_spec()), LegacyContract(sinc_output_spec())

    verdicts = [ours.check(text, prompt=prompt).failures for prompt, text in pairs]

    assert verdicts == [previous.check(text, prompt=prompt).failures for prompt, text in pairs]
    assert sum(1 for failures in verdicts if failures) >= 25  # the broken fifth, and then some


def test_shingle_hashes_are_those_of_hashing_each_shingle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shingling, "CHUNK_TEXTS", 97)  # several chunks, the digest table reused
    texts = [record["completion"] or "" for record in synthetic_text_records(300, seed=9)]
    texts += ["", "one", "Two  words", "A\tb\u00a0C d", "Straße STRASSE x y", "x x x x", "a b a b a b"]

    flat, counts = shingling.ShingleHasher().hash_texts(texts)

    assert counts.sum() == len(flat)
    position = 0
    for text, count in zip(texts, counts, strict=True):
        expected = sorted(shingling.digest(shingle) for shingle in shingles(text))
        assert sorted(int(value) for value in flat[position : position + count]) == expected, text
        position += count
