"""The generated CRD: committed file up to date, structural, bounded, CEL compiles, examples fit.

No API server runs here, so these tests hold the schema to the apiextensions rules themselves.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cel_expr_python import cel

from distillery.api import crd as crd_module
from distillery.api.crd import CRD_FILENAME, CrdGenerationError, build_crd, crd_schema, render_crd
from distillery.api.crd_cel import validation_problems
from distillery.contract.cel_check import new_env

ROOT = Path(__file__).resolve().parents[2]
# Run manifests; kustomization.yaml (examples/gitops) is kustomize's, not a manifest.
EXAMPLES = sorted(p for p in ROOT.glob("examples/*/*.yaml") if p.name != "kustomization.yaml")
# Only documents of a shape defined elsewhere may be opaque: the user's own JSON Schema, a
# core/v1 Affinity (passed to the pods unchanged; the API server validates it on the Job), and
# the JSON value a repair writes into an output (any JSON value; validate checks it against jsonSchema).
OPAQUE_ALLOWED = {
    "spec.task.output.repairs[].set.value",
    "spec.task.output.jsonSchema",
    "spec.scheduling.affinity",
    "spec.student.scheduling.affinity",
}


def _walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from _walk(child, f"{path}.{name}" if path else name)
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")


def test_committed_crd_is_up_to_date():
    committed = (ROOT / "crds" / CRD_FILENAME).read_text(encoding="utf-8")
    assert committed == render_crd(), "crds/ is stale: run `distillery crd -o crds/" + CRD_FILENAME + "`"


def test_crd_identity_status_subresource_and_columns():
    crd = build_crd()
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "distillationruns.distillery.dev"
    assert spec["names"]["shortNames"] == ["dr"]
    assert spec["names"]["categories"] == ["distillery"]
    version = spec["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = {column["name"]: column["jsonPath"] for column in version["additionalPrinterColumns"]}
    for name in ("Phase", "Examples", "Loss", "Pass rate", "Cost", "Age"):
        assert name in columns
    assert columns["Age"] == ".metadata.creationTimestamp"


@pytest.mark.parametrize("path,node", list(_walk(crd_schema())), ids=lambda value: str(value)[:60])
def test_every_node_is_structural_and_bounded(path: str, node: dict[str, Any]):
    if path == "metadata":
        return  # the API server owns metadata's schema
    if "type" not in node:
        # Kubernetes allows an untyped node only with preserve-unknown-fields: any JSON value.
        assert node.get("x-kubernetes-preserve-unknown-fields") and path in OPAQUE_ALLOWED, f"{path}: no type"
        return
    for forbidden in ("$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "title"):
        assert forbidden not in node, f"{path}: {forbidden} is not allowed in a structural schema"
    assert not ("properties" in node and "additionalProperties" in node), f"{path}: both properties kinds"
    if node.get("x-kubernetes-preserve-unknown-fields"):
        assert path in OPAQUE_ALLOWED, f"{path}: preserve-unknown-fields only on opaque user documents"
    if node["type"] == "string":
        assert "maxLength" in node or "enum" in node, f"{path}: unbounded string"
    if node["type"] == "array":
        assert "maxItems" in node, f"{path}: unbounded list"
    assert node["type"] != "null"
    if isinstance(node.get("exclusiveMinimum"), bool):
        assert "minimum" in node


def test_status_has_an_explicit_schema():
    status = crd_schema()["properties"]["status"]
    assert "x-kubernetes-preserve-unknown-fields" not in status
    assert {"phase", "conditions", "observedGeneration", "attempt", "summary"} <= set(status["properties"])


def _rules() -> list[tuple[str, str]]:
    return [
        (path, rule["rule"])
        for path, node in _walk(crd_schema())
        for rule in node.get("x-kubernetes-validations", [])
    ]


def test_every_cel_validation_type_checks_against_its_schema():
    assert len(_rules()) >= 6
    assert validation_problems(crd_schema()) == []


@pytest.mark.parametrize(
    "path,rule,problem",
    [
        (
            "spec.teacher",
            "self.provdier == 'anthropic'",
            "undefined field 'provdier' (not a property of self",
        ),
        ("spec.student", "1 + 'a' == 2", "found no matching overload for '_+_' applied to '(int, string)'"),
        ("spec.student", "self.method.frob()", "undeclared reference to 'frob' (an unknown function"),
        ("spec.evaluation.gates[]", "self.min + 'x' == 1", "applied to '(double, string)'"),
        (
            "",
            "self.metadata.namespace == 'x'",
            "undefined field 'namespace' (not a property of self.metadata)",
        ),
        ("spec.student", "self.method", "returns string, not a bool"),
        ("spec.student", "math.greatest(1, 2) == 2", "undeclared reference to 'math"),  # not in Kubernetes
    ],
)
def test_a_wrong_cel_validation_in_the_crd_is_caught(path: str, rule: str, problem: str):
    schema = copy.deepcopy(crd_schema())
    node = dict(_walk(schema))[path]
    node.setdefault("x-kubernetes-validations", []).append({"rule": rule, "message": "m"})
    problems = validation_problems(schema)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path or '<root>'}: rule {rule!r}: ")
    assert problem in problems[0]


def test_crd_generation_refuses_a_rule_that_does_not_type_check(monkeypatch: pytest.MonkeyPatch):
    schema = copy.deepcopy(crd_schema())
    schema["x-kubernetes-validations"].append({"rule": "self.spec.techer.model != ''", "message": "m"})
    monkeypatch.setattr(crd_module, "crd_schema", lambda: schema)
    with pytest.raises(CrdGenerationError, match=r"undefined field 'techer'"):
        build_crd()


def test_there_are_cel_validations_for_cross_field_rules():
    paths = {path for path, _ in _rules()}
    assert {"", "spec.teacher", "spec.student", "spec.evaluation.gates[]"} <= paths


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """What kubectl's strict field validation does: unknown fields are errors."""
    schema = copy.deepcopy(schema)
    for _, node in _walk(schema):
        if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def _evaluate_cel(schema: dict[str, Any], value: Any, path: str = "") -> Iterator[str]:
    env = new_env({"self": cel.Type.DYN})
    for rule in schema.get("x-kubernetes-validations", []):
        result = env.compile(rule["rule"]).eval(data={"self": value}).value()
        if result is not True:
            yield f"{path}: {rule['message']}"
    if isinstance(value, dict):
        for name, child in (schema.get("properties") or {}).items():
            if name in value:
                yield from _evaluate_cel(child, value[name], f"{path}.{name}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _evaluate_cel(schema["items"], item, f"{path}[{index}]")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_examples_fit_the_generated_crd_schema(example: Path):
    document = yaml.safe_load(example.read_text(encoding="utf-8"))
    schema = _strict(crd_schema())
    jsonschema.Draft4Validator(schema).validate(document)
    assert list(_evaluate_cel(crd_schema(), document)) == []


def test_crd_schema_rejects_what_the_models_reject():
    document = yaml.safe_load(EXAMPLES[0].read_text(encoding="utf-8"))
    document["spec"]["student"]["lora"]["temprature"] = 0.3
    with pytest.raises(jsonschema.ValidationError, match="temprature"):
        jsonschema.Draft4Validator(_strict(crd_schema())).validate(document)
    document = yaml.safe_load(EXAMPLES[0].read_text(encoding="utf-8"))
    document["spec"]["evaluation"]["gates"] = [{"metric": "accuracy"}]
    assert list(_evaluate_cel(crd_schema(), document)) == [
        ".spec.evaluation.gates[0]: a gate needs min or max"
    ]


def test_examples_exist_for_every_seed_task():
    assert {path.parent.name for path in EXAMPLES if path.name == "run.yaml"} >= {
        "sinc-scatter",
        "retrieval-routing",
        "code-style",
    }
