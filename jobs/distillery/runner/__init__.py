"""The local executor of a DistillationRun: each phase as a `distillery-job` process on this machine.

result = run_manifest("run.yaml", resume=False, console=Console())
result.exit_code, result.status.phase, result.report
"""

from distillery.runner.local import LocalRunner, RunResult, run_manifest

__all__ = ["LocalRunner", "RunResult", "run_manifest"]
