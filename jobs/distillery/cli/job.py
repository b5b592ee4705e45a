"""`distillery-job PHASE --manifest FILE --attempt N`: the entrypoint of every Kubernetes Job.

Each phase module exposes `run(ctx: JobContext) -> dict` returning its summary (also written to
the store as `<phase>/summary.json` by the phase itself). Heavy imports happen inside the phase.

The summary is checked against the phase's typed model (`distillery.api.summaries`): a key the
model does not declare fails the job. When `DISTILLERY_TERMINATION_LOG` names a file (a pod's
`terminationMessagePath`), the compact result is written there, so the operator reads the
numbers from the API server and never needs the artifact store's credentials.

With `--candidate NAME` (train, evaluate), the phase runs for one size of a sweep
(spec.student.candidates): its base model, resources and training overrides, in
`a<N>/train-NAME/` / `a<N>/evaluate-NAME/`. `sweep` compares the candidates and chooses one.

Exit codes: 0 done; 1 the phase failed (the error is printed); 75 collect was stopped by SIGTERM /
SIGINT after finishing its in-flight calls and storing its records (summary status Interrupted):
run it again to resume.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from distillery.api.summaries import PhaseResult, PhaseStatus, parse_summary, termination_message
from distillery.errors import CollectInterrupted, DistilleryError

PHASE_MODULES = {
    "collect": "distillery.collect.job",
    "curate": "distillery.curate.job",
    "train": "distillery.train.job",
    "evaluate": "distillery.evaluate.job",
    "publish": "distillery.publish.job",
    "sweep": "distillery.sweep.job",
}
CANDIDATE_PHASES = ("train", "evaluate")
TERMINATION_LOG_ENV = "DISTILLERY_TERMINATION_LOG"
EXIT_FAILED = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distillery-job", description="Run one phase of a DistillationRun.")
    parser.add_argument("phase", choices=sorted(PHASE_MODULES), help="Which phase to run.")
    parser.add_argument("--manifest", required=True, help="Path of the DistillationRun manifest (YAML).")
    parser.add_argument("--attempt", type=int, default=1, help="Attempt number (artifact prefix a<N>).")
    parser.add_argument(
        "--candidate",
        help="train / evaluate: the student.candidates entry to train or evaluate (a size sweep).",
    )
    return parser


def write_termination_message(text: str) -> None:
    """The container's termination message (nothing outside a pod: the variable is unset)."""
    path = os.environ.get(TERMINATION_LOG_ENV)
    if path:
        Path(path).write_text(text, encoding="utf-8")


def failure_message(phase: str, error: str, status: PhaseStatus = "Failed") -> str:
    """A failed (or interrupted) phase's termination message: its status and the error."""
    result = PhaseResult(status=status, reason=error[:2048])
    return termination_message(phase, parse_summary(phase, result.to_json()))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.candidate is not None and args.phase not in CANDIDATE_PHASES:
        parser.error(f"--candidate applies to {' and '.join(CANDIDATE_PHASES)} only (not {args.phase})")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from distillery.context import JobContext

    try:
        ctx = JobContext.load(args.manifest, args.attempt, args.candidate)
        module = importlib.import_module(PHASE_MODULES[args.phase])
        summary = module.run(ctx)
    except CollectInterrupted as exc:
        print(f"distillery-job {args.phase}: interrupted: {exc}", file=sys.stderr)
        write_termination_message(failure_message(args.phase, str(exc), "Interrupted"))
        return exc.exit_code
    except DistilleryError as exc:
        print(f"distillery-job {args.phase}: error: {exc}", file=sys.stderr)
        write_termination_message(failure_message(args.phase, str(exc)))
        return EXIT_FAILED
    if not summary:  # a non-zero rank of a distributed run: rank 0 reports
        return 0
    try:
        typed = parse_summary(args.phase, summary)
    except ValidationError as exc:
        raise SystemExit(f"distillery-job {args.phase}: the summary does not match its model: {exc}") from exc
    write_termination_message(termination_message(args.phase, typed))
    print(json.dumps({"phase": args.phase, "summary": summary}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
