"""Curation as it ran before issue 12: the celpy contract and the per-document MinHash loop.

The pipeline code is today's (its steps did not change); only the two per-record engines are
swapped for their previous versions while it runs.
"""

from __future__ import annotations

from typing import Any

from bench.legacy.contract import LegacyContract
from bench.legacy.dedupe import near_duplicates as legacy_near_duplicates
from distillery.api.spec import CurationSpec, TaskSpec
from distillery.curate import pipeline


def legacy_curate_records(
    records: list[dict[str, Any]], task: TaskSpec, spec: CurationSpec
) -> pipeline.Curated:
    saved = pipeline.Contract, pipeline.near_duplicates
    pipeline.Contract, pipeline.near_duplicates = LegacyContract, legacy_near_duplicates  # type: ignore[misc]
    try:
        return pipeline.curate_records(records, task, spec)
    finally:
        pipeline.Contract, pipeline.near_duplicates = saved  # type: ignore[misc]
