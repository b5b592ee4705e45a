"""Teacher scoring through a vLLM OpenAI-compatible endpoint (`teacher.provider: openai-compatible`).

The wire format TRL's `VLLMClient.get_sequence_logprobs` uses: POST `<baseUrl>/v1/completions` with
the token ids as the prompt (no chat template re-rendering on the server), `max_tokens: 1` and
`prompt_logprobs: k`. Entry p of a choice's `prompt_logprobs` is the distribution of token p given
the tokens before it, so the student's position t (predicting t + 1) reads entry t + 1; its top-k
by rank are kept (vLLM adds the prompt's own token when it falls outside them).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from distillery.errors import TrainingError

log = logging.getLogger(__name__)
BATCH_EXAMPLES = 8
# A missing entry (fewer than k returned) gets a log-prob that renormalises to zero weight.
MISSING_LOGPROB = -1e4


def _post(url: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    import httpx

    try:
        response = httpx.post(url, json=payload, timeout=timeout)
    except httpx.HTTPError as exc:
        raise TrainingError(f"student.distillation.teacher.baseUrl: cannot reach {url} ({exc})") from exc
    if response.status_code != 200:
        try:
            message = response.json().get("message") or response.text
        except ValueError:
            message = response.text
        hint = " (vLLM caps it with --max-logprobs, default 20)" if "logprobs" in str(message) else ""
        raise TrainingError(
            f"student.distillation.teacher: {url} answered {response.status_code}: {message}"
            f"{hint}; topK is {payload['prompt_logprobs']}"
        )
    return response.json()


def _rows(entries: list[Any], positions: list[int], top_k: int) -> tuple[list[list[int]], list[list[float]]]:
    ids, logprobs = [], []
    for t in positions:
        entry = entries[t + 1] if t + 1 < len(entries) else None
        if not entry:
            raise TrainingError(f"the endpoint returned no prompt_logprobs for position {t + 1}")
        ranked = sorted(entry.items(), key=lambda item: item[1]["rank"])[:top_k]
        row_ids = [int(token) for token, _ in ranked]
        row_logprobs = [float(value["logprob"]) for _, value in ranked]
        padding = top_k - len(row_ids)
        ids.append(row_ids + [0] * padding)
        logprobs.append(row_logprobs + [MISSING_LOGPROB] * padding)
    return ids, logprobs


def score_endpoint(
    base_url: str, model: str, examples: list[Any], top_k: int, *, timeout: float = 600
) -> tuple[Any, Any, float]:
    """Same result as scoring.score: (ids int32 [rows, k], log-probs fp16 [rows, k], mean top-k mass)."""
    import numpy as np

    url = base_url.rstrip("/").removesuffix("/v1") + "/v1/completions"
    all_ids: list[list[int]] = []
    all_logprobs: list[list[float]] = []
    started = time.monotonic()
    for first in range(0, len(examples), BATCH_EXAMPLES):
        batch = examples[first : first + BATCH_EXAMPLES]
        payload = {
            "model": model,
            "prompt": [e.input_ids for e in batch],
            "max_tokens": 1,
            "temperature": 1.0,
            "prompt_logprobs": top_k,
        }
        choices = sorted(_post(url, payload, timeout)["choices"], key=lambda c: c["index"])
        if len(choices) != len(batch):
            raise TrainingError(f"{url} answered {len(choices)} choices for {len(batch)} prompts")
        for example, choice in zip(batch, choices, strict=True):
            ids, logprobs = _rows(choice.get("prompt_logprobs") or [], example.scored_positions, top_k)
            all_ids += ids
            all_logprobs += logprobs
        log.info(
            "teacher scoring at %s: %d/%d examples (%.1f s)",
            url,
            min(first + BATCH_EXAMPLES, len(examples)),
            len(examples),
            time.monotonic() - started,
        )
    ids_array = np.asarray(all_ids, dtype=np.int32).reshape(-1, top_k)
    logprob_array = np.asarray(all_logprobs, dtype=np.float32)
    coverage = float(np.exp(logprob_array).sum(-1).mean()) if len(logprob_array) else 0.0
    return ids_array, logprob_array.astype(np.float16).reshape(-1, top_k), coverage
