"""Prompts: where they come from (inline, mounted ConfigMap, s3:// or file:// JSONL, a dataset file)
and how base prompts become the prompts sent to the teacher (modifiers, samples, de-duplication).

Every prompt gets a stable id, a hash of its text and its position, used by every phase downstream
(collect records, curated examples, evaluation predictions).

    prompts = resolve_prompts(spec.prompts, store_options={"endpoint_url": spec.storage.endpoint})
    held_out = load_source(spec.evaluation.held_out)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from distillery.api.spec import DatasetSource, Modifier, PromptSource, PromptsSpec
from distillery.errors import ArtifactNotFound, PromptSourceError, StoreError

log = logging.getLogger(__name__)

# Where the job's pod mounts ConfigMaps: <root>/<configmap name>/<key>.
CONFIGMAP_ROOT_ENV = "DISTILLERY_CONFIGMAP_ROOT"
DEFAULT_CONFIGMAP_ROOT = "/etc/distillery/configmaps"
MODIFIER_SEPARATOR = "\n\n"
ID_LENGTH = 16


@dataclass(frozen=True)
class Prompt:
    """One prompt as sent to a model; `expected` is an expected output or label (any JSON value)."""

    id: str
    text: str
    category: str | None = None
    expected: Any = None
    index: int = 0
    sample: int = 0

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Prompt:
        return cls(
            id=str(record["id"]),
            text=str(record["text"]),
            category=record.get("category"),
            expected=record.get("expected"),
            index=int(record.get("index", 0)),
            sample=int(record.get("sample", 0)),
        )


def prompt_id(text: str, position: int, sample: int = 0) -> str:
    """A stable id: the same text at the same position always gets the same id."""
    digest = hashlib.sha256(json.dumps([position, sample, text], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()[:ID_LENGTH]


def _numbered(rows: Iterable[tuple[str, str | None, Any]]) -> list[Prompt]:
    return [
        Prompt(id=prompt_id(text, index), text=text, category=category, expected=expected, index=index)
        for index, (text, category, expected) in enumerate(rows)
    ]


# --- sources ----------------------------------------------------------------------------------


def load_source(
    source: PromptSource,
    *,
    store_options: Mapping[str, Any] | None = None,
    base_dir: str | Path | None = None,
) -> list[Prompt]:
    """The prompts of one source, in source order, ids from their position in that source.

    `store_options` (endpoint_url, region) are passed to `open_store` for s3:// and file:// URIs;
    `base_dir` anchors relative dataset paths (default: the working directory).
    """
    if source.inline is not None:
        rows: list[tuple[str, str | None, Any]] = [(text, None, None) for text in source.inline]
        where = "inline"
    elif source.config_map is not None:
        path = configmap_path(source.config_map.name, source.config_map.key)
        rows, where = _read_text_file(path), f"configMap {source.config_map.name}/{source.config_map.key}"
    elif source.uri is not None:
        rows, where = _read_uri(source.uri, store_options or {}), source.uri
    else:
        assert source.dataset is not None
        rows, where = _read_dataset(source.dataset, base_dir), source.dataset.path
    _reject_empty(rows, where)
    return _numbered(rows)


def configmap_path(name: str, key: str) -> Path:
    root = Path(os.environ.get(CONFIGMAP_ROOT_ENV) or DEFAULT_CONFIGMAP_ROOT)
    return root / name / key


def _reject_empty(rows: list[tuple[str, str | None, Any]], where: str) -> None:
    for position, (text, _, _) in enumerate(rows):
        if not text.strip():
            raise PromptSourceError(
                f"{where}: prompt {position} is empty (the teacher API rejects empty messages)"
            )


def _row_from_json(record: Any, where: str) -> tuple[str, str | None, Any]:
    if not isinstance(record, dict):
        raise PromptSourceError(f"{where}: expected a JSON object with a 'prompt' field")
    text = record.get("prompt")
    if not isinstance(text, str):
        raise PromptSourceError(f"{where}: 'prompt' must be a string (got {type(text).__name__})")
    category = record.get("category")
    expected = record.get("expected", record.get("expected_label"))
    return text, (str(category) if category is not None else None), expected


def _parse_jsonl_lines(lines: Iterable[str], where: str) -> list[tuple[str, str | None, Any]]:
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PromptSourceError(f"{where}, line {number}: not valid JSON ({exc.msg})") from None
        rows.append(_row_from_json(record, f"{where}, line {number}"))
    return rows


def _read_text_file(path: Path) -> list[tuple[str, str | None, Any]]:
    """A mounted file: JSONL when its first non-blank line is a JSON object, else one prompt per line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PromptSourceError(f"cannot read prompts file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PromptSourceError(
            f"prompts file {path} is not UTF-8 text "
            f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("{"):
        return _parse_jsonl_lines(lines, str(path))
    return [(line, None, None) for line in lines if line.strip()]


def _split_uri(uri: str) -> tuple[str, str]:
    parent, _, key = uri.rstrip("/").rpartition("/")
    if not key or parent.endswith(":/") or parent.endswith(":"):
        raise PromptSourceError(f"{uri}: expected s3://bucket/path/file.jsonl or file://path/file.jsonl")
    return parent, key


def _read_uri(uri: str, store_options: Mapping[str, Any]) -> list[tuple[str, str | None, Any]]:
    from distillery.store import open_store

    parent, key = _split_uri(uri)
    try:
        store = open_store(parent, **store_options)
        return _parse_jsonl_lines(store.read_text(key).splitlines(), uri)
    except ArtifactNotFound:
        raise PromptSourceError(f"{uri}: no such object") from None
    except StoreError as exc:
        raise PromptSourceError(f"{uri}: {exc}") from None


DATASET_LOADERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}


def _read_dataset(source: DatasetSource, base_dir: str | Path | None) -> list[tuple[str, str | None, Any]]:
    import datasets

    datasets.disable_progress_bars()
    path = Path(source.path)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    kind = DATASET_LOADERS.get(path.suffix.lower())
    if kind is None:
        raise PromptSourceError(
            f"dataset.path {source.path}: unsupported extension "
            f"(expected one of {', '.join(DATASET_LOADERS)})"
        )
    if not path.is_file():
        raise PromptSourceError(f"dataset.path {source.path}: no such file ({path})")
    with tempfile.TemporaryDirectory(prefix="distillery-ds-") as cache_dir:
        loader = {"json": datasets.Dataset.from_json, "csv": datasets.Dataset.from_csv}.get(
            kind, datasets.Dataset.from_parquet
        )
        table = loader(str(path), cache_dir=cache_dir, keep_in_memory=True)
        return list(_dataset_rows(table, source))


def _dataset_rows(table: Any, source: DatasetSource) -> Iterator[tuple[str, str | None, Any]]:
    columns = set(table.column_names)
    for wanted in (source.prompt_column, source.category_column, source.expected_column):
        if wanted is not None and wanted not in columns:
            raise PromptSourceError(
                f"dataset.path {source.path}: no column {wanted!r} (columns: {', '.join(sorted(columns))})"
            )
    limit = source.limit or len(table)
    for row in table.select(range(min(limit, len(table)))):
        category = row[source.category_column] if source.category_column else None
        expected = row[source.expected_column] if source.expected_column else None
        yield str(row[source.prompt_column]), (str(category) if category is not None else None), expected


# --- expansion --------------------------------------------------------------------------------


def parse_select(select: str, count: int, *, where: str) -> list[int]:
    """Indices named by a modifier's select ("all", "0-15", "0-7, 20-23"), in ascending order."""
    if select.strip() == "all":
        return list(range(count))
    chosen: set[int] = set()
    for part in re.split(r"\s*,\s*", select.strip()):
        low_text, _, high_text = part.partition("-")
        low, high = int(low_text), int(high_text or low_text)
        if low > high:
            raise PromptSourceError(f"{where}: range {part!r} is reversed")
        if high >= count:
            raise PromptSourceError(
                f"{where}: index {max(low, count)} is out of range "
                f"(there are {count} base prompts, indices 0-{count - 1})"
            )
        chosen.update(range(low, high + 1))
    return sorted(chosen)


def expand(base: list[Prompt], modifiers: list[Modifier]) -> list[Prompt]:
    """Seed 003's expansion: the base prompts, then each modifier appended to its selection."""
    expanded = list(base)
    for number, modifier in enumerate(modifiers):
        where = f"prompts.expand.modifiers[{number}].select"
        for index in parse_select(modifier.select, len(base), where=where):
            prompt = base[index]
            expanded.append(
                replace(prompt, text=f"{prompt.text.rstrip()}{MODIFIER_SEPARATOR}{modifier.text}")
            )
    return expanded


def _dedupe_key(text: str) -> str:
    return " ".join(text.split())


def dedupe(prompts: list[Prompt]) -> list[Prompt]:
    """The first prompt of each text (whitespace-normalised), in order."""
    seen: set[str] = set()
    kept = []
    for prompt in prompts:
        key = _dedupe_key(prompt.text)
        if key not in seen:
            seen.add(key)
            kept.append(prompt)
    return kept


def renumber(prompts: Iterable[Prompt], samples: int = 1) -> list[Prompt]:
    """Final positions and ids; each prompt repeated `samples` times (one id per sample)."""
    numbered = []
    for prompt in prompts:
        for sample in range(samples):
            index = len(numbered)
            numbered.append(
                replace(prompt, id=prompt_id(prompt.text, index, sample), index=index, sample=sample)
            )
    return numbered


def resolve_prompts(
    spec: PromptsSpec,
    *,
    store_options: Mapping[str, Any] | None = None,
    base_dir: str | Path | None = None,
) -> list[Prompt]:
    """Every prompt the teacher is asked: sources in order, expanded, de-duplicated, sampled."""
    base: list[Prompt] = []
    for source in spec.sources:
        base.extend(load_source(source, store_options=store_options, base_dir=base_dir))
    expanded = expand(base, spec.expand.modifiers)
    unique = dedupe(expanded) if spec.expand.dedupe else expanded
    if len(unique) < len(expanded):
        log.info("prompts: dropped %d repeated prompts", len(expanded) - len(unique))
    prompts = renumber(unique, spec.expand.samples_per_prompt)
    log.info(
        "prompts: %d base, %d after expansion, %d to collect (%d per prompt)",
        len(base),
        len(expanded),
        len(prompts),
        spec.expand.samples_per_prompt,
    )
    return prompts
