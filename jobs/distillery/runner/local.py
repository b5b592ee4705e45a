"""`distillery run`: the phase machine driven by local `distillery-job` processes."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.text import Text

from distillery import layout, phases
from distillery.api.manifest import load_manifest
from distillery.api.resource import DistillationRun
from distillery.api.status import DistillationRunStatus
from distillery.collect.shards import merge_stored, shard_prefix
from distillery.phases import Action, PhaseOutcome
from distillery.runner import views
from distillery.runner.process import PhaseExit, job_command, run_process
from distillery.runner.shards import run_shards
from distillery.runner.state import RunStore

# A line at least this often while a phase prints nothing, so a person sees it is alive.
HEARTBEAT_SECONDS = 10.0
# Progress bars drawn for a terminal are noise in a log of lines.
QUIET_PROGRESS_ENV = {"HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "TQDM_DISABLE": "1"}
JOB_RESULT_PREFIX = '{"phase": '
EXIT_FAILED = 1
EXIT_GATES_FAILED = 3  # the run finished but a gate failed (unless --allow-gate-failure)
EXIT_INTERRUPTED = 130


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunResult:
    """How a local run ended."""

    status: DistillationRunStatus
    attempt: int
    report: dict[str, Any] | None
    report_location: str | None
    exit_code: int


def absolute_storage(uri: str) -> str:
    """file://./relative resolved against the current directory, so every path printed is usable."""
    if not uri.startswith("file://") or uri.startswith("file:///"):
        return uri
    return "file://" + Path(uri.removeprefix("file://")).resolve().as_posix()


def with_storage(run: DistillationRun, storage_uri: str | None) -> DistillationRun:
    """The run with spec.storage.uri replaced (or a relative file:// made absolute)."""
    storage_uri = absolute_storage(storage_uri or run.spec.storage.uri)
    if storage_uri == run.spec.storage.uri:
        return run
    spec = run.spec.model_copy(update={"storage": run.spec.storage.model_copy(update={"uri": storage_uri})})
    return DistillationRun.model_validate({**run.to_manifest(), "spec": spec.to_api()})


def spec_problem(run: DistillationRun) -> str | None:
    """`distillery validate`'s checks beyond types (CEL, cron, ...), before anything is paid for."""
    from distillery.api.validation import semantic_problems

    problems = semantic_problems(run)
    return "; ".join(problems) if problems else None


class LocalRunner:
    """Runs one attempt of a DistillationRun phase by phase on this machine."""

    def __init__(
        self,
        manifest: str | Path,
        *,
        resume: bool = False,
        attempt: int | None = None,
        storage: str | None = None,
        console: Console | None = None,
        env: dict[str, str] | None = None,
        clock: Callable[[], str] = utc_now,
        allow_gate_failure: bool = False,
    ) -> None:
        self.manifest = Path(manifest)
        self.allow_gate_failure = allow_gate_failure
        self.resume = resume
        self.wanted_attempt = attempt
        self.storage_override = storage
        self.console = console or Console()
        self.env = {**QUIET_PROGRESS_ENV, **(env if env is not None else os.environ)}
        self.clock = clock
        self.shards = 1

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> RunResult:
        run = with_storage(load_manifest(self.manifest), self.storage_override)
        store = RunStore(run)
        previous = store.read_status()
        attempt = store.choose_attempt(previous, resume=self.resume, wanted=self.wanted_attempt)
        observed: dict[str, PhaseOutcome] = {}
        if self.resume:
            store.check_same_spec(attempt, run.spec)
            observed = phases.resumable(run.spec, store.observe(run.spec, attempt))
        store.record_spec(attempt, run.spec)
        self.shards = run.spec.teacher.shards
        self._announce(run, attempt, observed)
        with tempfile.TemporaryDirectory(prefix="distillery-run-") as work:
            manifest = self._job_manifest(run, Path(work))
            status = self._drive(run, store, attempt, observed, previous, manifest)
        return self._finish(store, status, attempt)

    def _drive(
        self,
        run: DistillationRun,
        store: RunStore,
        attempt: int,
        observed: dict[str, PhaseOutcome],
        previous: DistillationRunStatus | None,
        manifest: Path,
    ) -> DistillationRunStatus:
        problem = spec_problem(run)
        forced = phases.invalid_spec(problem) if problem else None
        while True:
            decision = forced or phases.next_step(run.spec, observed)
            previous = self._write_status(run, store, attempt, observed, previous, decision)
            if decision.finished:
                return previous
            assert decision.action is Action.START and decision.phase is not None
            observed[decision.phase] = phases.PhaseOutcome.running()
            previous = self._write_status(run, store, attempt, observed, previous, None)
            step = phases.step_named(run.spec, decision.phase)
            observed[decision.phase] = self._run_phase(store, attempt, step, manifest)

    def _write_status(
        self,
        run: DistillationRun,
        store: RunStore,
        attempt: int,
        observed: dict[str, PhaseOutcome],
        previous: DistillationRunStatus | None,
        decision: phases.Decision | None,
    ) -> DistillationRunStatus:
        status = phases.derive_status(
            run.spec,
            observed,
            namespace=run.namespace,
            run=run.name,
            attempt=attempt,
            now=self.clock(),
            previous=previous,
            generation=run.metadata.generation,
            decision=decision,
        )
        store.write_status(status)
        return status

    # --- one phase --------------------------------------------------------------------------

    def _run_phase(self, store: RunStore, attempt: int, step: phases.Step, manifest: Path) -> PhaseOutcome:
        missing = store.missing_inputs(attempt, step)
        if missing:
            message = f"{step.name} needs {', '.join(missing)}"
            self.console.print(views.phase_prefix(step.name) + Text(f"cannot start: {message}", style="red"))
            return PhaseOutcome.failed(message, phases.INPUT_MISSING)
        store.forget_summary(attempt, step.name)
        self.console.print(views.phase_prefix(step.name) + Text(f"starting ({step.run_phase})", style="bold"))
        if step.name == phases.COLLECT and self.shards > 1:
            return self._run_shards(store, attempt, step, manifest)
        exit_ = self._watch(step.name, job_command(step.job, manifest, attempt, step.candidate))
        outcome = self._outcome(store, attempt, step, exit_)
        self._report_phase(step, outcome, exit_)
        return outcome

    def _run_shards(self, store: RunStore, attempt: int, step: phases.Step, manifest: Path) -> PhaseOutcome:
        """teacher.shards > 1: one collect process per shard at once, then their summaries merged."""
        collect = store.phase(attempt, step.name)
        for index in range(self.shards):  # a shard's summary means 'finished': not an earlier run's
            collect.delete(f"{shard_prefix(index)}/{layout.SUMMARY}")

        def on_line(index: int, line: str) -> None:
            if not line.startswith(JOB_RESULT_PREFIX):
                text = f"[shard {index}] {line}"
                self.console.print(views.output_line(step.name, text), soft_wrap=True, highlight=False)

        command = job_command(step.name, manifest, attempt)
        exits = run_shards(command, self.shards, on_line=on_line, env=self.env)
        merge_stored(collect, self.shards)
        slowest = max(exits, key=lambda exit_: exit_.seconds)
        if any(exit_.interrupted for exit_ in exits):
            outcome = PhaseOutcome.failed(f"interrupted after {slowest.seconds:.0f} s", phases.INTERRUPTED)
        else:
            failed = [(i, exit_) for i, exit_ in enumerate(exits) if not exit_.ok]
            outcome = self._outcome(store, attempt, step, failed[0][1] if failed else slowest)
            if failed and outcome.state is phases.State.SUCCEEDED:
                outcome = PhaseOutcome.failed(f"shard {failed[0][0]}: {failed[0][1].error()}")
        self._report_phase(step, outcome, slowest)
        return outcome

    def _watch(self, phase: str, command: list[str]) -> PhaseExit:
        last_seen = [time.monotonic()]

        def on_line(line: str) -> None:
            last_seen[0] = time.monotonic()
            if line.startswith(JOB_RESULT_PREFIX):
                return  # the job's machine-readable summary: summary.json has it, the result line follows
            self.console.print(views.output_line(phase, line), soft_wrap=True, highlight=False)

        def on_tick(seconds: float) -> None:
            if time.monotonic() - last_seen[0] >= HEARTBEAT_SECONDS:
                last_seen[0] = time.monotonic()
                self.console.print(
                    views.phase_prefix(phase) + Text(f"still running ({seconds:.0f} s)", style="dim")
                )

        if not self.console.is_terminal:
            return run_process(command, on_line=on_line, on_tick=on_tick, env=self.env)
        with self.console.status(f"[bold]{phase}[/] running", spinner="dots") as live:

            def tick(seconds: float) -> None:
                live.update(f"[bold]{phase}[/] running {seconds:.0f} s")
                on_tick(seconds)

            return run_process(command, on_line=on_line, on_tick=tick, env=self.env)

    def _outcome(self, store: RunStore, attempt: int, step: phases.Step, exit_: PhaseExit) -> PhaseOutcome:
        if exit_.interrupted:
            return PhaseOutcome.failed(f"interrupted after {exit_.seconds:.0f} s", phases.INTERRUPTED)
        summary = store.summary(attempt, step.name)
        if summary is not None:
            outcome = phases.outcome_from_summary(step.name, summary)
            # A job that stopped on its budget may exit non-zero; its summary says what it kept.
            if exit_.ok or outcome.state is not phases.State.SUCCEEDED:
                return outcome
        if exit_.ok:
            return PhaseOutcome.failed(f"{step.name} exited 0 but wrote no summary.json")
        return PhaseOutcome.failed(exit_.error())

    def _report_phase(self, step: phases.Step, outcome: PhaseOutcome, exit_: PhaseExit) -> None:
        status, reason, message = phases.phase_condition(step, outcome)
        style = {"True": "green", "False": "red"}.get(status, "yellow")
        mark = {"True": "✓", "False": "✗"}.get(status, "…")
        line = Text(f"{mark} {reason} in {exit_.seconds:.1f} s: {message}", style=style)
        self.console.print(views.phase_prefix(step.name) + line)

    # --- before and after -------------------------------------------------------------------

    def _job_manifest(self, run: DistillationRun, work: Path) -> Path:
        """The file the jobs read: the user's manifest, or a copy with the storage URI it runs with."""
        if run.spec.storage.uri == load_manifest(self.manifest).spec.storage.uri:
            return self.manifest.resolve()
        path = work / "manifest.yaml"
        path.write_text(
            yaml.safe_dump(run.to_manifest(), sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        return path

    def _announce(self, run: DistillationRun, attempt: int, observed: dict[str, PhaseOutcome]) -> None:
        where = phases.attempt_layout(run.spec, run.namespace, run.name, attempt).root
        self.console.print(
            Text(f"DistillationRun {run.namespace}/{run.name}, attempt {attempt}", style="bold")
        )
        self.console.print(f"artifacts: {where}", highlight=False, soft_wrap=True)
        for name in observed:
            self.console.print(
                views.phase_prefix(name) + Text("already done (resumed), skipped", style="dim")
            )

    def _finish(self, store: RunStore, status: DistillationRunStatus, attempt: int) -> RunResult:
        chosen = next((c.name for c in status.candidates if c.chosen), None)
        report = store.read_report(attempt, chosen)
        location = store.report_location(attempt, chosen) if report is not None else None
        if status.candidates:  # a size sweep: its own report compares the candidates
            location = store.sweep_report_location(attempt) if status.results.sweep else None
        self.console.print()
        self.console.print(views.summary_table(status))
        if status.candidates:
            self.console.print(views.candidates_table(status))
        if report is not None:
            views.print_report(self.console, report)
        if location:
            self.console.print(f"report: {location}", highlight=False, soft_wrap=True)
        if status.phase == "Failed":
            self.console.print(Text(f"run failed: {status.message}", style="bold red"))
            interrupted = any(c.reason == phases.INTERRUPTED for c in status.conditions)
            if interrupted:
                self.console.print(f"continue with: distillery run {self.manifest} --resume", highlight=False)
            code = EXIT_INTERRUPTED if interrupted else EXIT_FAILED
        elif status.summary.gates_passed is False and not self.allow_gate_failure:
            self.console.print(
                Text("a gate failed: exit code 3 (--allow-gate-failure exits 0)", style="bold red")
            )
            code = EXIT_GATES_FAILED
        else:
            code = 0
        return RunResult(status, attempt, report, location, code)


def run_manifest(manifest: str | Path, **options: Any) -> RunResult:
    """Run a manifest locally (see LocalRunner for the options); raises DistilleryError on bad input."""
    return LocalRunner(manifest, **options).run()
