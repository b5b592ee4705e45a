"""report.html rendered by a real headless browser (Debian's chromium): no errors, verdict and examples shown.

chromium is installed by tests/browser/install-chromium.sh (run by `make test`); without it this test
fails, naming the script, rather than skipping. The browser runs with every host name unresolvable,
so a page that fetched anything would miss it; it dumps the rendered DOM, takes a screenshot and
prints the page to PDF (the print stylesheet).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from distillery import layout
from distillery.evaluate.report import write_report
from distillery.store import open_store
from tests.fixtures.reports import sample_report

INSTALL = Path(__file__).with_name("install-chromium.sh")
CONSOLE_ERROR = re.compile(r"Uncaught|CONSOLE\(\d+\)|ERR_NAME_NOT_RESOLVED|ERR_FILE_NOT_FOUND|net::ERR_")


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    assert path, f"chromium is not on PATH: run {INSTALL} (make test does)"
    return path


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    report, predictions = sample_report()
    loss = {"steps": [1, 5, 10], "loss": [7.9, 3.0, 0.5], "eval_loss": 0.7, "history": []}
    write_report(open_store(f"file://{root}"), report, predictions, loss)
    return root / layout.EVALUATE_REPORT_HTML


def headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", "--enable-logging=stderr",
        "--v=0", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_page_renders_verdict_and_examples_without_errors(
    chromium: str, report_page: Path, tmp_path: Path
) -> None:
    shot, pdf = tmp_path / "report.png", tmp_path / "report.pdf"
    dom = headless(chromium, tmp_path / "p1", "--dump-dom", report_page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    errors = [line for line in dom.stderr.splitlines() if CONSOLE_ERROR.search(line)]
    assert not errors, errors
    text = re.sub(r"<[^>]+>", " ", dom.stdout)
    assert "No: the student fails 1 of 2 gates." in text
    assert "Examples side by side" in text and "WRONG-STUDENT-ANSWER" in text
    assert "compression error: the teacher passed, the student failed" in text
    assert (
        text.index("No: the student fails") < text.index("WRONG-STUDENT-ANSWER") < text.index("GOOD-ANSWER")
    )
    assert dom.stdout.count("<img") == 2

    shots = headless(
        chromium, tmp_path / "p2", f"--screenshot={shot}", "--window-size=1200,2400", report_page.as_uri()
    )
    assert shots.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shots.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("RGB").resize((60, 120)).getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 20  # text, boxes and charts, not a blank page

    printed = headless(
        chromium, tmp_path / "p3", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report_page.as_uri()
    )
    assert printed.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-", printed.stderr[-2000:]
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())) >= 2
