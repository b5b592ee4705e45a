"""Filling a claimed registry version: adapter, tokenizer, optional merged weights, then metrics."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from distillery import layout
from distillery.errors import ArtifactNotFound, PhaseInputMissing
from distillery.publish.challenger import Challenger
from distillery.publish.registry import METRICS_FILE, put_once
from distillery.store import ArtifactStore

log = logging.getLogger(__name__)

ADAPTER = "adapter/"
TOKENIZER = "tokenizer/"
MERGED = "merged/"
PREDICTIONS = "predictions.jsonl"
SERVING = "serving.json"
CARD = "README.md"
# Files in a saved adapter directory that are the adapter itself (the rest is the tokenizer).
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin", "README.md")


def _upload_dir_once(store: ArtifactStore, prefix: str, local: Path, names: list[Path]) -> list[str]:
    keys = []
    for path in names:
        key = prefix + path.relative_to(local).as_posix()
        if not store.exists(key):
            store.upload_file(key, path)
        keys.append(key)
    return keys


def publish_weights(
    challenger: Challenger, target: ArtifactStore, *, merge: bool, base_path: str | None
) -> list[str]:
    """Copy adapter/ and tokenizer/ (and merged/ when asked) into the version; returns the keys."""
    with tempfile.TemporaryDirectory(prefix="distillery-publish-") as scratch:
        adapter_dir = Path(scratch) / "adapter"
        try:
            challenger.train.download_dir(challenger.adapter_key, adapter_dir)
        except ArtifactNotFound as exc:
            raise PhaseInputMissing(f"publish needs the adapter: {exc}") from exc
        files = sorted(p for p in adapter_dir.rglob("*") if p.is_file())
        tokenizer = [p for p in files if p.name not in ADAPTER_FILES]
        keys = _upload_dir_once(target, ADAPTER, adapter_dir, files)
        keys += _upload_dir_once(target, TOKENIZER, adapter_dir, tokenizer)
        if merge:
            keys += _merged(challenger, target, adapter_dir, Path(scratch) / "merged", base_path)
    log.info("published %d files to %s", len(keys), target.root_uri)
    return keys


def _merged(
    challenger: Challenger, target: ArtifactStore, adapter_dir: Path, merged_dir: Path, base_path: str | None
) -> list[str]:
    """Training's merged model when it made one, else base + adapter merged here (safetensors)."""
    if challenger.train.list(layout.TRAIN_MERGED):
        challenger.train.download_dir(layout.TRAIN_MERGED, merged_dir)
    else:
        from distillery.train.outputs import merge_adapter

        if base_path is None:
            raise PhaseInputMissing("publish.mergeWeights needs the base model to merge into")
        merge_adapter(base_path, adapter_dir, merged_dir)
    files = sorted(p for p in merged_dir.rglob("*") if p.is_file())
    return _upload_dir_once(target, MERGED, merged_dir, files)


def write_text_once(target: ArtifactStore, key: str, text: str) -> str:
    put_once(target, key, text.encode("utf-8"))
    return key


def write_metrics(target: ArtifactStore, metrics: dict[str, Any]) -> str:
    """metrics.json, last: its presence marks the version complete."""
    put_once(target, METRICS_FILE, (json.dumps(metrics, indent=2, default=str) + "\n").encode())
    return METRICS_FILE
