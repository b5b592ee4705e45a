"""The report artifacts: JSON, Markdown and a self-contained HTML page with inline PNG plots."""

from __future__ import annotations

import base64
from pathlib import Path

from distillery import layout
from distillery.evaluate.report import write_report
from distillery.store import open_store


def _report() -> dict:
    model = {
        "contract_pass_rate": 0.5,
        "contract_pass_rate_tolerant": 0.75,
        "accuracy": None,
        "quality": 0.5,
        "latency_p50_ms": 12.0,
        "latency_p95_ms": 30.0,
        "tokens_per_second": 100.0,
        "cost_per_1k_requests_usd": 0.01,
        "rule_pass_rates": {"six-bands": 0.5},
        "diversity": {"vocabulary_size": 10, "length_std_dev": 1.5, "top_bigram_frequency": 0.2},
    }
    return {
        "run": "test/sinc a1",
        "models": {"base": dict(model, contract_pass_rate=0.0), "student": model},
        "gates": [
            {
                "metric": "contractPassRate",
                "min": 0.9,
                "max": None,
                "value": 0.5,
                "passed": False,
                "reason": "below min 0.9",
            }
        ],
        "gates_passed": False,
        "verdict": {"verdict": None, "reason": "no teacher comparison"},
        "error_analysis": None,
    }


def test_report_files(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}")
    loss = {"steps": [1, 5, 10], "loss": [7.9, 3.0, 0.5]}
    uris = write_report(store, _report(), [{"id": "a", "prompt": "hi", "models": {}}], loss)
    assert set(uris) == {
        layout.EVALUATE_REPORT_JSON,
        layout.EVALUATE_REPORT_MD,
        layout.EVALUATE_REPORT_HTML,
        layout.EVALUATE_PREDICTIONS,
    }
    page = store.read_text(layout.EVALUATE_REPORT_HTML)
    images = page.split('src="data:image/png;base64,')[1:]
    assert len(images) == 2  # loss curve + metric bars
    assert all(base64.b64decode(image.split('"')[0])[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    assert "http" not in page  # self-contained: nothing fetched
    markdown = store.read_text(layout.EVALUATE_REPORT_MD)
    assert "| contract_pass_rate | 0 | 0.5 |" in markdown
    assert "| contractPassRate | 0.5 | min 0.9 | FAIL (below min 0.9) |" in markdown
    assert next(iter(store.read_jsonl(layout.EVALUATE_PREDICTIONS)))["prompt"] == "hi"
