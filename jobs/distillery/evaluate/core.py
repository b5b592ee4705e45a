"""The evaluation itself, independent of manifests: generate, check, score, gate, report."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from distillery import layout
from distillery.api.spec import DistillationRunSpec
from distillery.contract import Contract, ContractResult, Repairs
from distillery.evaluate import gates as gating
from distillery.evaluate import generation
from distillery.evaluate import metrics as m
from distillery.evaluate.economics import economics
from distillery.evaluate.generalisation import agreement_flags, generalisation
from distillery.evaluate.judging import ModelJudge
from distillery.evaluate.metrics import Answer
from distillery.evaluate.repairs import evaluate_repairs, repair_summary
from distillery.evaluate.report import write_report
from distillery.evaluate.subsets import subset_scores, subset_summary
from distillery.prompts import Prompt
from distillery.store import ArtifactStore

log = logging.getLogger(__name__)

# Copied from report.json's "generalisation" into summary.json (see generalisation.py).
SUMMARY_GENERALISATION_KEYS = (
    "teacher_agreement",
    "best_constant_agreement",
    "agreement_margin",
    "novel_held_out",
    "novel_share",
    "teacher_agreement_novel",
    "accuracy",
    "best_constant_accuracy",
    "accuracy_margin",
    "input_rule_pass_rate",
)


def student_and_base_answers(
    spec: DistillationRunSpec, held_out: list[Prompt], base_path: str, adapter_dir: Path, *, with_base: bool
) -> tuple[dict[str, list[Answer]], dict[str, float]]:
    """Answers of the student (and the base) with the wall time each model's generation took."""
    conversations = [generation.conversation(spec.task.system_prompt, p.text) for p in held_out]
    settings = {"max_new_tokens": spec.evaluation.max_new_tokens}
    answers: dict[str, list[generation.Generation]] = {}
    walls: dict[str, float] = {}
    if generation.use_vllm():
        for name, adapter in (("student", adapter_dir), ("base", None)):
            if name == "base" and not with_base:
                continue
            started = time.perf_counter()
            answers[name] = generation.generate_vllm(base_path, adapter, conversations, **settings)
            walls[name] = time.perf_counter() - started
    else:
        model, tokenizer = generation.load_student(base_path, adapter_dir)
        batch = spec.evaluation.batch_size
        started = time.perf_counter()
        answers["student"] = generation.generate_batched(
            model, tokenizer, conversations, batch_size=batch, **settings
        )
        walls["student"] = time.perf_counter() - started
        log.info("student answered %d prompts in %.1f s", len(held_out), walls["student"])
        if with_base:
            with generation.adapter_disabled(model):
                started = time.perf_counter()
                answers["base"] = generation.generate_batched(
                    model, tokenizer, conversations, batch_size=batch, **settings
                )
                walls["base"] = time.perf_counter() - started
            log.info("base answered %d prompts in %.1f s", len(held_out), walls["base"])
    converted = {
        name: [Answer(g.text, g.latency_s * 1000, g.new_tokens) for g in generated]
        for name, generated in answers.items()
    }
    return converted, walls


def _prediction(
    prompt: Prompt, outputs: dict[str, tuple[Answer, ContractResult]], facts: dict[str, Any]
) -> dict[str, Any]:
    agrees = facts.get("agrees", {})
    return {
        "id": prompt.id,
        "prompt": prompt.text,
        "category": prompt.category,
        "expected": prompt.expected,
        "student_error": facts.get("student_error"),
        "novel_teacher_answer": facts.get("novel"),
        "models": {
            name: {
                "output": answer.text,
                "latency_ms": answer.latency_ms,
                "passed": result.passed,
                "passed_tolerant": result.passed_tolerant,
                "failures": result.failures,
                "agrees_with_teacher": agrees.get(name),
                **result.to_dict(),
            }
            for name, (answer, result) in outputs.items()
        },
    }


def _prediction_facts(
    report: dict[str, Any],
    answers: dict[str, list[Answer]],
    results: dict[str, list[ContractResult]],
    expected: list[Any],
) -> list[dict[str, Any]]:
    """Per held-out prompt: the student's error kind, agreement with the teacher, novel teacher answer."""
    count = len(expected)
    errors = report.get("error_analysis")
    if errors is not None:
        kind = dict.fromkeys(errors["compression_indices"], "compression")
        kind |= dict.fromkeys(errors["inherited_indices"], "inherited")
    else:
        student = zip(results["student"], answers["student"], expected, strict=True)
        kind = {i: "failed" for i, (r, a, e) in enumerate(student) if not m.correct(r, a.text, e)}
    flags: dict[str, list[bool | None]] = {}
    if "teacher" in answers:
        flags = {
            name: agreement_flags(results[name], answers[name], results["teacher"], answers["teacher"])
            for name in answers
            if name != "teacher"
        }
    learnt = report.get("generalisation") or {}
    novel = set(learnt.get("novel_indices") or [])
    known_novelty = "novel_indices" in learnt
    return [
        {
            "student_error": kind.get(i),
            "agrees": {name: values[i] for name, values in flags.items()},
            "novel": (i in novel) if known_novelty else None,
        }
        for i in range(count)
    ]


def evaluate_to_store(
    spec: DistillationRunSpec,
    held_out: list[Prompt],
    base_path: str,
    adapter_dir: Path,
    store: ArtifactStore,
    *,
    teacher: list[Answer] | None,
    loss: dict[str, Any] | None = None,
    run_name: str = "run",
    judge: ModelJudge | None = None,
    train_targets: list[str] | None = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate and write the report artifacts and summary.json to `store`; return the summary.

    `train_targets` (the assistant answers the student was trained and validated on) lets the
    evaluation find held-out prompts whose teacher answer is novel; `provenance` (teacher model,
    dataset sizes, cost, base model, LoRA, attempt) goes into the report as given.
    """
    from distillery.train.model import configure_threads

    configure_threads()
    answers, walls = student_and_base_answers(
        spec, held_out, base_path, adapter_dir, with_base="base" in spec.evaluation.compare
    )
    if teacher is not None:
        answers["teacher"] = teacher
    return score_to_store(
        spec,
        held_out,
        answers,
        walls,
        store,
        loss=loss,
        run_name=run_name,
        judge=judge,
        train_targets=train_targets,
        provenance=provenance,
    )


def score_to_store(
    spec: DistillationRunSpec,
    held_out: list[Prompt],
    answers: dict[str, list[Answer]],
    walls: dict[str, float],
    store: ArtifactStore,
    *,
    loss: dict[str, Any] | None = None,
    run_name: str = "run",
    judge: ModelJudge | None = None,
    train_targets: list[str] | None = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score recorded answers (`answers["teacher"]` when compared), write the report and summary."""
    contract = Contract(spec.task.output)
    teacher = answers.get("teacher")
    results = {
        name: [
            contract.check(a.text or "", prompt=p.text) for a, p in zip(model_answers, held_out, strict=True)
        ]
        for name, model_answers in answers.items()
    }
    expected = [p.expected for p in held_out]
    judge_scores, judge_stats = judge(answers, held_out) if judge is not None else ({}, None)
    price = spec.student.resources.gpu_hour_price_usd
    models: dict[str, dict[str, Any]] = {}
    for name, model_answers in answers.items():
        cost = (
            m.teacher_cost_per_1k([a.cost_usd for a in model_answers])
            if name == "teacher"
            else m.student_cost_per_1k(walls[name], len(held_out), price)
        )
        models[name] = m.model_metrics(
            model_answers,
            results[name],
            expected,
            rule_names=contract.rule_names,
            wall_seconds=walls.get(name),
            cost_per_1k_usd=cost,
        )
        if teacher is not None and name != "teacher":
            models[name]["teacher_agreement"] = m.agreement(
                results[name], model_answers, results["teacher"], teacher
            )
        models[name]["judge_score"] = judge_scores.get(name)
    student = models["student"]
    compared = gating.comparison(student, models.get("teacher"))
    student.update(compared)
    gate_results = gating.check_gates(spec.evaluation.gates, student)
    learnt = generalisation(contract, answers, results, expected, train_targets=train_targets)
    report = {
        "run": run_name,
        "examples": len(held_out),
        "models": models,
        "comparison": compared,
        "generalisation": learnt,
        "economics": economics(models, walls, price),
        "provenance": provenance or {},
        "gates": gate_results,
        "gates_passed": all(g["passed"] for g in gate_results),
        "verdict": gating.verdict(compared),
        "error_analysis": (
            m.error_analysis(results["student"], answers["student"], results["teacher"], teacher, expected)
            if teacher is not None
            else None
        ),
        "judge": judge_stats,
        "teacher_latency": "measured" if models.get("teacher", {}).get("latency_p50_ms") else "unknown",
        "subsets": subset_scores(answers, results, expected),
    }
    prompts = [p.text for p in held_out]
    report["repairs"], repaired = evaluate_repairs(
        contract, Repairs(spec.task.output), answers, results, prompts
    )
    order = [name for name in ("base", "student", "teacher") if name in answers]
    facts = _prediction_facts(report, answers, results, expected)
    predictions = [
        _prediction(p, {name: (answers[name][i], results[name][i]) for name in order}, facts[i])
        for i, p in enumerate(held_out)
    ]
    for name, outcomes in repaired.items():
        for prediction, outcome in zip(predictions, outcomes, strict=True):
            prediction["models"][name]["repaired"] = outcome.to_dict() if outcome.repaired.changed else None
    uris = write_report(store, report, predictions, loss)
    summary = {
        "examples": len(held_out),
        "contract_pass_rate": {name: models[name]["contract_pass_rate"] for name in order},
        "quality": {name: models[name]["quality"] for name in order},
        **compared,
        "gates": [{"metric": g["metric"], "passed": g["passed"], "value": g["value"]} for g in gate_results],
        "gates_passed": report["gates_passed"],
        "verdict": report["verdict"]["verdict"],
        **{key: learnt.get(key) for key in SUMMARY_GENERALISATION_KEYS},
        **subset_summary(report["subsets"]),
        **repair_summary(report["repairs"]),
        "report_uri": uris[layout.EVALUATE_REPORT_HTML],
        "artifacts": uris,
    }
    store.write_json(layout.SUMMARY, summary)
    log.info("evaluation: pass rate %s, verdict %s", summary["contract_pass_rate"], summary["verdict"])
    return summary
