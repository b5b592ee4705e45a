"""The Anthropic teacher: realtime Messages calls and the Message Batches API, via the async SDK.

Only what the SDK raises (anthropic.APIError) becomes a TeacherCallError; anything else is a bug
and crashes the job. The SDK's own retries are off (max_retries=0): the caller's retry loop
honours retry-after with a cap, counts every retry and gives up after the spec's maxAttempts.
The system prompt is sent as a text block with cache_control when prompt caching is on, so
repeated calls read it from the cache.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anthropic

from distillery.errors import TeacherCallError
from distillery.pricing import TokenUsage
from distillery.teachers.base import BatchOutcome, BatchState, Completion
from distillery.teachers.retry import retry_after_seconds, should_retry_header

# Error types inside a batch result that another attempt cannot fix.
PERMANENT_BATCH_ERRORS = {
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "billing_error",
}
_STATUS_KINDS = {
    400: ("bad_request", False),
    401: ("auth", False),
    402: ("billing", False),
    403: ("permission", False),
    404: ("not_found", False),
    408: ("timeout", True),
    409: ("conflict", True),
    413: ("too_large", False),
    422: ("bad_request", False),
    429: ("rate_limited", True),
    529: ("overloaded", True),
}


def call_error(exc: anthropic.APIError) -> TeacherCallError:
    """A TeacherCallError saying what went wrong and whether to try again (never the API key)."""
    if isinstance(exc, anthropic.APITimeoutError):
        return TeacherCallError("request timed out", kind="timeout", retryable=True)
    if isinstance(exc, anthropic.APIConnectionError):
        return TeacherCallError(
            f"connection failed: {exc.__cause__ or exc}", kind="connection", retryable=True
        )
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        kind, retryable = _STATUS_KINDS.get(
            status, ("server_error", True) if status >= 500 else ("http", False)
        )
        retryable = should_retry_header(exc.response.headers, default=retryable)
        return TeacherCallError(
            f"HTTP {status}: {exc.message}",
            kind=kind,
            retryable=retryable,
            retry_after=retry_after_seconds(exc.response.headers),
        )
    if isinstance(exc, anthropic.APIResponseValidationError):
        return TeacherCallError(f"unreadable response: {exc}", kind="invalid_response", retryable=True)
    return TeacherCallError(f"{type(exc).__name__}: {exc}", kind="api_error", retryable=False)


def _completion(message: Any) -> Completion:
    text = "".join(getattr(block, "text", "") for block in message.content if block.type == "text")
    usage = message.usage
    return Completion(
        text=text,
        model=message.model,
        stop_reason=message.stop_reason,
        usage=TokenUsage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        ),
    )


class AnthropicTeacher:
    """Claude through the official async SDK (realtime and Message Batches)."""

    provider = "anthropic"
    sdk_version = f"anthropic {anthropic.__version__}"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        system_prompt: str,
        max_tokens: int,
        temperature: float | None = None,
        prompt_caching: bool = True,
        base_url: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.model = model
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.prompt_caching = prompt_caching
        # base_url passed explicitly beats ANTHROPIC_BASE_URL; the key is passed, never discovered.
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key or "missing", base_url=base_url, max_retries=0, timeout=timeout
        )

    def _system(self) -> Any:
        if not self.prompt_caching:
            return self.system_prompt
        return [{"type": "text", "text": self.system_prompt, "cache_control": {"type": "ephemeral"}}]

    def request_params(self, text: str) -> dict[str, Any]:
        """The Messages API request body (also a Message Batches item's `params`)."""
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [{"role": "user", "content": text}],
        }
        if self.system_prompt:
            params["system"] = self._system()
        if self.temperature is not None:
            params["temperature"] = self.temperature
        return params

    async def complete(self, text: str) -> Completion:
        try:
            message = await self.client.messages.create(**_sdk_arguments(self.request_params(text)))
        except anthropic.APIError as exc:
            raise call_error(exc) from None
        return _completion(message)

    # --- Message Batches ---------------------------------------------------------------------

    async def create_batch(self, requests: list[tuple[str, str]]) -> str:
        body = [{"custom_id": custom_id, "params": self.request_params(text)} for custom_id, text in requests]
        try:
            batch = await self.client.messages.batches.create(requests=body)
        except anthropic.APIError as exc:
            raise call_error(exc) from None
        return batch.id

    async def batch_state(self, batch_id: str) -> BatchState:
        try:
            batch = await self.client.messages.batches.retrieve(batch_id)
        except anthropic.APIError as exc:
            raise call_error(exc) from None
        return _batch_state(batch)

    async def batches_since(self, since: datetime) -> list[BatchState]:
        """The batches list is newest first: read pages until one is older than `since`."""
        found: list[BatchState] = []
        try:
            async for batch in self.client.messages.batches.list(limit=100):
                if batch.created_at < since:
                    break
                found.append(_batch_state(batch))
        except anthropic.APIError as exc:
            raise call_error(exc) from None
        return found

    async def batch_results(self, batch_id: str) -> list[BatchOutcome]:
        try:
            lines = await self.client.messages.batches.results(batch_id)
            return [_outcome(line) async for line in lines]
        except anthropic.APIError as exc:
            raise call_error(exc) from None

    async def aclose(self) -> None:
        await self.client.close()


def _batch_state(batch: Any) -> BatchState:
    counts = batch.request_counts
    return BatchState(
        batch_id=batch.id,
        ended=batch.processing_status == "ended",
        counts={
            name: getattr(counts, name)
            for name in ("processing", "succeeded", "errored", "expired", "canceled")
        },
        created_at=batch.created_at,
    )


def _outcome(line: Any) -> BatchOutcome:
    result = line.result
    if result.type == "succeeded":
        return BatchOutcome(custom_id=line.custom_id, completion=_completion(result.message))
    if result.type == "errored":
        error = result.error.error
        kind = getattr(error, "type", "api_error")
        return BatchOutcome(
            custom_id=line.custom_id,
            error_kind=kind,
            error=f"batch item errored: {kind}: {getattr(error, 'message', '')}",
            retryable=kind not in PERMANENT_BATCH_ERRORS,
        )
    return BatchOutcome(
        custom_id=line.custom_id, error_kind=result.type, error=f"batch item {result.type}", retryable=True
    )


def _sdk_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """SDK 2.x no longer takes `temperature` as an argument; the API body still may carry it."""
    arguments = dict(params)
    if "temperature" in arguments:
        arguments["extra_body"] = {"temperature": arguments.pop("temperature")}
    return arguments
