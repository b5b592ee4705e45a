"""The batching strategy is chosen from the device: CPU, and CUDA with or without a varlen kernel."""

from __future__ import annotations

import pytest

from distillery.api.student import TrainingSpec
from distillery.train.strategy import Device, choose_strategy, detect_device, mfu, training_flops_per_token

H100 = "NVIDIA H100 80GB HBM3"


def _training(**fields: object) -> TrainingSpec:
    return TrainingSpec.model_validate({"batchSize": 4, "gradientAccumulation": 2, **fields})


def test_packing_is_unset_by_default() -> None:
    assert TrainingSpec().packing is None


def test_cpu_trains_one_example_per_micro_batch_with_the_same_examples_per_step() -> None:
    strategy = choose_strategy(_training(), Device("cpu"))
    assert (strategy.packing, strategy.micro_batch_size, strategy.gradient_accumulation) == (False, 1, 8)
    assert not strategy.group_by_length and strategy.attention == "sdpa"
    assert "on CPU" in strategy.describe() and "packing is unset" in strategy.describe()


def test_cpu_honours_explicit_packing_and_says_it_is_slower() -> None:
    strategy = choose_strategy(_training(packing=True), Device("cpu"))
    assert (strategy.packing, strategy.micro_batch_size, strategy.gradient_accumulation) == (True, 1, 8)
    assert "honoured" in strategy.reason and "leave packing unset" in strategy.reason


def test_cpu_with_packing_false_gets_padded_batches_as_configured() -> None:
    strategy = choose_strategy(_training(packing=False), Device("cpu"))
    assert (strategy.packing, strategy.micro_batch_size, strategy.gradient_accumulation) == (False, 4, 2)
    assert "packing is false (honoured)" in strategy.reason


def test_cuda_with_a_varlen_kernel_packs_padding_free_batches() -> None:
    strategy = choose_strategy(_training(), Device("cuda", H100, "flash_attention_2"))
    assert (strategy.packing, strategy.micro_batch_size, strategy.gradient_accumulation) == (True, 4, 2)
    assert strategy.attention == "flash_attention_2" and not strategy.group_by_length
    assert H100 in strategy.reason


def test_cuda_without_a_varlen_kernel_groups_padded_batches_by_length() -> None:
    strategy = choose_strategy(_training(), Device("cuda", H100, None))
    assert (strategy.packing, strategy.group_by_length, strategy.attention) == (False, True, "sdpa")
    assert (strategy.micro_batch_size, strategy.gradient_accumulation) == (4, 2)
    assert "flash-attn" in strategy.reason


@pytest.mark.parametrize(
    ("kernel", "attention"), [(None, "sdpa"), ("flash_attention_3", "flash_attention_3")]
)
def test_cuda_honours_explicit_packing(kernel: str | None, attention: str) -> None:
    strategy = choose_strategy(_training(packing=True), Device("cuda", H100, kernel))
    assert (strategy.packing, strategy.attention) == (True, attention)


def test_cuda_honours_explicit_no_packing_even_with_a_kernel() -> None:
    strategy = choose_strategy(_training(packing=False), Device("cuda", H100, "flash_attention_2"))
    assert (strategy.packing, strategy.group_by_length, strategy.attention) == (
        False,
        True,
        "flash_attention_2",
    )


def test_detect_device_matches_torch() -> None:
    import torch

    device = detect_device()
    assert device.kind == ("cuda" if torch.cuda.is_available() else "cpu")
    if device.kind == "cpu":
        assert device == Device("cpu")  # CI: no varlen kernel is looked for without CUDA


def test_mfu_is_reported_only_where_the_peak_is_known() -> None:
    per_token = training_flops_per_token(total_params=1_000_000_000, trainable_params=10_000_000)
    assert per_token == 4.02e9  # LoRA: 4 x params + 2 x trainable
    assert training_flops_per_token(100, 100) == 600  # full fine-tuning: the usual 6N
    assert mfu(10_000, per_token, Device("cpu")) is None
    assert mfu(10_000, per_token, Device("cuda", "Some Unknown GPU")) is None
    assert mfu(10_000, per_token, Device("cuda", H100)) == pytest.approx(10_000 * 4.02e9 / 989e12)
