"""The HTTP side of the fake Anthropic API: routing, error bodies, headers.

`FakeAnthropicServer` (anthropic_server.py) holds the behaviour; this module only speaks HTTP.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from distillery.fakes.anthropic_server import FakeAnthropicServer

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class FakeHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections when a client opens 32 at once


class FakeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic/1"

    @property
    def fake(self) -> FakeAnthropicServer:
        return self.server.fake  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK add 40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests run thousands of calls
        pass

    def do_POST(self) -> None:
        self._serve("POST")

    def do_GET(self) -> None:
        self._serve("GET")

    @staticmethod
    def _parse(raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            raise ApiError(400, "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "request body must be a JSON object")
        return body

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[str, Callable[[], Any]]:
        parts = path.split("?")[0].rstrip("/").split("/")[1:]
        query = dict(parse_qsl(urlsplit(path).query))
        fake = self.fake
        if method == "POST" and parts == ["v1", "messages"]:
            return "messages", lambda: fake.complete(body)
        if method == "POST" and parts == ["v1", "chat", "completions"]:
            return "chat", lambda: fake.chat_completion(body)
        if method == "POST" and parts == ["v1", "messages", "batches"]:
            return "batch_create", lambda: fake.create_batch(body)
        if method == "GET" and parts == ["v1", "messages", "batches"]:
            return "batch_list", lambda: fake.list_batches(query)
        if parts[:3] == ["v1", "messages", "batches"] and len(parts) >= 4:
            batch_id, rest = parts[3], parts[4:]
            if method == "GET" and not rest:
                return "batch_retrieve", lambda: fake.batch_object(batch_id)
            if method == "GET" and rest == ["results"]:
                return "batch_results", lambda: fake.batch_results(batch_id)
            if method == "POST" and rest == ["cancel"]:
                return "batch_cancel", lambda: fake.cancel_batch(batch_id)
        raise ApiError(404, f"no route {method} {path}")

    def _serve(self, method: str) -> None:
        try:
            # Read the whole body first: an unread body would corrupt the next request on this connection.
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            route, handler = self._route(method, self.path, self._parse(raw) if method == "POST" else {})
            self.fake._count(self.fake.requests, route)
            if not (self.headers.get("x-api-key") or self.headers.get("authorization")):
                raise ApiError(401, "missing API key")
            if route in ("messages", "chat"):
                time.sleep(self.fake.latency)
            self.fake.inject_http_fault()
            result = handler()
            if route in ("messages", "chat") and self.fake.drop_after_billing():
                self._drop()
                return
            self._send(200, result)
        except ApiError as exc:
            body = {
                "type": "error",
                "error": {"type": ERROR_TYPES.get(exc.status, "api_error"), "message": exc.message},
            }
            self._send(exc.status, body, exc.headers)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass

    def _drop(self) -> None:
        """Close the connection without an answer (the client sees a dropped connection)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self, status: int, payload: dict[str, Any] | bytes, headers: dict[str, str] | None = None
    ) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header(
            "content-type", "application/x-jsonl" if isinstance(payload, bytes) else "application/json"
        )
        self.send_header("content-length", str(len(raw)))
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:20]}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(raw)
