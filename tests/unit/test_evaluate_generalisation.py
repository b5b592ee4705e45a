"""Scores a memorised answer cannot reach, and the economics, on answers checked by the real contract."""

from __future__ import annotations

from distillery.api.spec import OutputRule, OutputSpec
from distillery.contract import Contract
from distillery.contract.sinc import sinc_output_spec
from distillery.evaluate.economics import economics
from distillery.evaluate.generalisation import generalisation
from distillery.evaluate.metrics import Answer
from distillery.fakes.scripted import INPUT_RULES, sinc_scatter

BASE = sinc_output_spec()
SINC = Contract(
    OutputSpec(
        format="json",
        json_schema=BASE.json_schema,
        rules=[*BASE.rules, *(OutputRule(**r) for r in INPUT_RULES)],
    )
)
LABELS = Contract(OutputSpec(format="label", labels=["code", "docs", "hybrid", "skip"]))
PROMPTS = [
    "fix nginx",
    "fix pandas?",
    "explain docker to a beginner",
    "zorblip!",
    "why is my css setup so slow today",
]


def _checked(contract: Contract, texts: list[str | None], prompts: list[str]) -> tuple[list[Answer], list]:
    return [Answer(t) for t in texts], [
        contract.check(t or "", prompt=p) for t, p in zip(texts, prompts, strict=True)
    ]


def _evaluate(student_texts: list[str | None], train_prompts: list[str]) -> dict:
    teacher_texts = [sinc_scatter(p) for p in PROMPTS]
    answers, results = {}, {}
    for name, texts in (("student", student_texts), ("teacher", teacher_texts)):
        answers[name], results[name] = _checked(SINC, texts, PROMPTS)
    return generalisation(
        SINC, answers, results, [None] * len(PROMPTS), train_targets=[sinc_scatter(p) for p in train_prompts]
    )


def test_a_memorised_answer_scores_no_margin_over_the_best_constant() -> None:
    memorised = [sinc_scatter("fix nginx")] * len(PROMPTS)
    learnt = _evaluate(memorised, train_prompts=["fix nginx"])
    # The teacher's most frequent held-out answer occurs once in 5 prompts; the memorised one agrees once.
    assert learnt["best_constant_agreement"] == 0.2
    assert learnt["teacher_agreement"]["student"] == 0.2
    assert learnt["agreement_margin"] == 0.0
    # The input-dependent rules see through it: size and ending are both right for "fix nginx" only.
    assert learnt["input_rules"] == ["data-states-input-size", "context-matches-ending"]
    assert learnt["input_rule_pass_rate"] == {"student": 0.2, "teacher": 1.0}


def test_novel_answers_and_agreement_on_them() -> None:
    perfect = [sinc_scatter(p) for p in PROMPTS]
    learnt = _evaluate(perfect, train_prompts=["fix nginx", "kubernetes"])
    # "fix pandas?" gets a new answer (a question); "fix nginx" is word for word a training answer.
    assert learnt["novel_held_out"] == 4 and learnt["novel_share"] == 0.8
    assert learnt["novel_indices"] == [1, 2, 3, 4]
    assert learnt["teacher_agreement"]["student"] == learnt["teacher_agreement_novel"]["student"] == 1.0
    assert learnt["agreement_margin"] == 0.8


def test_accuracy_against_expected_labels_next_to_the_most_common_label() -> None:
    expected = ["code", "code", "code", "docs"]
    prompts = ["a", "b", "c", "d"]
    answers, results = {}, {}
    for name, texts in (
        ("student", ["code", "code", "docs", "docs"]),
        ("teacher", ["code", "code", "code", "code"]),
    ):
        answers[name], results[name] = _checked(LABELS, texts, prompts)
    learnt = generalisation(LABELS, answers, results, expected, train_targets=None)
    assert learnt["accuracy"] == {"student": 0.75, "teacher": 0.75}
    assert learnt["best_constant_accuracy"] == 0.75 and learnt["accuracy_margin"] == 0.0
    assert "novel_held_out" not in learnt  # no training targets given: novelty unknown, not guessed
    assert learnt["input_rule_pass_rate"] == {"student": None, "teacher": None}


def test_break_even_volume_from_gpu_price_and_teacher_price() -> None:
    models = {
        "student": {"examples": 10, "cost_per_1k_requests_usd": 0.05, "latency_p50_ms": 40.0},
        "teacher": {"cost_per_1k_requests_usd": 2.0, "latency_p50_ms": 900.0},
    }
    result = economics(models, {"student": 2.0}, gpu_hour_price_usd=2.5)
    assert result["break_even_requests_per_hour"] == 1250.0  # $2.50 / ($2 / 1000 requests)
    assert result["break_even_requests_per_month"] == 912_500
    assert (
        result["student_requests_per_gpu_hour"] == 18_000.0 and result["break_even_within_capacity"] is True
    )
    assert economics({"student": {}}, {}, 2.5)["break_even_requests_per_hour"] is None
