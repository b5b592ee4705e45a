"""The operator's settings: one typed object, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from distillery.errors import DistilleryError

ENV_PREFIX = "DISTILLERY_"


class SettingsError(DistilleryError):
    """An operator setting with a value it cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{ENV_PREFIX}{name}: expected an integer, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{ENV_PREFIX}{name}: expected at least {minimum}, got {value}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(ENV_PREFIX + name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class OperatorSettings:
    """Everything the operator needs that is not in a DistillationRun."""

    job_image: str = "ghcr.io/distillery/jobs:0.1.0"
    image_pull_policy: str = "IfNotPresent"
    job_service_account: str = "distillery-job"
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    # Requests of the pods that need no GPU (collect, curate); train/evaluate use spec.student.resources.
    job_cpu: str = "500m"
    job_memory: str = "1Gi"
    backoff_limit: int = 2
    active_deadline_seconds: int = 24 * 3600
    ttl_seconds_after_finished: int = 7 * 24 * 3600
    termination_grace_seconds: int = 30
    scratch_size: str = "20Gi"
    # A Job that has had no running or finished pod for this long gets a JobNotStarted condition.
    job_start_timeout_seconds: int = 600
    max_job_recreations: int = 3
    history_limit: int = 10
    # How often each run is re-checked without an event (schedule ticks, stuck Jobs).
    resync_seconds: int = 30
    # Reconcile passes in flight at once (threads: a pass mostly waits on the API server).
    workers: int = 32
    metrics_port: int = 8080
    liveness_port: int = 8081
    # Where the metrics and liveness endpoints listen (all interfaces in a pod; loopback in tests).
    listen_address: str = "0.0.0.0"
    # The kopf peering that keeps two replicas from both acting; "none": standalone (one replica).
    peering: str = "distillery"
    extra_job_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def standalone(self) -> bool:
        return self.peering == "none"

    @property
    def liveness_endpoint(self) -> str:
        return f"http://{self.listen_address}:{self.liveness_port}/healthz"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        env = os.environ if env is None else env
        defaults = cls()
        extra = {
            key.removeprefix(ENV_PREFIX + "JOB_ENV_"): value
            for key, value in env.items()
            if key.startswith(ENV_PREFIX + "JOB_ENV_")
        }
        return cls(
            job_image=env.get(ENV_PREFIX + "JOB_IMAGE") or defaults.job_image,
            image_pull_policy=env.get(ENV_PREFIX + "IMAGE_PULL_POLICY") or defaults.image_pull_policy,
            job_service_account=env.get(ENV_PREFIX + "JOB_SERVICE_ACCOUNT") or defaults.job_service_account,
            namespaces=_list(env, "NAMESPACES"),
            job_cpu=env.get(ENV_PREFIX + "JOB_CPU") or defaults.job_cpu,
            job_memory=env.get(ENV_PREFIX + "JOB_MEMORY") or defaults.job_memory,
            backoff_limit=_int(env, "JOB_BACKOFF_LIMIT", defaults.backoff_limit),
            active_deadline_seconds=_int(
                env, "JOB_ACTIVE_DEADLINE_SECONDS", defaults.active_deadline_seconds, 1
            ),
            ttl_seconds_after_finished=_int(env, "JOB_TTL_SECONDS", defaults.ttl_seconds_after_finished),
            termination_grace_seconds=_int(env, "JOB_GRACE_SECONDS", defaults.termination_grace_seconds),
            scratch_size=env.get(ENV_PREFIX + "JOB_SCRATCH_SIZE") or defaults.scratch_size,
            job_start_timeout_seconds=_int(
                env, "JOB_START_TIMEOUT_SECONDS", defaults.job_start_timeout_seconds, 1
            ),
            max_job_recreations=_int(env, "MAX_JOB_RECREATIONS", defaults.max_job_recreations),
            history_limit=_int(env, "HISTORY_LIMIT", defaults.history_limit, 1),
            resync_seconds=_int(env, "RESYNC_SECONDS", defaults.resync_seconds, 1),
            workers=_int(env, "WORKERS", defaults.workers, 1),
            metrics_port=_int(env, "METRICS_PORT", defaults.metrics_port),
            liveness_port=_int(env, "LIVENESS_PORT", defaults.liveness_port),
            listen_address=env.get(ENV_PREFIX + "LISTEN_ADDRESS") or defaults.listen_address,
            peering=env.get(ENV_PREFIX + "PEERING") or defaults.peering,
            extra_job_env=extra,
        )
