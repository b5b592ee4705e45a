"""The operator runs the publish phase: a fifth Job, its result through the termination message,
status.published through the API server's status subresource (the CRD's schema keeps it), and the
registry's champion in moto's S3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client as k8s

from tests.e2e.operator_kit import Runs, apply, conditions, create_secrets, run_manifest

pytestmark = pytest.mark.slow


def test_operator_publishes_v1_and_reports_it_in_status(
    kube_cluster,
    kube_namespace,
    kube_api,
    test_kubelet,
    fake_anthropic,
    s3_env,
    tiny_model_dir,
    operator_process,
) -> None:
    create_secrets(k8s.CoreV1Api(kube_api), kube_namespace)
    runs = Runs(kube_api, kube_namespace)
    manifest = run_manifest(
        "pub",
        kube_namespace,
        model_dir=Path(tiny_model_dir),
        teacher_url=fake_anthropic.base_url,
        storage_uri=s3_env.uri("runs"),
        storage_endpoint=s3_env.endpoint,
        publish={"enabled": True, "model": "adder"},
    )
    operator_process(kube_namespace)
    apply(kube_cluster, manifest)
    status = runs.wait_phase("pub", "Succeeded", "Failed", timeout=420)
    assert status["phase"] == "Succeeded", status
    assert conditions(status)["Published"] == ("True", "Completed")
    assert conditions(status)["Complete"] == ("True", "Completed")
    registry = f"runs/{kube_namespace}/.registry/adder"
    assert status["published"] == {
        "model": "adder", "version": 1, "uri": s3_env.uri(f"{registry}/versions/1"), "promoted": True,
        "reason": "Promoted",
    }  # fmt: skip
    published = status["results"]["publish"]  # from the Job's termination message
    student = status["results"]["evaluate"]["contractPassRate"]["student"]
    assert published["comparison"] == [
        {"metric": "contractPassRate", "challenger": student, "passed": True}
    ]  # no champion yet: status leaves the unset number out
    names = sorted(job["metadata"]["name"] for job in runs.jobs("pub"))
    assert names == sorted(f"pub-a1-{p}" for p in ("collect", "curate", "train", "evaluate", "publish"))
    body = s3_env.client().get_object(Bucket=s3_env.bucket, Key=f"{registry}/champion")["Body"].read()
    pointer = json.loads(body)
    assert pointer["version"] == 1 and pointer["history"][0]["by"] == f"{kube_namespace}/pub a1"
