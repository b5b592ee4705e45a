"""The artifact store: every phase reads and writes its artifacts through `open_store(uri)`.

    store = open_store("s3://bucket/distillery/ns/run/a1/collect")   # or file:///abs, file://./rel
    store.write_jsonl("teacher.jsonl", records)
    for record in store.read_jsonl("teacher.jsonl"): ...

The S3 backend (and boto3) is imported only when an s3:// URI is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from distillery.errors import StoreError
from distillery.store.base import ArtifactStore
from distillery.store.local import LocalStore

if TYPE_CHECKING:
    from distillery.store.s3 import S3Store

__all__ = ["ArtifactStore", "LocalStore", "S3Store", "open_store"]

SCHEMES = ("s3://", "file://")


def open_store(uri: str, *, endpoint_url: str | None = None, region: str | None = None) -> ArtifactStore:
    """The store rooted at `uri`: s3://bucket[/prefix] or file:///abs/path | file://./relative.

    For s3://, `endpoint_url` (else AWS_ENDPOINT_URL) selects an S3-compatible server and `region`
    (else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1) the region; file:// ignores both.
    """
    if not isinstance(uri, str):
        raise StoreError(f"invalid store URI {uri!r}: expected a string like s3://bucket/prefix")
    if uri.startswith("file://"):
        return LocalStore.from_uri(uri)
    if uri.startswith("s3://"):
        from distillery.store.s3 import S3Store

        return S3Store.from_uri(uri, endpoint_url=endpoint_url, region=region)
    raise StoreError(f"unsupported store URI {uri!r}: expected one of {', '.join(SCHEMES)}")


def __getattr__(name: str) -> object:
    if name == "S3Store":
        from distillery.store.s3 import S3Store

        return S3Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
