"""The artifact store interface, and the helpers every backend shares (text, JSON, JSONL, directories).

A backend implements a handful of byte-level primitives (open_read, open_write, exists, list, delete,
upload_file, download_file, child, root_uri); everything else is built on them here, so that the
s3:// and file:// stores behave the same way.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from distillery.errors import ArtifactNotFound, StoreError
from distillery.store.keys import as_directory, clean_key, clean_prefix, join_prefix

log = logging.getLogger("distillery.store")

READ_CHUNK = 1 << 16
PROGRESS_EVERY_S = 10.0


@dataclass(frozen=True)
class Versioned:
    """An object's bytes and its tag (S3: the ETag; file://: a SHA-256 of the content)."""

    data: bytes
    tag: str


class ArtifactStore(ABC):
    """Objects under one root URI, addressed by '/'-separated keys relative to that root.

    Writes are atomic: a reader sees the old object or the new one, never a part of it.
    A missing key raises ArtifactNotFound; any other failure raises StoreError.
    """

    # ---- what a backend implements -------------------------------------------------------------

    @property
    @abstractmethod
    def root_uri(self) -> str:
        """The URI of the store's root, without a trailing '/'."""

    @abstractmethod
    def child(self, prefix: str) -> ArtifactStore:
        """A store rooted at `prefix` under this one (sharing its connection)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored at `key`."""

    @abstractmethod
    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A binary stream of the object at `key` (read it in chunks for large objects)."""

    @abstractmethod
    def open_write(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A binary stream that becomes the object at `key` when the block exits cleanly.

        If the block raises, nothing is stored and the old object (if any) is left as it was.
        """

    @abstractmethod
    def list(self, prefix: str = "", *, page_size: int | None = None) -> list[str]:
        """Sorted keys (relative to this store's root) that start with `prefix`.

        `page_size` bounds how many keys one listing request returns (backends that list in one go
        ignore it).
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object at `key`; deleting a missing key is not an error."""

    @abstractmethod
    def upload_file(self, key: str, path: str | Path) -> None:
        """Store the local file `path` at `key` (large files are streamed, never loaded whole)."""

    @abstractmethod
    def download_file(self, key: str, path: str | Path) -> None:
        """Write the object at `key` to the local file `path`, creating its parent directories."""

    @abstractmethod
    def read_versioned(self, key: str) -> Versioned:
        """The object at `key` with the tag a conditional write compares against."""

    @abstractmethod
    def write_conditional(self, key: str, data: bytes, *, if_match: str | None = None) -> str:
        """Store `data` at `key` only if it is unchanged since it was read; returns the new tag.

        `if_match=None` creates the object only if it does not exist (S3 `If-None-Match: *`);
        otherwise the object must still carry that tag (S3 `If-Match`). Raises PreconditionFailed
        when the condition does not hold: of two writers racing from the same read, one loses.
        """

    # ---- shared helpers ------------------------------------------------------------------------

    def uri_for(self, key: str = "") -> str:
        """The full URI of `key` ('' gives the root URI)."""
        return join_prefix(self.root_uri, clean_prefix(key))

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as stream:
            return stream.read()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open_write(key) as stream:
            stream.write(data)

    def read_text(self, key: str, encoding: str = "utf-8") -> str:
        data = self.read_bytes(key)
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise StoreError(f"{self.uri_for(key)} is not valid {encoding} text: {exc}") from exc

    def write_text(self, key: str, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(key, text.encode(encoding))

    def read_json(self, key: str) -> Any:
        text = self.read_text(key)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self.uri_for(key)} is not valid JSON: {exc}") from exc

    def write_json(self, key: str, value: Any, *, indent: int | None = 2) -> None:
        try:
            text = json.dumps(value, indent=indent, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"cannot write {self.uri_for(key)} as JSON: {exc}") from exc
        self.write_text(key, text + "\n")

    def read_jsonl(self, key: str) -> Iterator[dict[str, Any]]:
        """The records of a JSONL object, one dict per non-blank line, streamed line by line.

        The object is opened now (so a missing key raises here), and read as it is iterated.
        """
        key = clean_key(key)
        stack = ExitStack()
        stream = stack.enter_context(self.open_read(key))
        return _jsonl_records(self.uri_for(key), stream, stack)

    def write_jsonl(self, key: str, records: Iterable[dict[str, Any]]) -> int:
        """Write `records` one JSON object per line (streamed, atomic); returns how many were written."""
        count = 0
        with self.open_write(key) as stream:
            uri = self.uri_for(key)
            for record in records:
                stream.write(_jsonl_line(uri, count, record))
                count += 1
        return count

    def upload_dir(self, prefix: str, local_dir: str | Path) -> int:
        """Upload every file under `local_dir` to `prefix`/<relative path>; returns the file count."""
        root = Path(local_dir)
        if not root.is_dir():
            raise StoreError(f"cannot upload {root}: not a directory")
        files = sorted(path for path in root.rglob("*") if path.is_file())
        progress = _Progress(f"upload {root} -> {self.uri_for(prefix)}", len(files))
        for done, path in enumerate(files, start=1):
            self.upload_file(join_prefix(clean_prefix(prefix), path.relative_to(root).as_posix()), path)
            progress.tick(done)
        return len(files)

    def download_dir(self, prefix: str, local_dir: str | Path) -> int:
        """Download every object under `prefix`/ into `local_dir`; returns the file count.

        Raises ArtifactNotFound when nothing is stored under `prefix`.
        """
        directory = as_directory(clean_prefix(prefix))
        keys = self.list(directory)
        if not keys:
            raise ArtifactNotFound(f"nothing stored under {self.uri_for(directory)}")
        root = Path(local_dir)
        progress = _Progress(f"download {self.uri_for(directory)} -> {root}", len(keys))
        for done, key in enumerate(keys, start=1):
            self.download_file(key, root / key[len(directory) :])
            progress.tick(done)
        return len(keys)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root_uri!r})"


def iter_lines(stream: BinaryIO, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """The '\\n'-separated lines of a binary stream, read chunk by chunk (without the '\\n')."""
    pending: list[bytes] = []
    while chunk := stream.read(chunk_size):
        pieces = chunk.split(b"\n")
        if len(pieces) == 1:
            pending.append(chunk)
            continue
        pending.append(pieces[0])
        yield b"".join(pending)
        yield from pieces[1:-1]
        pending = [pieces[-1]]
    tail = b"".join(pending)
    if tail:
        yield tail


def _jsonl_records(uri: str, stream: BinaryIO, stack: ExitStack) -> Iterator[dict[str, Any]]:
    with stack:
        for number, line in enumerate(iter_lines(stream), start=1):
            if not line.strip():
                continue
            yield _parse_jsonl_line(uri, number, line)


def _parse_jsonl_line(uri: str, number: int, line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{uri} line {number}: malformed JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise StoreError(f"{uri} line {number}: expected a JSON object, got {type(record).__name__}")
    return record


def _jsonl_line(uri: str, index: int, record: dict[str, Any]) -> bytes:
    if not isinstance(record, dict):
        raise StoreError(f"cannot write {uri}: record {index} is a {type(record).__name__}, not a dict")
    try:
        return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot write {uri}: record {index} is not JSON-serialisable ({exc})") from exc


class _Progress:
    """Logs 'what: done/total' at most every PROGRESS_EVERY_S seconds, and once at the end."""

    def __init__(self, what: str, total: int) -> None:
        self._what = what
        self._total = total
        self._last = time.monotonic()

    def tick(self, done: int) -> None:
        now = time.monotonic()
        if done == self._total or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            log.info("%s: %d/%d files", self._what, done, self._total)
