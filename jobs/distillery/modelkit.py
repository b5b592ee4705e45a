"""Build a tiny Qwen2-architecture model locally: the student of tests and of the offline demo.

The model is randomly initialised from a small config and the tokenizer is a byte-level BPE
trained here with `tokenizers`, so nothing comes from the hub. It is saved with
`save_pretrained` and users load it through the same `from_pretrained` path as a real Qwen2.5.

Two facts make such a model usable:
- `initializer_range=0.2`: with the default 0.02 a model this small stalls at loss ~ ln(vocab).
- transformers rebuilds the tokenizer of a `qwen2` model as `Qwen2Tokenizer`, replacing the saved
  pre-tokenizer with Qwen2's (NFC + regex split + byte-level), so the BPE is trained with that same
  pipeline; otherwise tokenization after reload would differ from the one the merges were learnt on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

# ChatML as Qwen2.5 writes it, with the `{% generation %}` markers that assistant-only loss needs.
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tokenizer = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def _fast_tokenizer(texts: list[str], vocab_size: int):
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(texts, vocab_size),
        unk_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    fast.chat_template = CHATML_TEMPLATE
    fast.padding_side = "left"
    return fast


def build_tiny_model(
    path: str | Path,
    *,
    vocab_texts: Iterable[str],
    vocab_size: int = 2048,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    max_positions: int = 2048,
    seed: int = 0,
) -> Path:
    """Write a randomly initialised tiny Qwen2 model and its tokenizer to `path`; return the path."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _fast_tokenizer(list(vocab_texts), vocab_size)
    tokenizer.save_pretrained(out)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        initializer_range=0.2,
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(out)
    (out / "distillery-tiny.json").write_text(json.dumps({"built_by": "distillery.modelkit"}) + "\n")
    return out
