"""The fast "certainly valid" schema test never accepts what jsonschema rejects."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import jsonschema
import pytest

from distillery.contract.schema_fast import fast_validity
from distillery.contract.sinc import SINC_JSON_SCHEMA
from distillery.fakes.scripted import sinc_scatter, varied_prompts

ODD_VALUES: list[Any] = [None, True, False, 0, 1, 1.0, 5, 6, -1, 2.5, "", "x", "TASK", [], {}, [1], {"a": 1}]
EDGES = {
    "type": "object",
    "required": ["i"],
    "properties": {
        "i": {"type": "integer", "minimum": 0, "exclusiveMaximum": 10},
        "n": {"type": ["number", "null"], "maximum": 1.5},
        "e": {"enum": [1, "a", None, True]},
        "c": {"const": 0},
        "s": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 3},
        "l": {"type": "array", "items": {"type": "boolean"}, "minItems": 1},
        "m": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


def _mutations(value: Any, rng: random.Random) -> Any:
    """A copy with one random node replaced, removed, or a key added."""
    mutated = copy.deepcopy(value)
    node, path = mutated, []
    while isinstance(node, dict | list) and node and rng.random() < 0.7:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return rng.choice(ODD_VALUES)
    parent, key = path[-1]
    action = rng.random()
    if action < 0.6:
        parent[key] = rng.choice(ODD_VALUES)
    elif action < 0.8 and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "n", "x", "formula"])] = rng.choice(ODD_VALUES)
    else:
        parent.append(rng.choice(ODD_VALUES))
    return mutated


def _instances(base: list[Any], count: int) -> list[Any]:
    rng = random.Random(7)
    return base + [_mutations(rng.choice(base), rng) for _ in range(count)]


@pytest.mark.parametrize(
    "schema,base",
    [
        (SINC_JSON_SCHEMA, [json.loads(sinc_scatter(p)) for p in varied_prompts(20)]),
        (EDGES, [{"i": 3, "n": None, "e": "a", "c": 0, "s": "ab", "l": [True], "m": {"k": 1}}, {"i": 0}]),
    ],
    ids=["sinc", "edges"],
)
def test_fast_check_accepts_only_what_jsonschema_accepts(schema: dict[str, Any], base: list[Any]) -> None:
    certainly_valid = fast_validity(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert certainly_valid is not None
    accepted = 0
    for instance in _instances(base, 3000):
        if certainly_valid(instance):
            accepted += 1
            assert validator.is_valid(instance), instance
    assert all(certainly_valid(instance) for instance in base)
    assert accepted > len(base)


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/x", "$defs": {"x": {"type": "string"}}},
        {"type": "string", "format": "date"},
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "array", "items": [{"type": "string"}]},
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
    ],
)
def test_unsupported_keywords_leave_everything_to_jsonschema(schema: dict[str, Any]) -> None:
    assert fast_validity(schema) is None


def test_ambiguous_values_go_to_jsonschema() -> None:
    certainly_valid = fast_validity(EDGES)
    assert certainly_valid is not None
    assert not certainly_valid({"i": 1.0})  # an integer for Draft 2020-12, not for Draft 4
    assert not certainly_valid({"i": 1, "e": 1.0})
    assert not certainly_valid({"i": True})
