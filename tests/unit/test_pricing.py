"""The price table and cost arithmetic (cache reads 0.1x, writes 1.25x, batches half price)."""

from __future__ import annotations

import logging

import pytest

from distillery.api.spec import Pricing, TeacherSpec
from distillery.collect.engine import resolve_price
from distillery.errors import PricingError
from distillery.pricing import Price, TokenUsage, lookup_default, price_for


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-haiku-4-5", (1.0, 5.0)),
        ("claude-haiku-4-5-20251001", (1.0, 5.0)),
        ("claude-sonnet-4-6", (3.0, 15.0)),
        ("claude-opus-4-1-20250805", (15.0, 75.0)),
        ("claude-opus-4-5", (5.0, 25.0)),
    ],
)
def test_default_table_matches_dated_ids(model: str, expected: tuple[float, float]) -> None:
    price = lookup_default(model)
    assert price is not None and (price.input, price.output) == expected


def test_cost_of_seed_003_run_at_sonnet_prices() -> None:
    price = lookup_default("claude-sonnet-4-6")
    assert price is not None
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=100_000)
    assert price.cost(usage) == pytest.approx(3.0 + 1.5)
    assert price.cost(usage, batch=True) == pytest.approx((3.0 + 1.5) / 2)


def test_cache_tokens_are_priced_as_reads_and_writes() -> None:
    price = Price.from_table(1.0, 5.0)
    usage = TokenUsage(cache_creation_input_tokens=1_000_000, cache_read_input_tokens=1_000_000)
    assert price.cost(usage) == pytest.approx(1.25 + 0.1)


def test_spec_pricing_overrides_and_unknown_model_warns(caplog: pytest.LogCaptureFixture) -> None:
    override = Pricing(input_per_mtok=0.0, output_per_mtok=0.0)
    assert price_for("claude-haiku-4-5", override).cost(TokenUsage(1000, 1000)) == 0.0  # type: ignore[union-attr]
    with caplog.at_level(logging.WARNING):
        assert price_for("qwen2.5-72b-instruct") is None
    assert "teacher.pricing" in caplog.text


def test_budget_on_unknown_price_names_teacher_pricing() -> None:
    spec = TeacherSpec(model="my-vllm-model", budget={"maxCostUSD": 1})
    with pytest.raises(PricingError, match=r"teacher\.pricing"):
        resolve_price(spec)
    assert resolve_price(TeacherSpec(model="my-vllm-model")) is None
