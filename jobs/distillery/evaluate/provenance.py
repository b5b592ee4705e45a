"""Where the evaluated student came from: teacher model as returned, data sizes, cost, base, LoRA, attempt.

Read from the earlier phases' summary.json files of the same attempt; a phase whose summary is
missing (e.g. evaluation run on its own) leaves its fields out rather than guessing.
"""

from __future__ import annotations

from typing import Any

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.store import ArtifactStore


def _summary(store: ArtifactStore) -> dict[str, Any]:
    return store.read_json(layout.SUMMARY) if store.exists(layout.SUMMARY) else {}


def assistant_texts(records: list[dict[str, Any]]) -> list[str]:
    """The assistant turns (training targets) of chat-format curate records."""
    return [
        m["content"]
        for r in records
        for m in r.get("messages", [])
        if m.get("role") == "assistant" and isinstance(m.get("content"), str)
    ]


def provenance(
    spec: DistillationRunSpec, stores: dict[str, ArtifactStore], *, attempt: int, run: str
) -> dict[str, Any]:
    """Facts about how the student was made, for the report's provenance section."""
    collect, curate, train = (_summary(stores[phase]) for phase in ("collect", "curate", "train"))
    lora, training = spec.student.lora, spec.student.training
    return {
        "run": run,
        "attempt": attempt,
        "teacher_model_requested": spec.teacher.model,
        "teacher_model_returned": collect.get("model"),
        "teacher_provider": spec.teacher.provider,
        "prompts": collect.get("prompts"),
        "collected": collect.get("collected"),
        "teacher_cost_usd": collect.get("cost_usd"),
        "curated_train": curate.get("train"),
        "curated_validation": curate.get("validation"),
        "curated_rejected": curate.get("rejected"),
        "base_model": spec.student.base_model,
        "method": spec.student.method,
        "lora": {
            "r": lora.r,
            "alpha": lora.alpha,
            "dropout": lora.dropout,
            "target_modules": lora.target_modules,
        },
        "training": {
            "epochs": training.epochs,
            "learning_rate": training.learning_rate,
            "batch_size": training.batch_size,
            "gradient_accumulation": training.gradient_accumulation,
        },
        "train_steps": train.get("steps"),
        "final_loss": train.get("final_loss"),
        "eval_loss": train.get("eval_loss"),
    }
