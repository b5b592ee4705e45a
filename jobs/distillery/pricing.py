"""Teacher prices (USD per million tokens) and what a call costs.

The built-in table covers current Claude models; `teacher.pricing` in the spec overrides it (and is
the only way to price other models, e.g. a self-hosted vLLM teacher at 0). Prompt-cache writes cost
1.25x the input price (5-minute cache) and reads 0.1x unless the spec says otherwise; Message
Batches cost `batch_discount` (0.5) times every price.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from distillery.api.spec import Pricing

log = logging.getLogger(__name__)

CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1
DEFAULT_BATCH_DISCOUNT = 0.5
MTOK = 1_000_000

# USD per million (input, output) tokens.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-haiku": (0.25, 1.25),
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
}
_DATE_SUFFIX = re.compile(r"-(\d{8}|latest)$")


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one call (or a sum of calls), as the API's `usage` reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @property
    def total(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
        )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }

    @classmethod
    def from_dict(cls, usage: dict[str, Any] | None) -> TokenUsage:
        usage = usage or {}
        return cls(*(int(usage.get(name) or 0) for name in cls().to_dict()))


@dataclass(frozen=True)
class Price:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    batch_discount: float = DEFAULT_BATCH_DISCOUNT

    @classmethod
    def from_table(cls, input_price: float, output_price: float) -> Price:
        return cls(
            input=input_price,
            output=output_price,
            cache_write=input_price * CACHE_WRITE_FACTOR,
            cache_read=input_price * CACHE_READ_FACTOR,
        )

    @classmethod
    def from_spec(cls, pricing: Pricing) -> Price:
        default = cls.from_table(pricing.input_per_mtok, pricing.output_per_mtok)
        return cls(
            input=pricing.input_per_mtok,
            output=pricing.output_per_mtok,
            cache_write=default.cache_write
            if pricing.cache_write_per_mtok is None
            else pricing.cache_write_per_mtok,
            cache_read=default.cache_read
            if pricing.cache_read_per_mtok is None
            else pricing.cache_read_per_mtok,
            batch_discount=pricing.batch_discount,
        )

    def cost(self, usage: TokenUsage, *, batch: bool = False) -> float:
        """USD for `usage`; Message Batches get `batch_discount` on every kind of token."""
        dollars = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        ) / MTOK
        return dollars * (self.batch_discount if batch else 1.0)

    def to_dict(self) -> dict[str, float]:
        return {
            "input_per_mtok": self.input,
            "output_per_mtok": self.output,
            "cache_write_per_mtok": self.cache_write,
            "cache_read_per_mtok": self.cache_read,
            "batch_discount": self.batch_discount,
        }


def lookup_default(model: str) -> Price | None:
    """The built-in price of `model`: exact id, then without a date suffix, then the longest prefix."""
    name = model.strip().lower()
    for candidate in (name, _DATE_SUFFIX.sub("", name)):
        if candidate in DEFAULT_PRICES:
            return Price.from_table(*DEFAULT_PRICES[candidate])
    prefixes = [known for known in DEFAULT_PRICES if name.startswith(known + "-")]
    if prefixes:
        return Price.from_table(*DEFAULT_PRICES[max(prefixes, key=len)])
    return None


def price_for(model: str, override: Pricing | None = None) -> Price | None:
    """The spec's pricing if given, else the built-in table; None (with a warning) when unknown."""
    if override is not None:
        return Price.from_spec(override)
    price = lookup_default(model)
    if price is None:
        log.warning(
            "no known price for model %r: cost is reported as unknown (set teacher.pricing to price it)",
            model,
        )
    return price
