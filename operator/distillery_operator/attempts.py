"""When a new attempt starts, and what the history keeps. Pure functions of observed state.

A new attempt starts when the run has none yet, when its spec changed (a new
metadata.generation), when the `distillery.dev/rerun` annotation holds a new token, or when the
cron schedule ticks while no attempt is running (a tick during a running attempt is skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

from distillery.api.status import AttemptOutcome, AttemptRecord, DistillationRunStatus

FIRST = "FirstAttempt"
SPEC_CHANGED = "SpecChanged"
RERUN_REQUESTED = "RerunRequested"
SCHEDULED = "Scheduled"


@dataclass(frozen=True)
class AttemptChoice:
    """Whether to start a new attempt, why, and what the schedule says."""

    new: bool
    reason: str = ""
    schedule_skipped: bool = False
    last_schedule_time: str | None = None
    next_schedule_time: str | None = None


def finished(status: DistillationRunStatus) -> bool:
    return status.phase in ("Succeeded", "Failed")


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def next_tick(schedule: str, after: datetime) -> datetime:
    return croniter(schedule, after).get_next(datetime)


def schedule_state(
    schedule: str | None, status: DistillationRunStatus, now: datetime
) -> tuple[bool, str | None, str | None]:
    """(due, last tick, next tick): due when the stored next tick has passed."""
    if not schedule:
        return False, None, None
    if not status.next_schedule_time:  # first sight of the schedule: the next tick from now
        return False, status.last_schedule_time, format_time(next_tick(schedule, now))
    planned = parse_time(status.next_schedule_time)
    if now < planned:
        return False, status.last_schedule_time, status.next_schedule_time
    return True, format_time(planned), format_time(next_tick(schedule, now))


def choose_attempt(
    status: DistillationRunStatus,
    *,
    generation: int | None,
    rerun: str | None,
    schedule: str | None,
    now: datetime,
) -> AttemptChoice:
    """Whether this pass starts a new attempt (see the module doc for when)."""
    due, last_tick, next_tick_time = schedule_state(schedule, status, now)
    times = {"last_schedule_time": last_tick, "next_schedule_time": next_tick_time}
    if status.attempt == 0:
        return AttemptChoice(True, FIRST, **times)
    if generation is not None and status.observed_generation != generation:
        return AttemptChoice(True, SPEC_CHANGED, **times)
    if rerun and rerun != status.rerun:
        return AttemptChoice(True, RERUN_REQUESTED, **times)
    if due:
        if finished(status):
            return AttemptChoice(True, SCHEDULED, **times)
        return AttemptChoice(False, schedule_skipped=True, **times)
    return AttemptChoice(False, **times)


def record(status: DistillationRunStatus, now: str, why: str = "") -> AttemptRecord:
    """The history entry of the attempt `status` describes (superseded when it had not finished)."""
    done = finished(status)
    outcome: AttemptOutcome = status.phase if done else "Superseded"  # type: ignore[assignment]
    complete = next((c for c in status.conditions if c.type == "Complete"), None)
    if done:
        message = status.message or (complete.message if complete else "")
    else:
        message = f"superseded while {status.phase}" + (f": {why}" if why else "")
    return AttemptRecord(
        attempt=status.attempt,
        generation=status.observed_generation,
        outcome=outcome,
        reason=(complete.reason if complete and done else "Superseded"),
        message=message[:1024],
        start_time=status.start_time,
        completion_time=status.completion_time or now,
        summary=status.summary,
    )


def with_history(status: DistillationRunStatus, now: str, limit: int, why: str = "") -> list[AttemptRecord]:
    """The history after `status`'s attempt ends: its record first, then the older ones."""
    if status.attempt == 0:
        return list(status.history)
    return [record(status, now, why), *status.history][:limit]
