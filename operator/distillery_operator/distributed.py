"""Pure builders of the phases that run as several pods: dicts in, dicts out, no API calls.

    indexed(job, completions, env)                 -> the Job as an Indexed Job (one pod per index)
    build_service(run, attempt, phase)             -> the headless Service of a multi-node train Job
    build_train_job(run, attempt, settings)        -> the Kubeflow Trainer v2 TrainJob (trainer: kubeflow)

Multi-node train (`student.resources.nodes > 1`): an Indexed Job, `completions = parallelism = nodes`,
`backoffLimit: 0` (a replaced pod cannot rejoin torchrun's rendezvous: a pod failure fails the
attempt), pods named `<job>-<index>` under `subdomain: <service>`, so rank 0 answers at
`<job>-0.<service>`. Sharded collect (`teacher.shards > 1`): an Indexed Job whose pods read their
shard from `DISTILLERY_SHARD_INDEX`. Both take the index from the pod annotation the Job controller
sets (`batch.kubernetes.io/job-completion-index`, Kubernetes >= 1.21).
"""

from __future__ import annotations

import copy
from typing import Any

from distillery import phases
from distillery.api.resource import DistillationRun

COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
SHARD_INDEX_ENV = "DISTILLERY_SHARD_INDEX"
NNODES_ENV = "DISTILLERY_NNODES"
NODE_RANK_ENV = "DISTILLERY_NODE_RANK"
MASTER_ADDR_ENV = "DISTILLERY_MASTER_ADDR"
MASTER_PORT_ENV = "DISTILLERY_MASTER_PORT"
MASTER_PORT = 29500

TRAINJOB_API_VERSION = "trainer.kubeflow.org/v1alpha1"
TRAINJOB_RUNTIME = "torch-distributed"
# The torch-distributed runtime's JobSet: replicated Job "node", container "node", pods
# `<trainjob>-node-0-<index>` under subdomain `<trainjob>`, torchrun's port 29500 (its PET_MASTER_*).
TRAINJOB_NODE = "node"
TRAINJOB_MASTER_PORT = 29500
PATCH_MANAGER = "distillery.dev/operator"


def index_env(name: str) -> dict[str, Any]:
    """`name` = this pod's completion index (the annotation the Job controller sets on each pod)."""
    path = f"metadata.annotations['{COMPLETION_INDEX_ANNOTATION}']"
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def service_name(run: str, attempt: int, phase: str) -> str:
    """The headless Service of a multi-node phase: the Job's own name (pods are `<job>-<i>.<job>`)."""
    return phases.job_name(run, attempt, phase)


def node_env(job: str, nodes: int) -> list[dict[str, Any]]:
    """What the ddp launcher reads to run torchrun across the Job's pods."""
    return [
        {"name": NNODES_ENV, "value": str(nodes)},
        index_env(NODE_RANK_ENV),
        {"name": MASTER_ADDR_ENV, "value": f"{job}-0.{job}"},
        {"name": MASTER_PORT_ENV, "value": str(MASTER_PORT)},
    ]


def indexed(job: dict[str, Any], completions: int, env: list[dict[str, Any]]) -> dict[str, Any]:
    """`job` as an Indexed Job of `completions` pods running at once, each container given `env`."""
    job = copy.deepcopy(job)
    spec = job["spec"]
    spec |= {"completionMode": "Indexed", "completions": completions, "parallelism": completions}
    for container in spec["template"]["spec"]["containers"]:
        container["env"] = container["env"] + env
    return job


def multi_node(job: dict[str, Any], nodes: int) -> dict[str, Any]:
    """The train Job across `nodes` pods that find each other through the headless Service."""
    name = job["metadata"]["name"]
    job = indexed(job, nodes, node_env(name, nodes))
    job["spec"]["backoffLimit"] = 0  # a replaced pod cannot rejoin torchrun's rendezvous
    job["spec"]["template"]["spec"]["subdomain"] = name
    return job


def sharded(job: dict[str, Any], shards: int) -> dict[str, Any]:
    """The collect Job as `shards` pods, each collecting its own shard of the prompts.

    The Job's backoffLimit stays: a failed or evicted pod is replaced by one of the same index,
    which resumes that shard from its own chunks.
    """
    return indexed(job, shards, [index_env(SHARD_INDEX_ENV)])


def build_service(
    run: DistillationRun, attempt: int, phase: str, job_labels: dict[str, str]
) -> dict[str, Any]:
    """Headless: no cluster IP, one DNS record per pod of the Job (`<job>-<index>.<service>`)."""
    name = service_name(run.name, attempt, phase)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": run.namespace, "labels": dict(job_labels)},
        "spec": {
            "clusterIP": "None",
            "selector": {"job-name": name},
            # rank 0 must resolve before every peer is ready: torchrun's rendezvous waits for them
            "publishNotReadyAddresses": True,
            "ports": [{"name": "torchrun", "port": MASTER_PORT, "targetPort": MASTER_PORT}],
        },
    }


def build_train_job(job: dict[str, Any], nodes: int) -> dict[str, Any]:
    """The train phase as a Kubeflow Trainer v2 TrainJob on the `torch-distributed` runtime.

    `job` is the Job the operator would run itself: its container's command, env and resources
    become the trainer's, and its volumes and mounts go in as a runtime patch (the only place the
    v1alpha1 API takes them).
    """
    name = job["metadata"]["name"]
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = [
        *container["env"],
        {"name": NNODES_ENV, "value": str(nodes)},
        index_env(NODE_RANK_ENV),
        {"name": MASTER_ADDR_ENV, "value": f"{name}-{TRAINJOB_NODE}-0-0.{name}"},
        {"name": MASTER_PORT_ENV, "value": str(TRAINJOB_MASTER_PORT)},
    ]
    pod_patch = {
        "serviceAccountName": pod["serviceAccountName"],
        "securityContext": pod["securityContext"],
        "volumes": pod["volumes"],
        "containers": [
            {
                "name": TRAINJOB_NODE,
                "volumeMounts": container["volumeMounts"],
                "securityContext": container["securityContext"],
            }
        ],
        **{key: pod[key] for key in ("nodeSelector", "affinity", "tolerations") if key in pod},
    }
    replicated = {"name": TRAINJOB_NODE, "template": {"spec": {"template": {"spec": pod_patch}}}}
    spec: dict[str, Any] = {
        "runtimeRef": {
            "name": TRAINJOB_RUNTIME,
            "apiGroup": "trainer.kubeflow.org",
            "kind": "ClusterTrainingRuntime",
        },
        "trainer": {
            "image": container["image"],
            "command": container["command"] + container["args"],
            "env": env,
            "numNodes": nodes,
            "resourcesPerNode": container["resources"],
        },
        "runtimePatches": [
            {
                "manager": PATCH_MANAGER,
                "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [replicated]}}},
            }
        ],
    }
    if job["spec"].get("activeDeadlineSeconds"):
        spec["activeDeadlineSeconds"] = job["spec"]["activeDeadlineSeconds"]
    if job["spec"].get("suspend"):
        spec["suspend"] = True
    return {"apiVersion": TRAINJOB_API_VERSION, "kind": "TrainJob", "metadata": job["metadata"], "spec": spec}
