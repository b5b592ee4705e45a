"""What training leaves in the store: adapter, optional merged model, loss curve and summary."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from distillery import layout
from distillery.store import ArtifactStore

log = logging.getLogger(__name__)


def merge_adapter(base_path: str, adapter_dir: Path, out_dir: Path) -> Path:
    """Base weights (full precision, never 4-bit) + adapter, merged into a plain model directory."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(out_dir)
    return out_dir


def loss_curve(history: list[dict[str, Any]], eval_loss: float | None) -> dict[str, Any]:
    return {
        "steps": [h["step"] for h in history],
        "loss": [h["loss"] for h in history],
        "learning_rate": [h["learning_rate"] for h in history],
        "tokens_per_second": [h["tokens_per_second"] for h in history],
        "history": history,
        "eval_loss": eval_loss,
    }


def save_outputs(
    trainer: Any,
    tokenizer: Any,
    student: Any,
    store: ArtifactStore,
    work_dir: Path,
    *,
    history: list[dict[str, Any]],
    facts: dict[str, Any],
) -> dict[str, Any]:
    """Upload adapter (+ merged), loss.json and summary.json; return the summary."""
    adapter_dir = work_dir / "adapter"
    trainer.save_model(str(adapter_dir))
    tokenizer.save_pretrained(adapter_dir)
    store.upload_dir(layout.TRAIN_ADAPTER, adapter_dir)
    merged_uri = None
    if student.training.merge_adapter:
        base_path = trainer.model.peft_config["default"].base_model_name_or_path
        merged_dir = merge_adapter(base_path, adapter_dir, work_dir / "merged")
        store.upload_dir(layout.TRAIN_MERGED, merged_dir)
        merged_uri = store.uri_for(layout.TRAIN_MERGED)
    store.write_json(layout.TRAIN_LOSS, loss_curve(history, facts.get("eval_loss")))
    state = trainer.state
    tokens = int(state.num_input_tokens_seen or 0)
    runtime = facts.get("train_runtime_seconds") or 0.0
    summary = {
        "initial_loss": history[0]["loss"] if history else None,
        "final_loss": history[-1]["loss"] if history else None,
        "steps": state.global_step,
        "epochs": round(float(state.epoch or 0), 4),
        "tokens_seen": tokens,
        "tokens_per_second": round(tokens / runtime, 1)
        if runtime and not facts.get("resumed_from_step")
        else None,
        **facts,
        "adapter_uri": store.uri_for(layout.TRAIN_ADAPTER),
        "merged_uri": merged_uri,
        "loss_uri": store.uri_for(layout.TRAIN_LOSS),
    }
    if summary["tokens_per_second"] is None and history:
        rates = [h["tokens_per_second"] for h in history if h["tokens_per_second"]]
        summary["tokens_per_second"] = round(sum(rates) / len(rates), 1) if rates else None
    store.write_json(layout.SUMMARY, summary)
    return summary
