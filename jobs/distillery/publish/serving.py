"""The serving descriptor of a version: how vLLM loads it, with no guesswork.

    {
      "engine": "vllm",
      "base_model": "Qwen/Qwen2.5-1.5B-Instruct",
      "lora_modules": [{"name": "sinc", "path": "<version>/adapter"}],
      "max_lora_rank": 16,
      "vllm_args": ["--model", "...", "--enable-lora", "--max-lora-rank", "16",
                    "--lora-modules", "sinc=<version>/adapter"],
      "repairs": []
    }

`repairs` is the list of task.output.repairs the serving side applies to each output, in order,
exactly as the spec wrote them (camelCase): {"name", "when": CEL on `output` and `input`, and one of
"set": {"path", "value"} or "remove": {"path"}}; `distillery.contract.apply_repairs` is the reference
implementation (the evaluate phase used it for the "after repair" numbers). An empty list: none.
"""

from __future__ import annotations

from typing import Any

from distillery.api.spec import DistillationRunSpec

# vLLM accepts only these values for --max-lora-rank: the adapter's r is rounded up to one of them.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def max_lora_rank(r: int) -> int:
    return next((rank for rank in VLLM_LORA_RANKS if rank >= r), r)


def adapter_path(version_uri: str) -> str:
    """Where vLLM finds the adapter: a local path for file://, else the URI (download it first)."""
    uri = f"{version_uri.rstrip('/')}/adapter"
    return uri.removeprefix("file://") if uri.startswith("file://") else uri


def descriptor(
    spec: DistillationRunSpec, *, model: str, version: int, version_uri: str, base_model: str
) -> dict[str, Any]:
    """The serving.json of one version."""
    path = adapter_path(version_uri)
    rank = max_lora_rank(spec.student.lora.r)
    return {
        "engine": "vllm",
        "model": model,
        "version": version,
        "base_model": base_model,
        "lora_modules": [{"name": model, "path": path}],
        "max_lora_rank": rank,
        "lora_r": spec.student.lora.r,
        "vllm_args": [
            "--model",
            base_model,
            "--enable-lora",
            "--max-lora-rank",
            str(rank),
            "--lora-modules",
            f"{model}={path}",
        ],
        "chat_template": "the tokenizer's (tokenizer/ of this version)",
        "system_prompt": spec.task.system_prompt,
        "repairs": [repair.to_api() for repair in spec.task.output.repairs],
    }
