"""Curate with task.output.repairs and curation.anchors, through the job's run(ctx) on a file:// store.

collect's teacher.jsonl is written as the collect job writes it (records of the scripted sinc
teacher, one of them seed 001's answer without `formula`); the assertions read the files curate
wrote (train.jsonl, validation.jsonl, rejected.jsonl, summary.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from distillery import layout
from distillery.api.summaries import parse_summary
from distillery.context import JobContext
from distillery.contract.sinc import SINC_FORMULA
from distillery.curate import job as curate_job
from distillery.curate.anchors import wanted_count
from distillery.evaluate.job import check_no_leak
from distillery.fakes.prompt_pool import varied_prompts
from distillery.fakes.scripted import sinc_scatter
from distillery.prompts import load_source, prompt_id
from tests.fixtures.models import sinc_run_spec

ADD_FORMULA = {
    "name": "add-formula",
    "when": "!has(output.formula)",
    "set": {"path": "formula", "value": SINC_FORMULA},
}
TEACHER_PROMPTS = ["???", *varied_prompts(60)]
ANCHOR_PROMPTS = varied_prompts(40, offset=200)
HELD_OUT = [*varied_prompts(4, offset=400), ANCHOR_PROMPTS[0], ANCHOR_PROMPTS[1]]  # two anchors held out


def _without_formula(text: str) -> str:
    document = json.loads(text)
    del document["formula"]
    return json.dumps(document, ensure_ascii=False)


def _teacher_records() -> list[dict[str, Any]]:
    return [
        {
            "id": prompt_id(prompt, index),
            "prompt": prompt,
            "completion": _without_formula(sinc_scatter(prompt)) if prompt == "???" else sinc_scatter(prompt),
            "status": "ok",
            "model": "claude-haiku-4-5-20251001",
        }
        for index, prompt in enumerate(TEACHER_PROMPTS)
    ]


def _context(
    tmp_path: Path, name: str, *, repairs: list[dict] | None = None, anchors: dict | None = None
) -> JobContext:
    manifest = sinc_run_spec("unused", HELD_OUT, storage_uri=f"file://{tmp_path}/{name}")
    manifest["spec"]["task"]["output"]["repairs"] = repairs or []
    manifest["spec"]["curation"] = {"validationFraction": 0.1, **({"anchors": anchors} if anchors else {})}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True))
    ctx = JobContext.load(path, 1)
    ctx.store("collect").write_jsonl(layout.COLLECT_TEACHER, _teacher_records())
    return ctx


def test_repairs_never_touch_the_curated_teacher_data(tmp_path: Path) -> None:
    plain = _context(tmp_path, "plain")
    repaired = _context(tmp_path, "repaired", repairs=[ADD_FORMULA])

    summaries = [curate_job.run(plain), curate_job.run(repaired)]

    for key in (layout.CURATE_TRAIN, layout.CURATE_VALIDATION, layout.CURATE_REJECTED):
        assert plain.store("curate").read_bytes(key) == repaired.store("curate").read_bytes(key), key
    rejected = list(repaired.store("curate").read_jsonl(layout.CURATE_REJECTED))
    missing = [line for line in rejected if line["prompt"] == "???"]
    assert missing[0]["reasons"] == ["contract:rule:has-formula"]  # rejected as the teacher gave it
    assert missing[0]["completion"] == _without_formula(sinc_scatter("???"))
    for summary in summaries:
        assert summary["rejected_by_reason"]["contract:rule:has-formula"] == 1
    assert {k: v for k, v in summaries[0].items() if not k.endswith("_jsonl")} == {
        k: v for k, v in summaries[1].items() if not k.endswith("_jsonl")
    }


def _write_anchors(tmp_path: Path) -> str:
    lines = [{"prompt": prompt, "expected": json.loads(sinc_scatter(prompt))} for prompt in ANCHOR_PROMPTS]
    lines[5]["expected"] = json.loads(
        _without_formula(sinc_scatter(ANCHOR_PROMPTS[5]))
    )  # breaks the contract
    path = tmp_path / "anchors.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return f"file://{tmp_path}/anchors.jsonl"


def test_anchors_reach_the_configured_share_of_train_jsonl_and_never_a_held_out_prompt(
    tmp_path: Path,
) -> None:
    uri = _write_anchors(tmp_path)
    ctx = _context(tmp_path, "anchored", anchors={"source": {"uri": uri}, "share": 0.25})

    summary = curate_job.run(ctx)

    store = ctx.store("curate")
    train = list(store.read_jsonl(layout.CURATE_TRAIN))
    validation = list(store.read_jsonl(layout.CURATE_VALIDATION))
    anchors = [line for line in train if line.get("source") == "anchor"]
    teacher = [line for line in train if line.get("source") != "anchor"]

    # Measured on the written file: no other anchor count next to T teacher lines comes closer to 0.25.
    def off(count: int) -> float:
        return abs(count / (len(teacher) + count) - 0.25)

    assert len(anchors) > 0 and off(len(anchors)) <= min(off(len(anchors) - 1), off(len(anchors) + 1))
    assert abs(len(anchors) / len(train) - 0.25) <= 1 / len(train)
    stats = parse_summary("curate", store.read_json(layout.SUMMARY)).anchors
    assert stats is not None
    assert (stats.available, stats.excluded_held_out, stats.rejected) == (40, 2, 1)
    assert (stats.count, stats.share_configured) == (len(anchors), 0.25)
    assert stats.share_achieved == len(anchors) / len(train) and summary["train"] == len(train)
    assert all(line.get("source") != "anchor" for line in validation)

    held_out = load_source(ctx.run.spec.evaluation.held_out)
    check_no_leak(held_out, train)  # evaluate's own guard passes on the written train.jsonl
    user_texts = {line["messages"][1]["content"] for line in train}
    assert not user_texts & set(HELD_OUT)
    assert ANCHOR_PROMPTS[5] not in user_texts  # its expected output breaks the contract
    for line in anchors:
        prompt, answer = line["messages"][1]["content"], line["messages"][2]["content"]
        assert json.loads(answer) == json.loads(sinc_scatter(prompt))  # the human answer, not a teacher's


def test_too_few_anchors_use_them_all_and_report_the_share_achieved(tmp_path: Path) -> None:
    uri = _write_anchors(tmp_path)
    ctx = _context(tmp_path, "scarce", anchors={"source": {"uri": uri}, "share": 0.9})

    summary = curate_job.run(ctx)

    train = list(ctx.store("curate").read_jsonl(layout.CURATE_TRAIN))
    anchors = [line for line in train if line.get("source") == "anchor"]
    assert len(anchors) == 40 - 2 - 1  # every usable anchor
    assert summary["anchors"]["share_achieved"] == len(anchors) / len(train) < 0.9


@pytest.mark.parametrize(
    "teacher,share,wanted", [(18, 0.2, 5), (30, 0.25, 10), (3, 0.1, 0), (1, 0.5, 1), (0, 0.3, 0)]
)
def test_the_anchor_count_is_the_one_closest_to_the_share(teacher: int, share: float, wanted: int) -> None:
    assert wanted_count(teacher, share) == wanted  # 18 at 0.2: 5 (5/23 = 0.217) beats 4 (4/22 = 0.182)
