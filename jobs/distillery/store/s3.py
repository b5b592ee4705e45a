"""The s3:// backend: any S3-compatible object store (AWS S3, MinIO, Ceph, moto) through boto3.

Credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID... env vars, profiles, IRSA);
they are never logged nor put into error messages. An S3 PUT is atomic by nature, so streamed
writes go to a local temp file first and are uploaded in one managed (multipart when large) transfer.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import boto3.exceptions
import botocore.session
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from distillery.errors import ArtifactNotFound, PreconditionFailed, StoreError
from distillery.store.base import PROGRESS_EVERY_S, ArtifactStore, Versioned
from distillery.store.keys import as_directory, clean_key, clean_prefix, join_prefix

log = logging.getLogger("distillery.store")

SCHEME = "s3://"
DEFAULT_REGION = "us-east-1"
MB = 1024 * 1024
# Multipart above 8 MB in 8 MB parts (S3 and moto reject parts under 5 MB except the last).
TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=4)
NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# A conditional PUT that lost (412), or raced another conditional write of the same key (409).
PRECONDITION_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
_FAILURES = (ClientError, BotoCoreError, boto3.exceptions.Boto3Error)
_loader_lock = threading.Lock()
_shared_loader: Any = None


def make_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """An S3 client: endpoint from the argument or AWS_ENDPOINT_URL; path-style when an endpoint is set."""
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    options: dict[str, Any] = {
        "region_name": region,
        "retries": {"mode": "standard", "max_attempts": 3},
        "connect_timeout": 10,
        "read_timeout": 60,
    }
    if endpoint:
        # S3-compatible servers rarely have per-bucket DNS names, and many predate the
        # flexible-checksum headers newer botocore sends by default.
        options["s3"] = {"addressing_style": "path"}
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    return _fresh_session().client("s3", endpoint_url=endpoint, config=Config(**options))


def _fresh_session() -> boto3.session.Session:
    """A new session (credentials resolved from the env as it is now) sharing one model loader.

    Parsing botocore's service models is most of the cost of a client (~0.2 s); sessions
    share the loader's cache, not credentials.
    """
    global _shared_loader
    core = botocore.session.get_session()
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _shared_loader)
    return boto3.session.Session(botocore_session=core)


class S3Store(ArtifactStore):
    """Objects under s3://`bucket`/`prefix`/."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self._bucket = bucket
        self._prefix = clean_prefix(prefix).rstrip("/")
        self._client = client

    @classmethod
    def from_uri(cls, uri: str, *, endpoint_url: str | None = None, region: str | None = None) -> S3Store:
        bucket, _, prefix = uri[len(SCHEME) :].partition("/")
        if not uri.startswith(SCHEME) or not bucket:
            raise StoreError(f"invalid S3 store URI {uri!r}: expected s3://bucket[/prefix]")
        return cls(bucket, prefix.rstrip("/"), make_client(endpoint_url, region))

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def root_uri(self) -> str:
        return SCHEME + join_prefix(self._bucket, self._prefix)

    def child(self, prefix: str) -> S3Store:
        prefix = clean_prefix(prefix).rstrip("/")
        return S3Store(self._bucket, join_prefix(self._prefix, prefix), self._client) if prefix else self

    def exists(self, key: str) -> bool:
        name = self._name(key)
        try:
            self._client.head_object(Bucket=self._bucket, Key=name)
        except _FAILURES as exc:
            error = self._error(exc, "check", name)
            if isinstance(error, ArtifactNotFound):
                return False
            raise error from exc
        return True

    @contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        name = self._name(key)
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=name)["Body"]
        except _FAILURES as exc:
            raise self._error(exc, "read", name) from exc
        try:
            yield body
        except _FAILURES as exc:  # the connection failed while the caller was reading the body
            raise self._error(exc, "read", name) from exc
        finally:
            body.close()

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        name = self._name(key)
        with tempfile.TemporaryFile(prefix="distillery-s3-") as spool:
            yield spool
            spool.seek(0)
            self._upload(spool, name)

    def write_bytes(self, key: str, data: bytes) -> None:
        self._upload(BytesIO(data), self._name(key))

    def list(self, prefix: str = "", *, page_size: int | None = None) -> list[str]:
        root = as_directory(self._prefix)
        wanted = root + clean_prefix(prefix)
        pagination = {"PageSize": page_size} if page_size else {}
        keys: list[str] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=wanted, PaginationConfig=pagination
            )
            for page in pages:
                keys.extend(item["Key"][len(root) :] for item in page.get("Contents", ()))
        except _FAILURES as exc:
            raise self._error(exc, "list", wanted + "*") from exc
        # 'dir/' marker objects made by some S3 tools are not artifacts.
        return sorted(key for key in keys if key and not key.endswith("/"))

    def delete(self, key: str) -> None:
        name = self._name(key)
        try:
            self._client.delete_object(Bucket=self._bucket, Key=name)
        except _FAILURES as exc:
            raise self._error(exc, "delete", name) from exc

    def upload_file(self, key: str, path: str | Path) -> None:
        source = Path(path)
        if not source.is_file():
            raise StoreError(f"cannot upload {source} to {self.uri_for(key)}: not a file")
        name = self._name(key)
        progress = _TransferProgress(f"upload {source} -> s3://{self._bucket}/{name}", source.stat().st_size)
        try:
            self._client.upload_file(str(source), self._bucket, name, Config=TRANSFER, Callback=progress)
        except _FAILURES as exc:
            raise self._error(exc, "upload", name) from exc

    def download_file(self, key: str, path: str | Path) -> None:
        name = self._name(key)
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot download {self.uri_for(key)} to {target}: {exc}") from exc
        progress = _TransferProgress(f"download s3://{self._bucket}/{name} -> {target}", None)
        try:
            # boto3 writes to a temp file beside `target` and renames it when complete.
            self._client.download_file(self._bucket, name, str(target), Config=TRANSFER, Callback=progress)
        except _FAILURES as exc:
            raise self._error(exc, "download", name) from exc

    def read_versioned(self, key: str) -> Versioned:
        name = self._name(key)
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=name)
            with response["Body"] as body:
                return Versioned(body.read(), response["ETag"])
        except _FAILURES as exc:
            raise self._error(exc, "read", name) from exc

    def write_conditional(self, key: str, data: bytes, *, if_match: str | None = None) -> str:
        name = self._name(key)
        condition = {"IfNoneMatch": "*"} if if_match is None else {"IfMatch": if_match}
        try:
            response = self._client.put_object(Bucket=self._bucket, Key=name, Body=data, **condition)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in PRECONDITION_CODES or (if_match is not None and code in NOT_FOUND_CODES):
                wanted = "absent" if if_match is None else f"ETag {if_match}"
                where = f"s3://{self._bucket}/{name}"
                raise PreconditionFailed(f"{where} changed: expected {wanted} ({code})") from exc
            raise self._error(exc, "write", name) from exc
        except _FAILURES as exc:
            raise self._error(exc, "write", name) from exc
        return response["ETag"]

    def _upload(self, stream: BinaryIO, name: str) -> None:
        try:
            self._client.upload_fileobj(stream, self._bucket, name, Config=TRANSFER)
        except _FAILURES as exc:
            raise self._error(exc, "write", name) from exc

    def _name(self, key: str) -> str:
        return join_prefix(self._prefix, clean_key(key))

    def _error(self, exc: Exception, action: str, name: str) -> StoreError:
        """A StoreError naming the object and the S3 error code (never the credentials)."""
        where = f"s3://{self._bucket}/{name}"
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            if code in NOT_FOUND_CODES:
                return ArtifactNotFound(f"{where} not found")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            message = error.get("Message") or ""
            return StoreError(f"cannot {action} {where}: {code} (HTTP {status}) {message}".rstrip())
        if isinstance(exc, NoCredentialsError):
            return StoreError(
                f"cannot {action} {where}: no AWS credentials found "
                "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or another standard AWS credential source)"
            )
        if isinstance(exc, boto3.exceptions.S3UploadFailedError) and "(NoSuchBucket)" in str(exc):
            return StoreError(
                f"cannot {action} {where}: NoSuchBucket (bucket {self._bucket!r} does not exist)"
            )
        return StoreError(f"cannot {action} {where}: {type(exc).__name__}: {exc}")


class _TransferProgress:
    """A boto3 transfer callback that logs bytes moved at most every PROGRESS_EVERY_S seconds."""

    def __init__(self, what: str, total: int | None) -> None:
        self._what = what
        self._total = total
        self._done = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()  # boto3 calls back from its worker threads

    def __call__(self, transferred: int) -> None:
        with self._lock:
            self._done += transferred
            now = time.monotonic()
            if now - self._last < PROGRESS_EVERY_S:
                return
            self._last = now
        total = f"/{self._total / MB:.1f}" if self._total else ""
        log.info("%s: %.1f%s MB", self._what, self._done / MB, total)
