"""The Jobs of a size sweep's candidates: their names, arguments and resources."""

from __future__ import annotations

from distillery import phases
from tests.unit.test_operator_builders import SETTINGS, run

CANDIDATES = [
    {"name": "small", "baseModel": "Qwen/Qwen2.5-0.5B-Instruct", "resources": {"gpus": 1, "memory": "16Gi"}},
    {"name": "large", "baseModel": "Qwen/Qwen2.5-7B-Instruct", "resources": {"gpus": 4, "memory": "160Gi"}},
]


def sweep_run():
    return run(student={**run().spec.student.to_api(), "candidates": CANDIDATES})


def test_each_candidate_step_is_a_job_with_its_own_resources_and_candidate_argument() -> None:
    from distillery_operator.builders import build_job

    for step, gpus, memory in (("train-small", "1", "16Gi"), ("evaluate-large", "4", "160Gi")):
        job = build_job(sweep_run(), 2, step, SETTINGS)
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert job["metadata"]["name"] == f"sinc-a2-{step}"
        assert job["metadata"]["labels"]["distillery.dev/phase"] == step
        assert container["name"] == step
        assert container["command"] == ["distillery-job", step.split("-")[0]]
        assert container["args"][-2:] == ["--candidate", step.split("-", 1)[1]]
        assert container["resources"]["limits"] == {"memory": memory, "nvidia.com/gpu": gpus}


def test_the_sweep_job_runs_on_the_operator_defaults() -> None:
    from distillery_operator.builders import build_job

    job = build_job(sweep_run(), 2, phases.SWEEP, SETTINGS)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert (job["metadata"]["name"], container["command"]) == ("sinc-a2-sweep", ["distillery-job", "sweep"])
    assert "--candidate" not in container["args"] and "limits" not in container["resources"]
