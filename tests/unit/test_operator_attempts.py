"""When the operator starts a new attempt, what history keeps, and the cron schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from distillery.api.status import Condition, DistillationRunStatus, Summary
from distillery_operator.attempts import choose_attempt, with_history

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def status(**fields) -> DistillationRunStatus:
    base = {"attempt": 1, "observed_generation": 1, "phase": "Training"}
    return DistillationRunStatus(**(base | fields))


@pytest.mark.parametrize(
    ("current", "generation", "rerun", "new", "reason"),
    [
        (DistillationRunStatus(), 1, None, True, "FirstAttempt"),
        (status(), 1, None, False, ""),
        (status(), 2, None, True, "SpecChanged"),
        (status(rerun="a"), 1, "a", False, ""),
        (status(rerun="a"), 1, "b", True, "RerunRequested"),
        (status(), 1, "first-token", True, "RerunRequested"),
    ],
)
def test_new_attempt_when(current, generation, rerun, new, reason) -> None:
    choice = choose_attempt(current, generation=generation, rerun=rerun, schedule=None, now=NOON)
    assert (choice.new, choice.reason) == (new, reason)


def test_schedule_first_sight_sets_the_next_tick_only() -> None:
    choice = choose_attempt(
        status(phase="Succeeded"), generation=1, rerun=None, schedule="0 * * * *", now=NOON
    )
    assert not choice.new
    assert choice.next_schedule_time == "2026-11-25T13:00:00Z"


def test_schedule_tick_starts_an_attempt_after_a_finished_one() -> None:
    done = status(phase="Succeeded", next_schedule_time="2026-11-25T12:00:00Z")
    choice = choose_attempt(done, generation=1, rerun=None, schedule="0 * * * *", now=NOON)
    assert (choice.new, choice.reason) == (True, "Scheduled")
    assert (choice.last_schedule_time, choice.next_schedule_time) == (
        "2026-11-25T12:00:00Z",
        "2026-11-25T13:00:00Z",
    )


def test_schedule_tick_during_a_running_attempt_is_skipped() -> None:
    running = status(phase="Training", next_schedule_time="2026-11-25T11:00:00Z")
    choice = choose_attempt(running, generation=1, rerun=None, schedule="0 * * * *", now=NOON)
    assert (choice.new, choice.schedule_skipped) == (False, True)
    assert choice.next_schedule_time == "2026-11-25T13:00:00Z"


def test_history_records_superseded_and_finished_attempts_and_is_bounded() -> None:
    running = status(attempt=4, start_time="T0", summary=Summary(prompts=5))
    history = with_history(running, "T9", limit=10, why="SpecChanged")
    assert history[0].model_dump(exclude_none=True) == {
        "attempt": 4,
        "generation": 1,
        "outcome": "Superseded",
        "reason": "Superseded",
        "message": "superseded while Training: SpecChanged",
        "start_time": "T0",
        "completion_time": "T9",
        "summary": {"prompts": 5},
    }
    failed = status(
        attempt=5,
        phase="Failed",
        message="collect: teacher said 401",
        completion_time="T5",
        conditions=[Condition(type="Complete", status="False", reason="Failed", message="x")],
        history=history,
    )
    again = with_history(failed, "T9", limit=2)
    assert [(r.attempt, r.outcome, r.reason, r.completion_time) for r in again] == [
        (5, "Failed", "Failed", "T5"),
        (4, "Superseded", "Superseded", "T9"),
    ]
    assert len(with_history(failed.model_copy(update={"history": again * 5}), "T9", limit=10)) == 10
