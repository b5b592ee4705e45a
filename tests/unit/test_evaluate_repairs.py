"""Evaluate's math on recorded answers: pass rates before / after repairs, anchor-like vs teacher-like.

No model runs: the answers are recorded (seed 001's validation: 10 prompts, the student omits the
top-level `formula` on "???"), scored by `score_to_store` into a file:// store; the assertions read
what was written (summary.json, report.json, report.md, predictions.jsonl).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from distillery import layout
from distillery.api.manifest import parse_manifest
from distillery.api.summaries import parse_summary
from distillery.contract.sinc import SINC_FORMULA
from distillery.evaluate.core import score_to_store
from distillery.evaluate.metrics import Answer
from distillery.fakes.prompt_pool import EDGE_PROMPTS, varied_prompts
from distillery.fakes.scripted import sinc_scatter
from distillery.prompts import Prompt, prompt_id
from distillery.store import open_store
from tests.fixtures.models import sinc_run_spec

ADD_FORMULA = {
    "name": "add-formula",
    "when": "!has(output.formula)",
    "set": {"path": "formula", "value": SINC_FORMULA},
}
PROMPTS = [*EDGE_PROMPTS, *varied_prompts(4)]  # 10, "???" second
ANCHOR_LIKE = {"???", "hi", *varied_prompts(2)}  # these carry a human expected output


def _without_formula(text: str) -> str:
    document = json.loads(text)
    del document["formula"]
    return json.dumps(document, ensure_ascii=False)


def _score(tmp_path: Path, repairs: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    manifest = sinc_run_spec(
        "unused", PROMPTS, compare=["teacher"], gates=[{"metric": "contractPassRate", "min": 0.95}]
    )
    manifest["spec"]["task"]["output"]["repairs"] = repairs
    spec = parse_manifest(manifest).spec
    held_out = [
        Prompt(
            id=prompt_id(text, index),
            text=text,
            index=index,
            expected=json.loads(sinc_scatter(text)) if text in ANCHOR_LIKE else None,
        )
        for index, text in enumerate(PROMPTS)
    ]
    student = [
        Answer(_without_formula(sinc_scatter(p)) if p == "???" else sinc_scatter(p), 20.0, 50)
        for p in PROMPTS
    ]
    teacher = [Answer(sinc_scatter(p), 900.0, 60, cost_usd=0.001) for p in PROMPTS]
    store = open_store(f"file://{tmp_path}/evaluate")
    summary = score_to_store(
        spec, held_out, {"student": student, "teacher": teacher}, {"student": 1.0}, store
    )
    return summary, store


def test_seed_001_pass_rate_before_and_after_the_formula_repair(tmp_path: Path) -> None:
    _, store = _score(tmp_path, [ADD_FORMULA])

    summary = parse_summary("evaluate", store.read_json(layout.SUMMARY))  # every key declared
    assert summary.contract_pass_rate.student == 0.9
    assert summary.contract_pass_rate_repaired == {"student": 1.0, "teacher": 1.0}
    assert [r.model_dump() for r in summary.repairs or []] == [
        {"name": "add-formula", "touched": 1, "passed_after": 1}
    ]
    # Gates judge the student as it answered: 90% < 95% fails although the repaired rate is 100%.
    assert [(g.metric, g.passed, g.value) for g in summary.gates] == [("contractPassRate", False, 0.9)]

    report = store.read_json(layout.EVALUATE_REPORT_JSON)["repairs"]
    assert report["names"] == ["add-formula"]
    assert report["models"]["teacher"] == {
        "contract_pass_rate_before": 1.0,
        "contract_pass_rate_after": 1.0,
        "repaired": 0,
        "repaired_passing": 0,
        "by_repair": {"add-formula": {"touched": 0, "passed_after": 0}},
    }
    markdown = store.read_text(layout.EVALUATE_REPORT_MD)
    assert (
        "- student: contract pass rate 90% as answered, 100% after repairs "
        "(1 answers repaired, 1 of them then pass)." in markdown
    )
    assert "- Repair add-formula changed 1 student answers; 1 of them then pass the contract." in markdown
    page = store.read_text(layout.EVALUATE_REPORT_HTML)
    assert "Repair add-formula changed 1 student answers" in page
    assert page.count("repaired by add-formula: passes") == 1  # beside the "???" answer

    predictions = {p["prompt"]: p for p in store.read_jsonl(layout.EVALUATE_PREDICTIONS)}
    repaired = predictions["???"]["models"]["student"]["repaired"]
    assert repaired["applied"] == ["add-formula"] and repaired["passed"] is True
    assert json.loads(repaired["output"])["formula"] == SINC_FORMULA
    assert "formula" not in json.loads(predictions["???"]["models"]["student"]["output"])  # as answered
    assert all(p["models"]["student"]["repaired"] is None for text, p in predictions.items() if text != "???")


def test_without_repairs_nothing_is_reported_about_them(tmp_path: Path) -> None:
    summary, store = _score(tmp_path, [])
    assert "contract_pass_rate_repaired" not in summary and "repairs" not in summary
    assert store.read_json(layout.EVALUATE_REPORT_JSON)["repairs"] is None
    assert "## Repairs" not in store.read_text(layout.EVALUATE_REPORT_MD)


def test_anchor_like_held_out_items_are_scored_apart_from_teacher_like_ones(tmp_path: Path) -> None:
    summary, store = _score(tmp_path, [ADD_FORMULA])
    # 4 items carry a human expected output; the student misses one of them ("???", no formula).
    assert (summary["anchor_like_examples"], summary["teacher_like_examples"]) == (4, 6)
    assert summary["quality_anchor_like"] == {"student": 0.75, "teacher": 1.0}
    assert summary["quality_teacher_like"] == {"student": 1.0, "teacher": 1.0}
    subsets = store.read_json(layout.EVALUATE_REPORT_JSON)["subsets"]
    assert subsets["teacher_like"]["teacher_agreement"] == {"student": 1.0}
    assert (
        "On 4 held-out examples with a human expected output (anchor-like) the student scores 75% "
        "(exact match); on 6 without one (teacher-like) it passes the contract on 100%."
    ) in store.read_text(layout.EVALUATE_REPORT_MD)
