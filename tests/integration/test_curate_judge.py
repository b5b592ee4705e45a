"""The LLM judge over real HTTP: the anthropic SDK against the fake server, scores parsed and costed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from distillery.api.spec import JudgeSpec
from distillery.curate.judge import judge_all
from distillery.fakes.anthropic_server import FakeAnthropicServer, user_text
from distillery.teachers import RetryPolicy


def grading_judge(body: dict[str, Any]) -> str:
    """Likes answers that mention Paris, cannot be read on answers that say 'garble'."""
    if body.get("temperature") != 0:  # the judge asks for deterministic grading
        return "temperature missing"
    request = user_text(body)
    answer = request.split("Answer:\n", 1)[1].split("\n\nScore on:", 1)[0]
    if "garble" in answer:
        return "I would rather not grade this."
    score = 0.9 if "Paris" in answer else 0.2
    return json.dumps({"score": score, "reason": "mentions Paris" if score > 0.5 else "wrong city"})


def test_judge_scores_each_answer_through_the_sdk(make_fake_anthropic: Any) -> None:
    server: FakeAnthropicServer = make_fake_anthropic(grading_judge)
    server.set_faults(rate_limited=0.3)
    items = [
        ("a", "Capital of France?", "Paris."),
        ("b", "Capital of France?", "Lyon."),
        ("c", "Capital of France?", "garble"),
    ]
    spec = JudgeSpec(model="claude-sonnet-4-6", base_url=server.base_url, rubric="Correct city.")
    policy = RetryPolicy(base_delay=0.005, max_delay=0.02)
    verdicts, stats = asyncio.run(judge_all(items, spec, api_key="judge-key", policy=policy))

    assert verdicts["a"].score == 0.9 and verdicts["b"].score == 0.2
    assert verdicts["c"].score is None and "unreadable judge answer" in verdicts["c"].reason
    assert sum(server.completions.values()) == 3  # retries after 429 are not billed twice
    assert stats["cost_usd"] > 0 and stats["retries"] == sum(server.faults_injected.values())
