"""Build the two tiny student candidates of examples/lifecycle/run.yaml (no download).

    python examples/lifecycle/build_models.py [OUT]   # default OUT: /tmp/distillery-lifecycle/models

Two randomly initialised Qwen2-architecture models of very different sizes (`small`, `large`)
with a byte-level BPE tokenizer trained on this folder's prompts, built by
distillery.modelkit.build_tiny_model and loaded by train / evaluate with from_pretrained, like a
hub model. tests/e2e/test_sweep_run.py builds them with this same function.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = Path("/tmp/distillery-lifecycle/models")
LABELS = ["positive", "negative"]
SYSTEM_PROMPT = "Label the review."
# Very different sizes: the sweep measures them from the loaded models.
SHAPES = {
    "small": {"hidden_size": 16, "layers": 1, "heads": 2, "kv_heads": 1},
    "large": {"hidden_size": 96, "layers": 3, "heads": 4, "kv_heads": 2},
}


def vocab_texts() -> list[str]:
    """Every prompt and answer the run will tokenize."""
    texts = [*LABELS, SYSTEM_PROMPT]
    for name in ("prompts.jsonl", "heldout.jsonl", "anchors.jsonl"):
        for line in (HERE / name).read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["prompt"])
    return texts


def build(out: Path = DEFAULT_OUT) -> dict[str, Path]:
    """Write `out/small` and `out/large`; return their paths."""
    from distillery.modelkit import build_tiny_model

    texts = vocab_texts()
    return {
        name: build_tiny_model(out / name, vocab_texts=texts, vocab_size=512, **shape)
        for name, shape in SHAPES.items()
    }


if __name__ == "__main__":
    for name, path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT).items():
        print(f"{name}: {path}")
