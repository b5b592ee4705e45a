"""Typed phase summaries: one model per phase, the compact result in a termination message."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from distillery.api.summaries import (
    RESULTS,
    SUMMARIES,
    TERMINATION_MESSAGE_LIMIT,
    parse_result,
    parse_summary,
    termination_message,
)
from distillery.cli.job import failure_message


def test_the_compact_result_is_what_status_needs_and_round_trips() -> None:
    summary = parse_summary(
        "collect",
        {
            "status": "BudgetExceeded",
            "reason": "budget of $1 reached",
            "prompts": 120,
            "collected": 118,
            "failed": 2,
            "cost_usd": 0.24,
            "tokens": {"input_tokens": 1000, "output_tokens": 500, "total": 1500},
            "provenance": {"provider": "anthropic"},
            "models": {"claude-haiku-4-5-20251001": 118},
        },
    )
    message = json.loads(termination_message("collect", summary))
    assert "provenance" not in message and "models" not in message
    result = parse_result("collect", message)
    assert (result.status, result.collected, result.cost_usd, result.tokens.total) == (
        "BudgetExceeded",
        118,
        0.24,
        1500,
    )
    # In status the same numbers are camelCase.
    assert result.to_api()["costUSD"] == 0.24 and result.to_api()["tokens"]["inputTokens"] == 1000


def test_unknown_keys_are_refused_in_both_layers() -> None:
    with pytest.raises(ValidationError, match="collectd"):
        parse_summary("collect", {"collectd": 3})
    with pytest.raises(ValidationError, match="provenance"):
        parse_result("collect", {"provenance": {}})  # a summary-only key is not part of the result


def test_termination_message_stays_under_the_kubelet_limit() -> None:
    summary = parse_summary(
        "curate",
        {
            "reason": "x" * 10_000,
            "rejected_by_reason": {f"reason-{i}": i for i in range(60)},
            "train": 3,
        },
    )
    message = termination_message("curate", summary)
    assert len(message.encode()) <= TERMINATION_MESSAGE_LIMIT
    assert parse_result("curate", json.loads(message)).train == 3


def test_a_failed_job_reports_its_error_as_a_failed_result() -> None:
    result = parse_result("train", json.loads(failure_message("train", "base model not found: /models/x")))
    assert (result.status, result.reason) == ("Failed", "base model not found: /models/x")


def test_every_summary_extends_its_result() -> None:
    for phase in RESULTS:
        assert issubclass(SUMMARIES[phase], RESULTS[phase])
        assert SUMMARIES[phase].model_fields.keys() >= RESULTS[phase].model_fields.keys()
