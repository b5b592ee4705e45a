"""The collect engine: prompts in, one teacher record per prompt id out, in any artifact store.

    summary = collect_to_store(prompts, spec.teacher, store, api_key=key, system_prompt=text)

Independent of manifests and jobs (the evaluate phase uses it for teacher answers on held-out
prompts). Resumable: records already in the store's chunks are not requested again, batches
already submitted are polled instead of resubmitted. Writes `chunks/*.jsonl` as results arrive,
`teacher.jsonl` (layout.COLLECT_TEACHER) at the end, and returns the summary (the caller stores it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from distillery.api.spec import TeacherSpec
from distillery.collect.batch import BatchLimits, collect_batches
from distillery.collect.budget import BudgetGuard
from distillery.collect.cache import TeacherCache, take_cached
from distillery.collect.durable import GroupWriter, new_run_token
from distillery.collect.ledger import Ledger, accounting, charge_prior, split
from distillery.collect.ratelimit import RateLimiter
from distillery.collect.realtime import collect_realtime, request_chars
from distillery.collect.records import STATUS_OK, best_by_id, final_records, read_all
from distillery.collect.state import RunState
from distillery.collect.stop import finished, run_until_stopped, stop_on_signals
from distillery.errors import PricingError, PromptSourceError
from distillery.layout import COLLECT_CHUNKS, COLLECT_TEACHER
from distillery.pricing import Price, TokenUsage, price_for
from distillery.prompts import Prompt
from distillery.teachers import RetryPolicy, make_teacher

log = logging.getLogger("distillery.collect")

SUCCEEDED, BUDGET_EXCEEDED, FAILED, INTERRUPTED = "Succeeded", "BudgetExceeded", "Failed", "Interrupted"


@dataclass(frozen=True)
class CollectOptions:
    """Engine tuning that is not part of the API (defaults suit production)."""

    progress_seconds: float = 5.0  # a progress line at least this often
    stop_signals: tuple[int, ...] = ()  # signals that stop collection gracefully (the job: SIGTERM, SIGINT)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch: BatchLimits = field(default_factory=BatchLimits)


def collect_to_store(
    prompts: list[Prompt],
    teacher: TeacherSpec,
    store: Any,
    *,
    api_key: str | None,
    system_prompt: str,
    options: CollectOptions | None = None,
    cache: TeacherCache | None = None,
) -> dict[str, Any]:
    """Collect a completion for every prompt into `store`; returns the summary (see module doc)."""
    return asyncio.run(
        acollect_to_store(
            prompts,
            teacher,
            store,
            api_key=api_key,
            system_prompt=system_prompt,
            options=options,
            cache=cache,
        )
    )


def resolve_price(spec: TeacherSpec) -> Price | None:
    price = price_for(spec.model, spec.pricing)
    if price is None and spec.budget.max_cost_usd is not None:
        raise PricingError(
            f"teacher.pricing: teacher.budget.maxCostUSD is set but model {spec.model!r} has no known price; "
            "set teacher.pricing (inputPerMtok, outputPerMtok) so the cost can be capped"
        )
    return price


def _check_ids(prompts: list[Prompt]) -> None:
    repeated = [pid for pid, n in Counter(p.id for p in prompts).items() if n > 1]
    if repeated:
        raise PromptSourceError(f"prompt ids must be unique; repeated: {', '.join(repeated[:5])}")


def _spent(records: list[dict[str, Any]]) -> tuple[TokenUsage, float]:
    usage, cost = TokenUsage(), 0.0
    for record in records:
        usage += TokenUsage.from_dict(record.get("usage"))
        cost += record.get("cost_usd") or 0.0
    return usage, cost


async def acollect_to_store(
    prompts: list[Prompt],
    spec: TeacherSpec,
    store: Any,
    *,
    api_key: str | None,
    system_prompt: str,
    options: CollectOptions | None = None,
    cache: TeacherCache | None = None,
) -> dict[str, Any]:
    """The async form of `collect_to_store`."""
    options = options or CollectOptions()
    started_at, started = datetime.now(UTC), time.monotonic()
    _check_ids(prompts)
    price = resolve_price(spec)
    wanted = {p.id for p in prompts}
    lines = [r for r in await asyncio.to_thread(read_all, store, COLLECT_CHUNKS) if r["id"] in wanted]
    chunk_records, journal = split(lines)
    existing = best_by_id(chunk_records)
    done = [r for r in existing.values() if r["status"] == STATUS_OK]
    done_ids = {r["id"] for r in done}
    pending = [p for p in prompts if p.id not in done_ids]
    batch = spec.mode == "batch"
    teacher = make_teacher(spec, api_key=api_key, system_prompt=system_prompt)
    budget = BudgetGuard(spec.budget, price, batch=batch)
    worst = {p.id: budget.worst_case(request_chars(teacher, p), teacher.max_tokens) for p in prompts}
    ledger = Ledger()
    ledger.add_records(chunk_records)
    ledger.add_journal(journal)
    charge_prior(budget, ledger, worst, priced=price is not None)
    token = new_run_token()
    state = RunState(
        total=len(prompts),
        already_done=len(done),
        budget=budget,
        writer=GroupWriter(store, prefix=COLLECT_CHUNKS, run_token=token),
        journaled=not batch,
        limiter=RateLimiter(spec.rate_limits),
        price=price,
        policy=options.retry,
        max_attempts=spec.max_attempts,
        stop=asyncio.Event(),
        batch=batch,
        cache=cache,
    )
    pending = await take_cached(pending, state, cache)
    log.info(
        "collect: %d prompts, %d already collected, %d from the teacher cache, %d to send "
        "(%s %s, %s mode, concurrency %d)",
        len(prompts),
        len(done),
        len(state.new_records),
        len(pending),
        spec.provider,
        spec.model,
        spec.mode,
        spec.concurrency,
    )
    ticker = asyncio.create_task(state.report_progress(options.progress_seconds))
    try:
        with stop_on_signals(state.stop, options.stop_signals):
            if pending and not budget.exceeded:
                if batch:
                    work = collect_batches(pending, teacher, state, store, options.batch)  # type: ignore[arg-type]
                else:
                    work = collect_realtime(pending, teacher, state, spec.concurrency)
                await run_until_stopped(work, state.stop, spec.stop_grace_period_seconds)
    finally:
        ticker.cancel()
        await state.writer.aclose()
        if cache is not None:
            await cache.aclose()
        await teacher.aclose()
    log.info(state.progress_line())
    stored, journaled = split(state.writer.stored)
    ledger.add_records(stored)
    ledger.add_journal(journaled)
    interrupted = state.stop.is_set() and not finished(pending, state)
    records = final_records(
        prompts,
        existing | state.new_records,
        why_not_sent="collect was interrupted" if interrupted else "the budget ran out",
    )
    if not interrupted:
        await asyncio.to_thread(store.write_jsonl, COLLECT_TEACHER, records)
    summary = build_summary(
        records,
        spec,
        state,
        teacher_sdk=teacher.sdk_version,
        system_prompt=system_prompt,
        started_at=started_at,
        duration=time.monotonic() - started,
        resumed=len(done),
    )
    billing = accounting(ledger, state, cache, worst, interrupted=interrupted)
    billing["this_run"] = summary["this_run"] | billing["this_run"]
    return summary | billing


def _status(records: list[dict[str, Any]], state: RunState) -> tuple[str, str | None]:
    counts = Counter(r["status"] for r in records)
    if counts["skipped"]:
        return BUDGET_EXCEEDED, f"budget reached: {counts['skipped']} of {len(records)} prompts not sent"
    if records and counts[STATUS_OK] == 0:
        errors = Counter(r.get("error") for r in records if r["status"] == "failed")
        common = errors.most_common(1)[0][0] if errors else "unknown"
        return FAILED, f"all {len(records)} prompts failed; most common error: {common}"
    return SUCCEEDED, None


def build_summary(
    records: list[dict[str, Any]],
    spec: TeacherSpec,
    state: RunState,
    *,
    teacher_sdk: str,
    system_prompt: str,
    started_at: datetime,
    duration: float,
    resumed: int,
) -> dict[str, Any]:
    """Counts, tokens, cost and provenance of the whole collection (earlier runs included)."""
    status, reason = _status(records, state)
    ok = [r for r in records if r["status"] == STATUS_OK]
    usage, cost = _spent([r for r in ok if not r.get("cache_hit")])
    models = Counter(r["model"] for r in ok if r.get("model"))
    return {
        "phase": "collect",
        "status": status,
        "reason": reason,
        "prompts": len(records),
        "collected": len(ok),
        "failed": sum(1 for r in records if r["status"] == "failed"),
        "skipped": sum(1 for r in records if r["status"] == "skipped"),
        "resumed": resumed,
        "tokens": usage.to_dict() | {"total": usage.total},
        "cost_usd": cost if state.price is not None else None,
        "retries": state.retries.total,
        "retries_by_kind": dict(state.retries.by_kind),
        "this_run": {
            "sent": len(state.new_records),
            "tokens": state.usage.to_dict(),
            "cost_usd": state.cost if state.price is not None else None,
            "duration_seconds": round(duration, 3),
        },
        "model": models.most_common(1)[0][0] if models else None,
        "models": dict(models),
        "provenance": {
            "provider": spec.provider,
            "model_requested": spec.model,
            "mode": spec.mode,
            "sdk": teacher_sdk,
            "parameters": {
                "max_tokens": spec.max_tokens,
                "temperature": spec.temperature,
                "prompt_caching": spec.prompt_caching,
                "concurrency": spec.concurrency,
                "max_attempts": spec.max_attempts,
                "system_prompt_sha256": hashlib.sha256(system_prompt.encode()).hexdigest(),
            },
            "pricing": state.price.to_dict() if state.price is not None else None,
            "budget": spec.budget.model_dump(by_alias=True),
        },
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
    }
