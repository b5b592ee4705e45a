"""A fake Anthropic API on 127.0.0.1 for tests, benchmarks and the offline demo.

Real HTTP, reached by the real `anthropic` SDK through `base_url` (and by the `openai` SDK through
`base_url=<url>/v1`). Endpoints: POST /v1/messages, the Message Batches API (POST /v1/messages/batches,
GET .../{id}, GET .../{id}/results, POST .../{id}/cancel) and POST /v1/chat/completions.
A `responder(request_body) -> str` decides every completion; usage is plausible (about 4 characters
per token) and reports cache writes then cache reads when the system prompt carries cache_control.

Faults are drawn per HTTP call with the given probabilities: 429 with retry-after, 529 overloaded,
500 (all three answered before anything is billed), slow answers (billed, then answered after
`slow_seconds`: beyond a client's timeout the client never sees a completion it paid for),
completions billed and then lost (`billed_then_dropped`: the connection is closed instead of
answered) and malformed completions (cut in half); per batch item: errored and expired results.
`start_storm(seconds)` answers every call 429 (or 529) with retry-after for a while; `rpm_limit` answers
429 with retry-after beyond that many requests per minute (a token bucket, like Anthropic's).

The billing ledger: `completions` counts the completions billed per prompt text, `ledger` holds
each billed completion's (prompt text, usage, batch?) so tests can price what was really paid.

    python -m distillery.fakes.anthropic_server --port 8765 --responder sinc-scatter   # Ctrl-C stops
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from distillery.fakes.batches import FakeBatches
from distillery.fakes.wire import ApiError, FakeApiHandler, FakeHttpServer

Responder = Callable[[dict[str, Any]], str]

# What the API answers for an alias (so tests can see that the returned id is what gets recorded).
MODEL_IDS = {
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
}
CHARS_PER_TOKEN = 4


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


# examples/lifecycle's teacher: a review is negative when it names a fault, positive otherwise.
NEGATIVE_WORDS = frozenset({"broken", "awful", "noisy", "flimsy", "late", "dull", "cracked", "leaky"})


def review_label_responder(body: dict[str, Any]) -> str:
    words = set(user_text(body).lower().replace(":", " ").replace(",", " ").split())
    return "negative" if words & NEGATIVE_WORDS else "positive"


RESPONDERS: dict[str, Responder] = {
    "echo": echo_responder,
    "sinc-scatter": sinc_scatter_responder,
    "review-label": review_label_responder,
}


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
    billed_then_dropped: float = 0.0
    retry_after: float = 0.05  # seconds, sent in the retry-after header of a 429 / 529
    slow_seconds: float = 2.0


class DropConnection(Exception):
    """The completion was billed; close the connection instead of answering."""


@dataclass(frozen=True)
class Billed:
    """One billed completion in the ledger."""

    prompt: str
    usage: dict[str, int]
    batch: bool = False
    at: float = 0.0  # time.monotonic() when billed


class FakeAnthropicServer(FakeBatches):
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
        rpm_limit: float | None = None,
    ) -> None:
        self.responder = responder or echo_responder
        self.latency = latency
        self.faults = faults or Faults()
        self.batch_seconds = batch_seconds
        self.min_cacheable_tokens = min_cacheable_tokens
        self._seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._cached_prefixes: set[str] = set()
        self._batches: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()  # by route
        self.faults_injected: Counter[str] = Counter()  # by fault kind
        self.completions: Counter[str] = Counter()  # completions served (billed), by user prompt text
        self.ledger: list[Billed] = []  # every billed completion, in billing order
        self.rpm_limit = rpm_limit
        self._bucket: tuple[float, float] | None = None  # (tokens, at monotonic time)
        self._storm_until = 0.0
        self._storm_status = 429
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
            self.ledger.clear()

    def start_storm(self, seconds: float, status: int = 429) -> None:
        """Answer every call `status` (429 or 529, with retry-after) for the next `seconds`."""
        with self._lock:
            self._storm_until = time.monotonic() + seconds
            self._storm_status = status

    def billed_twice(self) -> dict[str, int]:
        """Prompts billed more than once, with how many times (the ledger's view)."""
        with self._lock:
            return {text: n for text, n in self.completions.items() if n > 1}

    def billed_usage(self) -> list[Billed]:
        with self._lock:
            return list(self.ledger)

    # --- behaviour ---------------------------------------------------------------------------

    def _draw(self) -> float:
        with self._lock:
            return self._random.random()

    def _prompt_draw(self, body: dict[str, Any], kind: str) -> float:
        """A draw fixed by the prompt: which prompts get this fault does not depend on call order."""
        digest = hashlib.sha256(f"{self._seed}\0{kind}\0{user_text(body)}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def _count(self, counter: Counter[str], key: str) -> None:
        with self._lock:
            counter[key] += 1

    def _rate_limited(self) -> float | None:
        """Seconds to wait when `rpm_limit` is exceeded (a bucket of one second's worth), else None."""
        if self.rpm_limit is None:
            return None
        per_second = self.rpm_limit / 60.0
        capacity = max(1.0, per_second)
        now = time.monotonic()
        with self._lock:
            tokens, at = self._bucket or (capacity, now)
            tokens = min(capacity, tokens + (now - at) * per_second)
            if tokens >= 1.0:
                self._bucket = (tokens - 1.0, now)
                return None
            self._bucket = (tokens, now)
            return (1.0 - tokens) / per_second

    def inject_http_fault(self) -> None:
        """Maybe answer this call with an error, or make it slow."""
        f = self.faults
        if time.monotonic() < self._storm_until:
            self._count(self.faults_injected, "storm")
            raise ApiError(self._storm_status, "injected fault: storm", {"retry-after": f"{f.retry_after:g}"})
        wait = self._rate_limited()
        if wait is not None:
            self._count(self.faults_injected, "rpm_limit")
            raise ApiError(429, "rate limit: requests per minute", {"retry-after": f"{wait:.3f}"})
        draw = self._draw()
        for kind, probability, status in (
            ("rate_limited", f.rate_limited, 429),
            ("overloaded", f.overloaded, 529),
            ("server_error", f.server_error, 500),
        ):
            if draw < probability:
                self._count(self.faults_injected, kind)
                headers = {"retry-after": f"{f.retry_after:g}"} if status in (429, 529) else {}
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

    def drop_after_billing(self) -> bool:
        """Whether this realtime call's billed completion is lost on the way (connection closed)."""
        if self._draw() < self.faults.billed_then_dropped:
            self._count(self.faults_injected, "billed_then_dropped")
            return True
        return False

    def complete(self, body: dict[str, Any], *, batch: bool = False) -> dict[str, Any]:
        """A Messages API response for `body` (counted as one billed completion)."""
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                raise ApiError(400, f"{name}: Field required")
        text = self.responder(body)
        if self._prompt_draw(body, "malformed") < self.faults.malformed:
            self._count(self.faults_injected, "malformed")
            text = text[: len(text) // 2]
        stop_reason, limit = "end_turn", int(body["max_tokens"]) * CHARS_PER_TOKEN
        if len(text) > limit:
            text, stop_reason = text[:limit], "max_tokens"
        usage = self._usage(body, text)
        with self._lock:
            self.completions[user_text(body)] += 1
            self.ledger.append(Billed(user_text(body), usage, batch, time.monotonic()))
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": MODEL_IDS.get(body["model"], body["model"]),
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
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
        "billed_then_dropped",
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
