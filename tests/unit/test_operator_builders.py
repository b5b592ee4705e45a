"""The operator's builders, compared as whole objects (what the API server will be sent)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from distillery.api.manifest import parse_manifest
from distillery.api.resource import DistillationRun
from distillery_operator.builders import build_job, build_phase, build_spec_config_map
from distillery_operator.settings import OperatorSettings, SettingsError

SETTINGS = OperatorSettings(job_image="registry.example/distillery-jobs:1", job_service_account="jobs")

RUN: dict[str, Any] = {
    "apiVersion": "distillery.dev/v1alpha1",
    "kind": "DistillationRun",
    "metadata": {"name": "sinc", "namespace": "ml", "generation": 3, "uid": "u-1"},
    "spec": {
        "task": {"systemPrompt": "Answer in JSON."},
        "teacher": {
            "model": "claude-haiku-4-5",
            "apiKeySecretRef": {"name": "anthropic", "key": "api-key"},
        },
        "prompts": {"sources": [{"inline": ["hi"]}, {"configMap": {"name": "prompts", "key": "p.jsonl"}}]},
        "curation": {"judge": {"model": "judge-model", "apiKeySecretRef": {"name": "judge", "key": "k"}}},
        "student": {
            "baseModel": "Qwen/Qwen2.5-1.5B-Instruct",
            "resources": {"gpus": 2, "memory": "48Gi", "cpu": "8"},
            "scheduling": {"nodeSelector": {"gpu": "h100"}},
        },
        "evaluation": {"heldOut": {"configMap": {"name": "heldout", "key": "h.jsonl"}}},
        "storage": {"uri": "s3://bucket/distillery", "credentialsSecretRef": {"name": "s3"}},
        "scheduling": {
            "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
            "priorityClassName": "batch-low",
        },
    },
}


def run(**spec_changes: Any) -> DistillationRun:
    return parse_manifest({**RUN, "spec": {**RUN["spec"], **spec_changes}})


def labels(phase: str | None = None) -> dict[str, str]:
    base = {
        "app.kubernetes.io/name": "distillery",
        "app.kubernetes.io/instance": "sinc",
        "app.kubernetes.io/managed-by": "distillery-operator",
        "app.kubernetes.io/part-of": "distillery",
        "distillery.dev/run": "sinc",
        "distillery.dev/attempt": "2",
    }
    return base | ({"app.kubernetes.io/component": phase, "distillery.dev/phase": phase} if phase else {})


PLAIN_ENV = [
    {"name": "DISTILLERY_TERMINATION_LOG", "value": "/dev/termination-log"},
    {"name": "DISTILLERY_CONFIGMAP_ROOT", "value": "/etc/distillery/configmaps"},
    {"name": "HOME", "value": "/scratch"},
    {"name": "TMPDIR", "value": "/scratch"},
    {"name": "XDG_CACHE_HOME", "value": "/scratch/.cache"},
    {"name": "HF_HOME", "value": "/scratch/.cache/huggingface"},
    {"name": "MPLCONFIGDIR", "value": "/scratch/.cache/matplotlib"},
    {"name": "DISTILLERY_MODEL_CACHE", "value": "/scratch/models"},
    {"name": "PYTHONUNBUFFERED", "value": "1"},
]
S3_ENV = [
    {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "AWS_ACCESS_KEY_ID"}}},
    {
        "name": "AWS_SECRET_ACCESS_KEY",
        "valueFrom": {"secretKeyRef": {"name": "s3", "key": "AWS_SECRET_ACCESS_KEY"}},
    },
]
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "fsGroup": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}


def test_collect_job_whole_object() -> None:
    job = build_job(run(), 2, "collect", SETTINGS)
    assert job == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "sinc-a2-collect", "namespace": "ml", "labels": labels("collect")},
        "spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": 86400,
            "ttlSecondsAfterFinished": 604800,
            "template": {
                "metadata": {"labels": labels("collect")},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": "jobs",
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "collect",
                            "image": "registry.example/distillery-jobs:1",
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["distillery-job", "collect"],
                            "args": ["--manifest", "/etc/distillery/run/manifest.yaml", "--attempt", "2"],
                            "env": [
                                *PLAIN_ENV,
                                {
                                    "name": "ANTHROPIC_API_KEY",
                                    "valueFrom": {"secretKeyRef": {"name": "anthropic", "key": "api-key"}},
                                },
                                *S3_ENV,
                            ],
                            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                            "volumeMounts": [
                                {"name": "run-spec", "mountPath": "/etc/distillery/run", "readOnly": True},
                                {"name": "scratch", "mountPath": "/scratch"},
                                {
                                    "name": "prompts-0",
                                    "mountPath": "/etc/distillery/configmaps/prompts",
                                    "readOnly": True,
                                },
                            ],
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "securityContext": CONTAINER_SECURITY,
                        }
                    ],
                    "volumes": [
                        {"name": "run-spec", "configMap": {"name": "sinc-a2-spec"}},
                        {"name": "scratch", "emptyDir": {"sizeLimit": "20Gi"}},
                        {"name": "prompts-0", "configMap": {"name": "prompts"}},
                    ],
                    "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
                    "priorityClassName": "batch-low",
                },
            },
        },
    }


def student(**resources: Any) -> dict[str, Any]:
    return RUN["spec"]["student"] | {"resources": RUN["spec"]["student"]["resources"] | resources}


TRAIN_MOUNTS = [
    {"name": "run-spec", "mountPath": "/etc/distillery/run", "readOnly": True},
    {"name": "scratch", "mountPath": "/scratch"},
]
TRAIN_VOLUMES = [
    {"name": "run-spec", "configMap": {"name": "sinc-a2-spec"}},
    {"name": "scratch", "emptyDir": {"sizeLimit": "20Gi"}},
]
TRAIN_RESOURCES = {
    "requests": {"memory": "48Gi", "cpu": "8", "nvidia.com/gpu": "2"},
    "limits": {"memory": "48Gi", "nvidia.com/gpu": "2"},
}
NODE_RANK = {
    "name": "DISTILLERY_NODE_RANK",
    "valueFrom": {
        "fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}
    },
}


def test_multi_node_train_is_an_indexed_job_with_a_headless_service_whole_objects() -> None:
    service, job = build_phase(run(student=student(nodes=3)), 2, "train", SETTINGS)
    assert service == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "sinc-a2-train", "namespace": "ml", "labels": labels("train")},
        "spec": {
            "clusterIP": "None",
            "selector": {"job-name": "sinc-a2-train"},
            "publishNotReadyAddresses": True,
            "ports": [{"name": "torchrun", "port": 29500, "targetPort": 29500}],
        },
    }
    assert job == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "sinc-a2-train", "namespace": "ml", "labels": labels("train")},
        "spec": {
            "backoffLimit": 0,  # a replaced pod cannot rejoin the rendezvous: the attempt fails
            "activeDeadlineSeconds": 86400,
            "ttlSecondsAfterFinished": 604800,
            "completionMode": "Indexed",
            "completions": 3,
            "parallelism": 3,
            "template": {
                "metadata": {"labels": labels("train")},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": "jobs",
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "train",
                            "image": "registry.example/distillery-jobs:1",
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["distillery-job", "train"],
                            "args": ["--manifest", "/etc/distillery/run/manifest.yaml", "--attempt", "2"],
                            "env": [
                                *PLAIN_ENV,
                                *S3_ENV,
                                {"name": "DISTILLERY_NNODES", "value": "3"},
                                NODE_RANK,
                                {"name": "DISTILLERY_MASTER_ADDR", "value": "sinc-a2-train-0.sinc-a2-train"},
                                {"name": "DISTILLERY_MASTER_PORT", "value": "29500"},
                            ],
                            "resources": TRAIN_RESOURCES,
                            "volumeMounts": TRAIN_MOUNTS,
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "securityContext": CONTAINER_SECURITY,
                        }
                    ],
                    "volumes": TRAIN_VOLUMES,
                    "nodeSelector": {"gpu": "h100"},
                    "subdomain": "sinc-a2-train",
                },
            },
        },
    }


def test_one_node_train_and_other_phases_stay_one_plain_job() -> None:
    for phase in ("collect", "curate", "train", "evaluate"):
        (job,) = build_phase(run(), 2, phase, SETTINGS)
        assert job == build_job(run(), 2, phase, SETTINGS) and "completionMode" not in job["spec"]
    (evaluate,) = build_phase(run(student=student(nodes=2)), 2, "evaluate", SETTINGS)
    assert "completionMode" not in evaluate["spec"]  # only training spans nodes


def test_sharded_collect_is_an_indexed_job_whose_pods_know_their_shard() -> None:
    teacher = RUN["spec"]["teacher"] | {"shards": 4}
    (job,) = build_phase(run(teacher=teacher), 2, "collect", SETTINGS)
    plain = build_job(run(), 2, "collect", SETTINGS)
    pod = plain["spec"]["template"]["spec"]
    pod["containers"][0]["env"].append(
        {
            "name": "DISTILLERY_SHARD_INDEX",
            "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}
            },
        }
    )
    # backoffLimit kept: a replaced pod of index i resumes shard i from its own chunks
    plain["spec"] |= {"completionMode": "Indexed", "completions": 4, "parallelism": 4}
    assert job == plain and job["spec"]["backoffLimit"] == 2
    assert "subdomain" not in job["spec"]["template"]["spec"]  # shards never talk to each other


def test_kubeflow_trainer_renders_a_train_job_on_torch_distributed_whole_object() -> None:
    spec = student(nodes=2) | {"trainer": "kubeflow"}
    (train_job,) = build_phase(run(student=spec), 2, "train", SETTINGS)
    assert train_job == {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "metadata": {"name": "sinc-a2-train", "namespace": "ml", "labels": labels("train")},
        "spec": {
            "runtimeRef": {
                "name": "torch-distributed",
                "apiGroup": "trainer.kubeflow.org",
                "kind": "ClusterTrainingRuntime",
            },
            "trainer": {
                "image": "registry.example/distillery-jobs:1",
                "command": [
                    "distillery-job",
                    "train",
                    "--manifest",
                    "/etc/distillery/run/manifest.yaml",
                    "--attempt",
                    "2",
                ],
                "env": [
                    *PLAIN_ENV,
                    *S3_ENV,
                    {"name": "DISTILLERY_NNODES", "value": "2"},
                    NODE_RANK,
                    {"name": "DISTILLERY_MASTER_ADDR", "value": "sinc-a2-train-node-0-0.sinc-a2-train"},
                    {"name": "DISTILLERY_MASTER_PORT", "value": "29500"},
                ],
                "numNodes": 2,
                "resourcesPerNode": TRAIN_RESOURCES,
            },
            "runtimePatches": [
                {
                    "manager": "distillery.dev/operator",
                    "trainingRuntimeSpec": {
                        "template": {
                            "spec": {
                                "replicatedJobs": [
                                    {
                                        "name": "node",
                                        "template": {
                                            "spec": {
                                                "template": {
                                                    "spec": {
                                                        "serviceAccountName": "jobs",
                                                        "securityContext": POD_SECURITY,
                                                        "volumes": TRAIN_VOLUMES,
                                                        "containers": [
                                                            {
                                                                "name": "node",
                                                                "volumeMounts": TRAIN_MOUNTS,
                                                                "securityContext": CONTAINER_SECURITY,
                                                            }
                                                        ],
                                                        "nodeSelector": {"gpu": "h100"},
                                                    }
                                                }
                                            }
                                        },
                                    }
                                ]
                            }
                        }
                    },
                }
            ],
            "activeDeadlineSeconds": 86400,
        },
    }


def test_train_job_asks_for_gpus_and_uses_the_students_placement() -> None:
    pod = build_job(run(), 2, "train", SETTINGS)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"] == {
        "requests": {"memory": "48Gi", "cpu": "8", "nvidia.com/gpu": "2"},
        "limits": {"memory": "48Gi", "nvidia.com/gpu": "2"},
    }
    assert container["env"] == [*PLAIN_ENV, *S3_ENV]  # no teacher or judge key in training
    assert pod["nodeSelector"] == {"gpu": "h100"}
    assert "tolerations" not in pod and "priorityClassName" not in pod
    assert [v["name"] for v in pod["volumes"]] == ["run-spec", "scratch"]


def test_secrets_only_where_needed_and_only_by_reference() -> None:
    def env_names(phase: str) -> list[str]:
        container = build_job(run(), 1, phase, SETTINGS)["spec"]["template"]["spec"]["containers"][0]
        secret = [e for e in container["env"] if "valueFrom" in e]
        assert all(set(e) == {"name", "valueFrom"} for e in secret)
        return [e["name"] for e in secret]

    assert env_names("collect") == ["ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert env_names("curate") == ["JUDGE_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert env_names("train") == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert env_names("evaluate") == ["ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]


def test_evaluate_mounts_the_held_out_config_map() -> None:
    pod = build_job(run(), 1, "evaluate", SETTINGS)["spec"]["template"]["spec"]
    assert {"name": "prompts-0", "configMap": {"name": "heldout"}} in pod["volumes"]


def test_queue_name_labels_and_suspends_for_kueue() -> None:
    job = build_job(run(queueName="team-a"), 1, "curate", SETTINGS)
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    assert job["spec"]["suspend"] is True
    plain = build_job(run(), 1, "curate", SETTINGS)
    assert "suspend" not in plain["spec"] and "kueue.x-k8s.io/queue-name" not in plain["metadata"]["labels"]


def test_spec_snapshot_config_map() -> None:
    config_map = build_spec_config_map(run(), 2)
    assert config_map["metadata"] == {"name": "sinc-a2-spec", "namespace": "ml", "labels": labels()}
    snapshot = yaml.safe_load(config_map["data"]["manifest.yaml"])
    assert snapshot["metadata"] == {"name": "sinc", "namespace": "ml", "generation": 3}
    assert parse_manifest(snapshot).spec == run().spec


def test_settings_from_env_and_clear_errors() -> None:
    settings = OperatorSettings.from_env(
        {
            "DISTILLERY_JOB_IMAGE": "img:2",
            "DISTILLERY_NAMESPACES": "a, b",
            "DISTILLERY_JOB_ENV_HTTP_PROXY": "p",
        }
    )
    assert (settings.job_image, settings.namespaces, dict(settings.extra_job_env)) == (
        "img:2",
        ("a", "b"),
        {"HTTP_PROXY": "p"},
    )
    with pytest.raises(SettingsError, match="DISTILLERY_JOB_BACKOFF_LIMIT: expected an integer, got 'x'"):
        OperatorSettings.from_env({"DISTILLERY_JOB_BACKOFF_LIMIT": "x"})
