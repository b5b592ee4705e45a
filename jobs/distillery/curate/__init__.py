"""The curate phase: parse + output contract -> heuristic filters -> expected-label match ->
exact / near-duplicate removal -> optional LLM judge -> deterministic stratified split.

`pipeline.curate_records` is the whole logic as a pure function; `job.run` reads teacher.jsonl
from the collect phase and writes train.jsonl, validation.jsonl, rejected.jsonl and summary.json.
"""
