"""The operator's publish Job: the same entrypoint, the student's resources, the held-out ConfigMap."""

from __future__ import annotations

from typing import Any

from distillery.api.manifest import parse_manifest
from distillery_operator.builders import build_job
from distillery_operator.settings import OperatorSettings
from tests.unit.test_operator_builders import RUN

SETTINGS = OperatorSettings(job_image="registry.example/distillery-jobs:1", job_service_account="jobs")


def publish_job(**publish: Any) -> dict[str, Any]:
    spec = {**RUN["spec"], "publish": {"enabled": True, **publish}}
    job = build_job(parse_manifest({**RUN, "spec": spec}), 2, "publish", SETTINGS)
    return job["spec"]["template"]["spec"]


def test_publish_job_runs_the_publish_phase_with_the_students_resources() -> None:
    pod = publish_job()
    container = pod["containers"][0]
    assert container["command"] == ["distillery-job", "publish"]
    assert container["resources"] == {
        "requests": {"memory": "48Gi", "cpu": "8", "nvidia.com/gpu": "2"},
        "limits": {"memory": "48Gi", "nvidia.com/gpu": "2"},
    }
    assert pod["nodeSelector"] == {"gpu": "h100"}  # student placement: it may evaluate the champion
    assert {"name": "prompts-0", "configMap": {"name": "heldout"}} in pod["volumes"]
    secrets = {env["name"] for env in container["env"] if "valueFrom" in env}
    assert secrets == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}  # no teacher key by default


def test_publish_job_gets_the_teacher_key_only_to_compare_teacher_agreement() -> None:
    pod = publish_job(comparison={"metrics": ["contractPassRate", "teacherAgreement"]})
    secrets = {env["name"] for env in pod["containers"][0]["env"] if "valueFrom" in env}
    assert "ANTHROPIC_API_KEY" in secrets
