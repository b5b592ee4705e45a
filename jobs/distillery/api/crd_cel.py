"""Type-checking a CRD's `x-kubernetes-validations` rules as the kube-apiserver does when it accepts a CRD.

The API server compiles each rule with `self` (and `oldSelf`) typed from the structural schema of
the node the rule sits on: an object's properties are fields (a misspelt field is an error), a map
is `map(string, T)`, a list `list(T)`, `x-kubernetes-preserve-unknown-fields` is dyn, `metadata`
offers only `name` and `generateName`. We do the same with cel-cpp's checker (see
distillery.contract.cel_types), with the standard library and the strings extension. What only a
current kube-apiserver checks: the CEL cost estimate (per rule and per CRD) and its extra
libraries (lists, regex, url, quantity, ip/cidr, format, authz); a rule using those is reported
here as an unknown function.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from distillery.contract.cel_check import CelCheckError, TypedScope, returns_bool, type_name
from distillery.contract.cel_types import SchemaTypes

RULES_KEY = "x-kubernetes-validations"
# What the API server lets CEL see of an object's metadata.
METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 253},
        "generateName": {"type": "string", "maxLength": 253},
    },
}


def _with_cel_metadata(schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or "metadata" not in properties:
        return schema
    return {**schema, "properties": {**properties, "metadata": METADATA_SCHEMA}}


def _nodes_with_rules(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(node, dict):
        return
    if node.get(RULES_KEY):
        yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from _nodes_with_rules(child, f"{path}.{name}" if path else name)
    if isinstance(node.get("items"), dict):
        yield from _nodes_with_rules(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _nodes_with_rules(node["additionalProperties"], f"{path}.*")


def validation_problems(open_api_schema: dict[str, Any]) -> list[str]:
    """Every rule of the schema that does not type-check, as '<path>: rule '...': <problem>'."""
    problems: list[str] = []
    for path, node in _nodes_with_rules(_with_cel_metadata(open_api_schema), ""):
        where = path or "<root>"

        def variables(types: SchemaTypes, node: dict[str, Any] = node, where: str = where) -> dict[str, Any]:
            kind = types.kind(node, "self" if where == "<root>" else f"self ({where})")
            return {"self": kind, "oldSelf": kind}

        scope = TypedScope(variables, structural=True)
        for rule in node[RULES_KEY]:
            problems.extend(f"{where}: {problem}" for problem in _rule_problems(scope, rule))
    return problems


def _rule_problems(scope: TypedScope, rule: Any) -> Iterator[str]:
    if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str):
        yield f"{RULES_KEY} entry {rule!r} has no rule"
        return
    text = rule["rule"]
    try:
        result = scope.check(text)
    except CelCheckError as error:
        yield f"rule {text!r}: {'; '.join(error.problems)}"
        return
    if not returns_bool(result):
        yield f"rule {text!r}: returns {type_name(result)}, not a bool"
    expression = rule.get("messageExpression")
    if isinstance(expression, str):
        try:
            message_type = scope.check(expression)
        except CelCheckError as error:
            yield f"messageExpression {expression!r}: {'; '.join(error.problems)}"
            return
        if type_name(message_type) not in ("string", "dyn"):
            yield f"messageExpression {expression!r}: returns {type_name(message_type)}, not a string"


def crd_validation_problems(crd: dict[str, Any]) -> list[str]:
    """validation_problems for every version of a CustomResourceDefinition document."""
    problems = []
    for version in (crd.get("spec") or {}).get("versions") or []:
        schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema")
        if isinstance(schema, dict):
            name = version.get("name", "?")
            problems.extend(f"version {name}: {problem}" for problem in validation_problems(schema))
    return problems
