"""A fast, compiled "certainly valid" test for common JSON Schemas, in front of `jsonschema`.

`jsonschema` walks its validators for every instance (~0.4 ms for the sinc schema); most
completions are valid, and for them that walk only confirms "no errors". `fast_validity(schema)`
compiles the schema into nested closures that answer True only when the instance is certainly
valid; False means "ask jsonschema", which then reports the errors exactly as before. It is None
when the schema uses anything outside the supported subset (`$ref`, `format`, combinators,
`patternProperties`, tuple `items`...), and then every instance goes to jsonschema.

Supported: type, enum, const, properties, required, additionalProperties (bool or schema), items
(one schema), minItems/maxItems, minLength/maxLength, pattern, minimum/maximum and the numeric
exclusiveMinimum/exclusiveMaximum, boolean subschemas, and annotations (title, description...).
Where a keyword's meaning differs across drafts or types are ambiguous (1.0 as an "integer", True
as a number), the closure answers False and jsonschema decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly"}
)
ANNOTATIONS |= frozenset({"writeOnly", "$defs", "definitions"})
_SCALAR_TYPES = (str, int, float, bool, type(None))


class Unsupported(Exception):
    """The schema uses a keyword outside the fast subset."""


def fast_validity(schema: Any) -> Check | None:
    """A closure answering True only for instances `schema` certainly accepts; None if unsupported."""
    try:
        return _compile(schema)
    except Unsupported:
        return None


# Exact Python types of decoded JSON: a subclass (bool for int) is left to jsonschema.
_TYPE_CHECKS: dict[str, Check] = {
    "string": lambda value: type(value) is str,
    "integer": lambda value: type(value) is int,
    "number": lambda value: type(value) is int or type(value) is float,
    "boolean": lambda value: type(value) is bool,
    "object": lambda value: type(value) is dict,
    "array": lambda value: type(value) is list,
    "null": lambda value: value is None,
}


def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for one in checks:  # noqa: SIM110 (a plain loop: no generator per call on the hot path)
            if not one(value):
                return False
        return True

    return check


def _same(value: Any, member: Any) -> bool:
    """Equal in jsonschema's sense, answered only for scalars of the very same Python type."""
    return isinstance(value, _SCALAR_TYPES) and type(value) is type(member) and value == member


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compile(schema: Any) -> Check:
    if schema is True or schema == {}:
        return lambda value: True
    if schema is False:
        return lambda value: False
    if not isinstance(schema, dict):
        raise Unsupported("schema")
    checks: list[Check] = []
    for keyword, argument in schema.items():
        if keyword in ANNOTATIONS or keyword in ("additionalProperties", "required"):
            continue
        checks.append(_keyword(keyword, argument, schema))
    if "required" in schema or "additionalProperties" in schema:
        checks.append(_object_keys(schema))
    return _all_of(checks)


def _keyword(keyword: str, argument: Any, schema: dict[str, Any]) -> Check:
    if keyword == "type":
        names = argument if isinstance(argument, list) else [argument]
        if not names or not all(isinstance(name, str) and name in _TYPE_CHECKS for name in names):
            raise Unsupported("type")
        tests = [_TYPE_CHECKS[name] for name in names]
        return tests[0] if len(tests) == 1 else lambda value: any(test(value) for test in tests)
    if keyword in ("enum", "const"):
        members = argument if keyword == "enum" else [argument]
        if not isinstance(members, list):
            raise Unsupported(keyword)
        strings = frozenset(member for member in members if isinstance(member, str))
        if len(strings) == len(members):
            return lambda value: type(value) is str and value in strings
        return lambda value: (
            (value in strings) if type(value) is str else any(_same(value, m) for m in members)
        )
    if keyword == "properties":
        if not isinstance(argument, dict):
            raise Unsupported(keyword)
        children = tuple((name, _compile(child)) for name, child in argument.items())

        def properties(value: Any) -> bool:
            if type(value) is not dict:
                return True
            for name, child in children:  # noqa: SIM110 (hot path, see _all_of)
                if name in value and not child(value[name]):
                    return False
            return True

        return properties
    if keyword == "items":
        if not isinstance(argument, dict | bool):
            raise Unsupported("tuple items")
        item = _compile(argument)

        def items(value: Any) -> bool:
            if type(value) is not list:
                return True
            for element in value:  # noqa: SIM110 (hot path, see _all_of)
                if not item(element):
                    return False
            return True

        return items
    return _bound(keyword, argument)


def _bound(keyword: str, argument: Any) -> Check:
    if keyword == "pattern" and isinstance(argument, str):
        pattern = re.compile(argument)
        return lambda value: not isinstance(value, str) or pattern.search(value) is not None
    if keyword in ("minLength", "maxLength", "minItems", "maxItems") and type(argument) is int:
        kind = str if keyword.endswith("Length") else list
        if keyword.startswith("min"):
            return lambda value: not isinstance(value, kind) or len(value) >= argument
        return lambda value: not isinstance(value, kind) or len(value) <= argument
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and _is_number(argument):
        compare: dict[str, Callable[[Any], bool]] = {
            "minimum": lambda number: number >= argument,
            "maximum": lambda number: number <= argument,
            "exclusiveMinimum": lambda number: number > argument,
            "exclusiveMaximum": lambda number: number < argument,
        }
        test = compare[keyword]
        return lambda value: not _is_number(value) or test(value)
    raise Unsupported(keyword)


def _object_keys(schema: dict[str, Any]) -> Check:
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        raise Unsupported("required")
    additional = schema.get("additionalProperties", True)
    properties = schema.get("properties", {})
    known = frozenset(properties) if isinstance(properties, dict) else frozenset()
    extra = _compile(additional)

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        if not all(name in value for name in required):
            return False
        return additional is True or all(extra(value[name]) for name in value if name not in known)

    return check
