"""TRL SFTTrainer + PEFT LoRA set up from the spec's hyper-parameters.

Batch size, accumulation and packing come from the device's `TrainStrategy` (see strategy.py).
Names follow trl 1.16: `processing_class=`, `max_length=`, `packing_strategy="bfd"` (which turns on
padding-free batching), `activation_checkpointing=` (the old gradient checkpointing switch).
On CPU, bf16 and activation checkpointing are switched off explicitly: the first errors out there
and the second only makes a small model slower.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillery.api.spec import StudentSpec
from distillery.errors import TrainingError
from distillery.train.model import bf16_supported, cuda_available
from distillery.train.strategy import TrainStrategy


def lora_config(student: StudentSpec) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        task_type="CAUSAL_LM",
        r=student.lora.r,
        lora_alpha=student.lora.alpha,
        lora_dropout=student.lora.dropout,
        target_modules=list(student.lora.target_modules),
    )


def sft_config(
    student: StudentSpec, output_dir: Path, strategy: TrainStrategy, *, has_validation: bool
) -> Any:
    from trl import SFTConfig

    training = student.training
    on_gpu = cuda_available()
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=training.epochs,
        learning_rate=training.learning_rate,
        per_device_train_batch_size=strategy.micro_batch_size,
        per_device_eval_batch_size=strategy.micro_batch_size,
        gradient_accumulation_steps=strategy.gradient_accumulation,
        train_sampling_strategy="group_by_length" if strategy.group_by_length else "random",
        lr_scheduler_type=training.scheduler,
        warmup_steps=training.warmup_steps,
        weight_decay=training.weight_decay,
        seed=training.seed,
        max_length=training.max_length,
        packing=strategy.packing,
        packing_strategy="bfd",
        padding_free=strategy.packing,
        assistant_only_loss=True,
        activation_checkpointing=training.gradient_checkpointing and on_gpu,
        bf16=on_gpu and bf16_supported(),
        use_cpu=not on_gpu,
        logging_steps=training.log_every_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=training.checkpoint_every_steps,
        save_total_limit=2,
        eval_strategy="no",
        include_num_input_tokens_seen=True,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        # LoRA leaves no trainable parameter unused; saying so spares DDP a graph walk and a warning.
        ddp_find_unused_parameters=False,
        **fsdp_options(student),
    )


def fsdp_options(student: StudentSpec) -> dict[str, Any]:
    """Trainer arguments for `resources.distributed: fsdp` (none for ddp)."""
    if student.resources.distributed != "fsdp":
        return {}
    # FSDP2 (transformers' default version), full shard: parameters resharded after each forward,
    # each decoder layer wrapped on its own (the model's _no_split_modules).
    return {
        "fsdp": True,
        "fsdp_config": {"reshard_after_forward": True, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP"},
    }


def build_trainer(
    model: Any,
    tokenizer: Any,
    student: StudentSpec,
    output_dir: Path,
    strategy: TrainStrategy,
    *,
    train_dataset: Any,
    eval_dataset: Any | None,
    callbacks: list[Any],
    kd: Any | None = None,
) -> Any:
    """An SFTTrainer wrapping `model` in a fresh LoRA adapter; TRL's template errors become TrainingError.

    `kd` (distillation spec, teacher scores) makes it the logit-KD subclass (kd.py)."""
    from trl import SFTTrainer

    trainer_class: Any = SFTTrainer
    extra: dict[str, Any] = {}
    if kd is not None:
        from distillery.train.kd import LogitKDTrainer

        trainer_class, extra = LogitKDTrainer, {"kd": kd}
    try:
        trainer = trainer_class(
            model=model,
            args=sft_config(student, output_dir, strategy, has_validation=eval_dataset is not None),
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=tokenizer,
            peft_config=lora_config(student),
            callbacks=callbacks,
            **extra,
        )
    except ValueError as exc:
        message = str(exc)
        if "template" in message.lower() or "assistant" in message.lower():
            raise TrainingError(
                "the base model's chat template cannot mark assistant tokens for assistant-only loss "
                f"(it needs {{% generation %}} markers or a template TRL knows): {message}"
            ) from exc
        raise TrainingError(f"cannot set up training: {message}") from exc
    from transformers.trainer_callback import PrinterCallback

    # Our progress callback writes one readable line per log step; the raw metric dicts would repeat it.
    trainer.remove_callback(PrinterCallback)
    return trainer
