"""The Message Batches side of the fake Anthropic API (create, retrieve, list, results, cancel).

A mixin of `FakeAnthropicServer`: items are completed (and billed) when the batch is created; the
batch reports `in_progress` for `batch_seconds`, then `ended` with its results.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from distillery.fakes.wire import ERROR_TYPES, ApiError

if TYPE_CHECKING:
    from distillery.fakes.anthropic_server import Faults

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class FakeBatches:
    """Message Batches endpoints; the host class provides complete(), _draw(), _count(), faults."""

    _lock: threading.Lock
    _batches: dict[str, dict[str, Any]]
    faults: Faults
    faults_injected: Counter[str]
    batch_seconds: float
    base_url: str

    def _draw(self) -> float:  # provided by the host class
        raise NotImplementedError

    def _count(self, counter: Counter[str], key: str) -> None:
        raise NotImplementedError

    def complete(self, body: dict[str, Any], *, batch: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def create_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "requests: a non-empty list is required")
        ids = [r.get("custom_id", "") for r in requests]
        bad = [i for i in ids if not CUSTOM_ID.match(str(i))]
        if bad or len(set(ids)) != len(ids):
            raise ApiError(400, f"requests: custom_id must be unique and match {CUSTOM_ID.pattern}")
        batch_id = f"msgbatch_{uuid.uuid4().hex[:24]}"
        results = [self._batch_result(r["custom_id"], r.get("params", {})) for r in requests]
        with self._lock:
            self._batches[batch_id] = {"created": datetime.now(UTC), "results": results, "canceled": False}
        return self.batch_object(batch_id)

    def _batch_result(self, custom_id: str, params: dict[str, Any]) -> dict[str, Any]:
        draw = self._draw()
        if draw < self.faults.batch_errored:
            self._count(self.faults_injected, "batch_errored")
            error = {"type": "error", "error": {"type": "overloaded_error", "message": "injected fault"}}
            return {"custom_id": custom_id, "result": {"type": "errored", "error": error}}
        if draw < self.faults.batch_errored + self.faults.batch_expired:
            self._count(self.faults_injected, "batch_expired")
            return {"custom_id": custom_id, "result": {"type": "expired"}}
        try:
            message = self.complete(params, batch=True)
            return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}
        except ApiError as exc:
            error = {
                "type": "error",
                "error": {"type": ERROR_TYPES.get(exc.status, "api_error"), "message": exc.message},
            }
            return {"custom_id": custom_id, "result": {"type": "errored", "error": error}}

    def _batch(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            raise ApiError(404, f"batch {batch_id} not found")
        return batch

    def batch_object(self, batch_id: str) -> dict[str, Any]:
        batch = self._batch(batch_id)
        created: datetime = batch["created"]
        ended = batch["canceled"] or datetime.now(UTC) >= created + timedelta(seconds=self.batch_seconds)
        counts = Counter(r["result"]["type"] for r in batch["results"]) if ended else Counter()
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else len(batch["results"]),
                **{k: counts[k] for k in ("succeeded", "errored", "canceled", "expired")},
            },
            "created_at": created.isoformat(),
            "expires_at": (created + timedelta(hours=24)).isoformat(),
            "ended_at": datetime.now(UTC).isoformat() if ended else None,
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": f"{self.base_url}/v1/messages/batches/{batch_id}/results" if ended else None,
        }

    def list_batches(self, query: dict[str, str]) -> dict[str, Any]:
        """GET /v1/messages/batches: newest first, paginated with limit / after_id (as the API)."""
        limit = int(query.get("limit") or 20)
        with self._lock:
            ids = sorted(self._batches, key=lambda i: self._batches[i]["created"], reverse=True)
        after = query.get("after_id")
        if after in ids:
            ids = ids[ids.index(after) + 1 :]
        page = [self.batch_object(i) for i in ids[:limit]]
        return {
            "data": page,
            "has_more": len(ids) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        batch = self._batch(batch_id)
        with self._lock:
            batch["canceled"] = True
        return self.batch_object(batch_id)

    def batch_results(self, batch_id: str) -> bytes:
        if self.batch_object(batch_id)["processing_status"] != "ended":
            raise ApiError(400, f"batch {batch_id} is still in progress")
        return "".join(json.dumps(r) + "\n" for r in self._batch(batch_id)["results"]).encode()
