"""Every file a user can hand us gets a clear error naming the file and the problem (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from distillery.api.manifest import MAX_MANIFEST_BYTES
from distillery.cli.main import main as distillery
from distillery.errors import PromptSourceError
from distillery.prompts import _read_text_file

BAD_FILES = {
    "latin1.yaml": (
        "apiVersion: distillery.dev/v1alpha1\nkind: DistillationRun\n# caf\xe9\n".encode("latin-1"),
        "not UTF-8 text: byte 0xe9 at line 3",
    ),
    "binary.yaml": (bytes(range(256)) * 4, "binary file"),
    "empty.yaml": (b"", "file is empty"),
    "blank.yaml": (b"\n  \n", "file is empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_validate_names_the_file_and_the_problem(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, problem = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert distillery(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and problem in err and "Traceback" not in err


def test_very_large_file_is_refused_before_it_is_parsed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as stream:
        stream.truncate(MAX_MANIFEST_BYTES + 1)
    assert distillery(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and f"at most {MAX_MANIFEST_BYTES} bytes" in err


@pytest.mark.parametrize("name", ["latin1.yaml", "binary.yaml", "empty.yaml"])
def test_distillery_job_reports_a_bad_manifest_without_a_traceback(name: str, tmp_path: Path) -> None:
    data, problem = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    job = str(Path(sys.executable).with_name("distillery-job"))
    result = subprocess.run(
        [job, "collect", "--manifest", str(path), "--attempt", "1"],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=60,
    )
    assert result.returncode == 1
    assert str(path) in result.stderr and problem in result.stderr and "Traceback" not in result.stderr


def test_a_prompts_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "prompts.txt"
    path.write_bytes("na\xefve prompt\n".encode("latin-1"))
    with pytest.raises(PromptSourceError, match=r"prompts\.txt is not UTF-8 text \(byte 0xef"):
        _read_text_file(path)
