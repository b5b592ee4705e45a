"""Greedy generation for the base and the student, batched with left padding.

Prompts are sorted by length before batching (less padding) and answers put back in input order.
Each answer's latency is the wall time of its batch: what a request served in that batch waits.
vLLM is used instead when it is installed and CUDA is present (`use_vllm()`); the CPU path never
imports it.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Conversation = list[dict[str, str]]


@dataclass(frozen=True)
class Generation:
    """One model answer."""

    text: str
    latency_s: float
    new_tokens: int


def conversation(system_prompt: str | None, prompt: str) -> Conversation:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*messages, {"role": "user", "content": prompt}]


def use_vllm() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def load_student(base_path: str, adapter_dir: str | Path) -> tuple[Any, Any]:
    """(PeftModel base+adapter in eval mode, tokenizer); `adapter_disabled(model)` gives the base."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
    if torch.cuda.is_available():
        base = base.to("cuda")
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir))
    return model, tokenizer


@contextmanager
def adapter_disabled(model: Any) -> Iterator[Any]:
    """The base model's behaviour from a PeftModel (no second copy of the weights in memory)."""
    context = model.disable_adapter() if hasattr(model, "disable_adapter") else nullcontext()
    with context:
        yield model


def _encode(tokenizer: Any, conversations: list[Conversation]) -> Any:
    texts = [
        tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations
    ]
    tokenizer.padding_side = "left"
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def _generate(
    model: Any, tokenizer: Any, conversations: list[Conversation], max_new_tokens: int
) -> list[Generation]:
    import torch

    inputs = _encode(tokenizer, conversations).to(model.device)
    started = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    elapsed = time.perf_counter() - started
    new = output[:, inputs["input_ids"].shape[1] :]
    results = []
    for row in new:
        kept = row[row != tokenizer.pad_token_id]
        if tokenizer.eos_token_id is not None:
            kept = kept[kept != tokenizer.eos_token_id]
        results.append(
            Generation(tokenizer.decode(kept, skip_special_tokens=True).strip(), elapsed, len(kept))
        )
    return results


def generate_batched(
    model: Any, tokenizer: Any, conversations: list[Conversation], *, max_new_tokens: int, batch_size: int
) -> list[Generation]:
    """Answers in input order, generated `batch_size` at a time (length-sorted, left-padded)."""
    order = sorted(range(len(conversations)), key=lambda i: len(str(conversations[i])))
    answers: dict[int, Generation] = {}
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        for index, generation in zip(
            chunk, _generate(model, tokenizer, [conversations[i] for i in chunk], max_new_tokens), strict=True
        ):
            answers[index] = generation
    return [answers[i] for i in range(len(conversations))]


def generate_each(
    model: Any, tokenizer: Any, conversations: list[Conversation], *, max_new_tokens: int
) -> list[Generation]:
    """One prompt at a time, as seed 004's evaluation loop does (the benchmark's baseline)."""
    return [_generate(model, tokenizer, [c], max_new_tokens)[0] for c in conversations]


def generate_vllm(
    base_path: str, adapter_dir: str | Path | None, conversations: list[Conversation], *, max_new_tokens: int
) -> list[Generation]:
    """vLLM offline batch generation (CUDA only); latency is the whole batch's wall time."""
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    llm = LLM(model=base_path, enable_lora=adapter_dir is not None)
    lora = LoRARequest("student", 1, str(adapter_dir)) if adapter_dir is not None else None
    started = time.perf_counter()
    outputs = llm.chat(
        conversations, SamplingParams(temperature=0, max_tokens=max_new_tokens), lora_request=lora
    )
    elapsed = time.perf_counter() - started
    return [Generation(o.outputs[0].text.strip(), elapsed, len(o.outputs[0].token_ids)) for o in outputs]
