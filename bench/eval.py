"""Generation throughput: batched with left padding (the evaluate job) vs a per-example loop (seed 004).

The model is the tiny Qwen2 (built locally), first fine-tuned here for a few seconds so that it
answers each prompt with one of four answers of 3 to ~60 tokens (picked by the prompt's topic, not
its length) and then stops at EOS: outputs of mixed lengths, as a trained student's are. A batch
therefore runs until its longest answer ends while the per-example loop stops each prompt at its
own EOS, so this ratio is honest where an untrained model (always generating to the limit) would
give an upper bound. The bench prints the answer-length spread and fails if the model did not
learn to stop. Same prompts ("hi" to paragraphs), greedy, the same max_new_tokens.
Both are run alternately `--repeats` times; the last line is the median ratio batched / per-example
in tokens per CPU-second on CPU (robust to other processes sharing the cores; one torch thread) and
in tokens per wall second on CUDA. Wall-time ratios are printed too.

    python bench/eval.py [--prompts 32] [--batch-size 16] [--max-new-tokens 96]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from distillery.evaluate.generation import Generation, conversation, generate_batched, generate_each
from distillery.fakes.scripted import EDGE_PROMPTS, varied_prompts
from distillery.modelkit import build_tiny_model

SYSTEM = "Answer briefly."
DETAIL = "Check the logs first, then the configuration, then the versions of every dependency involved."
ANSWERS = (
    "Sure, {t}.",
    "For {t}, start small, measure, and change one thing at a time.",
    "For {t}: read the official guide, try the smallest example, then grow it. " + DETAIL,
    "A longer note on {t}. " + DETAIL + " Write down what changed. " + DETAIL + " Then ask again.",
)
# The words of varied_prompts' sentence shapes, so that the topic is the first word not among them.
SHAPE_WORDS = set(
    [
        "fix",
        "help",
        "with",
        "please",
        "explain",
        "to",
        "a",
        "beginner",
        "write",
        "script",
        "that",
        "parses",
        "logs",
        "why",
        "is",
        "my",
        "setup",
        "so",
        "slow",
        "today",
        "compare",
        "and",
        "for",
        "small",
        "team",
        "i",
        "have",
        "been",
        "using",
        "year",
        "want",
        "move",
        "what",
        "should",
        "watch",
        "out",
        "how",
        "do",
        "plan",
        "the",
        "migration",
        "without",
        "downtime",
        "summarize",
        "docs",
        "in",
        "three",
        "bullet",
        "points",
    ]
)


def answer(prompt: str) -> str:
    """One of four answers of very different lengths, picked by the prompt's topic word."""
    words = [w.strip("?.,#").lower() for w in prompt.split()]
    topic = next((w for w in words if w and w not in SHAPE_WORDS), words[0] or "it")
    return ANSWERS[sum(map(ord, topic)) % len(ANSWERS)].format(t=topic)


def _encoded(tokenizer: Any, prompts: list[str]) -> list[tuple[list[int], list[int]]]:
    rows = []
    for prompt in prompts:
        messages = [*conversation(SYSTEM, prompt), {"role": "assistant", "content": answer(prompt)}]
        encoded = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids = list(encoded["input_ids"])
        rows.append((ids, [t if m else -100 for t, m in zip(ids, encoded["assistant_masks"], strict=True)]))
    return rows


def teach_to_stop(model: Any, tokenizer: Any, prompts: list[str], steps: int) -> None:
    """Full fine-tuning on the answers (EOS included in the labels) until greedy decoding stops."""
    rows = _encoded(tokenizer, prompts)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        batch = [rows[i] for i in torch.randperm(len(rows), generator=generator)[:16].tolist()]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.tensor([i + [tokenizer.pad_token_id] * (width - len(i)) for i, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in batch])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def spread(answers: list[Generation], limit: int) -> str:
    lengths = sorted(a.new_tokens for a in answers)
    at_limit = sum(n >= limit for n in lengths)
    return (
        f"answer tokens min {lengths[0]}, median {statistics.median(lengths):.0f}, max {lengths[-1]}; "
        f"{at_limit} of {len(lengths)} hit the {limit}-token limit"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--teach-steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: stable on a shared CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # Every 11th of 400 varied prompts: all ten shapes, from one word to a paragraph.
    prompts = [*EDGE_PROMPTS, *varied_prompts(400)[::11]][: args.prompts]
    conversations = [conversation(SYSTEM, p) for p in prompts]
    print(f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        texts = [SYSTEM, *prompts, *(answer(p) for p in prompts)]
        model_dir = build_tiny_model(Path(tmp) / "model", vocab_texts=texts)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(model_dir)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        teach_to_stop(model, tokenizer, prompts, args.teach_steps)
        runners = {
            "batched": lambda: generate_batched(
                model,
                tokenizer,
                conversations,
                max_new_tokens=args.max_new_tokens,
                batch_size=args.batch_size,
            ),
            "per-example": lambda: generate_each(
                model, tokenizer, conversations, max_new_tokens=args.max_new_tokens
            ),
        }
        rates: dict[str, list[tuple[float, float]]] = {"batched": [], "per-example": []}
        for repeat in range(args.repeats):
            for name in ("batched", "per-example") if repeat % 2 == 0 else ("per-example", "batched"):
                wall, cpu = time.perf_counter(), time.process_time()
                answers = runners[name]()
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                tokens = sum(a.new_tokens for a in answers)
                rates[name].append((tokens / wall, tokens / cpu))
                if repeat == 0:
                    print(
                        f"{name}: {len(answers)} prompts, {tokens} new tokens; "
                        f"{spread(answers, args.max_new_tokens)}"
                    )
                if sum(a.new_tokens >= args.max_new_tokens for a in answers) > len(answers) // 10:
                    raise SystemExit("the model did not learn to stop at EOS: raise --teach-steps")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    for name, runs in rates.items():
        print(
            f"{name}: tokens/s per run (wall) {', '.join(f'{w:.0f}' for w, _ in runs)}, "
            f"(per CPU-second) {', '.join(f'{c:.0f}' for _, c in runs)}"
        )
    by_wall = [b[0] / e[0] for b, e in zip(rates["batched"], rates["per-example"], strict=True)]
    by_cpu = [b[1] / e[1] for b, e in zip(rates["batched"], rates["per-example"], strict=True)]
    print(f"ratios per repeat by wall time {', '.join(f'{r:.2f}' for r in by_wall)}")
    print(f"ratios per repeat by CPU time {', '.join(f'{r:.2f}' for r in by_cpu)}")
    on_cpu = not torch.cuda.is_available()
    print(f"ratio {statistics.median(by_cpu if on_cpu else by_wall):.2f}")


if __name__ == "__main__":
    main()
