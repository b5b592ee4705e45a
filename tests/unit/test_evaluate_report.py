"""The report artifacts: JSON, Markdown and a self-contained HTML page a person decides from."""

from __future__ import annotations

import base64
from pathlib import Path

from distillery import layout
from distillery.evaluate.report import write_report
from distillery.store import open_store
from tests.fixtures.reports import sample_report


def test_report_files(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}")
    loss = {"steps": [1, 5, 10], "loss": [7.9, 3.0, 0.5], "eval_loss": 0.7, "history": []}
    report, predictions = sample_report()
    uris = write_report(store, report, predictions, loss)
    assert set(uris) == {
        layout.EVALUATE_REPORT_JSON,
        layout.EVALUATE_REPORT_MD,
        layout.EVALUATE_REPORT_HTML,
        layout.EVALUATE_PREDICTIONS,
    }
    page = store.read_text(layout.EVALUATE_REPORT_HTML)
    images = page.split("src='data:image/png;base64,")[1:]
    assert len(images) == 2  # loss curves + scores per model
    assert all(base64.b64decode(image.split("'")[0])[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    assert "http" not in page and "<script" not in page  # self-contained: nothing fetched, nothing run
    markdown = store.read_text(layout.EVALUATE_REPORT_MD)
    assert "**No: the student fails 1 of 2 gates.**" in markdown
    assert "- FAIL: Contract pass rate (strict) at least 90%: 50%, fails by 40.0 points." in markdown
    assert "- pass: Latency, 95th percentile at most 100 ms: 30 ms, passes by 70 ms." in markdown
    assert "| Contract pass rate (strict) | 0% | 50% | 100% |" in markdown
    assert (
        "one memorised answer repeated for every prompt would agree on 50% (margin +0.0 points)" in markdown
    )
    assert next(iter(store.read_jsonl(layout.EVALUATE_PREDICTIONS)))["prompt"] == "fix nginx"


def test_html_puts_the_verdict_first_and_the_students_failures_first(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}")
    report, predictions = sample_report()
    write_report(store, report, predictions, None)
    page = store.read_text(layout.EVALUATE_REPORT_HTML)
    order = [
        "No: the student fails 1 of 2 gates.",
        "Examples side by side",
        "Economics",
        "Training",
        "All scores",
    ]
    assert [page.index(text) for text in order] == sorted(page.index(text) for text in order)
    # The compression error (second prompt) is shown before the correct answer (first prompt).
    assert page.index("WRONG-STUDENT-ANSWER") < page.index("GOOD-ANSWER")
    assert "compression error: the teacher passed, the student failed" in page
    assert "fails: rule:data-states-input-size" in page and "&lt;garbage &amp; more&gt;" in page
    assert "1,250 requests per hour" in page and "912,500" in page
    assert "claude-haiku-4-5-20251001" in page and "285 / 15 / 0" in page
    assert "No loss curve was logged." in page
