"""Loading the student's base model: a hub id, a local directory, or an s3:// prefix.

An s3:// base model is downloaded once into a local cache (DISTILLERY_MODEL_CACHE, default
~/.cache/distillery/models) keyed by its URI, then loaded with the same `from_pretrained` path.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from distillery.errors import StoreError, TrainingError

log = logging.getLogger(__name__)
COMPLETE_MARKER = ".distillery-complete"


def cache_root() -> Path:
    return Path(os.environ.get("DISTILLERY_MODEL_CACHE", Path.home() / ".cache" / "distillery" / "models"))


def resolve_model_path(base_model: str, *, endpoint_url: str | None = None, region: str | None = None) -> str:
    """What `from_pretrained` should be given for `base_model` (s3:// prefixes are fetched first)."""
    if base_model.startswith("file://"):
        base_model = base_model[len("file://") :]
    if not base_model.startswith("s3://"):
        return base_model
    from distillery.store import open_store

    target = cache_root() / hashlib.sha256(base_model.encode()).hexdigest()[:16]
    if (target / COMPLETE_MARKER).exists():
        log.info("base model %s: using cached copy %s", base_model, target)
        return str(target)
    log.info("base model %s: downloading to %s", base_model, target)
    try:
        files = open_store(base_model, endpoint_url=endpoint_url, region=region).download_dir("", target)
    except StoreError as exc:
        raise TrainingError(f"student.baseModel {base_model}: cannot download ({exc})") from exc
    (target / COMPLETE_MARKER).write_text(f"{files} files from {base_model}\n")
    return str(target)


THREADS_ENV = "DISTILLERY_TORCH_THREADS"


def configure_threads() -> None:
    """Honour DISTILLERY_TORCH_THREADS: on a shared CPU, OpenMP threads spinning for cores that other
    processes hold make large matmuls several times slower than one thread (measured 3.3x on 2 cores)."""
    threads = os.environ.get(THREADS_ENV)
    if threads:
        import torch

        torch.set_num_threads(max(1, int(threads)))


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def bf16_supported() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def quantization_config(method: str) -> Any | None:
    """4-bit NF4 for QLoRA; a clear error when CUDA or bitsandbytes is missing (no silent fallback)."""
    if method != "qlora":
        return None
    if not cuda_available():
        raise TrainingError(
            "student.method is 'qlora' (4-bit) but no CUDA device is present; use 'lora' on CPU"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise TrainingError(
            "student.method 'qlora' needs the bitsandbytes package (pip install bitsandbytes)"
        ) from exc
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if bf16_supported() else torch.float16,
    )


def load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"student.baseModel {path}: cannot load the tokenizer ({exc})") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(path: str, *, method: str = "lora", attention: str = "sdpa") -> Any:
    """The base causal LM, 4-bit for QLoRA, bf16 on GPUs that support it, else float32;
    `attention` is the attn_implementation (a flash_attention_* kernel for padding-free packing)."""
    import torch
    from transformers import AutoModelForCausalLM

    quantization = quantization_config(method)
    dtype = torch.bfloat16 if bf16_supported() else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": attention}
    if quantization is not None:
        kwargs["quantization_config"] = quantization
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"student.baseModel {path}: cannot load the model ({exc})") from exc
    if quantization is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    return model
