"""Loading manifests: YAML -> DistillationRun, with every problem named by its field path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from distillery.api.resource import DistillationRun
from distillery.errors import ManifestError


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts)


# Patterns whose regex means little to a reader get a sentence instead.
PATTERN_HINTS = {
    r"^(s3|file)://.+": "must be an s3:// or file:// URI",
}
_FIELD_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*): (.+)$", re.S)


def _value_error(path: str, message: str) -> str:
    """Model validators say 'field: problem'; attach the field to the model's path."""
    match = _FIELD_PREFIX.match(message)
    if match:
        field, problem = match.groups()
        path = f"{path}.{field}" if path != "<root>" else field
        return f"{path}: {problem}"
    return f"{path}: {message}"


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    path = _field_path(loc) or "<root>"
    kind = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"{path}: unknown field (not part of the DistillationRun API)"
    if kind == "missing":
        return f"{path}: required field is missing"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[
            kind
        ]
        bound = next(iter(ctx.values()), "?")
        return f"{path}: must be {op} {bound} (got {got!r})"
    if kind == "literal_error":
        return f"{path}: must be one of {ctx.get('expected', '?')} (got {got!r})"
    if kind == "value_error":
        return _value_error(path, str(ctx.get("error", error["msg"])))
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"{path}: {PATTERN_HINTS.get(pattern, f'must match {pattern}')} (got {got!r})"
    if kind in ("too_short", "too_long"):
        return f"{path}: {error['msg'].replace('List should have', 'must have')} (got {len(got or [])})"
    return (
        f"{path}: {error['msg']} (got {got!r})"
        if got is not None and not isinstance(got, dict)
        else (f"{path}: {error['msg']}")
    )


def parse_manifest(document: Any, source: str = "<manifest>") -> DistillationRun:
    """Validate one parsed YAML document; raises ManifestError listing every problem."""
    if not isinstance(document, dict):
        raise ManifestError(source, [f"<root>: expected a mapping (got {type(document).__name__})"])
    try:
        return DistillationRun.model_validate(document)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]  # type: ignore[arg-type]
        raise ManifestError(source, problems) from None


MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # a Kubernetes object is at most ~1.5 MiB; this is generous


def read_user_text(path: Path, *, limit: int = MAX_MANIFEST_BYTES) -> str:
    """A file a user handed us, as UTF-8 text; every way it can be unusable is a ManifestError."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise ManifestError(str(path), [f"file is {size} bytes; a manifest may be at most {limit} bytes"])
        data = path.read_bytes()
    except OSError as exc:
        raise ManifestError(str(path), [f"cannot read file: {exc.strerror or exc}"]) from None
    if not data.strip():
        raise ManifestError(str(path), ["file is empty (expected a DistillationRun manifest)"])
    if b"\x00" in data:
        raise ManifestError(str(path), ["binary file (contains NUL bytes), not a YAML manifest"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ManifestError(
            str(path),
            [f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} (save the file as UTF-8)"],
        ) from None


def read_documents(path: Path) -> list[Any]:
    """All YAML documents of a file; a syntax error names the line."""
    text = read_user_text(path)
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(str(path), [f"YAML syntax error at {where}: {problem}"]) from None


def load_manifest(path: str | Path) -> DistillationRun:
    """The single DistillationRun in a file."""
    path = Path(path)
    documents = read_documents(path)
    runs = [doc for doc in documents if isinstance(doc, dict) and doc.get("kind") == "DistillationRun"]
    if len(runs) != 1:
        raise ManifestError(str(path), [f"expected exactly one DistillationRun document (found {len(runs)})"])
    return parse_manifest(runs[0], str(path))
