"""The collection budget: stop BEFORE `maxCostUSD` or `maxTokens` would be exceeded.

Chosen rule: before a request is sent its worst case is reserved: input tokens estimated at 2
characters per token (real tokenizers average about 4) plus a small framing allowance, priced at
the higher of the input and cache-write prices, plus `maxTokens` output tokens. A request is sent
only if what was spent, plus every reservation in flight, plus its own worst case stays within the
budget; when it does not fit, the caller waits for in-flight requests to settle (their real cost is
usually far below the reservation) and stops only when nothing is in flight and it still does not
fit. The running total therefore never crosses the cap unless the estimate itself is wrong, and a
crossing (should the API report more tokens than estimated) stops the run at once.

A call whose cost is unknown (timeout, dropped connection, unreadable answer) is charged its
reservation, i.e. its worst case (`charge_worst_case`), and a retry reserves again; so do the
attempts an earlier, killed run may have paid for (ledger.py) and batches it already submitted
(`force_reserve`: they are paid whether they fit or not, so they count before anything new is sent).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from distillery.api.spec import Budget
from distillery.pricing import Price, TokenUsage

WORST_CASE_CHARS_PER_TOKEN = 2
FRAMING_TOKENS = 16


@dataclass(frozen=True)
class Reservation:
    cost: float
    tokens: int


@dataclass
class BudgetGuard:
    """Spend so far (including records from earlier runs of this attempt) against the caps."""

    budget: Budget
    price: Price | None
    batch: bool = False
    spent_cost: float = 0.0
    spent_tokens: int = 0
    reserved_cost: float = 0.0
    reserved_tokens: int = 0
    in_flight: int = 0
    exceeded: bool = False
    _settled: asyncio.Condition | None = field(default=None, repr=False)

    @property
    def limited(self) -> bool:
        return self.budget.max_cost_usd is not None or self.budget.max_tokens is not None

    def worst_case(self, request_chars: int, max_tokens: int) -> Reservation:
        input_tokens = math.ceil(request_chars / WORST_CASE_CHARS_PER_TOKEN) + FRAMING_TOKENS
        cost = 0.0
        if self.price is not None:
            input_price = max(self.price.input, self.price.cache_write)
            cost = (input_tokens * input_price + max_tokens * self.price.output) / 1_000_000
            cost *= self.price.batch_discount if self.batch else 1.0
        return Reservation(cost=cost, tokens=input_tokens + max_tokens)

    def fits(self, reservation: Reservation) -> bool:
        max_cost, max_tokens = self.budget.max_cost_usd, self.budget.max_tokens
        if max_cost is not None and self.spent_cost + self.reserved_cost + reservation.cost > max_cost:
            return False
        return not (
            max_tokens is not None
            and self.spent_tokens + self.reserved_tokens + reservation.tokens > max_tokens
        )

    def try_reserve(self, reservation: Reservation) -> bool:
        """Reserve without waiting; False if it does not fit (`exceeded` set when nothing is in flight)."""
        if self.exceeded:
            return False
        if not self.fits(reservation):
            if self.in_flight == 0:
                self.exceeded = True
            return False
        self.reserved_cost += reservation.cost
        self.reserved_tokens += reservation.tokens
        self.in_flight += 1
        return True

    async def reserve(self, reservation: Reservation) -> bool:
        """Reserve, waiting for in-flight requests to settle when it does not fit yet."""
        if not self.limited:
            return True
        condition = self._condition()
        async with condition:
            while not self.try_reserve(reservation):
                if self.exceeded:
                    return False
                await condition.wait()
            return True

    def force_reserve(self, reservation: Reservation) -> None:
        """Reserve what is already committed (a batch submitted by an earlier run), fitting or not."""
        if not self.limited:
            return
        self.reserved_cost += reservation.cost
        self.reserved_tokens += reservation.tokens
        self.in_flight += 1

    def charge_worst_case(self, reservation: Reservation | None) -> None:
        """The call may have been billed but its cost is unknown: spend its whole reservation."""
        if reservation is None:
            return
        self.settle(reservation, TokenUsage(input_tokens=reservation.tokens), reservation.cost)

    def settle(self, reservation: Reservation | None, usage: TokenUsage | None, cost: float | None) -> None:
        """Replace a reservation by what the call really cost (usage None: nothing was billed)."""
        if reservation is not None and self.limited:
            self.reserved_cost -= reservation.cost
            self.reserved_tokens -= reservation.tokens
            self.in_flight -= 1
        self.add_spent(usage, cost)
        if self.limited:
            asyncio.get_running_loop().create_task(self._notify())

    def add_spent(self, usage: TokenUsage | None, cost: float | None) -> None:
        if usage is not None:
            self.spent_tokens += usage.total
        if cost is not None:
            self.spent_cost += cost
        max_cost, max_tokens = self.budget.max_cost_usd, self.budget.max_tokens
        if (max_cost is not None and self.spent_cost >= max_cost) or (
            max_tokens is not None and self.spent_tokens >= max_tokens
        ):
            self.exceeded = True

    def _condition(self) -> asyncio.Condition:
        if self._settled is None:
            self._settled = asyncio.Condition()
        return self._settled

    async def _notify(self) -> None:
        condition = self._condition()
        async with condition:
            if self.in_flight == 0 and self.reserved_cost <= 0:
                self.reserved_cost, self.reserved_tokens = 0.0, 0  # drop float residue
            condition.notify_all()
