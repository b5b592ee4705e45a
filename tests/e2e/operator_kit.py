"""What the operator scenarios share: a small run manifest, secrets, and waiting on the API server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s

from distillery.api.crd import GROUP, PLURAL, VERSION
from tests.cluster.apiserver import TestCluster

TEACHER_SECRET, TEACHER_KEY = "teacher", "api-key"
S3_SECRET = "s3"
PROMPTS = [f"question {i}: what is {i} plus {i}?" for i in range(10)]
HELD_OUT = ["what is 7 plus 7?", "what is 9 plus 9?", "hi"]


def run_manifest(
    name: str,
    namespace: str,
    *,
    model_dir: Path,
    teacher_url: str,
    storage_uri: str,
    storage_endpoint: str,
    **spec: Any,
) -> dict[str, Any]:
    """A run small enough to finish in about a minute on 2 cores (echo teacher, tiny student)."""
    body: dict[str, Any] = {
        "task": {"systemPrompt": "Answer briefly.", "output": {"format": "text"}},
        "teacher": {
            "model": "claude-haiku-4-5",
            "baseUrl": teacher_url,
            "apiKeySecretRef": {"name": TEACHER_SECRET, "key": TEACHER_KEY},
            "concurrency": 4,
            "maxTokens": 64,
            "maxAttempts": 2,
        },
        "prompts": {"sources": [{"inline": PROMPTS}]},
        "curation": {"dedupe": False, "validationFraction": 0.0},
        "student": {
            "baseModel": str(model_dir),
            "resources": {"gpus": 0, "memory": "2Gi"},
            "training": {
                "epochs": 1,
                "batchSize": 5,
                "gradientAccumulation": 1,
                "maxLength": 128,
                "packing": False,
                "logEverySteps": 1,
            },
        },
        "evaluation": {
            "heldOut": {"inline": HELD_OUT},
            "compare": ["base", "teacher"],
            "maxNewTokens": 8,
            "gates": [{"metric": "contractPassRate", "min": 0.0}],
        },
        "storage": {
            "uri": storage_uri,
            "endpoint": storage_endpoint,
            "credentialsSecretRef": {"name": S3_SECRET},
        },
    }
    body.update(spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DistillationRun",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def create_secrets(core: k8s.CoreV1Api, namespace: str, teacher_key: str = "test-teacher-key") -> None:
    core.create_namespaced_secret(
        namespace,
        {"metadata": {"name": TEACHER_SECRET}, "stringData": {TEACHER_KEY: teacher_key}},
    )
    core.create_namespaced_secret(
        namespace,
        {
            "metadata": {"name": S3_SECRET},
            "stringData": {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        },
    )


def apply(cluster: TestCluster, manifest: dict[str, Any]) -> str:
    return cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest)).stdout


class Runs:
    """Reads DistillationRuns of one namespace and waits on them."""

    def __init__(self, api: k8s.ApiClient, namespace: str) -> None:
        self.custom = k8s.CustomObjectsApi(api)
        self.batch = k8s.BatchV1Api(api)
        self.core = k8s.CoreV1Api(api)
        self.namespace = namespace

    def get(self, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def status(self, name: str) -> dict[str, Any]:
        return self.get(name).get("status") or {}

    def patch(self, name: str, body: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name, body)

    def jobs(self, name: str) -> list[dict[str, Any]]:
        items = self.batch.list_namespaced_job(
            self.namespace, label_selector=f"distillery.dev/run={name}"
        ).items
        return [job.to_dict() for job in items]

    def events(self, name: str) -> list[Any]:
        selector = f"involvedObject.name={name},involvedObject.kind=DistillationRun"
        return self.core.list_namespaced_event(self.namespace, field_selector=selector).items

    def wait_event(self, name: str, predicate: Callable[[Any], bool], what: str, timeout: float = 15) -> Any:
        """An event on the run (events follow the status write they describe, so wait for them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [event for event in self.events(name) if predicate(event)]
            if found:
                return found[0]
            time.sleep(0.3)
        reasons = [(event.type, event.reason) for event in self.events(name)]
        raise AssertionError(f"{name}: no {what} event within {timeout} s; events: {reasons}")

    def wait(
        self, name: str, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 300
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.status(name)
            if predicate(status):
                return status
            time.sleep(0.5)
        raise AssertionError(f"{name}: not {what} within {timeout} s; status: {status}")

    def wait_phase(self, name: str, *phases: str, timeout: float = 300) -> dict[str, Any]:
        return self.wait(name, lambda s: s.get("phase") in phases, f"in {phases}", timeout)


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status.get("conditions") or []}
