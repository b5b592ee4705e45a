"""Conditional writes and the registry's champion pointer on both stores: moto's S3 server and file://.

Races are real: threads (with a barrier) write from the same read, through boto3 to the moto
server (which checks If-Match / If-None-Match) or to the same directory (flock + rename / link).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from distillery.cli.main import main as cli_main
from distillery.errors import PreconditionFailed, PublishError
from distillery.publish.registry import Registry
from distillery.store import ArtifactStore, open_store
from tests.fixtures.s3 import S3Env

RACERS = 4


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "file":
        return open_store(f"file://{tmp_path}/registry")
    s3: S3Env = request.getfixturevalue("s3_env")
    return open_store(s3.uri("registry"))


def race(work, count: int = RACERS) -> list[object]:
    """Run `work(i)` in `count` threads released together; each result or the exception raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def one(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except PreconditionFailed as exc:
            results[index] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_create_only_and_if_match(store: ArtifactStore) -> None:
    tag = store.write_conditional("pointer", b"one")
    with pytest.raises(PreconditionFailed, match="pointer"):
        store.write_conditional("pointer", b"other")  # exists: a create never overwrites
    assert store.read_bytes("pointer") == b"one"
    read = store.read_versioned("pointer")
    assert read.tag == tag and read.data == b"one"
    new_tag = store.write_conditional("pointer", b"two", if_match=tag)
    with pytest.raises(PreconditionFailed):
        store.write_conditional("pointer", b"three", if_match=tag)  # stale tag
    assert store.read_bytes("pointer") == b"two" and store.read_versioned("pointer").tag == new_tag
    with pytest.raises(PreconditionFailed):
        store.write_conditional("missing", b"x", if_match=tag)
    assert store.list() == ["pointer"]  # lock and staging files are never listed


def test_racing_writers_from_one_read_exactly_one_wins(store: ArtifactStore) -> None:
    created = race(lambda i: store.write_conditional("created", f"{i}".encode()))
    assert sum(not isinstance(r, PreconditionFailed) for r in created) == 1
    tag = store.read_versioned("created").tag
    swapped = race(lambda i: store.write_conditional("created", f"swap {i}".encode(), if_match=tag))
    winners = [i for i, r in enumerate(swapped) if not isinstance(r, PreconditionFailed)]
    assert len(winners) == 1
    assert store.read_bytes("created") == f"swap {winners[0]}".encode()


def complete_version(registry: Registry) -> int:
    number = registry.claim({"lineage_id": "test"})
    registry.version_store(number).write_json("metrics.json", {"version": number})
    return number


def test_versions_claimed_once_and_two_promotions_one_wins(store: ArtifactStore) -> None:
    registry = Registry(store, "sinc")
    claimed = race(lambda i: registry.claim({"lineage_id": f"racer-{i}"}))
    assert sorted(claimed) == list(range(1, RACERS + 1))  # every racer got its own number
    for number in claimed:
        registry.version_store(number).write_json("metrics.json", {"version": number})

    first = registry.set_champion(1, expected=None, action="promote", by="test")
    outcomes = race(
        lambda i: registry.set_champion(2 + i % 3, expected=first, action="promote", by=f"r{i}"), 3
    )
    winners = [r for r in outcomes if not isinstance(r, PreconditionFailed)]
    assert len(winners) == 1
    pointer = json.loads(store.read_bytes("sinc/champion"))
    assert pointer["version"] == winners[0].version  # type: ignore[union-attr]
    assert [entry["version"] for entry in pointer["history"]] == [winners[0].version, 1]  # type: ignore[union-attr]
    with pytest.raises(PreconditionFailed):
        registry.set_champion(1, expected=None, action="promote", by="late creator")


def test_promote_cli_rolls_back_and_records_history(
    store: ArtifactStore, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = Registry(store, "sinc")
    one, two = complete_version(registry), complete_version(registry)
    registry.set_champion(one, expected=None, action="promote", by="run a1")
    registry.set_champion(two, expected=registry.champion(), action="promote", by="run a2")

    assert cli_main(["promote", "sinc", "--to", "1", "--registry", store.root_uri]) == 0
    assert "champion v2 -> v1 (rollback)" in capsys.readouterr().out
    pointer = json.loads(store.read_bytes("sinc/champion"))
    assert pointer["version"] == 1 and pointer["uri"].endswith("/sinc/versions/1")
    assert [(e["version"], e["previous"], e["action"]) for e in pointer["history"]] == [
        (1, 2, "rollback"), (2, 1, "promote"), (1, None, "promote"),
    ]  # fmt: skip
    assert cli_main(["promote", "sinc", "--to", "2", "--registry", store.root_uri]) == 0
    assert json.loads(store.read_bytes("sinc/champion"))["version"] == 2

    assert cli_main(["promote", "sinc", "--to", "9", "--registry", store.root_uri]) == 2
    assert "no complete version 9 (complete versions: v1, v2)" in capsys.readouterr().err
    registry.claim({"lineage_id": "unfinished"})  # claimed, never completed
    with pytest.raises(PublishError, match="no complete version 3"):
        registry.set_champion(3, expected=registry.champion(), action="promote", by="test")
