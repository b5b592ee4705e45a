"""Generation throughput: batched with left padding (the evaluate job) vs a per-example loop (seed 004).

Same tiny Qwen2 model (built locally), same held-out-style prompts ("hi" to paragraphs), greedy, the
same max_new_tokens. The last line is the ratio batched / per-example in tokens/s (target >= 4 on CPU).

    python bench/eval.py [--prompts 32] [--batch-size 16] [--max-new-tokens 48]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from distillery.evaluate.generation import conversation, generate_batched, generate_each
from distillery.fakes.scripted import EDGE_PROMPTS, sinc_scatter, varied_prompts
from distillery.modelkit import build_tiny_model

SYSTEM = "Scatter the prompt into sinc JSON."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: stable on a shared CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    prompts = [*EDGE_PROMPTS, *varied_prompts(args.prompts)][: args.prompts]
    conversations = [conversation(SYSTEM, p) for p in prompts]
    with tempfile.TemporaryDirectory() as tmp:
        texts = [SYSTEM, *prompts, *(sinc_scatter(p) for p in prompts)]
        model_dir = build_tiny_model(Path(tmp) / "model", vocab_texts=texts)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        results = {}
        for name, run in (
            (
                "batched",
                lambda: generate_batched(
                    model,
                    tokenizer,
                    conversations,
                    max_new_tokens=args.max_new_tokens,
                    batch_size=args.batch_size,
                ),
            ),
            (
                "per-example",
                lambda: generate_each(model, tokenizer, conversations, max_new_tokens=args.max_new_tokens),
            ),
        ):
            started = time.perf_counter()
            answers = run()
            seconds = time.perf_counter() - started
            tokens = sum(a.new_tokens for a in answers)
            results[name] = tokens / seconds
            print(
                f"{name}: {len(answers)} prompts, {tokens} new tokens in {seconds:.2f} s, "
                f"{results[name]:.0f} tokens/s"
            )
    print(f"ratio {results['batched'] / results['per-example']:.2f}")


if __name__ == "__main__":
    main()
