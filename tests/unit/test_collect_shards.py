"""Which prompts a shard takes, what it may spend, and how the shards' numbers merge (pure code)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from distillery.api.spec import TeacherSpec
from distillery.collect.shards import merge_summaries, shard_index, shard_of, shard_teacher
from distillery.errors import ShardError


def test_shard_of_is_a_stable_hash_that_spreads_ids() -> None:
    # sha256, not hash(): the same id lands in the same shard in every process (values fixed here)
    assert [shard_of(f"p{i}", 3) for i in range(6)] == [shard_of(f"p{i}", 3) for i in range(6)]
    assert (shard_of("p0", 3), shard_of("abc", 7)) == (
        int.from_bytes(__import__("hashlib").sha256(b"p0").digest()[:8], "big") % 3,
        int.from_bytes(__import__("hashlib").sha256(b"abc").digest()[:8], "big") % 7,
    )
    counts = [0, 0, 0]
    for i in range(3000):
        counts[shard_of(f"prompt-{i}", 3)] += 1
    assert min(counts) > 900


def test_shard_index_from_the_env_with_clear_errors() -> None:
    assert shard_index(1, {"DISTILLERY_SHARD_INDEX": "2"}) is None  # not sharded
    assert shard_index(3, {"DISTILLERY_SHARD_INDEX": "2", "JOB_COMPLETION_INDEX": "0"}) == 2
    assert shard_index(3, {"JOB_COMPLETION_INDEX": "1"}) == 1
    with pytest.raises(ShardError, match=r"DISTILLERY_SHARD_INDEX='3': expected a shard index from 0 to 2"):
        shard_index(3, {"DISTILLERY_SHARD_INDEX": "3"})
    with pytest.raises(ShardError, match=r"teacher\.shards is 3: set DISTILLERY_SHARD_INDEX"):
        shard_index(3, {})


def test_each_shard_gets_a_third_of_the_limits_so_three_never_cross_the_budget() -> None:
    spec = TeacherSpec.model_validate(
        {
            "model": "m",
            "shards": 3,
            "concurrency": 16,
            "budget": {"maxCostUSD": 9.0, "maxTokens": 3000},
            "rateLimits": {"requestsPerMinute": 300, "outputTokensPerMinute": 2},
        }
    )
    shard = shard_teacher(spec)
    assert shard.budget.max_cost_usd * 3 <= 9.0 and shard.budget.max_tokens * 3 <= 3000
    assert (shard.budget.max_cost_usd, shard.budget.max_tokens) == (3.0, 1000)
    assert shard.rate_limits is not None
    assert (shard.rate_limits.requests_per_minute, shard.rate_limits.output_tokens_per_minute) == (100, 1)
    assert shard.rate_limits.input_tokens_per_minute is None and shard.concurrency == 6
    assert shard_teacher(spec.model_copy(update={"shards": 1})).budget.max_cost_usd == 9.0


def summary(**changes: Any) -> dict[str, Any]:
    base = {
        "phase": "collect",
        "status": "Succeeded",
        "prompts": 10,
        "collected": 10,
        "cost_usd": 1.5,
        "tokens": {"input_tokens": 100, "output_tokens": 50, "total": 150},
        "models": {"claude-x": 10},
        "model": "claude-x",
        "retries_by_kind": {"429": 1},
        "started_at": "2026-11-26T00:00:01+00:00",
        "finished_at": "2026-11-26T00:01:00+00:00",
    }
    return base | changes


def test_merge_sums_the_shards_and_the_worst_status_wins() -> None:
    merged = merge_summaries(
        [
            summary(shard=0),
            summary(shard=1, status="BudgetExceeded", reason="budget reached", collected=7, skipped=3),
            summary(shard=2, cost_usd=0.5, started_at="2026-11-26T00:00:00+00:00", models={"claude-y": 10}),
        ]
    )
    assert merged["status"] == "BudgetExceeded" and merged["reason"] == "shard 1: budget reached"
    assert (merged["shards"], merged["prompts"], merged["collected"], merged["skipped"]) == (3, 30, 27, 3)
    assert merged["cost_usd"] == pytest.approx(3.5)
    assert merged["tokens"] == {
        "input_tokens": 300,
        "output_tokens": 150,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "total": 450,
    }
    assert merged["retries_by_kind"] == {"429": 3} and merged["models"] == {"claude-x": 20, "claude-y": 10}
    assert merged["started_at"] == "2026-11-26T00:00:00+00:00" and "shard" not in merged
    interrupted = merge_summaries([summary(), summary(status="Interrupted", reason="SIGTERM")])
    assert interrupted["status"] == "Interrupted"
    assert (
        merge_summaries([summary(), summary(cost_usd=None)]).get("cost_usd") is None
    )  # unknown stays unknown


def test_merge_refuses_a_shard_summary_with_an_undeclared_key() -> None:
    with pytest.raises(ValidationError, match="surprise"):
        merge_summaries([summary(), summary(surprise=1)])
