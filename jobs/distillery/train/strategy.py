"""How to batch the training data, chosen from the device at run time.

Measured on CPU (bench/train.py): padded batches waste compute on padding, and padding-free packing
without a variable-length attention kernel computes each packed row's attention as one full
block-diagonal square. Both lose to feeding one example at a time, so on CPU the job trains on
micro-batches of one example and accumulates gradients over `batchSize x gradientAccumulation` of
them: the same examples per optimizer step, the same loss (transformers normalises by the tokens of
the whole accumulated batch), no padding, no cross-example attention.

On CUDA, batching is what feeds the GPU: padding-free `bfd` packing when a variable-length
FlashAttention kernel is installed (it attends within each packed example only), otherwise padded
batches of similar lengths (`group_by_length`).

`student.training.packing` left unset means "chosen here"; an explicit true/false is honoured (false:
padded batches of batchSize, as configured) and the log says when it is the slower choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from distillery.api.student import TrainingSpec

VARLEN_ATTENTION = ("flash_attention_3", "flash_attention_2")

# Dense bf16 peak FLOP/s (vendor spec sheets, without sparsity), matched as a substring of
# torch.cuda.get_device_name(); the more specific names come first.
PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),
    ("GH200", 989e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("A10G", 70e12),
    ("A10", 125e12),
    ("L4", 121e12),
)


@dataclass(frozen=True)
class Device:
    """What the strategy depends on: CPU or CUDA, and the varlen attention kernel available there."""

    kind: Literal["cpu", "cuda"]
    name: str = "cpu"
    varlen_attention: str | None = None


@dataclass(frozen=True)
class TrainStrategy:
    """How the examples are batched; `reason` is what the job logs."""

    packing: bool
    micro_batch_size: int
    gradient_accumulation: int
    group_by_length: bool
    attention: str  # the model's attn_implementation
    reason: str

    def describe(self) -> str:
        layout = "bfd packing, padding-free" if self.packing else "no packing"
        grouping = ", length-grouped" if self.group_by_length else ""
        return (
            f"{layout}{grouping}, micro-batch {self.micro_batch_size} x accumulation "
            f"{self.gradient_accumulation}, attention {self.attention}, because {self.reason}"
        )


def detect_device() -> Device:
    """The device this process trains on, and the fastest varlen attention kernel importable there."""
    import torch

    if not torch.cuda.is_available():
        return Device("cpu")
    from transformers.utils import is_flash_attn_2_available, is_flash_attn_3_available

    available = {
        "flash_attention_3": is_flash_attn_3_available(),
        "flash_attention_2": is_flash_attn_2_available(),
    }
    kernel = next((name for name in VARLEN_ATTENTION if available[name]), None)
    return Device("cuda", torch.cuda.get_device_name(0), kernel)


def choose_strategy(training: TrainingSpec, device: Device) -> TrainStrategy:
    """The batching for `training` on `device` (see the module docstring for the measurements)."""
    asked = training.packing
    per_step = training.batch_size * training.gradient_accumulation
    if device.kind == "cpu":
        if asked:
            reason = (
                "student.training.packing is true (honoured; on CPU, without a varlen attention kernel, "
                "packed rows cost a full block-diagonal attention square: leave packing unset to go faster); "
                f"one packed row per micro-batch keeps {training.batch_size} rows x "
                f"{training.gradient_accumulation} per optimizer step"
            )
        elif asked is False:
            # Honoured as written: padded batches. Not only slower; the tiny students of the tests
            # generalise differently when the same examples come as 1-example micro-batches.
            reason = (
                "student.training.packing is false (honoured): padded batches of "
                f"{training.batch_size} x {training.gradient_accumulation} per optimizer step "
                "(leave packing unset on CPU for one example per micro-batch, faster)"
            )
            batch, accumulation = training.batch_size, training.gradient_accumulation
            return TrainStrategy(False, batch, accumulation, False, "sdpa", reason)
        else:
            reason = (
                "on CPU (student.training.packing is unset) one example per micro-batch has no padding and "
                f"no cross-example attention; accumulating {per_step} keeps the examples per optimizer step"
            )
        return TrainStrategy(bool(asked), 1, per_step, False, "sdpa", reason)
    batch, accumulation = training.batch_size, training.gradient_accumulation
    kernel = device.varlen_attention
    if asked is None:
        if kernel is not None:
            reason = f"on {device.name} {kernel} attends within each packed example (varlen kernel)"
            return TrainStrategy(True, batch, accumulation, False, kernel, reason)
        reason = (
            f"on {device.name} no varlen attention kernel is installed (pip install flash-attn): "
            "padded batches grouped by length instead of packing"
        )
        return TrainStrategy(False, batch, accumulation, True, "sdpa", reason)
    if asked:
        if kernel is not None:
            reason = f"student.training.packing is true and {kernel} is installed on {device.name}"
            return TrainStrategy(True, batch, accumulation, False, kernel, reason)
        reason = (
            f"student.training.packing is true (honoured) but no varlen attention kernel is installed on "
            f"{device.name}: sdpa computes each packed row's full block-diagonal square"
        )
        return TrainStrategy(True, batch, accumulation, False, "sdpa", reason)
    reason = f"student.training.packing is false: padded batches grouped by length on {device.name}"
    return TrainStrategy(False, batch, accumulation, True, kernel or "sdpa", reason)


def peak_flops(device: Device) -> float | None:
    """Dense bf16 peak FLOP/s of a known GPU; None on CPU or an unknown GPU (no MFU then)."""
    if device.kind != "cuda":
        return None
    return next((peak for key, peak in PEAK_BF16_FLOPS if key in device.name), None)


def training_flops_per_token(total_params: int, trainable_params: int) -> float:
    """Model FLOPs per trained token, attention scores left out.

    Forward 2N; backward 2N for the activation gradients through every layer plus 2 x trainable for
    the weight gradients. Full fine-tuning gives the usual 6N; LoRA about 4N, since frozen weights
    get no weight gradient.
    """
    return 4.0 * total_params + 2.0 * trainable_params


def mfu(tokens_per_second: float, flops_per_token: float, device: Device) -> float | None:
    """Model FLOPs utilisation, or None where the device's peak is unknown (CPU)."""
    peak = peak_flops(device)
    return None if peak is None else tokens_per_second * flops_per_token / peak
