"""Store keys: '/'-separated paths relative to a store's root, checked the same way by every backend."""

from __future__ import annotations

from distillery.errors import StoreError


def clean_prefix(prefix: str) -> str:
    """A prefix for list/child/upload_dir: '' or a relative path; a trailing '/' is kept."""
    _require_str(prefix)
    if prefix == "":
        return ""
    trailing = prefix.endswith("/")
    body = _check_segments(prefix.rstrip("/") if trailing else prefix, original=prefix)
    return body + "/" if trailing else body


def clean_key(key: str) -> str:
    """A key that names one object: relative, no '.'/'..' segments, not ending with '/'."""
    _require_str(key)
    if key == "" or key.endswith("/"):
        raise StoreError(
            f"invalid store key {key!r}: a key names an object and cannot be empty or end with '/'"
        )
    return _check_segments(key, original=key)


def join_prefix(prefix: str, key: str) -> str:
    """`key` under the directory-like `prefix` ('' or anything; a '/' is inserted when needed)."""
    if not prefix:
        return key
    return prefix if not key else f"{prefix.rstrip('/')}/{key}"


def as_directory(prefix: str) -> str:
    """'' stays ''; 'a/b' becomes 'a/b/' so that it never matches the sibling 'a/bc'."""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _require_str(key: object) -> None:
    if not isinstance(key, str):
        raise StoreError(f"invalid store key {key!r}: expected a string, got {type(key).__name__}")


def _check_segments(path: str, *, original: str) -> str:
    if path.startswith("/"):
        raise StoreError(f"invalid store key {original!r}: keys are relative to the store root, not absolute")
    if "\\" in path or "\x00" in path:
        raise StoreError(f"invalid store key {original!r}: backslashes and NUL are not allowed")
    for segment in path.split("/"):
        if segment == "..":
            raise StoreError(f"invalid store key {original!r}: '..' would escape the store root")
        if segment in ("", "."):
            raise StoreError(f"invalid store key {original!r}: empty or '.' path segment")
    return path
