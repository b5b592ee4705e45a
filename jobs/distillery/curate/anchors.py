"""`curation.anchors`: human-verified examples mixed into train.jsonl at a configured share (seed 002).

- Every anchor needs an expected output (the `expected` of a JSONL line, a dataset's
  expectedColumn): that is the assistant answer trained on (a string as it is, any other JSON
  value serialised compactly). A row without one is a CurationError naming it.
- An anchor whose prompt (whitespace-normalised) is also a prompt of `evaluation.heldOut` is
  left out, counted (`excluded_held_out`) and logged. Excluded rather than an error: the
  held-out set stays exactly as given and the run goes on with the rest of the anchors; the hard
  guard stays evaluate's leak check (a held-out prompt in train.jsonl fails the evaluation).
- An anchor whose expected output fails the output contract is left out (`rejected`): training
  on it would teach the student to break the contract.
- With T teacher examples in train.jsonl and share s, the n anchors whose share n / (T + n) is
  closest to s (n is s * T / (1 - s) rounded down or up) go into train.jsonl; when fewer
  anchors are usable all of them are used and `share_achieved` says what the share came to.
  Which ones: the lowest seeded hashes (`curation.seed`), so reruns pick the same. Anchors go
  to train.jsonl only (validation stays teacher data), ids "anchor-<prompt id>", shuffled among
  the teacher's lines by seeded hash.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

from distillery.api.spec import AnchorsSpec, TaskSpec
from distillery.contract import Contract
from distillery.curate.split import order_key
from distillery.errors import CurationError
from distillery.prompts import Prompt

log = logging.getLogger("distillery.curate")
ID_PREFIX = "anchor-"


@dataclass
class Mixed:
    train: list[dict[str, Any]]
    stats: dict[str, Any]


def _normalised(text: str) -> str:
    return " ".join(text.split())


def answer_text(expected: Any) -> str:
    """The assistant answer of an anchor: its expected output as text."""
    return expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False)


def wanted_count(teacher_examples: int, share: float) -> int:
    """The anchor count n whose share n / (T + n) next to T teacher examples is closest to `share`."""
    exact = share * teacher_examples / (1 - share)
    low = math.floor(exact)
    return min((low, low + 1), key=lambda n: (abs(n / (teacher_examples + n or 1) - share), n))


def anchor_count(teacher_examples: int, share: float, available: int) -> int:
    """Anchors that make `share` of train.jsonl next to `teacher_examples`, capped by `available`."""
    return min(available, wanted_count(teacher_examples, share))


def usable_anchors(
    anchors: list[Prompt], held_out: list[Prompt], task: TaskSpec
) -> tuple[list[Prompt], int, int]:
    """(usable anchors, excluded for being held out, rejected by the contract)."""
    missing = [a for a in anchors if a.expected is None]
    if missing:
        shown = ", ".join(f"{a.index} ({a.text[:40]!r})" for a in missing[:5])
        raise CurationError(
            f"curation.anchors.source: {len(missing)} examples have no expected output (e.g. {shown}); "
            "every anchor needs one (JSONL 'expected', or dataset.expectedColumn)"
        )
    held = {_normalised(p.text) for p in held_out}
    kept = [a for a in anchors if _normalised(a.text) not in held]
    excluded = len(anchors) - len(kept)
    if excluded:
        log.warning("curate: %d anchors are also held-out prompts; they are not trained on", excluded)
    contract = Contract(task.output)
    passing = [a for a in kept if contract.check(answer_text(a.expected), prompt=a.text).passed]
    if len(passing) < len(kept):
        log.warning(
            "curate: %d anchors fail the output contract; they are not trained on", len(kept) - len(passing)
        )
    return passing, excluded, len(kept) - len(passing)


def _line(anchor: Prompt, system_prompt: str) -> dict[str, Any]:
    return {
        "id": ID_PREFIX + anchor.id,
        "category": anchor.category,
        "source": "anchor",
        "messages": [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": anchor.text},
            {"role": "assistant", "content": answer_text(anchor.expected)},
        ],
    }


def mix_anchors(
    train: list[dict[str, Any]],
    anchors: list[Prompt],
    held_out: list[Prompt],
    task: TaskSpec,
    spec: AnchorsSpec,
    *,
    seed: int,
) -> Mixed:
    """train.jsonl's lines with the anchors mixed in, and curate's summary of them."""
    usable, excluded, rejected = usable_anchors(anchors, held_out, task)
    count = anchor_count(len(train), spec.share, len(usable))
    chosen = sorted(usable, key=lambda a: order_key(seed, a.id))[:count]
    lines = [*train, *(_line(a, task.system_prompt) for a in chosen)]
    lines.sort(key=lambda line: order_key(seed, str(line["id"])))
    stats = {
        "available": len(anchors),
        "excluded_held_out": excluded,
        "rejected": rejected,
        "count": count,
        "share_configured": spec.share,
        "share_achieved": count / len(lines) if lines else 0.0,
    }
    if count < wanted_count(len(train), spec.share):
        log.warning(
            "curate: %d usable anchors give a share of %.3f, below the configured %.3f",
            len(usable),
            stats["share_achieved"],
            spec.share,
        )
    return Mixed(lines, stats)
