"""`distillery validate` on task.output.repairs and curation.anchors: each problem names its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from distillery.api.validation import validate_document
from distillery.contract.sinc import SINC_FORMULA

SINC = Path(__file__).resolve().parents[2] / "examples" / "sinc-scatter" / "run.yaml"
ADD_FORMULA = {
    "name": "add-formula",
    "when": "!has(output.formula)",
    "set": {"path": "formula", "value": SINC_FORMULA},
}


def _problems(
    repairs: list[dict[str, Any]] | None = None, anchors: dict[str, Any] | None = None
) -> list[str]:
    document = yaml.safe_load(SINC.read_text(encoding="utf-8"))
    if repairs is not None:
        document["spec"]["task"]["output"]["repairs"] = repairs
    if anchors is not None:
        document["spec"].setdefault("curation", {})["anchors"] = anchors
    return validate_document(document, "run.yaml").problems


def test_the_seed_001_repair_and_a_jsonl_anchor_source_validate_clean() -> None:
    anchors = {"source": {"uri": "s3://bucket/anchors.jsonl"}, "share": 0.2}
    assert (
        _problems([ADD_FORMULA, {"name": "drop-t", "when": "true", "remove": {"path": "formula"}}], anchors)
        == []
    )


@pytest.mark.parametrize(
    "repair,expected",
    [
        (
            ADD_FORMULA | {"when": "!has(output.formla)"},
            "spec.task.output.repairs[0].when: invalid CEL (repair 'add-formula': at line 1, column 5 "
            "(near '(output.formla)'): undefined field 'formla' (not a property of output))",
        ),
        (
            ADD_FORMULA | {"when": "output.T"},
            "spec.task.output.repairs[0].when: invalid CEL "
            "(repair 'add-formula': returns string, not a bool)",
        ),
        (
            ADD_FORMULA | {"set": {"path": "formla", "value": "x"}},
            "spec.task.output.repairs[0].set.path: 'formla' is not a property of output "
            "(jsonSchema allows: T, formula, fragments)",
        ),
        (
            ADD_FORMULA | {"set": {"path": "formula", "value": 42}},
            "spec.task.output.repairs[0].set.value: does not satisfy jsonSchema at output.formula: "
            "42 is not of type 'string'",
        ),
        (
            {"name": "no-t", "when": "true", "remove": {"path": "T"}},
            "spec.task.output.repairs[0].remove.path: 'T' is required by jsonSchema",
        ),
        (
            ADD_FORMULA | {"set": {"path": "formula..x", "value": 1}},
            "spec.task.output.repairs[0].set.path: must match",
        ),
        (
            ADD_FORMULA | {"remove": {"path": "formula"}},
            "spec.task.output.repairs[0]: repair 'add-formula': exactly one of set or remove must be set",
        ),
        (ADD_FORMULA | {"set": {"path": "formula"}}, "spec.task.output.repairs[0].set.value: required field"),
    ],
    ids=[
        "unknown-field",
        "not-bool",
        "unknown-path",
        "wrong-type",
        "remove-required",
        "bad-path",
        "two-actions",
        "no-value",
    ],
)
def test_a_bad_repair_names_its_field(repair: dict[str, Any], expected: str) -> None:
    problems = _problems([repair])
    assert any(expected in problem for problem in problems), problems


def test_repairs_are_refused_for_text_output() -> None:
    document = yaml.safe_load(SINC.read_text(encoding="utf-8"))
    output = document["spec"]["task"]["output"]
    output.update(format="text", repairs=[ADD_FORMULA])
    output.pop("jsonSchema")
    problems = validate_document(document, "run.yaml").problems
    assert any("repairs: only allowed with format 'json' (format is 'text')" in p for p in problems), problems


@pytest.mark.parametrize(
    "anchors,expected",
    [
        (
            {"source": {"inline": ["hi"]}, "share": 0.2},
            "spec.curation.anchors.source.inline: inline prompts carry no expected output",
        ),
        (
            {"source": {"dataset": {"path": "a.csv"}}, "share": 0.2},
            "spec.curation.anchors.source.dataset.expectedColumn: required for anchors",
        ),
        ({"source": {"uri": "s3://b/a.jsonl"}, "share": 1}, "spec.curation.anchors.share: must be < 1"),
        ({"source": {"uri": "s3://b/a.jsonl"}}, "spec.curation.anchors.share: required field"),
    ],
    ids=["inline", "dataset-without-expected", "share-one", "no-share"],
)
def test_a_bad_anchor_source_names_its_field(anchors: dict[str, Any], expected: str) -> None:
    problems = _problems(anchors=anchors)
    assert any(expected in problem for problem in problems), problems
