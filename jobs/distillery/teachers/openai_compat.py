"""A teacher behind an OpenAI-compatible chat-completions endpoint (e.g. vLLM in the cluster).

Same guarantees as the Anthropic teacher: SDK retries off, errors classified for the caller's
retry loop, usage and the served model id recorded (cached prompt tokens reported as cache reads).
"""

from __future__ import annotations

from typing import Any

import openai

from distillery.errors import TeacherCallError
from distillery.pricing import TokenUsage
from distillery.teachers.base import Completion
from distillery.teachers.retry import retry_after_seconds, should_retry_header

_PERMANENT = {
    400: "bad_request",
    401: "auth",
    403: "permission",
    404: "not_found",
    413: "too_large",
    422: "bad_request",
}


def call_error(exc: openai.APIError) -> TeacherCallError:
    if isinstance(exc, openai.APITimeoutError):
        return TeacherCallError("request timed out", kind="timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return TeacherCallError(
            f"connection failed: {exc.__cause__ or exc}", kind="connection", retryable=True
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in _PERMANENT:
            kind, retryable = _PERMANENT[status], False
        else:
            kind = {429: "rate_limited", 529: "overloaded"}.get(
                status, "server_error" if status >= 500 else "http"
            )
            retryable = status in (408, 409, 429) or status >= 500
        return TeacherCallError(
            f"HTTP {status}: {exc.message}",
            kind=kind,
            retryable=should_retry_header(exc.response.headers, default=retryable),
            retry_after=retry_after_seconds(exc.response.headers),
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return TeacherCallError(f"unreadable response: {exc}", kind="invalid_response", retryable=True)
    return TeacherCallError(f"{type(exc).__name__}: {exc}", kind="api_error", retryable=False)


class OpenAICompatibleTeacher:
    """Chat completions through the official async openai SDK."""

    provider = "openai-compatible"
    sdk_version = f"openai {openai.__version__}"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        system_prompt: str,
        max_tokens: int,
        base_url: str,
        temperature: float | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.model = model
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self.temperature = temperature
        # vLLM accepts any key when it was started without --api-key.
        self.client = openai.AsyncOpenAI(
            api_key=api_key or "EMPTY", base_url=base_url, max_retries=0, timeout=timeout
        )

    def request_params(self, text: str) -> dict[str, Any]:
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [*messages, {"role": "user", "content": text}],
        }
        if self.temperature is not None:
            params["temperature"] = self.temperature
        return params

    async def complete(self, text: str) -> Completion:
        try:
            response = await self.client.chat.completions.create(**self.request_params(text))
        except openai.APIError as exc:
            raise call_error(exc) from None
        if not response.choices:
            raise TeacherCallError("response has no choices", kind="invalid_response", retryable=True)
        choice = response.choices[0]
        usage = response.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        cached = (getattr(details, "cached_tokens", 0) or 0) if details else 0
        prompt_tokens = (usage.prompt_tokens or 0) if usage else 0
        return Completion(
            text=choice.message.content or "",
            model=response.model or self.model,
            stop_reason={"length": "max_tokens", "stop": "end_turn"}.get(
                choice.finish_reason or "", choice.finish_reason
            ),
            usage=TokenUsage(
                input_tokens=prompt_tokens - cached,
                output_tokens=(usage.completion_tokens or 0) if usage else 0,
                cache_read_input_tokens=cached,
            ),
        )

    async def aclose(self) -> None:
        await self.client.close()
