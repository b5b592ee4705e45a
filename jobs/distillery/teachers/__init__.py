"""Teachers: the large models completions are collected from, behind one small interface.

teacher = make_teacher(spec.teacher, api_key=key, system_prompt=prompt)
completion = await teacher.complete("hi")        # one attempt; wrap in call_with_retries
"""

from __future__ import annotations

from distillery.api.spec import TeacherSpec
from distillery.teachers.base import BatchOutcome, BatchState, BatchTeacher, Completion, Teacher
from distillery.teachers.retry import RetryPolicy, RetryStats, call_with_retries

__all__ = [
    "BatchOutcome",
    "BatchState",
    "BatchTeacher",
    "Completion",
    "RetryPolicy",
    "RetryStats",
    "Teacher",
    "call_with_retries",
    "make_teacher",
]


def make_teacher(spec: TeacherSpec, *, api_key: str | None, system_prompt: str) -> Teacher:
    """The client for `spec.provider` (SDKs imported only here)."""
    if spec.provider == "openai-compatible":
        from distillery.teachers.openai_compat import OpenAICompatibleTeacher

        assert spec.base_url is not None  # the spec validator requires it
        return OpenAICompatibleTeacher(
            model=spec.model,
            api_key=api_key,
            system_prompt=system_prompt,
            max_tokens=spec.max_tokens,
            base_url=spec.base_url,
            temperature=spec.temperature,
            timeout=spec.request_timeout_seconds,
        )
    from distillery.teachers.anthropic import AnthropicTeacher

    return AnthropicTeacher(
        model=spec.model,
        api_key=api_key,
        system_prompt=system_prompt,
        max_tokens=spec.max_tokens,
        temperature=spec.temperature,
        prompt_caching=spec.prompt_caching,
        base_url=spec.base_url,
        timeout=spec.request_timeout_seconds,
    )
