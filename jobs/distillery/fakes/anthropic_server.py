"""A fake Anthropic API on 127.0.0.1 for tests, benchmarks and the offline demo.

Real HTTP, reached by the real `anthropic` SDK through `base_url` (and by the `openai` SDK through
`base_url=<url>/v1`). Endpoints: POST /v1/messages, the Message Batches API (POST /v1/messages/batches,
GET .../{id}, GET .../{id}/results, POST .../{id}/cancel) and POST /v1/chat/completions.
A `responder(request_body) -> str` decides every completion; usage is plausible (about 4 characters
per token) and reports cache writes then cache reads when the system prompt carries cache_control.

Faults are drawn per HTTP call with the given probabilities: 429 with retry-after, 529 overloaded,
500, slow answers (for client timeouts) and malformed completions (cut in half); per batch item:
errored and expired results. `completions` counts the completions served (= billed) per prompt.

    python -m distillery.fakes.anthropic_server --port 8765 --responder sinc-scatter   # Ctrl-C stops
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from distillery.fakes.wire import ERROR_TYPES, ApiError, FakeApiHandler, FakeHttpServer

Responder = Callable[[dict[str, Any]], str]

# What the API answers for an alias (so tests can see that the returned id is what gets recorded).
MODEL_IDS = {
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
}
CHARS_PER_TOKEN = 4
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return ""


def user_text(body: dict[str, Any]) -> str:
    """The last user message of an Anthropic or OpenAI-style request."""
    users = [m for m in body.get("messages", []) if isinstance(m, dict) and m.get("role") == "user"]
    return _text_of(users[-1].get("content")) if users else ""


def system_text(body: dict[str, Any]) -> str:
    if "system" in body:
        return _text_of(body["system"])
    return "".join(_text_of(m.get("content")) for m in body.get("messages", []) if m.get("role") == "system")


def echo_responder(body: dict[str, Any]) -> str:
    return f"You asked: {user_text(body)}"


def sinc_scatter_responder(body: dict[str, Any]) -> str:
    from distillery.fakes.scripted import sinc_scatter

    return sinc_scatter(user_text(body))


RESPONDERS: dict[str, Responder] = {"echo": echo_responder, "sinc-scatter": sinc_scatter_responder}


def tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


@dataclass
class Faults:
    """Probabilities (0..1) of each fault per HTTP call, plus per batch item."""

    rate_limited: float = 0.0
    overloaded: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    malformed: float = 0.0
    batch_errored: float = 0.0
    batch_expired: float = 0.0
    retry_after: float = 0.05  # seconds, sent in the retry-after header of a 429
    slow_seconds: float = 2.0


class FakeAnthropicServer:
    """The fake API; `start()` it (or use it as a context manager) and point a client at `base_url`."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency: float = 0.0,
        faults: Faults | None = None,
        batch_seconds: float = 0.0,
        min_cacheable_tokens: int = 0,
        seed: int = 0,
        port: int = 0,
    ) -> None:
        self.responder = responder or echo_responder
        self.latency = latency
        self.faults = faults or Faults()
        self.batch_seconds = batch_seconds
        self.min_cacheable_tokens = min_cacheable_tokens
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._cached_prefixes: set[str] = set()
        self._batches: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()  # by route
        self.faults_injected: Counter[str] = Counter()  # by fault kind
        self.completions: Counter[str] = Counter()  # completions served (billed), by user prompt text
        self._httpd = FakeHttpServer(("127.0.0.1", port), FakeApiHandler)
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAnthropicServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-anthropic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_faults(self, **changes: float) -> None:
        known = {f.name for f in fields(Faults)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {sorted(known)}")
        with self._lock:
            for name, value in changes.items():
                setattr(self.faults, name, value)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults_injected.clear()
            self.completions.clear()

    # --- behaviour ---------------------------------------------------------------------------

    def _draw(self) -> float:
        with self._lock:
            return self._random.random()

    def _count(self, counter: Counter[str], key: str) -> None:
        with self._lock:
            counter[key] += 1

    def inject_http_fault(self) -> None:
        """Maybe answer this call with an error, or make it slow."""
        f, draw = self.faults, self._draw()
        for kind, probability, status in (
            ("rate_limited", f.rate_limited, 429),
            ("overloaded", f.overloaded, 529),
            ("server_error", f.server_error, 500),
        ):
            if draw < probability:
                self._count(self.faults_injected, kind)
                headers = {"retry-after": f"{f.retry_after:g}"} if status == 429 else {}
                raise ApiError(status, f"injected fault: {kind}", headers)
            draw -= probability
        if self._draw() < f.slow:
            self._count(self.faults_injected, "slow")
            time.sleep(f.slow_seconds)

    def _usage(self, body: dict[str, Any], completion: str) -> dict[str, int]:
        system = system_text(body)
        system_tokens = tokens(system)
        blocks = body.get("system") if isinstance(body.get("system"), list) else []
        cacheable = (
            any("cache_control" in b for b in blocks) and 0 < system_tokens >= self.min_cacheable_tokens
        )
        usage = {
            "input_tokens": tokens(user_text(body)) + 3,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": max(1, tokens(completion)),
        }
        if not cacheable:
            usage["input_tokens"] += system_tokens
            return usage
        key = hashlib.sha256(f"{body.get('model')}\0{system}".encode()).hexdigest()
        with self._lock:
            seen = key in self._cached_prefixes
            self._cached_prefixes.add(key)
        usage["cache_read_input_tokens" if seen else "cache_creation_input_tokens"] = system_tokens
        return usage

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """A Messages API response for `body` (counted as one billed completion)."""
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                raise ApiError(400, f"{name}: Field required")
        text = self.responder(body)
        if self._draw() < self.faults.malformed:
            self._count(self.faults_injected, "malformed")
            text = text[: len(text) // 2]
        stop_reason, limit = "end_turn", int(body["max_tokens"]) * CHARS_PER_TOKEN
        if len(text) > limit:
            text, stop_reason = text[:limit], "max_tokens"
        self._count(self.completions, user_text(body))
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": MODEL_IDS.get(body["model"], body["model"]),
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body, text),
        }

    def chat_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        message = self.complete({"max_tokens": 4096, **body})
        usage = message["usage"]
        prompt_tokens = (
            usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
        )
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": message["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "length" if message["stop_reason"] == "max_tokens" else "stop",
                    "message": {"role": "assistant", "content": message["content"][0]["text"]},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": usage["output_tokens"],
                "total_tokens": prompt_tokens + usage["output_tokens"],
            },
        }

    # --- Message Batches ---------------------------------------------------------------------

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
            return {"custom_id": custom_id, "result": {"type": "succeeded", "message": self.complete(params)}}
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

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        batch = self._batch(batch_id)
        with self._lock:
            batch["canceled"] = True
        return self.batch_object(batch_id)

    def batch_results(self, batch_id: str) -> bytes:
        if self.batch_object(batch_id)["processing_status"] != "ended":
            raise ApiError(400, f"batch {batch_id} is still in progress")
        return "".join(json.dumps(r) + "\n" for r in self._batch(batch_id)["results"]).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the fake Anthropic API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 picks a free one).")
    parser.add_argument(
        "--responder", choices=sorted(RESPONDERS), default="echo", help="Who writes completions."
    )
    parser.add_argument("--latency", type=float, default=0.0, help="Seconds added to every completion.")
    parser.add_argument("--batch-seconds", type=float, default=1.0, help="Seconds before a batch ends.")
    for fault in (
        "rate_limited",
        "overloaded",
        "server_error",
        "slow",
        "malformed",
        "batch_errored",
        "batch_expired",
    ):
        parser.add_argument(
            f"--{fault.replace('_', '-')}", type=float, default=0.0, help="Fault probability."
        )
    args = parser.parse_args(argv)
    faults = Faults(**{f.name: getattr(args, f.name) for f in fields(Faults) if hasattr(args, f.name)})
    server = FakeAnthropicServer(
        RESPONDERS[args.responder],
        latency=args.latency,
        faults=faults,
        batch_seconds=args.batch_seconds,
        port=args.port,
    )
    print(
        f"fake Anthropic API listening on {server.base_url} (responder {args.responder}); Ctrl-C stops it",
        flush=True,
    )
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
