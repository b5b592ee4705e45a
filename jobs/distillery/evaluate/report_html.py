"""report.html: the page an ML engineer opens to decide whether the student replaces the teacher.

Order: the verdict in words with every gate and its margin; what the held-out set shows about
learning (agreement next to the best memorised answer); side-by-side examples, the student's
failures first; economics; training (loss curves, provenance); all scores. Self-contained (inline
CSS and base64 PNGs, no script, nothing fetched) and laid out to print.
"""

from __future__ import annotations

import html
from typing import Any

from distillery.evaluate import report_text as words
from distillery.evaluate.report_text import fmt

MAX_EXAMPLES = 40
MODEL_ORDER = ("teacher", "student", "base")
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1150px;
 color:#1d2330;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #d5d9e0;padding-bottom:.2em}
.sub{color:#5a6272;margin-top:0}
.verdict{border-radius:8px;padding:1em 1.3em;margin:1em 0;border:2px solid}
.verdict h2{border:0;margin:.1em 0 .4em;font-size:1.35em}
.yes{background:#e9f7ee;border-color:#2e8b57}.no{background:#fdecec;border-color:#c0392b}
.maybe{background:#fff6e0;border-color:#d49a00}
ul.gates{padding-left:1.2em}li.pass::marker{content:"✔ ";color:#2e8b57}
li.fail::marker{content:"✘ ";color:#c0392b}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #d5d9e0;padding:4px 10px;text-align:left;
 vertical-align:top}th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
.example{border:1px solid #d5d9e0;border-radius:6px;margin:1em 0;padding:.6em .9em;break-inside:avoid}
.tag{display:inline-block;border-radius:4px;padding:0 .45em;margin-right:.4em;font-size:.85em;
 background:#eef1f5}
.tag.compression{background:#fdecec;color:#8e1b10}.tag.inherited{background:#fff6e0;color:#7a5600}
.tag.failed{background:#fdecec;color:#8e1b10}.tag.ok{background:#e9f7ee;color:#1e6b3e}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:.7em}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f8fa;border:1px solid #e3e6eb;padding:.5em;
 margin:.3em 0;font-size:12.5px;max-height:22em;overflow:auto}
.prompt{font-weight:600;white-space:pre-wrap;word-break:break-word}
.fails{color:#8e1b10;font-size:.9em}.passes{color:#1e6b3e;font-size:.9em}
img{max-width:100%}
@media print{body{margin:0;max-width:none;font-size:11pt}pre{max-height:none;overflow:visible}
 .example,table,img{break-inside:avoid}h2{break-after:avoid}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(head: list[str] | None, rows: list[list[str]], numeric_from: int = 1) -> str:
    header = f"<tr>{''.join(f'<th>{_e(h)}</th>' for h in head)}</tr>" if head else ""
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{_e(c)}</td>" if i >= numeric_from else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{header}{body}</table>"


def verdict_section(report: dict[str, Any]) -> str:
    headline = words.headline(report)
    tone = "yes" if headline.startswith("Yes") else "maybe" if headline.startswith("Maybe") else "no"
    verdict = report.get("verdict") or {}
    gates = (
        "".join(
            f"<li class='{'pass' if g['passed'] else 'fail'}'>{_e(words.gate_sentence(g))}</li>"
            for g in report.get("gates") or []
        )
        or "<li>No gates are configured (evaluation.gates).</li>"
    )
    learning = "".join(
        f"<li>{_e(line)}</li>"
        for line in words.learning_sentences(report.get("generalisation") or {}, report.get("examples", 0))
    )
    reason = verdict.get("reason")
    subsets = "".join(f"<li>{_e(line)}</li>" for line in words.subset_sentences(report.get("subsets")))
    repairs = "".join(f"<li>{_e(line)}</li>" for line in words.repair_sentences(report.get("repairs")))
    return (
        f"<section class='verdict {tone}' id='verdict'><h2>{_e(headline)}</h2>"
        + (f"<p>Seed 004's rule ({_e(verdict.get('verdict') or 'n/a')}): {_e(reason)}.</p>" if reason else "")
        + f"<p><b>Gates</b></p><ul class='gates'>{gates}</ul>"
        + (f"<p><b>Did it learn the task?</b></p><ul>{learning}</ul>" if learning else "")
        + (f"<p><b>Real vs teacher-like held-out examples</b></p><ul>{subsets}</ul>" if subsets else "")
        + (f"<p><b>Repairs (spec.task.output.repairs)</b></p><ul>{repairs}</ul>" if repairs else "")
        + "</section>"
    )


def _status(prediction: dict[str, Any]) -> str:
    return prediction.get("student_error") or "ok"


def _example(number: int, prediction: dict[str, Any]) -> str:
    models = prediction.get("models") or {}
    status = _status(prediction)
    labels = {
        "compression": "compression error: the teacher passed, the student failed",
        "inherited": "inherited error: the teacher failed too",
        "failed": "student failed (no teacher answer to compare)",
        "ok": "no student error",
    }
    tags = [f"<span class='tag {status}'>{_e(labels[status])}</span>"]
    agrees = (models.get("student") or {}).get("agrees_with_teacher")
    if agrees is not None:
        same = "same answer as the teacher" if agrees else "differs from the teacher"
        tags.append(f"<span class='tag'>{same}</span>")
    if prediction.get("novel_teacher_answer"):
        tags.append("<span class='tag'>teacher answer never seen in training</span>")
    columns = []
    for name in MODEL_ORDER:
        if name not in models:
            continue
        model = models[name]
        failures = model.get("failures") or []
        verdict = (
            f"<div class='fails'>fails: {_e(', '.join(failures))}</div>"
            if failures
            else "<div class='passes'>passes the contract</div>"
        )
        output = model.get("output")
        shown = _e(output if output is not None else "(no answer)")
        repaired = model.get("repaired")
        if repaired:
            after = "passes" if repaired["passed"] else "still fails"
            verdict += f"<div class='passes'>repaired by {_e(', '.join(repaired['applied']))}: {after}</div>"
        columns.append(f"<div><b>{_e(name)}</b>{verdict}<pre>{shown}</pre></div>")
    expected = prediction.get("expected")
    expected_html = f"<div>expected: <code>{_e(expected)}</code></div>" if expected is not None else ""
    return (
        f"<div class='example'><div>#{number} {''.join(tags)}</div>"
        f"<div class='prompt'>Prompt: {_e(prediction.get('prompt'))}</div>{expected_html}"
        f"<div class='cols'>{''.join(columns)}</div></div>"
    )


def examples_section(predictions: list[dict[str, Any]]) -> str:
    rank = {"compression": 0, "inherited": 1, "failed": 1, "ok": 2}

    def key(item: tuple[int, dict[str, Any]]) -> tuple[int, int, int]:
        agrees = ((item[1].get("models") or {}).get("student") or {}).get("agrees_with_teacher")
        return rank[_status(item[1])], 0 if agrees is False else 1, item[0]

    ordered = sorted(enumerate(predictions, 1), key=key)
    errors = sum(_status(p) != "ok" for p in predictions)
    shown = "".join(_example(number, p) for number, p in ordered[:MAX_EXAMPLES])
    more = len(ordered) - MAX_EXAMPLES
    note = f"<p>{more} more examples are in predictions.jsonl.</p>" if more > 0 else ""
    return (
        f"<h2 id='examples'>Examples side by side</h2><p>{errors} of {len(predictions)} held-out prompts are "
        "student failures; they come first (compression errors, then inherited), then answers that differ "
        f"from the teacher's, then the rest.</p>{shown}{note}"
    )


def economics_section(economics: dict[str, Any]) -> str:
    rows = [
        ["Cost per 1,000 requests", fmt(economics.get("student_cost_per_1k_usd"), "usd"),
         fmt(economics.get("teacher_cost_per_1k_usd"), "usd")],
        ["Latency, median", fmt(economics.get("student_latency_p50_ms"), "ms"),
         fmt(economics.get("teacher_latency_p50_ms"), "ms")],
        ["Latency, 95th percentile", fmt(economics.get("student_latency_p95_ms"), "ms"),
         fmt(economics.get("teacher_latency_p95_ms"), "ms")],
    ]  # fmt: skip
    price = fmt(economics.get("gpu_hour_price_usd"), "usd")
    break_even = economics.get("break_even_requests_per_hour")
    if break_even is None:
        sentence = "The teacher's price per request is unknown here, so there is no break-even volume."
    else:
        capacity = economics.get("student_requests_per_gpu_hour")
        sentence = (
            f"At {price} per GPU-hour the student's GPU costs the same as the teacher at "
            f"{fmt(break_even)} requests per hour ({fmt(economics.get('break_even_requests_per_month'))} "
            f"per month of {730} hours); above that volume the student is cheaper."
        )
        if capacity is not None:
            fits = "within" if economics.get("break_even_within_capacity") else "beyond"
            sentence += (
                f" Measured here, one GPU (or this machine) answered {fmt(capacity)} requests per hour, so "
                f"break-even is {fits} what one student replica serves."
            )
    return (
        "<h2 id='economics'>Economics</h2>"
        + _table(["", "student", "teacher"], rows)
        + f"<p>{_e(sentence)} Student cost is GPU time measured during this evaluation at the spec's "
        "gpuHourPriceUSD; teacher cost is what the teacher's API charged (or would charge) per request.</p>"
    )


def provenance_section(provenance: dict[str, Any], images: dict[str, str]) -> str:
    p = provenance
    lora = p.get("lora") or {}
    training = p.get("training") or {}
    modules = ", ".join(lora.get("target_modules") or []) or "-"
    curated = " / ".join(fmt(p.get(k)) for k in ("curated_train", "curated_validation", "curated_rejected"))
    rows = [
        ["Run, attempt", f"{p.get('run', '-')}, attempt {p.get('attempt', '-')}"],
        ["Teacher (requested / as returned)",
         f"{p.get('teacher_model_requested', '-')} / {p.get('teacher_model_returned') or '-'}"],
        ["Prompts sent / answers collected", f"{fmt(p.get('prompts'))} / {fmt(p.get('collected'))}"],
        ["Teacher cost of the training data", fmt(p.get("teacher_cost_usd"), "usd")],
        ["Curated: train / validation / rejected", curated],
        ["Base model", f"{p.get('base_model', '-')} ({p.get('method', '-')})"],
        ["LoRA", f"r={lora.get('r', '-')}, alpha={lora.get('alpha', '-')}, "
         f"dropout={lora.get('dropout', '-')}, modules: {modules}"],
        ["Training", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in training.items()) or "-"],
        ["Steps, final training loss, validation loss",
         f"{fmt(p.get('train_steps'))}, {fmt(p.get('final_loss'))}, {fmt(p.get('eval_loss'))}"],
    ]  # fmt: skip
    loss = images.get("loss")
    picture = (
        f"<img alt='training and validation loss' src='data:image/png;base64,{loss}'/>"
        if loss
        else ("<p>No loss curve was logged.</p>")
    )
    return "<h2 id='training'>Training</h2>" + picture + _table(None, rows, numeric_from=9)


def scores_section(report: dict[str, Any], images: dict[str, str]) -> str:
    models = list(report["models"])
    learnt = report.get("generalisation") or {}
    rows = []
    for key in ("contract_pass_rate", "contract_pass_rate_tolerant", "teacher_agreement", "accuracy",
                "judge_score", "quality", "latency_p50_ms", "latency_p95_ms", "tokens_per_second",
                "cost_per_1k_requests_usd"):  # fmt: skip
        if any(report["models"][m].get(key) is not None for m in models):
            rows.append(
                [words.metric_name(key), *(words.metric(key, report["models"][m].get(key)) for m in models)]
            )
    for key in ("input_rule_pass_rate", "teacher_agreement_novel"):
        values = learnt.get(key) or {}
        if any(values.get(m) is not None for m in models):
            rows.append([words.metric_name(key), *(words.metric(key, values.get(m)) for m in models)])
    rules = sorted(
        {rule for metrics in report["models"].values() for rule in metrics.get("rule_pass_rates", {})}
    )
    for rule in rules:
        rows.append(
            [f"Rule {rule}", *(fmt(report["models"][m]["rule_pass_rates"].get(rule), "rate") for m in models)]
        )
    for key, (name, kind) in words.DIVERSITY.items():
        rows.append(
            [name, *(fmt((report["models"][m].get("diversity") or {}).get(key), kind) for m in models)]
        )
    scores = images.get("scores")
    picture = f"<img alt='scores per model' src='data:image/png;base64,{scores}'/>" if scores else ""
    return "<h2 id='scores'>All scores</h2>" + _table(["", *models], rows) + picture


def html_page(report: dict[str, Any], predictions: list[dict[str, Any]], images: dict[str, str]) -> str:
    title = f"Distillery evaluation: {report['run']}"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>Should the student replace the teacher?</h1><p class='sub'>{_e(report['run'])}: "
        f"{report.get('examples', 0)} held-out prompts, never trained on.</p>"
        + verdict_section(report)
        + examples_section(predictions)
        + economics_section(report.get("economics") or {})
        + provenance_section(report.get("provenance") or {}, images)
        + scores_section(report, images)
        + "</body></html>"
    )
