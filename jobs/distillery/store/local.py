"""The file:// backend: a directory on the local disk (local runs, tests, a mounted volume)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from distillery.errors import ArtifactNotFound, PreconditionFailed, StoreError
from distillery.store.base import ArtifactStore, Versioned
from distillery.store.keys import clean_key, clean_prefix

SCHEME = "file://"
# Files being written are named like this until they are complete; list() never shows them.
TEMP_PREFIX = ".distillery-tmp-"


class LocalStore(ArtifactStore):
    """Objects are files under `root`; keys map to relative paths."""

    def __init__(self, root: str | Path) -> None:
        self._root = Path(os.path.abspath(root))

    @classmethod
    def from_uri(cls, uri: str) -> LocalStore:
        """`file:///abs/path`, or `file://./rel` / `file://rel` relative to the current directory (now)."""
        if not uri.startswith(SCHEME) or len(uri) == len(SCHEME):
            raise StoreError(
                f"invalid file store URI {uri!r}: expected file:///abs/path or file://./relative"
            )
        return cls(Path(uri[len(SCHEME) :]))

    @property
    def root(self) -> Path:
        return self._root

    @property
    def root_uri(self) -> str:
        return SCHEME + self._root.as_posix().rstrip("/")

    def child(self, prefix: str) -> LocalStore:
        prefix = clean_prefix(prefix).rstrip("/")
        return LocalStore(self._root / prefix) if prefix else self

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    @contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        try:
            stream = path.open("rb")
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ArtifactNotFound(f"{self.uri_for(key)} not found") from exc
        except IsADirectoryError as exc:
            raise ArtifactNotFound(f"{self.uri_for(key)} not found (it is a directory of keys)") from exc
        except OSError as exc:
            raise StoreError(f"cannot read {self.uri_for(key)}: {exc}") from exc
        with stream:
            yield stream

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        try:
            with atomic_file(path) as stream:
                yield stream
        except OSError as exc:
            raise StoreError(f"cannot write {self.uri_for(key)}: {exc}") from exc

    def list(self, prefix: str = "", *, page_size: int | None = None) -> list[str]:
        prefix = clean_prefix(prefix)
        # Walk only the deepest directory the prefix is sure to be under.
        start = self._root / prefix.rpartition("/")[0]
        if not start.is_dir():
            return []
        keys = []
        for directory, _subdirs, names in os.walk(start):
            for name in names:
                if name.startswith(TEMP_PREFIX):
                    continue
                key = (Path(directory) / name).relative_to(self._root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except IsADirectoryError as exc:
            raise StoreError(f"cannot delete {self.uri_for(key)}: it is a directory of keys") from exc
        except OSError as exc:
            raise StoreError(f"cannot delete {self.uri_for(key)}: {exc}") from exc

    def upload_file(self, key: str, path: str | Path) -> None:
        source = Path(path)
        if not source.is_file():
            raise StoreError(f"cannot upload {source} to {self.uri_for(key)}: not a file")
        with source.open("rb") as reader, self.open_write(key) as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)

    def download_file(self, key: str, path: str | Path) -> None:
        target = Path(path)
        with self.open_read(key) as reader:
            try:
                with atomic_file(target) as writer:
                    shutil.copyfileobj(reader, writer, 1 << 20)
            except OSError as exc:
                raise StoreError(f"cannot download {self.uri_for(key)} to {target}: {exc}") from exc

    def read_versioned(self, key: str) -> Versioned:
        data = self.read_bytes(key)
        return Versioned(data, content_tag(data))

    def write_conditional(self, key: str, data: bytes, *, if_match: str | None = None) -> str:
        path = self._path(key)
        try:
            with _exclusive(path):
                # Under the lock no other conditional writer can slip between the check and the
                # swap; plain readers see the old file or the new one (rename / link are atomic).
                current = content_tag(path.read_bytes()) if path.is_file() else None
                if current != if_match:
                    wanted = "absent" if if_match is None else f"tag {if_match}"
                    found = "absent" if current is None else f"tag {current}"
                    raise PreconditionFailed(f"{self.uri_for(key)} changed: expected {wanted}, found {found}")
                with atomic_file(path.with_name(TEMP_PREFIX + "new-" + path.name)) as stream:
                    stream.write(data)
                staged = path.with_name(TEMP_PREFIX + "new-" + path.name)
                if if_match is None:
                    os.link(staged, path)  # fails if the name exists: a create never overwrites
                    os.unlink(staged)
                else:
                    os.replace(staged, path)
        except FileExistsError as exc:
            raise PreconditionFailed(f"{self.uri_for(key)} changed: expected absent, it exists") from exc
        except OSError as exc:
            raise StoreError(f"cannot write {self.uri_for(key)}: {exc}") from exc
        return content_tag(data)

    def _path(self, key: str) -> Path:
        return self._root / clean_key(key)


def content_tag(data: bytes) -> str:
    """The tag of a file:// object: its SHA-256 (S3 tags are ETags, opaque to callers too)."""
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An flock on a hidden lock file beside `path` (released by the kernel if the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(TEMP_PREFIX + "lock-" + path.name)
    with open(lock, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write to a temp file beside `path`, then rename it over `path` (readers never see a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes it 0600; artifacts are ordinary files
        os.replace(temp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
