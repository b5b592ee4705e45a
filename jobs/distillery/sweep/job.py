"""`distillery-job sweep`: read each candidate's train / evaluate summaries, choose the smallest
candidate that passes every gate (phases.candidates.choose), write report.json/md/html and
summary.json to `a<N>/sweep/`.

A candidate whose train or evaluate failed (or wrote nothing) is listed with why, and is never
chosen. None passing is not an error: the run ends like a plain run whose gates failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.api.summaries import CandidateOutcome, SweepSummary
from distillery.context import JobContext
from distillery.errors import ArtifactNotFound, SweepError
from distillery.phases.candidates import RULE, choose
from distillery.store import ArtifactStore
from distillery.sweep.report import write_report

log = logging.getLogger(__name__)
FAILED_TEXT = 300  # characters of a failed candidate's reason kept in the compact result


@dataclass(frozen=True)
class ChosenCandidate:
    """Where the chosen candidate's artifacts are (for publish: its adapter and evaluation)."""

    name: str
    base_model: str
    train_prefix: str
    evaluate_prefix: str


def _summary(store: ArtifactStore) -> dict[str, Any] | None:
    try:
        value = store.read_json(layout.SUMMARY)
    except ArtifactNotFound:
        return None
    return value if isinstance(value, dict) else None


def _student_metrics(store: ArtifactStore) -> dict[str, Any]:
    try:
        report = store.read_json(layout.EVALUATE_REPORT_JSON)
    except ArtifactNotFound:
        return {}
    return ((report or {}).get("models") or {}).get("student") or {}


def judge_candidate(ctx: JobContext, name: str, base_model: str) -> CandidateOutcome:
    """One candidate's numbers from its train-<c> and evaluate-<c> directories."""
    train_store, evaluate_store = (
        ctx.store(layout.candidate_step(phase, name)) for phase in layout.CANDIDATE_PHASES
    )
    train, evaluate = _summary(train_store), _summary(evaluate_store)
    outcome: dict[str, Any] = {"name": name, "base_model": base_model}
    if train is not None:
        outcome["parameters"] = train.get("parameters")
    for phase, summary, store in (("train", train, train_store), ("evaluate", evaluate, evaluate_store)):
        if summary is None:
            return CandidateOutcome(
                **outcome, failed=f"{phase}: no summary at {store.uri_for(layout.SUMMARY)}"
            )
        if summary.get("status", "Succeeded") != "Succeeded":
            reason = str(summary.get("reason") or summary.get("status"))
            return CandidateOutcome(**outcome, failed=f"{phase}: {reason}"[:FAILED_TEXT])
    student = _student_metrics(evaluate_store)
    return CandidateOutcome(
        **outcome,
        contract_pass_rate=(evaluate.get("contract_pass_rate") or {}).get("student"),  # type: ignore[union-attr]
        latency_p95_ms=student.get("latency_p95_ms"),
        cost_per_1k_requests_usd=student.get("cost_per_1k_requests_usd"),
        gates_passed=bool(evaluate.get("gates_passed")),  # type: ignore[union-attr]
    )


def run(ctx: JobContext) -> dict[str, Any]:
    """Compare the candidates; returns (and stores) the summary."""
    spec: DistillationRunSpec = ctx.run.spec
    if not spec.student.candidates:
        raise SweepError("sweep needs spec.student.candidates (a list of student sizes); it is empty")
    outcomes = [judge_candidate(ctx, c.name, c.base_model) for c in spec.student.candidates]
    for outcome in outcomes:
        log.info(
            "candidate %s: %s parameters, pass rate %s, gates %s%s",
            outcome.name,
            outcome.parameters,
            outcome.contract_pass_rate,
            outcome.gates_passed,
            f", failed: {outcome.failed}" if outcome.failed else "",
        )
    chosen = choose(outcomes)
    log.info("chosen: %s (%s)", chosen.name if chosen else "none passed every gate", RULE)
    store = ctx.store(layout.SWEEP)
    artifacts = write_report(store, spec, outcomes, chosen, RULE)
    summary = SweepSummary(
        chosen=chosen.name if chosen else None,
        gates_passed=chosen is not None,
        candidates=outcomes,
        report_uri=artifacts["report_html"],
        rule=RULE,
        train_prefix=ctx.layout.phase(layout.candidate_step("train", chosen.name)) if chosen else None,
        evaluate_prefix=ctx.layout.phase(layout.candidate_step("evaluate", chosen.name)) if chosen else None,
        artifacts=artifacts,
    ).to_json()
    store.write_json(layout.SUMMARY, summary)
    return summary


def chosen_candidate(ctx: JobContext) -> ChosenCandidate | None:
    """The candidate this attempt's sweep chose (None: no candidate passed every gate).

    Raises SweepError when the run has no candidates or its sweep has not finished.
    """
    spec = ctx.run.spec
    if not spec.student.candidates:
        raise SweepError("this run has no spec.student.candidates: its student is in a<N>/train/")
    store = ctx.store(layout.SWEEP)
    summary = _summary(store)
    if summary is None:
        raise SweepError(f"no sweep summary at {store.uri_for(layout.SUMMARY)} (run the sweep step first)")
    name = summary.get("chosen")
    if not name:
        return None
    return ChosenCandidate(
        name=name,
        base_model=spec.student.candidate(name).base_model,
        train_prefix=ctx.layout.phase(layout.candidate_step("train", name)),
        evaluate_prefix=ctx.layout.phase(layout.candidate_step("evaluate", name)),
    )
