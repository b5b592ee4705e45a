"""JSON Schema validation (Draft 2020-12 unless the schema's `$schema` names another draft).

`SchemaCheck.errors` asks the compiled fast test (schema_fast) first: an instance it finds
certainly valid has no errors; every other instance gets jsonschema's full, ordered report.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from distillery.contract.schema_fast import Check, fast_validity
from distillery.errors import ContractError

MAX_MESSAGE_CHARS = 300
MAX_ERRORS = 50


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for `schema`; ContractError when the schema itself is invalid."""
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator_class.check_schema(schema)
    except SchemaError as error:
        where = "$" + "".join(_path_part(part) for part in error.absolute_path)
        raise ContractError(f"jsonSchema: invalid JSON Schema at {where}: {_short(error.message)}") from error
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


class SchemaCheck:
    """One compiled JSON Schema: `errors(value)` as `schema_errors` reports them, fast when valid."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.validator = compile_schema(schema)
        self._certainly_valid: Check | None = fast_validity(schema)

    def errors(self, value: Any) -> list[str]:
        if self._certainly_valid is not None and self._certainly_valid(value):
            return []
        return schema_errors(self.validator, value)


def schema_errors(validator: Validator, value: Any) -> list[str]:
    """Every violation as '$.path: message', in document order (capped at MAX_ERRORS)."""
    try:
        errors = sorted(validator.iter_errors(value), key=_document_order)
    except Unresolvable as error:
        raise ContractError(f"jsonSchema: cannot resolve reference: {error}") from error
    messages = [f"{error.json_path}: {_short(error.message)}" for error in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        messages.append(f"... and {len(errors) - MAX_ERRORS} more")
    return messages


def _document_order(error: ValidationError) -> tuple[Any, ...]:
    # Integers and strings mixed in one path must not be compared with each other.
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path)


def _path_part(part: Any) -> str:
    return f"[{part}]" if isinstance(part, int) else f".{part}"


def _short(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "..."
