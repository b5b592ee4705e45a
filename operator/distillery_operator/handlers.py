"""What the kopf handlers delegate to: one reconcile pass, its status write and its events."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from distillery_operator.kube import Kube
from distillery_operator.metrics import Metrics
from distillery_operator.reconcile import Pass, Reconciler, read_status
from distillery_operator.settings import OperatorSettings

log = logging.getLogger(__name__)
RETRY_DELAY_SECONDS = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Operator:
    """The operator's state across passes: settings, API access, metrics, a lock per run."""

    settings: OperatorSettings
    kube: Kube
    metrics: Metrics
    clock: Callable[[], datetime] = utc_now
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, namespace: str, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((namespace, name), threading.Lock())

    def reconcile(self, namespace: str, name: str) -> Pass | None:
        """One pass over the run as the API server has it now (None: the run is gone)."""
        with self.lock(namespace, name):
            try:
                body = self.kube.get_run(namespace, name)
                if body is None:
                    self.metrics.forget(namespace, name)
                    return None
                before = read_status(body)
                result = Reconciler(self.kube, self.settings).run_pass(body, self.clock())
                self.write(body, before, result)
            except ApiException as exc:
                self.metrics.errors.inc()
                raise kopf.TemporaryError(
                    f"API error {exc.status} {exc.reason}", delay=RETRY_DELAY_SECONDS
                ) from exc
            self.metrics.passes.inc()
            self.metrics.observe(namespace, name, before, result.status)
            return result

    def write(self, body: dict[str, Any], before: Any, result: Pass) -> None:
        """One status write per pass (none when nothing changed), then the events."""
        meta = body["metadata"]
        new = result.status.model_dump(by_alias=True, mode="json")
        old = body.get("status") or {}
        if _pruned(new) != _pruned(old):
            self.kube.patch_status(meta["namespace"], meta["name"], new)
        for kind, reason, message in result.events:
            try:
                self.kube.post_event(body, kind, reason, message)
            except ApiException as exc:  # an event is best effort: the status already says it
                log.warning("event %s on %s/%s not posted: %s", reason, meta["namespace"], meta["name"], exc)


def _pruned(value: Any) -> Any:
    """The value as the API server keeps it: nulls and empty maps dropped (merge-patch semantics)."""
    if isinstance(value, dict):
        kept = {key: _pruned(item) for key, item in value.items() if item is not None}
        return {key: item for key, item in kept.items() if item != {}}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value
