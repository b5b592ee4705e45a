"""The file:// artifact store: URIs, key checks, round trips, atomic writes, JSONL, directories."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from distillery.errors import ArtifactNotFound, StoreError
from distillery.store import LocalStore, open_store
from distillery.store.base import iter_lines


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    opened = open_store(f"file://{tmp_path}/artifacts")
    assert isinstance(opened, LocalStore)
    return opened


def files_on_disk(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


# ---- URIs -------------------------------------------------------------------------------------------


def test_absolute_uri_maps_to_that_directory(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/a/")
    store.write_text("x/y.txt", "hi")
    assert (tmp_path / "a" / "x" / "y.txt").read_text() == "hi"
    assert store.uri_for("x/y.txt") == f"file://{tmp_path}/a/x/y.txt"
    assert store.uri_for() == f"file://{tmp_path}/a"


def test_relative_uri_is_fixed_to_the_directory_current_at_open_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("file://./rel/root")
    monkeypatch.chdir("/")
    store.write_text("k.txt", "v")
    assert (tmp_path / "rel" / "root" / "k.txt").read_text() == "v"
    assert store.root_uri == f"file://{tmp_path}/rel/root"


def test_child_is_rooted_deeper_and_shares_the_files(store: LocalStore) -> None:
    child = store.child("train/adapter/")
    child.write_bytes("weights.bin", b"\x00\x01")
    assert store.read_bytes("train/adapter/weights.bin") == b"\x00\x01"
    assert child.uri_for("weights.bin") == store.uri_for("train/adapter/weights.bin")
    assert child.list() == ["weights.bin"]


@pytest.mark.parametrize("uri", ["gs://bucket/x", "http://example.com/x", "/tmp/x", "s3:/bucket"])
def test_unsupported_scheme_names_uri_and_accepted_schemes(uri: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(uri)
    message = str(caught.value)
    assert repr(uri) in message
    assert "s3://" in message and "file://" in message


def test_bare_file_scheme_is_rejected() -> None:
    with pytest.raises(StoreError, match="file:///abs/path"):
        open_store("file://")


# ---- keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["../outside.txt", "a/../../outside.txt", "a/..", "/etc/passwd", "a//b", "./a"]
)
def test_escaping_or_odd_keys_are_rejected(store: LocalStore, tmp_path: Path, key: str) -> None:
    with pytest.raises(StoreError, match="invalid store key"):
        store.write_text(key, "x")
    with pytest.raises(StoreError, match="invalid store key"):
        store.read_text(key)
    assert not (tmp_path / "outside.txt").exists()


def test_prefix_escapes_are_rejected_by_child_and_list(store: LocalStore) -> None:
    with pytest.raises(StoreError, match="escape"):
        store.child("../sibling")
    with pytest.raises(StoreError, match="escape"):
        store.list("../")


@pytest.mark.parametrize("key", ["", "dir/"])
def test_a_key_must_name_an_object(store: LocalStore, key: str) -> None:
    with pytest.raises(StoreError, match="cannot be empty or end with '/'"):
        store.write_bytes(key, b"x")


# ---- round trips and errors -------------------------------------------------------------------------


def test_bytes_text_json_round_trip_and_overwrite(store: LocalStore) -> None:
    store.write_bytes("b.bin", bytes(range(256)))
    store.write_text("t.txt", "héllo ✓\n")
    store.write_json("j.json", {"loss": 1.25, "name": "日本", "items": [1, None, True]})
    assert store.read_bytes("b.bin") == bytes(range(256))
    assert store.read_text("t.txt") == "héllo ✓\n"
    assert store.read_json("j.json") == {"loss": 1.25, "name": "日本", "items": [1, None, True]}
    store.write_text("t.txt", "second")
    assert store.read_text("t.txt") == "second"


def test_written_files_are_world_readable(store: LocalStore) -> None:
    store.write_text("summary.json", "{}")
    assert (store.root / "summary.json").stat().st_mode & 0o777 == 0o644


def test_missing_key_raises_artifact_not_found(store: LocalStore, tmp_path: Path) -> None:
    assert not store.exists("nope.txt")
    with pytest.raises(ArtifactNotFound, match=r"nope\.txt"):
        store.read_bytes("nope.txt")
    with pytest.raises(ArtifactNotFound):
        store.read_jsonl("nope.jsonl")  # raised when called, not on first iteration
    with pytest.raises(ArtifactNotFound):
        store.download_file("nope.txt", tmp_path / "out.txt")
    assert not (tmp_path / "out.txt").exists()


def test_invalid_json_and_text_raise_store_error(store: LocalStore) -> None:
    store.write_bytes("bad.json", b"{not json")
    store.write_bytes("bad.txt", b"\xff\xfe\xfa")
    with pytest.raises(StoreError, match=r"bad\.json is not valid JSON"):
        store.read_json("bad.json")
    with pytest.raises(StoreError, match="not valid utf-8"):
        store.read_text("bad.txt")


def test_delete_removes_and_tolerates_missing(store: LocalStore) -> None:
    store.write_text("a.txt", "x")
    store.delete("a.txt")
    assert not store.exists("a.txt")
    store.delete("a.txt")


def test_list_filters_by_prefix_and_sorts(store: LocalStore) -> None:
    for key in ["chunks/0002.jsonl", "chunks/0001.jsonl", "chunks.txt", "summary.json", "ch/x"]:
        store.write_text(key, key)
    assert store.list() == ["ch/x", "chunks.txt", "chunks/0001.jsonl", "chunks/0002.jsonl", "summary.json"]
    assert store.list("chunks/") == ["chunks/0001.jsonl", "chunks/0002.jsonl"]
    assert store.list("chunks") == ["chunks.txt", "chunks/0001.jsonl", "chunks/0002.jsonl"]
    assert store.list("ch") == ["ch/x", "chunks.txt", "chunks/0001.jsonl", "chunks/0002.jsonl"]
    assert store.list("missing/") == []
    assert open_store(f"file://{store.root}/never-created").list() == []


# ---- atomic writes ----------------------------------------------------------------------------------


def test_reader_sees_old_version_while_a_write_is_in_progress(store: LocalStore) -> None:
    store.write_bytes("model.bin", b"old" * 1000)
    with store.open_write("model.bin") as writer:
        writer.write(b"new-half-written")
        writer.flush()
        assert store.read_bytes("model.bin") == b"old" * 1000
        assert store.list() == ["model.bin"]  # the temp file never shows
    assert store.read_bytes("model.bin") == b"new-half-written"
    assert files_on_disk(store.root) == ["model.bin"]


def test_open_reader_keeps_reading_the_version_it_opened(store: LocalStore) -> None:
    store.write_bytes("k", b"A" * 100_000)
    with store.open_read("k") as reader:
        head = reader.read(10)
        store.write_bytes("k", b"B" * 50)
        rest = reader.read()
    assert head + rest == b"A" * 100_000
    assert store.read_bytes("k") == b"B" * 50


def test_failed_write_keeps_old_object_and_leaves_no_temp_file(store: LocalStore) -> None:
    store.write_jsonl("data.jsonl", [{"n": 1}])

    def records_then_crash():
        yield {"n": 2}
        raise RuntimeError("teacher died")

    with pytest.raises(RuntimeError, match="teacher died"):
        store.write_jsonl("data.jsonl", records_then_crash())
    assert list(store.read_jsonl("data.jsonl")) == [{"n": 1}]
    assert files_on_disk(store.root) == ["data.jsonl"]


def test_write_over_a_file_used_as_directory_is_a_store_error(store: LocalStore) -> None:
    store.write_text("adapter", "a file")
    with pytest.raises(StoreError, match="cannot write"):
        store.write_text("adapter/config.json", "{}")


# ---- JSONL ------------------------------------------------------------------------------------------


def test_jsonl_round_trip_counts_and_skips_blank_lines(store: LocalStore) -> None:
    records = [{"id": f"p{i}", "text": "line\nbreak ✓", "n": i} for i in range(500)]
    assert store.write_jsonl("teacher.jsonl", iter(records)) == 500
    assert list(store.read_jsonl("teacher.jsonl")) == records
    store.write_bytes("blank.jsonl", b'{"a": 1}\n\n  \r\n{"a": 2}\r\n{"a": 3}')
    assert list(store.read_jsonl("blank.jsonl")) == [{"a": 1}, {"a": 2}, {"a": 3}]


def test_jsonl_malformed_line_names_key_and_line_number(store: LocalStore) -> None:
    store.write_bytes("bad.jsonl", b'{"a": 1}\n{"a": 2}\n{"a": \n{"a": 4}\n')
    records = store.read_jsonl("bad.jsonl")
    assert next(records) == {"a": 1}
    assert next(records) == {"a": 2}
    with pytest.raises(StoreError, match=r"bad\.jsonl line 3: malformed JSON"):
        next(records)


def test_jsonl_line_that_is_not_an_object_is_rejected(store: LocalStore) -> None:
    store.write_bytes("list.jsonl", b'{"a": 1}\n[1, 2]\n')
    with pytest.raises(StoreError, match=r"list\.jsonl line 2: expected a JSON object, got list"):
        list(store.read_jsonl("list.jsonl"))


def test_write_jsonl_rejects_unserialisable_records(store: LocalStore) -> None:
    with pytest.raises(StoreError, match="record 1 is not JSON-serialisable"):
        store.write_jsonl("x.jsonl", [{"ok": 1}, {"bad": object()}])
    with pytest.raises(StoreError, match="record 0 is a list, not a dict"):
        store.write_jsonl("x.jsonl", [[1, 2]])  # type: ignore[list-item]
    assert not store.exists("x.jsonl")


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64])
def test_iter_lines_joins_lines_split_across_chunks(chunk_size: int) -> None:
    data = b"first\nsecond line\n\nlast-without-newline"
    assert list(iter_lines(io.BytesIO(data), chunk_size)) == [
        b"first",
        b"second line",
        b"",
        b"last-without-newline",
    ]


# ---- files and directories --------------------------------------------------------------------------


def test_upload_and_download_file(store: LocalStore, tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(os.urandom(300_000))
    store.upload_file("blobs/src.bin", source)
    target = tmp_path / "deep" / "er" / "copy.bin"
    store.download_file("blobs/src.bin", target)
    assert target.read_bytes() == source.read_bytes()
    with pytest.raises(StoreError, match="not a file"):
        store.upload_file("x", tmp_path / "missing.bin")


def test_upload_dir_download_dir_round_trip(store: LocalStore, tmp_path: Path) -> None:
    local = tmp_path / "adapter"
    (local / "sub").mkdir(parents=True)
    (local / "adapter_config.json").write_text('{"r": 8}')
    (local / "adapter_model.safetensors").write_bytes(os.urandom(10_000))
    (local / "sub" / "tokenizer.json").write_text("{}")
    assert store.upload_dir("train/adapter", local) == 3
    assert store.list("train/") == [
        "train/adapter/adapter_config.json",
        "train/adapter/adapter_model.safetensors",
        "train/adapter/sub/tokenizer.json",
    ]
    out = tmp_path / "restored"
    assert store.download_dir("train/adapter/", out) == 3
    assert files_on_disk(out) == files_on_disk(local)
    for name in files_on_disk(local):
        assert (out / name).read_bytes() == (local / name).read_bytes()


def test_download_dir_of_nothing_is_not_found(store: LocalStore, tmp_path: Path) -> None:
    store.write_text("train/adapterX.txt", "a sibling, not under train/adapter/")
    with pytest.raises(ArtifactNotFound, match="nothing stored under"):
        store.download_dir("train/adapter", tmp_path / "out")


def test_upload_dir_requires_a_directory(store: LocalStore, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a directory"):
        store.upload_dir("x", tmp_path / "missing")
