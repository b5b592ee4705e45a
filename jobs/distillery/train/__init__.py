"""The train phase: TRL SFT + PEFT LoRA / QLoRA on the student, checkpointed to the artifact store."""
