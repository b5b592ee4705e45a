"""student.distillation: what `distillery validate` refuses, and what the train summary declares."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from distillery.api.summaries import TrainSummary
from distillery.api.validation import validate_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "logit-kd" / "run.yaml"


def _with(distillation: dict[str, Any], training: dict[str, Any] | None = None) -> list[str]:
    document = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
    document["spec"]["student"]["distillation"] = distillation
    if training is not None:
        document["spec"]["student"]["training"] = training
    return validate_document(document, "kd").problems


TEACHER = {"model": "Qwen/Qwen2.5-7B-Instruct"}


@pytest.mark.parametrize(
    "distillation,training,expected",
    [
        (
            {"method": "logits", "teacher": {"provider": "anthropic", "model": "claude-haiku-4-5"}},
            None,
            "spec.student.distillation.teacher.provider: 'anthropic' cannot be a logit-distillation teacher: "
            "Claude exposes no log-probs",
        ),
        (
            {"method": "logits", "teacher": {"provider": "openai-compatible", "model": "q"}},
            None,
            "spec.student.distillation.teacher.baseUrl: required when provider is 'openai-compatible'",
        ),
        ({"method": "logits"}, None, "spec.student.distillation.teacher: required when method is 'logits'"),
        (
            {"method": "sft", "teacher": TEACHER},
            None,
            "spec.student.distillation.teacher: only used with method",
        ),
        (
            {"method": "logits", "teacher": TEACHER, "topK": 0},
            None,
            "spec.student.distillation.topK: must be >= 1",
        ),
        (
            {"method": "logits", "teacher": TEACHER, "topK": 129},
            None,
            "spec.student.distillation.topK: must be <= 128 (got 129)",
        ),
        (
            {"method": "logits", "teacher": TEACHER, "alpha": 1.5},
            None,
            "spec.student.distillation.alpha: must be <= 1",
        ),
        (
            {"method": "logits", "teacher": TEACHER, "temperature": 0},
            None,
            "spec.student.distillation.temperature: must be > 0",
        ),
        (
            {"method": "logits", "teacher": TEACHER},
            {"packing": True},
            "spec.student.training.packing: must not be true with distillation.method 'logits'",
        ),
    ],
)
def test_bad_distillation_is_refused_naming_the_field(
    distillation: dict[str, Any], training: dict[str, Any] | None, expected: str
) -> None:
    problems = _with(distillation, training)
    assert any(expected in problem for problem in problems), problems


def test_the_example_is_logit_kd_with_the_issue_defaults() -> None:
    assert _with({"method": "logits", "teacher": TEACHER}) == []
    document = yaml.safe_load(EXAMPLE.read_text())
    from distillery.api.resource import DistillationRun

    distillation = DistillationRun.model_validate(document).spec.student.distillation
    assert (distillation.method, distillation.top_k, distillation.alpha, distillation.temperature) == (
        "logits",
        20,
        0.5,
        1,
    )


def test_sft_stays_the_default() -> None:
    from distillery.api.student import StudentSpec

    assert StudentSpec(base_model="m").distillation.method == "sft"


def test_the_train_summary_declares_the_kd_block() -> None:
    summary = TrainSummary.model_validate(
        {
            "distillation": {
                "teacher": "t",
                "top_k": 20,
                "alpha": 0.5,
                "temperature": 1.0,
                "scored_tokens": 10,
                "bytes_per_token": 120.0,
                "teacher_coverage": 0.9,
                "topk_uri": "file:///x/kd/teacher-topk.npz",
            }
        }
    )
    assert summary.distillation is not None and summary.distillation.bytes_per_token == 120.0


def test_the_kd_term_is_zero_when_the_student_matches_the_renormalised_top_k() -> None:
    import torch

    from distillery.train.kd import kd_term

    teacher_logprobs = torch.log_softmax(torch.tensor([[2.0, 1.0, 0.0]]), -1) - 0.3  # 3 of more tokens
    ids = torch.tensor([[4, 0, 2]])
    matching = torch.full((1, 6), -1e9)
    matching[0, ids[0]] = teacher_logprobs[0] + 0.3
    assert float(kd_term(matching, ids, teacher_logprobs, 1.0)) == pytest.approx(0.0, abs=1e-5)
    uniform = torch.zeros((1, 6))
    expected = float(
        (
            teacher_logprobs.softmax(-1) * (teacher_logprobs.log_softmax(-1) - torch.log(torch.tensor(1 / 6)))
        ).sum()
    )
    assert float(kd_term(uniform, ids, teacher_logprobs, 1.0)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "resources", [{"nodes": 2, "gpus": 0}, {"gpus": 0, "processesPerNode": 2}, {"gpus": 2}]
)
def test_logit_kd_is_refused_on_more_than_one_process(resources: dict[str, Any]) -> None:
    document = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
    document["spec"]["student"]["resources"] = resources
    problems = validate_document(document, "kd").problems
    assert any(
        p.startswith("spec.student.resources: distillation.method 'logits' trains in one process")
        for p in problems
    ), problems
