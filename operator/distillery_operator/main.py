"""The kopf handlers: thin, each hands off to `handlers.Operator` (the reconcile pass).

Run with `distillery-operator` (see `__main__.py` and docs/operator.md).
A DistillationRun is reconciled when it is created or changed, when one of its Jobs changes, and
every `DISTILLERY_RESYNC_SECONDS` (schedule ticks, Jobs that never start). Every pass reads the
state afresh, so it does not matter which of these woke it up.
"""

from __future__ import annotations

import logging
import os
import random
from typing import Any

import kopf
from kubernetes import client, config

from distillery.api.crd import GROUP, PLURAL, VERSION
from distillery_operator.builders import LABEL_RUN
from distillery_operator.handlers import Operator, utc_now
from distillery_operator.kube import Kube
from distillery_operator.metrics import Metrics
from distillery_operator.settings import OperatorSettings

RUNS = (GROUP, VERSION, PLURAL)
SETTINGS = OperatorSettings.from_env()
ANNOTATION_PREFIX = "operator.distillery.dev"


def api_client() -> client.ApiClient:
    """In a pod: its ServiceAccount; elsewhere: $KUBECONFIG (read now, not at import)."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG") or None)
    return client.ApiClient()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # The CRD's status schema prunes anything it does not declare: kopf keeps its state in annotations.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=ANNOTATION_PREFIX)
    if not SETTINGS.standalone:
        settings.peering.name = SETTINGS.peering
        settings.peering.mandatory = True
        # Replicas of equal priority would all act: each takes a random one, the highest acts.
        settings.peering.priority = random.randint(1, 1_000_000)
    settings.posting.level = logging.WARNING
    # Passes wait on the API server, not the CPU: many may be in flight at once.
    settings.execution.max_workers = SETTINGS.workers
    metrics = Metrics()
    metrics.serve(SETTINGS.metrics_port, SETTINGS.listen_address)
    # memo.clock: a test may start the operator with its own clock (kopf.operator(memo=...)).
    memo.operator = Operator(SETTINGS, Kube(api_client()), metrics, clock=memo.get("clock") or utc_now)


@kopf.on.resume(*RUNS)
@kopf.on.create(*RUNS)
@kopf.on.update(*RUNS)
def run_changed(namespace: str, name: str, memo: kopf.Memo, **_: Any) -> None:
    memo.operator.reconcile(namespace, name)


@kopf.timer(*RUNS, interval=SETTINGS.resync_seconds, initial_delay=SETTINGS.resync_seconds)
def resync(namespace: str, name: str, memo: kopf.Memo, **_: Any) -> None:
    memo.operator.reconcile(namespace, name)


def job_settled(body: kopf.Body, type: str | None, **_: Any) -> bool:
    """Worth a pass: a Job that finished or is gone (a running one is the run's resync's business)."""
    conditions = (body.get("status") or {}).get("conditions") or []
    finished = any(c.get("status") == "True" and c.get("type") in ("Complete", "Failed") for c in conditions)
    return finished or type == "DELETED" or bool(body.get("metadata", {}).get("deletionTimestamp"))


@kopf.on.event("batch", "v1", "jobs", labels={LABEL_RUN: kopf.PRESENT}, when=job_settled)
def job_changed(namespace: str, labels: dict[str, str], memo: kopf.Memo, **_: Any) -> None:
    memo.operator.reconcile(namespace, labels[LABEL_RUN])


@kopf.on.delete(*RUNS, optional=True)
def run_deleted(namespace: str, name: str, memo: kopf.Memo, **_: Any) -> None:
    memo.operator.metrics.forget(namespace, name)
