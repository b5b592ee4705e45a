"""`distillery validate`: every bad manifest names the field and what was expected."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from distillery.api.manifest import load_manifest
from distillery.api.validation import validate_document, validate_file
from distillery.cli.main import main as cli_main
from distillery.errors import ManifestError

ROOT = Path(__file__).resolve().parents[2]
# Run manifests; kustomization.yaml (examples/gitops) is kustomize's, not a manifest.
EXAMPLES = sorted(p for p in ROOT.glob("examples/*/*.yaml") if p.name != "kustomization.yaml")
SINC = ROOT / "examples" / "sinc-scatter" / "run.yaml"


def _base() -> dict[str, Any]:
    return yaml.safe_load(SINC.read_text(encoding="utf-8"))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if leaf.isdigit():
            node[int(leaf)] = value
        else:
            node[leaf] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[leaf]

    return mutate


def _both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(document)

    return mutate


BAD_MANIFESTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("lora-rank-zero", _set("spec.student.lora.r", 0), "spec.student.lora.r: must be >= 1 (got 0)"),
    ("typo-field", _set("spec.teacher.temprature", 0.2), "spec.teacher.temprature: unknown field"),
    ("typo-top-level", _set("spec.studnet", {}), "spec.studnet: unknown field"),
    (
        "missing-base-model",
        _drop("spec.student.baseModel"),
        "spec.student.baseModel: required field is missing",
    ),
    ("missing-task", _drop("spec.task"), "spec.task: required field is missing"),
    ("bad-format", _set("spec.task.output.format", "xml"), "spec.task.output.format: must be one of"),
    ("bad-provider", _set("spec.teacher.provider", "gemini"), "spec.teacher.provider: must be one of"),
    ("bad-mode", _set("spec.teacher.mode", "stream"), "spec.teacher.mode: must be one of"),
    (
        "negative-budget",
        _set("spec.teacher.budget.maxCostUSD", -1),
        "spec.teacher.budget.maxCostUSD: must be > 0",
    ),
    ("zero-concurrency", _set("spec.teacher.concurrency", 0), "spec.teacher.concurrency: must be >= 1"),
    (
        "lr-too-high",
        _set("spec.student.training.learningRate", 3),
        "spec.student.training.learningRate: must be <= 1",
    ),
    (
        "validation-fraction",
        _set("spec.curation.validationFraction", 1.5),
        "spec.curation.validationFraction: must be < 1",
    ),
    (
        "label-without-labels",
        _set("spec.task.output", {"format": "label"}),
        "spec.task.output.labels: format 'label' needs at least one label",
    ),
    (
        "labels-on-json",
        _set("spec.task.output.labels", ["a"]),
        "spec.task.output.labels: only allowed with format 'label'",
    ),
    (
        "qlora-without-gpu",
        _set("spec.student", {"baseModel": "m", "method": "qlora", "resources": {"gpus": 0}}),
        "spec.student.method: 'qlora' needs at least one GPU",
    ),
    ("bad-cron", _set("spec.schedule", "every tuesday"), "spec.schedule: not a valid cron expression"),
    (
        "bad-storage-scheme",
        _set("spec.storage.uri", "gs://bucket/x"),
        "spec.storage.uri: must be an s3:// or file://",
    ),
    (
        "bad-cel-rule",
        _set("spec.task.output.rules.0.expression", "size(output.fragments ==="),
        "spec.task.output.rules[0].expression: invalid CEL",
    ),
    (
        "duplicate-rule-names",
        _set("spec.task.output.rules.1.name", "six-bands"),
        "spec.task.output.rules: names must be unique (repeated: six-bands)",
    ),
    (
        "bad-rule-name",
        _set("spec.task.output.rules.0.name", "Six Bands"),
        "spec.task.output.rules[0].name: must match",
    ),
    (
        "two-prompt-sources",
        _set("spec.prompts.sources.0.uri", "s3://b/p.jsonl"),
        "spec.prompts.sources[0]: exactly one of inline, configMap, uri or dataset must be set (got 2",
    ),
    (
        "no-prompt-sources",
        _set("spec.prompts.sources", []),
        "spec.prompts.sources: must have at least 1 item",
    ),
    (
        "gate-without-bound",
        _set("spec.evaluation.gates", [{"metric": "accuracy"}]),
        "spec.evaluation.gates[0]: gate 'accuracy' needs min or max",
    ),
    (
        "gate-unknown-metric",
        _set("spec.evaluation.gates", [{"metric": "vibes", "min": 1}]),
        "spec.evaluation.gates[0].metric: must be one of",
    ),
    (
        "modifier-out-of-range",
        _set("spec.prompts.expand", {"modifiers": [{"text": "Be brief.", "select": "0-40"}]}),
        "spec.prompts.expand.modifiers[0].select: index 16 is out of range "
        "(there are 16 base prompts, indices 0-15)",
    ),
    (
        "modifier-reversed-range",
        _set("spec.prompts.expand", {"modifiers": [{"text": "Be brief.", "select": "5-2"}]}),
        "spec.prompts.expand.modifiers[0].select: range '5-2' is reversed",
    ),
    (
        "samples-without-temperature",
        _both(_set("spec.prompts.expand", {"samplesPerPrompt": 3}), _set("spec.teacher.temperature", 0)),
        "spec.prompts.expand.samplesPerPrompt: 3 samples per prompt need sampling",
    ),
    (
        "openai-without-base-url",
        _set("spec.teacher.provider", "openai-compatible"),
        "spec.teacher.baseUrl: required when provider is 'openai-compatible'",
    ),
    ("bad-name", _set("metadata.name", "Sinc_Scatter"), "metadata.name: must be a DNS-1123 label"),
    ("long-name", _set("metadata.name", "a" * 50), "metadata.name: must be at most 40 characters"),
    ("wrong-kind", _set("kind", "TrainingRun"), "kind: must be one of"),
    ("wrong-api-version", _set("apiVersion", "distillery.dev/v1"), "apiVersion: must be one of"),
    (
        "bad-json-schema",
        _set("spec.task.output.jsonSchema", {"type": "objekt"}),
        "spec.task.output.jsonSchema: not a valid JSON Schema",
    ),
    (
        "memory-quantity",
        _set("spec.student.resources.memory", "lots"),
        "spec.student.resources.memory: must match",
    ),
    ("inline-not-a-list", _set("spec.prompts.sources.0.inline", "hi"), "spec.prompts.sources[0].inline:"),
    (
        "rule-unknown-field",
        _set("spec.task.output.rules.0.expression", "size(output.fragmnts) == 6"),
        "spec.task.output.rules[0].expression: invalid CEL (rule 'six-bands': at line 1, column 12 "
        "(near '.fragmnts) == 6'): undefined field 'fragmnts' (not a property of output))",
    ),
    (
        "rule-unknown-function",
        _set("spec.task.output.rules.1.expression", "output.fragments.count() == 6"),
        "spec.task.output.rules[1].expression: invalid CEL (rule 'band-order': at line 1, column 23 "
        "(near '() == 6'): undeclared reference to 'count' (an unknown function or variable))",
    ),
    (
        "rule-int-plus-string",
        _set("spec.task.output.rules.2.expression", "1 + 'a' == output.T"),
        "spec.task.output.rules[2].expression: invalid CEL (rule 'constraints-longest': at line 1, column 3 "
        "(near \"+ 'a' == output.T\"): found no matching overload for '_+_' applied to '(int, string)')",
    ),
]


@pytest.mark.parametrize("name,mutate,expected", BAD_MANIFESTS, ids=[case[0] for case in BAD_MANIFESTS])
def test_bad_manifest_names_the_field(name: str, mutate: Callable[[dict[str, Any]], None], expected: str):
    document = _base()
    mutate(document)
    report = validate_document(document, name)
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems


def test_there_are_at_least_twenty_distinct_bad_manifests():
    assert len({case[2].split(":")[0] for case in BAD_MANIFESTS}) >= 20


def test_several_errors_are_all_reported():
    document = _base()
    document["spec"]["student"]["lora"]["r"] = 0
    document["spec"]["teacher"]["temprature"] = 0.3
    document["spec"]["schedule"] = "nope"
    problems = validate_document(document, "x").problems
    assert any(problem.startswith("spec.student.lora.r") for problem in problems)
    assert any(problem.startswith("spec.teacher.temprature") for problem in problems)
    # semantic checks only run on a manifest that parsed; type errors come first
    document = _base()
    document["spec"]["schedule"] = "nope"
    document["spec"]["task"]["output"]["rules"][0]["expression"] = "((("
    problems = validate_document(document, "x").problems
    assert len(problems) == 2


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_example_validates_clean(example: Path):
    reports = validate_file(example)
    assert [report.problems for report in reports] == [[]]


def test_yaml_syntax_error_reports_the_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: distillery.dev/v1alpha1\nkind: DistillationRun\nspec:\n  task: [unclosed\n")
    (report,) = validate_file(path)
    assert "YAML syntax error at line" in report.problems[0]
    with pytest.raises(ManifestError, match="line"):
        load_manifest(path)


def test_cli_exit_codes_and_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert cli_main(["validate", *map(str, EXAMPLES)]) == 0
    assert "ok " in capsys.readouterr().out
    bad = copy.deepcopy(_base())
    bad["spec"]["student"]["lora"]["r"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True))
    assert cli_main(["validate", str(path)]) == 1
    assert "spec.student.lora.r: must be >= 1 (got 0)" in capsys.readouterr().err


def test_defaults_come_from_the_seeds():
    run = load_manifest(SINC)
    training = run.spec.student.training
    assert (run.spec.student.lora.r, run.spec.student.lora.alpha) == (16, 16)
    assert len(run.spec.student.lora.target_modules) == 7
    assert (training.epochs, training.learning_rate, training.batch_size) == (3, 2e-4, 2)
    assert (training.gradient_accumulation, training.scheduler, training.warmup_steps) == (4, "cosine", 5)


def test_rules_are_checked_against_the_users_json_schema(tmp_path: Path):
    document = _base()
    document["spec"]["task"]["output"]["rules"][0]["expression"] = "output.T.size() > 0 && output.extra == 1"
    problems = validate_document(document, "x").problems
    assert problems == [
        "spec.task.output.rules[0].expression: invalid CEL (rule 'six-bands': at line 1, column 30 "
        "(near '.extra == 1'): undefined field 'extra' (not a property of output))"
    ]
    # the same rule without a schema: output is dyn, any field may be there
    del document["spec"]["task"]["output"]["jsonSchema"]
    assert validate_document(document, "x").problems == []


def test_a_crd_document_gets_its_cel_validations_type_checked(tmp_path: Path):
    crd = yaml.safe_load((ROOT / "crds" / "distillationruns.distillery.dev.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "crd.yaml"
    path.write_text(yaml.safe_dump(crd), encoding="utf-8")
    assert [report.problems for report in validate_file(path)] == [[]]
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["x-kubernetes-validations"].append({"rule": "self.spec.teacher.modle != ''", "message": "m"})
    path.write_text(yaml.safe_dump(crd), encoding="utf-8")
    (report,) = validate_file(path)
    assert report.problems == [
        "version v1alpha1: <root>: rule \"self.spec.teacher.modle != ''\": at line 1, column 18 "
        "(near \".modle != ''\"): undefined field 'modle' (not a property of self.spec.teacher)"
    ]
