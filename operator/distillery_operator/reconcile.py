"""One level-triggered pass over a DistillationRun.

read the run -> choose the attempt -> list its Jobs -> outcomes -> `next_step` -> create the next
Job (deterministic name; 409 = already there) -> `derive_status` -> one status write -> events.

Every decision comes from observed state (the run's status, its Jobs and their pods), never from
the kind of event that woke us up: a pass can run twice, or stop at any line, with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import kopf
from pydantic import ValidationError

from distillery import layout, phases
from distillery.api.manifest import parse_manifest
from distillery.api.resource import DistillationRun
from distillery.api.status import Condition, DistillationRunStatus
from distillery.api.validation import semantic_problems
from distillery.errors import ManifestError
from distillery.phases import PhaseOutcome
from distillery_operator import attempts
from distillery_operator.builders import (
    ANNOTATION_RERUN,
    LABEL_ATTEMPT,
    LABEL_PHASE,
    build_phase,
    build_spec_config_map,
    is_indexed,
)
from distillery_operator.kube import Kube
from distillery_operator.observe import JobView, observe_job
from distillery_operator.settings import OperatorSettings

# Event reasons (UpperCamelCase), besides the conditions' own reasons.
ATTEMPT_STARTED = "AttemptStarted"
SUPERSEDED = "Superseded"
JOB_CREATED = "JobCreated"
JOB_RECREATED = "JobRecreated"
JOB_DELETED = "JobDeleted"
JOB_NOT_STARTED = "JobNotStarted"
SCHEDULE_SKIPPED = "ScheduleSkipped"
NORMAL, WARNING = "Normal", "Warning"


@dataclass
class Pass:
    """What one pass decided: the status to write and the events to post after it."""

    status: DistillationRunStatus
    events: list[tuple[str, str, str]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)


def read_status(body: dict[str, Any]) -> DistillationRunStatus:
    """The run's status as last written (an unreadable one is treated as empty)."""
    try:
        return DistillationRunStatus.model_validate(body.get("status") or {})
    except ValidationError:
        return DistillationRunStatus()


def read_run(body: dict[str, Any]) -> DistillationRun:
    """The run as the models see it; raises ManifestError naming the field, or the semantic problem."""
    meta = body["metadata"]
    document = {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "metadata": {key: meta[key] for key in ("name", "namespace", "generation", "uid") if key in meta},
        "spec": body.get("spec") or {},
    }
    run = parse_manifest(document, source=f"{meta['namespace']}/{meta['name']}")
    problems = semantic_problems(run)
    if problems:
        raise ManifestError("; ".join(problems))
    return run


def condition_events(before: list[Condition], after: list[Condition]) -> list[tuple[str, str, str]]:
    """One event per condition that became True or False (or changed reason), with its reason.

    A condition going to Unknown (a phase started) is announced by the JobCreated event already.
    """
    old = {c.type: (c.status, c.reason) for c in before}
    events = []
    for condition in after:
        if condition.status == "Unknown" and condition.reason == phases.RUNNING:
            continue
        if old.get(condition.type) != (condition.status, condition.reason):
            kind = WARNING if condition.status == "False" else NORMAL
            events.append((kind, condition.reason, f"{condition.type}: {condition.message}"))
    return events


class Reconciler:
    """Runs passes; `now` is injectable so tests drive the schedule."""

    def __init__(self, kube: Kube, settings: OperatorSettings) -> None:
        self.kube = kube
        self.settings = settings

    # --- the pass -----------------------------------------------------------------------------

    def run_pass(self, body: dict[str, Any], now: datetime) -> Pass:
        previous = read_status(body)
        stamp = attempts.format_time(now)
        try:
            run = read_run(body)
        except ManifestError as exc:
            return self.invalid(body, previous, str(exc), stamp)
        meta = body["metadata"]
        choice = attempts.choose_attempt(
            previous,
            generation=meta.get("generation"),
            rerun=(meta.get("annotations") or {}).get(ANNOTATION_RERUN),
            schedule=run.spec.schedule,
            now=now,
        )
        result = Pass(previous)
        same = previous
        if choice.new:
            rerun = (meta.get("annotations") or {}).get(ANNOTATION_RERUN)
            same = self.new_attempt(run, previous, choice.reason, rerun, stamp, result)
        elif choice.schedule_skipped:
            result.events.append((NORMAL, SCHEDULE_SKIPPED, f"attempt {previous.attempt} still running"))
        attempt = same.attempt
        jobs = self.kube.list_jobs(run.namespace, run.name)
        if run.spec.student.trainer == "kubeflow":
            jobs += self.kube.list_train_jobs(run.namespace, run.name)
        self.delete_stale_jobs(run, jobs, attempt)
        current = {
            job["metadata"]["labels"].get(LABEL_PHASE): job for job in jobs if _attempt(job) == attempt
        }
        observed, views = self.observe(run, same, current)
        recreations = same.job_recreations
        decision = phases.next_step(run.spec, observed)
        # Every step that can start starts in this pass (a sweep's candidates side by side).
        while decision.action is phases.Action.START and decision.phase:
            was_created_before = _created_before(same, decision.phase) and decision.phase not in current
            if was_created_before and decision.phase not in _finished(same):
                recreations += 1
                if recreations > self.settings.max_job_recreations:
                    decision = phases.Decision(
                        phases.Action.FAILED,
                        decision.phase,
                        JOB_DELETED,
                        f"the {decision.phase} Job was deleted {recreations} times; giving up",
                    )
                else:
                    result.events.append(
                        (
                            WARNING,
                            JOB_RECREATED,
                            f"{decision.phase} Job was deleted; recreated ({recreations})",
                        )
                    )
            if decision.action is not phases.Action.START:
                break
            self.start(body, run, attempt, decision.phase, result)
            observed[decision.phase] = PhaseOutcome.running()
            decision = phases.next_step(run.spec, observed)
        status = phases.derive_status(
            run.spec,
            observed,
            namespace=run.namespace,
            run=run.name,
            attempt=attempt,
            now=stamp,
            previous=same,
            generation=meta.get("generation"),
            decision=decision if decision.finished else None,
        )
        status.history = same.history
        status.rerun = same.rerun
        status.job_recreations = recreations
        status.last_schedule_time = choice.last_schedule_time
        status.next_schedule_time = choice.next_schedule_time
        self.flag_unstarted(run, status, views, now)
        result.events.extend(condition_events(same.conditions, status.conditions))
        result.status = status
        return result

    # --- pieces of a pass ---------------------------------------------------------------------

    def invalid(
        self, body: dict[str, Any], previous: DistillationRunStatus, message: str, stamp: str
    ) -> Pass:
        """A spec the CRD admitted but the models reject: Failed/InvalidSpec, said once."""
        generation = body["metadata"].get("generation")
        status = previous.model_copy(deep=True)
        if previous.attempt and not attempts.finished(previous):
            self.delete_attempt_jobs(body, previous.attempt)
            status.history = attempts.with_history(
                previous, stamp, self.settings.history_limit, phases.INVALID_SPEC
            )
        status.phase = "Failed"
        status.observed_generation = generation
        status.message = f"spec: {message}"
        status.completion_time = stamp
        complete = Condition(
            type=phases.COMPLETE,
            status="False",
            reason=phases.INVALID_SPEC,
            message=message,
            observed_generation=generation,
        )
        status.conditions = [c for c in status.conditions if c.type != phases.COMPLETE] + [complete]
        status.conditions = _keep_times(status.conditions, previous.conditions, stamp)
        events = condition_events(previous.conditions, status.conditions)
        if previous.observed_generation != generation and not events:
            events = [(WARNING, phases.INVALID_SPEC, message)]
        return Pass(status, events)

    def new_attempt(
        self,
        run: DistillationRun,
        previous: DistillationRunStatus,
        reason: str,
        rerun: str | None,
        stamp: str,
        result: Pass,
    ) -> DistillationRunStatus:
        """The status a new attempt starts from; the running one (if any) is superseded."""
        if previous.attempt and not attempts.finished(previous):
            result.events.append((NORMAL, SUPERSEDED, f"attempt {previous.attempt} superseded: {reason}"))
        history = attempts.with_history(previous, stamp, self.settings.history_limit, reason)
        attempt = previous.attempt + 1
        self.kube.create_config_map(kopf_adopted(build_spec_config_map(run, attempt), run))
        if len(history) >= self.settings.history_limit:  # an attempt fell out of the history
            keep = {record.attempt for record in history} | {attempt}
            self.kube.delete_config_maps(run.namespace, run.name, keep)
        result.events.append((NORMAL, ATTEMPT_STARTED, f"attempt {attempt} started: {reason}"))
        return DistillationRunStatus(attempt=attempt, history=history, rerun=rerun)

    def delete_stale_jobs(self, run: DistillationRun, jobs: list[dict[str, Any]], attempt: int) -> None:
        """Jobs of an earlier attempt that are still running: that attempt was superseded."""
        for job in jobs:
            if _attempt(job) != attempt and not _job_finished(job):
                self.kube.delete_phase(run.namespace, job)

    def delete_attempt_jobs(self, body: dict[str, Any], attempt: int) -> None:
        meta = body["metadata"]
        jobs = self.kube.list_jobs(meta["namespace"], meta["name"])
        if ((body.get("spec") or {}).get("student") or {}).get("trainer") == "kubeflow":
            jobs += self.kube.list_train_jobs(meta["namespace"], meta["name"])
        for job in jobs:
            if _attempt(job) == attempt and not _job_finished(job):
                self.kube.delete_phase(meta["namespace"], job)

    def observe(
        self, run: DistillationRun, status: DistillationRunStatus, jobs: dict[str | None, dict[str, Any]]
    ) -> tuple[dict[str, PhaseOutcome], dict[str, JobView]]:
        """Outcomes of the attempt's phases: reported results first, then the live Jobs."""
        observed: dict[str, PhaseOutcome] = {}
        views: dict[str, JobView] = {}
        reported = _finished(status)
        for step in phases.plan(run.spec):
            if not phases.reachable(run.spec, observed, step):
                continue  # its predecessors are not done: nothing of it counts yet
            if step.name in reported:
                observed[step.name] = phases.outcome_from_result(reported[step.name])
            elif step.name in jobs:
                job = jobs[step.name]
                pods = self.kube.list_phase_pods(run.namespace, job)
                views[step.name] = observe_job(step.name, job, pods, indexed=is_indexed(run, step.name))
                observed[step.name] = views[step.name].outcome
        return observed, views

    def start(
        self, body: dict[str, Any], run: DistillationRun, attempt: int, phase: str, result: Pass
    ) -> None:
        for obj in build_phase(run, attempt, phase, self.settings):  # a Service before its Job's pods
            obj = kopf_adopted(obj, run, body)  # ownerReferences: deleted with the run
            if self.kube.create(obj) and obj["kind"] != "Service":
                result.created.append(obj["metadata"]["name"])
                result.events.append(
                    (NORMAL, JOB_CREATED, f"created {obj['kind']} {obj['metadata']['name']}")
                )

    def flag_unstarted(
        self, run: DistillationRun, status: DistillationRunStatus, views: dict[str, JobView], now: datetime
    ) -> None:
        """A Job with no pod running for too long shows on its phase's condition."""
        limit = self.settings.job_start_timeout_seconds
        for phase, view in views.items():
            waited = (now - view.created).total_seconds() if view.created else 0
            if view.outcome.state is not phases.State.RUNNING or view.started or waited < limit:
                continue
            for condition in status.conditions:
                if condition.type == phases.step_named(run.spec, phase).condition:
                    condition.reason = JOB_NOT_STARTED
                    condition.message = (
                        f"Job {view.name} has had no running pod for {waited:.0f} s: "
                        f"see kubectl describe job {view.name}"
                    )


def kopf_adopted(
    obj: dict[str, Any], run: DistillationRun, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The object owned by the run (ownerReferences: garbage-collected with it)."""
    owner = body or {
        "apiVersion": run.api_version,
        "kind": run.kind,
        "metadata": {"name": run.name, "namespace": run.namespace, "uid": run.metadata.uid},
    }
    kopf.adopt(obj, owner=owner, nested=["spec.template"] if obj.get("kind") == "Job" else None)
    # adopt() also copies the owner's labels; the pod template keeps only ours
    return obj


def _attempt(job: dict[str, Any]) -> int | None:
    value = (job["metadata"].get("labels") or {}).get(LABEL_ATTEMPT, "")
    return int(value) if value.isdigit() else None


def _job_finished(job: dict[str, Any]) -> bool:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return True
    return False


def _finished(status: DistillationRunStatus) -> dict[str, Any]:
    """What the status remembers of finished steps (its Jobs may be gone, TTL): name -> result."""
    results = status.results
    finished = {name: getattr(results, name) for name in type(results).model_fields}
    for candidate in status.candidates:
        for phase in layout.CANDIDATE_PHASES:
            finished[layout.candidate_step(phase, candidate.name)] = getattr(candidate.results, phase)
    return {name: result for name, result in finished.items() if result is not None}


def _created_before(status: DistillationRunStatus, step: str) -> bool:
    """Whether the status names this step's Job (created by an earlier pass of this attempt)."""
    phase, candidate = layout.split_step(step)
    if candidate is None:
        return getattr(status.jobs, step, None) is not None
    for entry in status.candidates:
        if entry.name == candidate:
            return (entry.train_job if phase == phases.TRAIN else entry.evaluate_job) is not None
    return False


def _keep_times(new: list[Condition], old: list[Condition], now: str) -> list[Condition]:
    before = {c.type: c for c in old}
    for condition in new:
        prior = before.get(condition.type)
        same = prior is not None and prior.status == condition.status and prior.last_transition_time
        condition.last_transition_time = prior.last_transition_time if same else now
    return new
