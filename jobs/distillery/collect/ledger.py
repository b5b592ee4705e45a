"""Our side of the teacher's billing ledger: what may have been paid, across kills and restarts.

The journal holds one line per realtime call, stored BEFORE the call is sent:
{"journal": true, "id", "run", "attempt"}. First attempts are journaled ahead, in groups (ahead.py);
a line whose attempt never happened is withdrawn by the same line with "unsent": true. Journal
lines and records share the chunks/ objects (one GroupWriter). A record in `chunks/` accounts for
the attempts its run made for its prompt: an "ok" record for one billed completion (its real cost)
and `unknown_attempts` possibly billed ones; every other attempt it counts was answered with an
error (not billed). A journaled attempt that no record of its run accounts for and that was not
withdrawn may have been sent before the process died (or its record was being written): it may
have been billed.

Hence, per prompt: possibly billed = ok records + unknown attempts + unaccounted journaled
attempts. `possibly_paid_twice` counts the prompts for which that is 2 or more; the teacher's
own ledger can only show fewer (every billed completion is one of these). The budget is charged
the real cost of ok records and the worst case of every unknown or unaccounted attempt.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distillery.collect.budget import BudgetGuard, Reservation
from distillery.collect.records import STATUS_OK
from distillery.pricing import TokenUsage

if TYPE_CHECKING:
    from distillery.collect.cache import TeacherCache
    from distillery.collect.state import RunState

log = logging.getLogger("distillery.collect")

JOURNAL = "journal"  # the key that marks a journal line among the records of chunks/


def journal_entry(prompt_id: str, run: str, attempt: int, *, unsent: bool = False) -> dict[str, Any]:
    """`unsent`: withdraws a line journaled ahead whose attempt never happened (ahead.py)."""
    entry = {JOURNAL: True, "id": prompt_id, "run": run, "attempt": attempt}
    return entry | {"unsent": True} if unsent else entry


def split(lines: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(records, journal lines) of the chunks."""
    records, journal = [], []
    for line in lines:
        (journal if line.get(JOURNAL) else records).append(line)
    return records, journal


@dataclass
class Ledger:
    """What the chunks and the journal say was (possibly) billed, per prompt."""

    started: dict[tuple[str, str], int] = field(default_factory=dict)  # (run, id) -> attempts journaled
    accounted: dict[tuple[str, str], int] = field(default_factory=dict)  # (run, id) -> attempts recorded
    withdrawn: dict[tuple[str, str], int] = field(default_factory=dict)  # (run, id) -> attempt never sent
    billed_ok: Counter[str] = field(default_factory=Counter)  # id -> ok records that were paid for
    unknown: Counter[str] = field(default_factory=Counter)  # id -> attempts of unknown outcome
    usage: TokenUsage = field(default_factory=TokenUsage)  # of the ok records that were paid for
    cost: float = 0.0

    def add_records(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            key = (str(record.get("run") or ""), record["id"])
            self.accounted[key] = max(self.accounted.get(key, 0), int(record.get("attempts") or 0))
            self.unknown[record["id"]] += int(record.get("unknown_attempts") or 0)
            if record.get("status") == STATUS_OK and not record.get("cache_hit"):
                self.billed_ok[record["id"]] += 1
                self.usage += TokenUsage.from_dict(record.get("usage"))
                self.cost += record.get("cost_usd") or 0.0

    def add_journal(self, entries: Iterable[dict[str, Any]]) -> None:
        for entry in entries:
            key = (str(entry["run"]), entry["id"])
            if entry.get("unsent"):
                self.withdrawn[key] = int(entry["attempt"])
            else:
                self.started[key] = max(self.started.get(key, 0), int(entry["attempt"]))

    def unaccounted(self) -> Counter[str]:
        """Attempts journaled (sent) that no record accounts for, per prompt id."""
        missing: Counter[str] = Counter()
        for key, attempts in self.started.items():
            if self.withdrawn.get(key) == attempts:  # journaled ahead, never sent
                attempts -= 1
            extra = attempts - self.accounted.get(key, 0)
            if extra > 0:
                missing[key[1]] += extra
        return missing

    def possibly_billed(self) -> Counter[str]:
        """Completions the teacher may have billed, per prompt id (an upper bound of its ledger)."""
        return self.billed_ok + self.unknown + self.unaccounted()

    def possibly_paid_twice(self) -> int:
        return sum(1 for n in self.possibly_billed().values() if n >= 2)

    def worst_case_charges(self, worst_case: Callable[[str], Reservation]) -> Reservation:
        """The budget charge of every attempt whose cost is unknown, at its worst case."""
        cost, tokens = 0.0, 0
        for prompt_id, n in (self.unknown + self.unaccounted()).items():
            reservation = worst_case(prompt_id)
            cost += n * reservation.cost
            tokens += n * reservation.tokens
        return Reservation(cost=cost, tokens=tokens)


def charge_prior(
    budget: BudgetGuard, ledger: Ledger, worst: dict[str, Reservation], *, priced: bool
) -> Reservation:
    """Charge the budget what earlier runs of this attempt paid or may have paid; returns the worst cases."""
    budget.add_spent(ledger.usage, ledger.cost if priced else None)
    charges = ledger.worst_case_charges(lambda prompt_id: worst[prompt_id])
    if charges.tokens or charges.cost:
        log.warning(
            "collect: %d earlier call(s) may have been billed without a stored record; charged at worst case",
            sum((ledger.unknown + ledger.unaccounted()).values()),
        )
    budget.add_spent(TokenUsage(input_tokens=charges.tokens), charges.cost if priced else None)
    return charges


def accounting(
    ledger: Ledger,
    state: RunState,
    cache: TeacherCache | None,
    worst: dict[str, Reservation],
    *,
    interrupted: bool,
) -> dict[str, Any]:
    """The summary's billing keys (over every run of this attempt, this one included)."""
    uncertain = ledger.unknown + ledger.unaccounted()
    charges = ledger.worst_case_charges(lambda prompt_id: worst[prompt_id])
    hits = [r for r in state.new_records.values() if r.get("cache_hit")]
    priced = state.price is not None
    summary: dict[str, Any] = {
        "possibly_paid_twice": ledger.possibly_paid_twice(),
        "uncertain_calls": sum(uncertain.values()),
        "uncertain_cost_usd": charges.cost if priced else None,
        "cache": {
            "enabled": cache is not None,
            "hits": len(hits),
            "saved_usd": sum(r.get("cost_saved_usd") or 0.0 for r in hits) if priced else None,
            "written": cache.written if cache is not None else 0,
        },
    }
    summary["this_run"] = {
        "chunk_writes": state.writer.objects_written,
        "rate_limit_wait_seconds": round(state.limiter.waited_seconds, 3),
        "rate_limit_slowdowns": state.limiter.slowdowns,
    }
    if interrupted:
        summary["status"] = "Interrupted"
        summary["reason"] = (
            f"stopped on request: {sum(1 for r in state.new_records.values() if r['status'] == 'ok')} "
            "completions collected by this run are stored; run collect again to resume"
        )
    return summary
