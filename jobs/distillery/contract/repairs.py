"""Declarative repairs (`spec.task.output.repairs`): small deterministic fixes of a JSON output.

Repairs run in order. Each one's CEL condition `when` sees `output` (the parsed JSON, as repaired
by the repairs before it) and `input` (the prompt), type-checked like the contract rules. When it
is true, `set` writes a value at a dotted path (creating missing parent objects) and `remove`
deletes a key. A repair "applies" only when it changed the output. An output that does not parse
as JSON is left alone, and so is one for which a condition fails at run time (a missing key, a
wrong type): a repair never guesses.

An output no repair changed is returned byte for byte; a repaired one is re-serialised as compact
JSON (`ensure_ascii=False`): what a serving layer applying the same repairs would return.

Repairs apply to model outputs at evaluation and serving, never to the teacher's data in curation.

    repaired = apply_repairs(spec.task.output, completion, prompt=prompt)
    repaired.text, repaired.applied   # ('{"formula": ...}', ('add-formula',))
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from distillery.api.task import OutputRepair, OutputSpec
from distillery.contract.cel_rules import RuleEnvironment
from distillery.contract.parsing import parse_json

_MISSING = object()


@dataclass(frozen=True)
class Repaired:
    """One output after the repairs: its text and the names of the repairs that changed it."""

    text: str
    applied: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.applied)


class Repairs:
    """An OutputSpec's repairs, compiled once (ContractError naming a repair whose `when` is bad)."""

    def __init__(self, output_spec: OutputSpec, environment: RuleEnvironment | None = None) -> None:
        self._environment = environment or RuleEnvironment(output_spec.format, output_spec.json_schema)
        self._repairs = [
            (repair, self._environment.compile(repair.name, repair.when, kind="repair"))
            for repair in output_spec.repairs
        ]

    @property
    def names(self) -> list[str]:
        return [repair.name for repair, _ in self._repairs]

    def __bool__(self) -> bool:
        return bool(self._repairs)

    def apply(self, raw: str, prompt: str | None = None) -> Repaired:
        """The output after every repair whose condition holds; `raw` itself when none changed it."""
        if not self._repairs:
            return Repaired(raw)
        parsed = parse_json(raw)
        if parsed.kind == "failed":
            return Repaired(raw)
        value = copy.deepcopy(parsed.value)
        applied = []
        for repair, program in self._repairs:
            if _holds(program, self._environment, value, prompt) and _act(value, repair):
                applied.append(repair.name)
        if not applied:
            return Repaired(raw)
        return Repaired(json.dumps(value, ensure_ascii=False), tuple(applied))


def apply_repairs(output_spec: OutputSpec, raw: str, *, prompt: str | None = None) -> Repaired:
    """The pure function: one output repaired as `output_spec.repairs` say (compiles each call;
    build `Repairs(output_spec)` once to repair many outputs)."""
    return Repairs(output_spec).apply(raw, prompt)


def _holds(program: Any, environment: RuleEnvironment, value: Any, prompt: str | None) -> bool:
    try:
        activation = environment.activation(value, prompt)
    except (ValueError, TypeError):  # a value CEL cannot hold (an integer beyond 64 bits)
        return False
    return program.eval(activation).value() is True


def _act(value: Any, repair: OutputRepair) -> bool:
    """Apply the repair's action in place; whether it changed `value`."""
    if repair.set is not None:
        return _set(value, repair.set.path.split("."), repair.set.value)
    assert repair.remove is not None
    return _remove(value, repair.remove.path.split("."))


def _set(value: Any, keys: list[str], new: Any) -> bool:
    node = value
    for key in keys[:-1]:
        if not isinstance(node, dict):
            return False
        node = node.setdefault(key, {})
    if not isinstance(node, dict) or node.get(keys[-1], _MISSING) == new:
        return False
    node[keys[-1]] = copy.deepcopy(new)
    return True


def _remove(value: Any, keys: list[str]) -> bool:
    node = value
    for key in keys[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or keys[-1] not in node:
        return False
    del node[keys[-1]]
    return True
