"""Train set-up errors that must be loud: QLoRA without CUDA, missing inputs, unknown models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from distillery.errors import PhaseInputMissing, TrainingError
from distillery.fakes.scripted import routing_label, sinc_scatter, varied_prompts
from distillery.store import open_store
from distillery.train.job import read_examples
from distillery.train.model import load_model, quantization_config, resolve_model_path


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error")
def test_qlora_without_cuda_is_a_clear_error(tiny_model_dir: Path) -> None:
    with pytest.raises(TrainingError, match=r"'qlora' .* no CUDA device"):
        quantization_config("qlora")
    with pytest.raises(TrainingError, match="no CUDA device"):
        load_model(str(tiny_model_dir), method="qlora")


def test_lora_needs_no_quantization() -> None:
    assert quantization_config("lora") is None


def test_local_paths_are_used_as_they_are(tiny_model_dir: Path) -> None:
    assert resolve_model_path(str(tiny_model_dir)) == str(tiny_model_dir)
    assert resolve_model_path(f"file://{tiny_model_dir}") == str(tiny_model_dir)


def test_missing_model_directory_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"student.baseModel .*cannot load the model"):
        load_model(str(tmp_path / "nothing-here"))


def test_train_without_curate_output_is_phase_input_missing(tmp_path: Path) -> None:
    with pytest.raises(PhaseInputMissing, match=r"train.jsonl .*run curate first"):
        read_examples(open_store(f"file://{tmp_path}"))


def test_scripted_teachers_are_deterministic() -> None:
    prompts = varied_prompts(50)
    assert len(set(prompts)) == 50
    assert [sinc_scatter(p) for p in prompts] == [sinc_scatter(p) for p in prompts]
    assert routing_label("where is the install guide") == "docs"
    assert routing_label("this function throws an error") == "code"
    assert routing_label("the setup docs do not match the code") == "hybrid"
    assert routing_label("what is the capital of France") == "skip"
