"""The seed-001 sinc JSON contract (invariants of the sinc-LLM scatter task), as an OutputSpec.

examples/sinc-scatter/run.yaml carries the same schema and rules; tests and the scripted teacher use
this module to hold their sinc outputs to the contract.
"""

from __future__ import annotations

from typing import Any

from distillery.api.spec import OutputRule, OutputSpec

SINC_FORMULA = "x(t) = Σ x(nT) · sinc((t − nT) / T)"
SINC_T = "specification-axis"
SINC_BANDS = ["PERSONA", "CONTEXT", "DATA", "CONSTRAINTS", "FORMAT", "TASK"]

SINC_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    # `formula` is checked by the has-formula rule, so a missing formula (the seed's one failure)
    # is reported as exactly that.
    "required": ["T", "fragments"],
    "additionalProperties": False,
    "properties": {
        "formula": {"type": "string"},
        "T": {"const": SINC_T},
        "fragments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["n", "t", "x"],
                "additionalProperties": False,
                "properties": {
                    "n": {"type": "integer", "minimum": 0, "maximum": 5},
                    "t": {"enum": SINC_BANDS},
                    "x": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}

_BAND_LIST = "[" + ", ".join(f"'{band}'" for band in SINC_BANDS) + "]"

SINC_RULES: list[dict[str, str]] = [
    {
        "name": "six-bands",
        "expression": "size(output.fragments) == 6",
        "message": "exactly 6 bands (fragments), no more, no fewer",
    },
    {
        "name": "band-order",
        "expression": (
            "output.fragments.map(f, f.n) == [0, 1, 2, 3, 4, 5] && "
            f"output.fragments.map(f, f.t) == {_BAND_LIST}"
        ),
        "message": "bands n=0..5 in the order PERSONA, CONTEXT, DATA, CONSTRAINTS, FORMAT, TASK",
    },
    {
        "name": "constraints-longest",
        "expression": (
            "output.fragments.all(f, f.t == 'CONSTRAINTS' || size(f.x) < size(output.fragments[3].x))"
        ),
        "message": "CONSTRAINTS (fragments[3].x) must be longer than every other band's x",
    },
    {
        "name": "task-one-sentence",
        "expression": (
            "output.fragments.exists(f, f.t == 'TASK' && f.x.matches(r'^\\s*\\S[^\\n]*\\s*$') && "
            "!f.x.matches(r'[.!?][^\\w\\s]*\\s+\\S'))"
        ),
        "message": "TASK must be exactly one sentence (one line, no sentence end followed by more text)",
    },
    {
        "name": "has-formula",
        "expression": f"has(output.formula) && output.formula == '{SINC_FORMULA}'",
        "message": f"formula must be present and equal to '{SINC_FORMULA}'",
    },
]


def sinc_output_spec() -> OutputSpec:
    """The seed-001 contract: format json, the sinc JSON Schema and the five invariant rules."""
    return OutputSpec(
        format="json",
        json_schema=SINC_JSON_SCHEMA,
        rules=[OutputRule(**rule) for rule in SINC_RULES],
    )
