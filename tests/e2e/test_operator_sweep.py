"""A size sweep through the operator on the real kube-apiserver (tests/e2e/test_operator.py's setting):
the candidates' train Jobs run at the same time, each with its own resources, and the sweep picks one.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.operator_kit import apply, conditions
from tests.e2e.test_operator import setting  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow
RUN = "swp"


def candidates(model_dir: str) -> list[dict[str, Any]]:
    # The same tiny model twice: equal sizes, so the rule's tie-break (spec order) picks "first".
    return [
        {"name": "first", "baseModel": model_dir, "resources": {"gpus": 0, "memory": "2Gi"}},
        {"name": "second", "baseModel": model_dir, "resources": {"gpus": 0, "memory": "3Gi"}},
    ]


def wait_both_training(runs, timeout: float = 360) -> list[dict[str, Any]]:
    """Both candidates' train Jobs as listed at one moment when both exist and neither finished."""
    deadline = time.monotonic() + timeout
    wanted = {f"{RUN}-a1-train-first", f"{RUN}-a1-train-second"}
    while time.monotonic() < deadline:
        jobs = [job for job in runs.jobs(RUN) if job["metadata"]["name"] in wanted]
        finished = [job for job in jobs if (job.get("status") or {}).get("completion_time")]
        if len(jobs) == 2 and not finished:
            return jobs
        if finished:
            break
        time.sleep(0.2)
    raise AssertionError(
        f"never saw both train Jobs running together: {[j['metadata']['name'] for j in jobs]}"
    )


def test_candidates_train_side_by_side_and_the_sweep_chooses(setting, operator_process) -> None:  # noqa: F811
    operator_process(setting.namespace)
    manifest = setting.manifest(RUN)
    manifest["spec"]["student"]["candidates"] = candidates(manifest["spec"]["student"]["baseModel"])
    apply(setting.cluster, manifest)

    together = wait_both_training(setting.runs)
    memory = {
        job["metadata"]["name"]: job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"][
            "memory"
        ]
        for job in together
    }
    assert memory == {f"{RUN}-a1-train-first": "2Gi", f"{RUN}-a1-train-second": "3Gi"}

    status = setting.runs.wait_phase(RUN, "Succeeded", "Failed", timeout=600)
    assert status["phase"] == "Succeeded", status
    assert conditions(status) == {
        "Collected": ("True", "Completed"),
        "Curated": ("True", "Completed"),
        "Trained-first": ("True", "Completed"),
        "Evaluated-first": ("True", "Completed"),
        "Trained-second": ("True", "Completed"),
        "Evaluated-second": ("True", "Completed"),
        "Swept": ("True", "Completed"),
        "Complete": ("True", "Completed"),
    }
    first, second = status["candidates"]
    assert (first["name"], first["chosen"], second["chosen"]) == ("first", True, False)
    assert first["parameters"] == second["parameters"] > 0  # measured by each train Job
    assert status["results"]["sweep"]["chosen"] == "first"
    assert "/a1/train-first/adapter/" in status["artifacts"]["adapter"]
    names = sorted(job["metadata"]["name"] for job in setting.runs.jobs(RUN))
    steps = ["collect", "curate", "evaluate-first", "evaluate-second", "sweep", "train-first", "train-second"]
    assert names == [f"{RUN}-a1-{step}" for step in steps]
