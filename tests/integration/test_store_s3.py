"""The artifact store against a real moto S3 server over HTTP (boto3 as in production).

Behaviour both backends share is parametrised over file:// and s3://; the rest is S3-specific:
multipart uploads, pagination, endpoint/region/credential resolution and error mapping.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from distillery.errors import ArtifactNotFound, StoreError
from distillery.store import ArtifactStore, S3Store, open_store
from tests.fixtures.s3 import S3Env

MB = 1024 * 1024


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "file":
        return open_store(f"file://{tmp_path}/store/ns/run/a1")
    s3_env: S3Env = request.getfixturevalue("s3_env")
    return open_store(s3_env.uri("distillery/ns/run/a1"))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- shared behaviour -------------------------------------------------------------------------------


def test_round_trips(store: ArtifactStore) -> None:
    store.write_bytes("raw.bin", b"\x00\xff" * 1000)
    store.write_text("notes.txt", "ünïcode ✓")
    store.write_json("summary.json", {"examples": 118, "cost": 0.24})
    assert store.read_bytes("raw.bin") == b"\x00\xff" * 1000
    assert store.read_text("notes.txt") == "ünïcode ✓"
    assert store.read_json("summary.json") == {"examples": 118, "cost": 0.24}
    store.write_json("summary.json", {"examples": 119})
    assert store.read_json("summary.json") == {"examples": 119}


def test_exists_delete_and_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    store.write_text("a.txt", "x")
    assert store.exists("a.txt")
    store.delete("a.txt")
    assert not store.exists("a.txt")
    store.delete("a.txt")  # deleting twice is fine
    with pytest.raises(ArtifactNotFound, match=r"a1/a\.txt not found"):
        store.read_text("a.txt")
    with pytest.raises(ArtifactNotFound):
        store.read_jsonl("a.jsonl")
    with pytest.raises(ArtifactNotFound):
        store.download_file("a.txt", tmp_path / "a.txt")


def test_jsonl_streams_twenty_thousand_records(store: ArtifactStore) -> None:
    records = ({"id": f"p{i:05d}", "completion": "x" * (i % 97), "ok": i % 3 == 0} for i in range(20_000))
    assert store.write_jsonl("teacher.jsonl", records) == 20_000
    partial = store.read_jsonl("teacher.jsonl")
    assert next(partial)["id"] == "p00000"
    partial.close()  # stopping early releases the stream
    count = 0
    for count, record in enumerate(store.read_jsonl("teacher.jsonl"), start=1):
        i = count - 1
        assert record == {"id": f"p{i:05d}", "completion": "x" * (i % 97), "ok": i % 3 == 0}
    assert count == 20_000


def test_jsonl_malformed_line_names_key_and_line(store: ArtifactStore) -> None:
    store.write_bytes("bad.jsonl", b'{"a": 1}\n{"a": 2}\n{oops}\n')
    with pytest.raises(StoreError, match=r"bad\.jsonl line 3: malformed JSON"):
        list(store.read_jsonl("bad.jsonl"))


def test_failed_streamed_write_keeps_the_old_object(store: ArtifactStore) -> None:
    store.write_jsonl("chunks/0001.jsonl", [{"n": 1}])

    def crash_midway():
        yield {"n": 2}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        store.write_jsonl("chunks/0001.jsonl", crash_midway())
    assert list(store.read_jsonl("chunks/0001.jsonl")) == [{"n": 1}]
    assert store.list() == ["chunks/0001.jsonl"]


def test_list_by_prefix_across_pages(store: ArtifactStore) -> None:
    chunk_keys = [f"chunks/{i:04d}.jsonl" for i in range(30)]
    for key in [*reversed(chunk_keys), "chunks.txt", "summary.json"]:
        store.write_bytes(key, b"{}\n")
    assert store.list("chunks/", page_size=7) == chunk_keys
    assert store.list(page_size=4) == ["chunks.txt", *chunk_keys, "summary.json"]
    assert store.list("chunks/001") == chunk_keys[10:20]
    assert store.list("nothing/") == []


def test_child_and_uri_for(store: ArtifactStore) -> None:
    child = store.child("collect")
    child.write_text("teacher.jsonl", "{}\n")
    assert store.list() == ["collect/teacher.jsonl"]
    assert child.uri_for("teacher.jsonl") == store.uri_for("collect/teacher.jsonl")
    assert child.uri_for("teacher.jsonl").endswith("/ns/run/a1/collect/teacher.jsonl")
    with pytest.raises(StoreError, match="escape"):
        store.read_text("../a0/collect/teacher.jsonl")


def test_upload_dir_download_dir_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    local = tmp_path / "checkpoint"
    (local / "optimizer").mkdir(parents=True)
    files = {"adapter_model.safetensors": os.urandom(200_000), "optimizer/state.pt": os.urandom(5_000)}
    for name, data in files.items():
        (local / name).write_bytes(data)
    assert store.upload_dir("train/checkpoints/step-10", local) == 2
    out = tmp_path / "restored"
    assert store.download_dir("train/checkpoints/step-10", out) == 2
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    with pytest.raises(ArtifactNotFound):
        store.download_dir("train/checkpoints/step-1", tmp_path / "none")


# ---- S3 only ----------------------------------------------------------------------------------------


def test_large_object_goes_multipart_and_reads_back_identical(s3_env: S3Env, tmp_path: Path) -> None:
    store = open_store(s3_env.uri("big"))
    source = tmp_path / "merged.safetensors"
    data = os.urandom(17 * MB)
    source.write_bytes(data)
    store.upload_file("merged/model.safetensors", source)
    head = s3_env.client().head_object(Bucket=s3_env.bucket, Key="big/merged/model.safetensors")
    assert head["ContentLength"] == 17 * MB
    assert head["ETag"].strip('"').endswith("-3")  # 8 MB + 8 MB + 1 MB parts
    target = tmp_path / "copy" / "model.safetensors"
    store.download_file("merged/model.safetensors", target)
    assert target.read_bytes() == data


def test_large_streamed_write_goes_multipart(s3_env: S3Env) -> None:
    store = open_store(s3_env.uri())
    blob = os.urandom(MB)
    with store.open_write("stream.bin") as stream:
        for _ in range(9):
            stream.write(blob)
    head = s3_env.client().head_object(Bucket=s3_env.bucket, Key="stream.bin")
    assert head["ETag"].strip('"').endswith("-2")
    assert store.read_bytes("stream.bin") == blob * 9


def test_small_object_is_a_single_put(s3_env: S3Env) -> None:
    open_store(s3_env.uri()).write_bytes("small.json", b"{}")
    head = s3_env.client().head_object(Bucket=s3_env.bucket, Key="small.json")
    assert "-" not in head["ETag"].strip('"')


def test_objects_land_under_the_uri_prefix(s3_env: S3Env) -> None:
    store = open_store(s3_env.uri("root/ns/run/a2/"))
    store.write_text("curate/train.jsonl", "{}\n")
    listed = s3_env.client().list_objects_v2(Bucket=s3_env.bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["root/ns/run/a2/curate/train.jsonl"]
    assert store.uri_for("curate/train.jsonl") == f"s3://{s3_env.bucket}/root/ns/run/a2/curate/train.jsonl"
    assert isinstance(store, S3Store) and store.bucket == s3_env.bucket


def test_directory_marker_objects_are_not_listed(s3_env: S3Env) -> None:
    s3_env.client().put_object(Bucket=s3_env.bucket, Key="p/adapter/", Body=b"")
    store = open_store(s3_env.uri("p"))
    store.write_text("adapter/config.json", "{}")
    assert store.list() == ["adapter/config.json"]


def test_endpoint_argument_overrides_the_env(s3_env: S3Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    store = open_store(s3_env.uri("x"), endpoint_url=s3_env.endpoint, region="us-east-1")
    store.write_text("k.txt", "v")
    assert store.read_text("k.txt") == "v"


def test_bad_endpoint_is_a_store_error_without_secrets(
    s3_env: S3Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel-secret-value")
    store = open_store(s3_env.uri("x"), endpoint_url=f"http://127.0.0.1:{closed_port()}")
    for attempt in (lambda: store.write_text("k.txt", "v"), lambda: store.read_text("k.txt"), store.list):
        with pytest.raises(StoreError) as caught:
            attempt()
        assert not isinstance(caught.value, ArtifactNotFound)
        assert f"s3://{s3_env.bucket}/x/" in str(caught.value)
        assert "Could not connect" in str(caught.value)
        assert "sentinel-secret-value" not in str(caught.value)


def test_missing_bucket_is_a_store_error_with_the_aws_code(s3_env: S3Env) -> None:
    store = open_store("s3://no-such-bucket/p")
    with pytest.raises(StoreError, match=r"s3://no-such-bucket/p/k\.txt: NoSuchBucket") as caught:
        store.read_text("k.txt")
    assert not isinstance(caught.value, ArtifactNotFound)
    with pytest.raises(StoreError, match="NoSuchBucket"):
        store.write_text("k.txt", "v")
    with pytest.raises(StoreError, match="NoSuchBucket"):
        store.list()


def test_missing_credentials_are_reported_by_name(
    s3_env: S3Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = open_store(s3_env.uri("x"))
    with pytest.raises(StoreError, match="no AWS credentials found"):
        store.read_text("k.txt")


def test_invalid_s3_uri(s3_env: S3Env) -> None:
    with pytest.raises(StoreError, match=r"expected s3://bucket\[/prefix\]"):
        open_store("s3:///prefix-without-bucket")
    with pytest.raises(StoreError, match="escape"):
        open_store(f"s3://{s3_env.bucket}/a/../b")
