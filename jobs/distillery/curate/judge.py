"""Optional LLM judge (seed 002): scores each kept completion from 0 to 1 against a rubric.

Use a judge from another model family than the teacher where possible (circular reinforcement);
a judge equal to the teacher is allowed but logged as a warning. Calls are retried like teacher
calls; a completion the judge could not score is rejected as judge-error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from distillery.api.spec import JudgeSpec, TeacherSpec
from distillery.context import secret_from_env
from distillery.errors import TeacherCallError
from distillery.pricing import TokenUsage, price_for
from distillery.teachers import RetryPolicy, RetryStats, call_with_retries, make_teacher

log = logging.getLogger("distillery.curate")

JUDGE_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai-compatible": "OPENAI_API_KEY"}
JUDGE_MAX_TOKENS = 200
JUDGE_CONCURRENCY = 8
DEFAULT_RUBRIC = (
    "- Accuracy (0.4 weight): Is the answer correct?\n"
    "- Completeness (0.3 weight): Does it fully address the request?\n"
    "- Clarity (0.3 weight): Is it clear, without unnecessary caveats?"
)
JUDGE_SYSTEM = "You grade answers for a training set. Reply with one JSON object only."
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True)
class Verdict:
    score: float | None
    reason: str


def judge_api_key(spec: JudgeSpec) -> str | None:
    """JUDGE_API_KEY when the judge has its own key, else the provider's usual variable."""
    return secret_from_env("JUDGE_API_KEY", JUDGE_KEY_ENV[spec.provider])


def judge_prompt(prompt: str, completion: str, rubric: str | None) -> str:
    return (
        "Rate the quality of this answer on a scale of 0.0 to 1.0.\n\n"
        f"Request:\n{prompt}\n\nAnswer:\n{completion}\n\n"
        f"Score on:\n{rubric or DEFAULT_RUBRIC}\n\n"
        'Return only a JSON object: {"score": 0.0, "reason": "brief reason"}'
    )


def parse_verdict(text: str) -> Verdict:
    match = _JSON_OBJECT.search(text)
    try:
        value = json.loads(match.group(0)) if match else None
        score = float(value["score"])  # type: ignore[index]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return Verdict(None, f"unreadable judge answer: {text[:200]!r}")
    if not 0.0 <= score <= 1.0:
        return Verdict(None, f"judge score {score} outside 0..1")
    return Verdict(score, str(value.get("reason", "")))


def judge_teacher_spec(spec: JudgeSpec) -> TeacherSpec:
    return TeacherSpec(
        provider=spec.provider,
        model=spec.model,
        base_url=spec.base_url,
        max_tokens=JUDGE_MAX_TOKENS,
        temperature=0,
        prompt_caching=False,
    )


async def judge_all(
    items: list[tuple[str, str, str]],
    spec: JudgeSpec,
    *,
    api_key: str | None,
    policy: RetryPolicy | None = None,
) -> tuple[dict[str, Verdict], dict[str, Any]]:
    """Verdicts by id for (id, prompt, completion) items, and the judge's usage and cost."""
    teacher_spec = judge_teacher_spec(spec)
    teacher = make_teacher(teacher_spec, api_key=api_key, system_prompt=JUDGE_SYSTEM)
    price = price_for(spec.model)
    stats, usage = RetryStats(), [TokenUsage()]
    semaphore = asyncio.Semaphore(JUDGE_CONCURRENCY)
    verdicts: dict[str, Verdict] = {}

    async def judge_one(item_id: str, prompt: str, completion: str) -> None:
        async with semaphore:
            try:
                answer, _ = await call_with_retries(
                    lambda: teacher.complete(judge_prompt(prompt, completion, spec.rubric)),
                    max_attempts=teacher_spec.max_attempts,
                    policy=policy or RetryPolicy(),
                    stats=stats,
                    what=f"judge {item_id}",
                )
            except TeacherCallError as error:
                verdicts[item_id] = Verdict(None, f"judge call failed: {error}")
                return
            usage[0] += answer.usage
            verdicts[item_id] = parse_verdict(answer.text)

    try:
        await asyncio.gather(*(judge_one(*item) for item in items))
    finally:
        await teacher.aclose()
    cost = price.cost(usage[0]) if price is not None else None
    return verdicts, {
        "model": spec.model,
        "min_score": spec.min_score,
        "judged": len(items),
        "tokens": usage[0].to_dict(),
        "cost_usd": cost,
        "retries": stats.total,
    }
