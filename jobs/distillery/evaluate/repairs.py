"""Contract pass rates before and after the declarative repairs (`spec.task.output.repairs`).

Every compared model's held-out answers are repaired (contract/repairs.py) and checked again. Per
model: the strict pass rate before and after, how many answers any repair changed, and per repair
how many answers it changed ("touched") and how many of those then passed the whole contract.
Gates and every other metric stay on the answers as the model gave them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillery.contract import Contract, ContractResult, Repaired, Repairs
from distillery.evaluate.metrics import Answer, rate


@dataclass(frozen=True)
class RepairedAnswer:
    """One answer after the repairs, and its contract result (the original's when nothing changed)."""

    repaired: Repaired
    result: ContractResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": list(self.repaired.applied),
            "output": self.repaired.text,
            "passed": self.result.passed,
            "failures": self.result.failures,
        }


def repair_answers(
    contract: Contract,
    repairs: Repairs,
    answers: list[Answer],
    results: list[ContractResult],
    prompts: list[str],
) -> list[RepairedAnswer]:
    """Each answer repaired and re-checked (unanswered ones stay as they are)."""
    outcomes = []
    for answer, result, prompt in zip(answers, results, prompts, strict=True):
        repaired = repairs.apply(answer.text, prompt) if answer.text is not None else Repaired("")
        checked = contract.check(repaired.text, prompt=prompt) if repaired.changed else result
        outcomes.append(RepairedAnswer(repaired, checked))
    return outcomes


def repair_metrics(
    names: list[str], results: list[ContractResult], outcomes: list[RepairedAnswer]
) -> dict[str, Any]:
    """One model's pass rate before / after, and per repair: answers touched and then passing."""
    by_repair = {
        name: {
            "touched": sum(name in o.repaired.applied for o in outcomes),
            "passed_after": sum(name in o.repaired.applied and o.result.passed for o in outcomes),
        }
        for name in names
    }
    return {
        "contract_pass_rate_before": rate([r.passed for r in results]),
        "contract_pass_rate_after": rate([o.result.passed for o in outcomes]),
        "repaired": sum(o.repaired.changed for o in outcomes),
        "repaired_passing": sum(o.repaired.changed and o.result.passed for o in outcomes),
        "by_repair": by_repair,
    }


def evaluate_repairs(
    contract: Contract,
    repairs: Repairs,
    answers: dict[str, list[Answer]],
    results: dict[str, list[ContractResult]],
    prompts: list[str],
) -> tuple[dict[str, Any] | None, dict[str, list[RepairedAnswer]]]:
    """report.json's "repairs" section (None without repairs) and every model's repaired answers."""
    if not repairs:
        return None, {}
    outcomes = {
        name: repair_answers(contract, repairs, model_answers, results[name], prompts)
        for name, model_answers in answers.items()
    }
    section = {
        "names": repairs.names,
        "models": {name: repair_metrics(repairs.names, results[name], outcomes[name]) for name in answers},
    }
    return section, outcomes


def repair_summary(section: dict[str, Any] | None) -> dict[str, Any]:
    """summary.json's repair keys: pass rate after repair per model, and the student's per repair."""
    if section is None:
        return {}
    models = section["models"]
    student = models.get("student") or {}
    return {
        "contract_pass_rate_repaired": {
            name: values["contract_pass_rate_after"] for name, values in models.items()
        },
        "repairs": [{"name": name, **counts} for name, counts in (student.get("by_repair") or {}).items()],
    }
