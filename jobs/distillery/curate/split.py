"""Deterministic train / validation split, stratified by category when categories are present."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any


def order_key(seed: int, record_id: str) -> str:
    return hashlib.sha256(f"{seed}:{record_id}".encode()).hexdigest()


def split(
    records: list[dict[str, Any]], *, fraction: float, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, validation): per category, the `fraction` of records with the lowest seeded hash go
    to validation (rounded; at least one overall when fraction > 0 and there are 2+ records)."""
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[record.get("category")].append(record)
    validation_ids: set[str] = set()
    for members in groups.values():
        ordered = sorted(members, key=lambda r: order_key(seed, r["id"]))
        validation_ids.update(r["id"] for r in ordered[: round(len(ordered) * fraction)])
    if fraction > 0 and not validation_ids and len(records) >= 2:
        largest = max(groups.values(), key=len)
        validation_ids.add(min(largest, key=lambda r: order_key(seed, r["id"]))["id"])
    train = [r for r in records if r["id"] not in validation_ids]
    validation = [r for r in records if r["id"] in validation_ids]
    return train, validation
