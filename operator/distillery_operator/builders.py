"""Pure builders of every object the operator creates: dicts in, dicts out, no API calls.

    build_spec_config_map(run, attempt)                -> the attempt's manifest snapshot
    build_job(run, attempt, step, settings)            -> the step's Job (Indexed when it has pods
                                                          per node or per shard: distributed.py)
    build_phase(run, attempt, step, settings)          -> every object the step needs: the Job, and
                                                          its headless Service; or a Kubeflow TrainJob

A step is a phase, or a size sweep candidate's phase (`train-<c>`, `evaluate-<c>`).

The reconciler adopts them (ownerReferences to the run) and creates them; unit tests compare
whole objects.
"""

from __future__ import annotations

from typing import Any

import yaml

from distillery import layout, phases
from distillery.api.resource import DistillationRun
from distillery.api.spec import DistillationRunSpec, SchedulingSpec
from distillery.context import for_candidate
from distillery.prompts import CONFIGMAP_ROOT_ENV, DEFAULT_CONFIGMAP_ROOT
from distillery_operator import distributed
from distillery_operator.settings import OperatorSettings

LABEL_RUN = "distillery.dev/run"
LABEL_ATTEMPT = "distillery.dev/attempt"
LABEL_PHASE = "distillery.dev/phase"
LABEL_QUEUE = "kueue.x-k8s.io/queue-name"
ANNOTATION_RERUN = "distillery.dev/rerun"
MANAGED_BY = "distillery-operator"

MANIFEST_DIR = "/etc/distillery/run"
MANIFEST_FILE = "manifest.yaml"
SCRATCH_DIR = "/scratch"
TERMINATION_LOG = "/dev/termination-log"
TERMINATION_LOG_ENV = "DISTILLERY_TERMINATION_LOG"
GPU_RESOURCE = "nvidia.com/gpu"
# publish loads the student when it evaluates the champion again or merges weights.
GPU_PHASES = (phases.TRAIN, phases.EVALUATE, phases.PUBLISH)
NON_ROOT_UID = 1000

TEACHER_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai-compatible": "OPENAI_API_KEY"}
JUDGE_KEY_ENV = "JUDGE_API_KEY"


def spec_config_map_name(run: str, attempt: int) -> str:
    return f"{run}-a{attempt}-spec"


def labels(run: str, attempt: int, phase: str | None = None) -> dict[str, str]:
    """The labels of every object of an attempt (the phase's too, for Jobs and pods)."""
    result = {
        "app.kubernetes.io/name": "distillery",
        "app.kubernetes.io/instance": run,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/part-of": "distillery",
        LABEL_RUN: run,
        LABEL_ATTEMPT: str(attempt),
    }
    if phase:
        result |= {"app.kubernetes.io/component": phase, LABEL_PHASE: phase}
    return result


def snapshot_manifest(run: DistillationRun) -> str:
    """The manifest an attempt runs with (the spec as it was when the attempt started)."""
    metadata = {"name": run.name, "namespace": run.namespace}
    if run.metadata.generation is not None:
        metadata["generation"] = run.metadata.generation
    body = {"apiVersion": run.api_version, "kind": run.kind, "metadata": metadata, "spec": run.spec.to_api()}
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def build_spec_config_map(run: DistillationRun, attempt: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": spec_config_map_name(run.name, attempt),
            "namespace": run.namespace,
            "labels": labels(run.name, attempt),
        },
        "data": {MANIFEST_FILE: snapshot_manifest(run)},
    }


# --- the Job's pieces --------------------------------------------------------------------------


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def secret_env(spec: DistillationRunSpec, phase: str) -> list[dict[str, Any]]:
    """Secrets a phase needs, only through secretKeyRef: teacher, judge and S3 keys."""
    env: list[dict[str, Any]] = []
    teacher_ref = spec.teacher.api_key_secret_ref
    # publish reads the teacher's held-out answers back only to compare teacherAgreement.
    compares_teacher = phase == phases.PUBLISH and "teacherAgreement" in spec.publish.comparison.metrics
    if teacher_ref and (phase in (phases.COLLECT, phases.EVALUATE) or compares_teacher):
        env.append(_secret_env(TEACHER_KEY_ENV[spec.teacher.provider], teacher_ref.name, teacher_ref.key))
    judge = {phases.CURATE: spec.curation.judge, phases.EVALUATE: spec.evaluation.judge}.get(phase)
    if judge is not None and judge.api_key_secret_ref is not None:
        env.append(_secret_env(JUDGE_KEY_ENV, judge.api_key_secret_ref.name, judge.api_key_secret_ref.key))
    s3 = spec.storage.credentials_secret_ref
    if s3 is not None:
        env.append(_secret_env("AWS_ACCESS_KEY_ID", s3.name, s3.access_key_id_key))
        env.append(_secret_env("AWS_SECRET_ACCESS_KEY", s3.name, s3.secret_access_key_key))
    return env


def plain_env(settings: OperatorSettings) -> list[dict[str, Any]]:
    """Where a job with a read-only root filesystem writes: everything under the scratch volume."""
    values = {
        TERMINATION_LOG_ENV: TERMINATION_LOG,
        CONFIGMAP_ROOT_ENV: DEFAULT_CONFIGMAP_ROOT,
        "HOME": SCRATCH_DIR,
        "TMPDIR": SCRATCH_DIR,
        "XDG_CACHE_HOME": f"{SCRATCH_DIR}/.cache",
        "HF_HOME": f"{SCRATCH_DIR}/.cache/huggingface",
        "MPLCONFIGDIR": f"{SCRATCH_DIR}/.cache/matplotlib",
        "DISTILLERY_MODEL_CACHE": f"{SCRATCH_DIR}/models",
        "PYTHONUNBUFFERED": "1",
        **settings.extra_job_env,
    }
    return [{"name": name, "value": value} for name, value in values.items()]


def config_map_sources(spec: DistillationRunSpec, phase: str) -> list[str]:
    """ConfigMaps a phase reads prompts from (collect: prompt sources; curate: anchors and the
    held-out set they must not overlap; evaluate and publish: held-out)."""
    if phase == phases.COLLECT:
        refs = [source.config_map for source in spec.prompts.sources]
    elif phase == phases.CURATE and spec.curation.anchors is not None:
        refs = [spec.curation.anchors.source.config_map, spec.evaluation.held_out.config_map]
    elif phase in (phases.EVALUATE, phases.PUBLISH):  # publish compares on the same held-out set
        refs = [spec.evaluation.held_out.config_map]
    else:
        refs = []
    return sorted({ref.name for ref in refs if ref is not None})


def volumes(run: str, attempt: int, spec: DistillationRunSpec, phase: str, settings: OperatorSettings):
    mounts = [
        {"name": "run-spec", "mountPath": MANIFEST_DIR, "readOnly": True},
        {"name": "scratch", "mountPath": SCRATCH_DIR},
    ]
    vols: list[dict[str, Any]] = [
        {"name": "run-spec", "configMap": {"name": spec_config_map_name(run, attempt)}},
        {"name": "scratch", "emptyDir": {"sizeLimit": settings.scratch_size}},
    ]
    for index, name in enumerate(config_map_sources(spec, phase)):
        volume = f"prompts-{index}"
        vols.append({"name": volume, "configMap": {"name": name}})
        mounts.append({"name": volume, "mountPath": f"{DEFAULT_CONFIGMAP_ROOT}/{name}", "readOnly": True})
    return vols, mounts


def resources(spec: DistillationRunSpec, phase: str, settings: OperatorSettings) -> dict[str, Any]:
    """collect / curate: the operator's defaults; train / evaluate: spec.student.resources."""
    if phase not in GPU_PHASES:
        return {"requests": {"cpu": settings.job_cpu, "memory": settings.job_memory}}
    wanted = spec.student.resources
    requests: dict[str, str] = {"memory": wanted.memory}
    if wanted.cpu:
        requests["cpu"] = wanted.cpu
    limits: dict[str, str] = {"memory": wanted.memory}
    if wanted.gpus > 0:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(wanted.gpus)
    return {"requests": requests, "limits": limits}


def placement(spec: DistillationRunSpec, phase: str) -> SchedulingSpec:
    if phase in GPU_PHASES and spec.student.scheduling is not None:
        return spec.student.scheduling
    return spec.scheduling


def container(
    run: str, attempt: int, phase: str, spec: DistillationRunSpec, settings: OperatorSettings, mounts
):
    return {
        "name": phase,
        "image": settings.job_image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["distillery-job", phase],
        "args": ["--manifest", f"{MANIFEST_DIR}/{MANIFEST_FILE}", "--attempt", str(attempt)],
        "env": plain_env(settings) + secret_env(spec, phase),
        "resources": resources(spec, phase, settings),
        "volumeMounts": mounts,
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _for_step(spec: dict[str, Any], step: str, candidate: str | None) -> dict[str, Any]:
    if candidate:
        spec["name"] = step
        spec["args"] = [*spec["args"], "--candidate", candidate]
    return spec


def step_spec(run: DistillationRun, step: str) -> tuple[str, DistillationRunSpec]:
    """A step's phase and the spec its Job sees (a sweep candidate's step: that candidate's student)."""
    phase, candidate = layout.split_step(step)
    return phase, (for_candidate(run, candidate).spec if candidate else run.spec)


def build_job(run: DistillationRun, attempt: int, step: str, settings: OperatorSettings) -> dict[str, Any]:
    """The Job of one step of one attempt (name from the phase machine: never two of them); Indexed
    when the step has several pods (multi-node train, sharded collect)."""
    job = plain_job(run, attempt, step, settings)
    if not is_indexed(run, step):
        return job
    phase, spec = step_spec(run, step)
    if phase == phases.TRAIN:
        return distributed.multi_node(job, spec.student.resources.nodes)
    return distributed.sharded(job, spec.teacher.shards)


def plain_job(run: DistillationRun, attempt: int, step: str, settings: OperatorSettings) -> dict[str, Any]:
    """The step's Job with one pod. A size sweep's candidate step (train-<c>, evaluate-<c>) runs its
    phase with `--candidate <c>` and the candidate's resources."""
    _, candidate = layout.split_step(step)
    phase, spec = step_spec(run, step)
    job_labels = labels(run.name, attempt, step)
    vols, mounts = volumes(run.name, attempt, spec, phase, settings)
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": settings.job_service_account,
        "terminationGracePeriodSeconds": settings.termination_grace_seconds,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NON_ROOT_UID,
            "runAsGroup": NON_ROOT_UID,
            "fsGroup": NON_ROOT_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            _for_step(container(run.name, attempt, phase, spec, settings, mounts), step, candidate)
        ],
        "volumes": vols,
        **placement(spec, phase).to_pod_fields(),
    }
    job_spec: dict[str, Any] = {
        "backoffLimit": settings.backoff_limit,
        "activeDeadlineSeconds": settings.active_deadline_seconds,
        "ttlSecondsAfterFinished": settings.ttl_seconds_after_finished,
        "template": {"metadata": {"labels": dict(job_labels)}, "spec": pod_spec},
    }
    metadata: dict[str, Any] = {
        "name": phases.job_name(run.name, attempt, step),
        "namespace": run.namespace,
        "labels": job_labels,
    }
    if spec.queue_name:
        metadata["labels"] = job_labels | {LABEL_QUEUE: spec.queue_name}
        job_spec["suspend"] = True  # Kueue admits the Job by unsuspending it
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job_spec}


def is_indexed(run: DistillationRun, step: str) -> bool:
    """The step's Job is an Indexed Job: multi-node train, or sharded collect."""
    phase, spec = step_spec(run, step)
    if uses_train_job(spec, phase):
        return False
    if phase == phases.TRAIN:
        return spec.student.resources.nodes > 1
    return phase == phases.COLLECT and spec.teacher.shards > 1


def uses_train_job(spec: DistillationRunSpec, phase: str) -> bool:
    """The train phase runs as a Kubeflow TrainJob (`student.trainer: kubeflow`)."""
    return phase == phases.TRAIN and spec.student.trainer == "kubeflow"


def build_phase(
    run: DistillationRun, attempt: int, step: str, settings: OperatorSettings
) -> list[dict[str, Any]]:
    """Everything a step's start creates, in creation order."""
    phase, spec = step_spec(run, step)
    nodes = spec.student.resources.nodes
    if uses_train_job(spec, phase):
        return [distributed.build_train_job(plain_job(run, attempt, step, settings), nodes)]
    job = build_job(run, attempt, step, settings)
    if phase == phases.TRAIN and nodes > 1:
        return [distributed.build_service(run, attempt, step, labels(run.name, attempt, step)), job]
    return [job]
