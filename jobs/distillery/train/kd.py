"""Logit KD, step 2: TRL's SFTTrainer with the KD term added in `compute_loss`.

loss = alpha * CE + (1 - alpha) * T^2 * KL(teacher top-k renormalised at T || student at T), both
summed over the assistant positions (the labels assistant-only loss keeps) and divided by the same
token count the Trainer gives the CE (`num_items_in_batch`, the tokens of the whole accumulated
batch), so gradient accumulation behaves as for SFT. The student's log-probs are over its full
vocabulary, gathered at the teacher's top-k ids. Evaluation keeps SFTTrainer's own loss (plain CE),
so `eval_loss` is comparable between sft and logits runs.
"""

from __future__ import annotations

from typing import Any

from trl import SFTTrainer

from distillery.api.distillation import DistillationSpec
from distillery.errors import TrainingError
from distillery.train.scoring import TeacherScores


def kd_term(student_logits: Any, teacher_ids: Any, teacher_logprobs: Any, temperature: float) -> Any:
    """Sum over positions of KL(teacher top-k renormalised || student), both at `temperature`."""
    import torch

    teacher = torch.log_softmax(teacher_logprobs.float() / temperature, dim=-1)
    student = torch.log_softmax(student_logits.float() / temperature, dim=-1).gather(-1, teacher_ids.long())
    return (teacher.exp() * (teacher - student)).sum()


class LogitKDTrainer(SFTTrainer):
    """An SFTTrainer whose training loss also matches the teacher's stored top-k log-probs."""

    def __init__(self, *args: Any, kd: tuple[DistillationSpec, TeacherScores], **kwargs: Any) -> None:
        self._distillation, self._scores = kd
        super().__init__(*args, **kwargs)

    def _teacher_rows(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
        import torch

        spans = [
            self._scores.rows_for(ids[mask.bool()].tolist())
            for ids, mask in zip(input_ids.cpu(), attention_mask.cpu(), strict=True)
        ]
        ids = torch.from_numpy(self._scores.ids[[r for a, b in spans for r in range(a, b)]])
        logprobs = torch.from_numpy(self._scores.logprobs[[r for a, b in spans for r in range(a, b)]])
        return ids.to(input_ids.device), logprobs.to(input_ids.device)

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        import torch

        if not self.model.training:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if "attention_mask" not in inputs:
            raise TrainingError(
                "logit distillation needs unpacked batches with an attention mask (packing is on)"
            )
        labels = inputs["labels"]
        forward = {k: v for k, v in inputs.items() if k != "labels"}
        outputs = model(**forward, use_cache=False)
        logits = outputs.logits[:, :-1, :]
        targets = labels[:, 1:]
        mask = targets != -100
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        ce_sum = -log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)[mask].sum()
        teacher_ids, teacher_logprobs = self._teacher_rows(inputs["input_ids"], inputs["attention_mask"])
        positions = logits[mask]
        if len(positions) != len(teacher_ids):
            raise TrainingError(
                f"a batch has {len(positions)} assistant positions but the teacher scored {len(teacher_ids)}"
            )
        temperature, alpha = self._distillation.temperature, self._distillation.alpha
        kl_sum = kd_term(positions, teacher_ids, teacher_logprobs, temperature)
        tokens = mask.sum() if num_items_in_batch is None else num_items_in_batch
        tokens = torch.as_tensor(tokens, device=logits.device).clamp(min=1)
        loss = (alpha * ce_sum + (1 - alpha) * temperature**2 * kl_sum) / tokens
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        count = max(int(mask.sum()), 1)
        self._metrics["train"]["ce"].append(float(ce_sum.detach()) / count)
        self._metrics["train"]["kd_kl"].append(float(kl_sum.detach()) / count)
        return (loss, outputs) if return_outputs else loss
