"""The teacher: which large model answers, how it is called, what it may cost."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from distillery.api.base import (
    LONG_TEXT,
    SHORT_TEXT,
    URI_TEXT,
    ApiModel,
    cel_rule,
    validations,
)


class SecretKeyRef(ApiModel):
    """A key of a Secret in the run's namespace; the value never appears in spec or status."""

    name: str = Field(max_length=SHORT_TEXT, description="Secret name.")
    key: str = Field(max_length=SHORT_TEXT, description="Key inside the Secret.")


class Pricing(ApiModel):
    """USD per million tokens; overrides the built-in table for the teacher model."""

    input_per_mtok: float = Field(ge=0, description="USD per million input tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens.")
    cache_write_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million cache-write tokens (default 1.25x input)."
    )
    cache_read_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million cache-read tokens (default 0.1x input)."
    )
    batch_discount: float = Field(
        default=0.5, ge=0, le=1, description="Price factor for Message Batches (0.5 = half price)."
    )


class Budget(ApiModel):
    """Collection stops cleanly (what was collected is kept) before exceeding a limit."""

    max_cost_usd: float | None = Field(
        default=None, gt=0, alias="maxCostUSD", description="Stop before the teacher cost exceeds this."
    )
    max_tokens: int | None = Field(
        default=None, gt=0, description="Stop before input+output tokens exceed this."
    )


class RateLimits(ApiModel):
    """Client-side limits per minute (the dimensions Anthropic's usage tiers limit); lowered on a 429."""

    requests_per_minute: int | None = Field(
        default=None, gt=0, le=10_000_000, description="Requests sent per minute at most (RPM)."
    )
    input_tokens_per_minute: int | None = Field(
        default=None,
        gt=0,
        le=1_000_000_000,
        description="Input tokens per minute at most (ITPM; estimated at 4 characters per token).",
    )
    output_tokens_per_minute: int | None = Field(
        default=None,
        gt=0,
        le=1_000_000_000,
        description="Output tokens per minute at most (OTPM; maxTokens held per request until it answers).",
    )


class TeacherSpec(ApiModel):
    """The large model whose completions the student learns from."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": validations(
            cel_rule(
                "self.provider != 'openai-compatible' || has(self.baseUrl)",
                "baseUrl is required when provider is openai-compatible",
            ),
            cel_rule(
                "self.mode != 'batch' || self.provider == 'anthropic'",
                "mode batch needs provider anthropic (Message Batches API)",
            ),
        )
    }

    provider: Literal["anthropic", "openai-compatible"] = Field(
        default="anthropic", description="Anthropic Messages API, or an OpenAI-compatible endpoint (vLLM)."
    )
    model: str = Field(min_length=1, max_length=SHORT_TEXT, description="Teacher model id.")
    system_prompt: str | None = Field(
        default=None,
        max_length=LONG_TEXT,
        description="The teacher's own instructions (default: task.systemPrompt).",
    )
    mode: Literal["realtime", "batch"] = Field(
        default="realtime", description="realtime calls, or the Message Batches API (half price)."
    )
    base_url: str | None = Field(
        default=None, max_length=URI_TEXT, description="API base URL (required for openai-compatible)."
    )
    max_tokens: int = Field(default=1024, ge=1, le=64_000, description="Max output tokens per completion.")
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Sampling temperature (unset: the provider default)."
    )
    concurrency: int = Field(default=16, ge=1, le=512, description="Requests in flight at once.")
    max_attempts: int = Field(
        default=5, ge=1, le=20, description="Attempts per prompt before it is recorded as failed."
    )
    request_timeout_seconds: float = Field(default=120, gt=0, le=3600, description="Timeout of one call.")
    prompt_caching: bool = Field(default=True, description="Send the system prompt with cache_control.")
    api_key_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret holding the API key (mounted as an env var, never logged)."
    )
    pricing: Pricing | None = Field(default=None, description="Overrides the built-in price table.")
    budget: Budget = Field(default_factory=Budget, description="Cost and token caps for collection.")
    cache: bool = Field(
        default=True,
        description=(
            "Reuse completions already paid for by any run of this namespace with the same provider, model, "
            "system prompt, sampling parameters, maxTokens, prompt and sample index (stored under "
            "<storage.uri>/<namespace>/.teacher-cache/)."
        ),
    )
    shards: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Collect in this many shards (an Indexed Job on a cluster, processes with `distillery run`): "
            "each takes the prompts whose id hashes to its index and gets 1/shards of the rate limits, "
            "of concurrency and of the budget."
        ),
    )
    rate_limits: RateLimits | None = Field(
        default=None, description="Client-side rate limits (unset: only the server's 429s slow collection)."
    )
    stop_grace_period_seconds: float = Field(
        default=20,
        ge=0,
        le=3600,
        description=(
            "On SIGTERM, how long in-flight calls may take to finish before collect stops (keep it below "
            "the pod's terminationGracePeriodSeconds, 30 by default)."
        ),
    )

    @model_validator(mode="after")
    def _provider_needs(self) -> TeacherSpec:
        if self.provider == "openai-compatible" and not self.base_url:
            raise ValueError("baseUrl: required when provider is 'openai-compatible'")
        if self.provider == "openai-compatible" and self.mode == "batch":
            raise ValueError("mode: 'batch' needs provider 'anthropic' (Message Batches API)")
        return self
