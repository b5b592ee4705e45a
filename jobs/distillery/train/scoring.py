"""Logit KD, step 1: the open-weights teacher's top-k log-probs on the student-templated training text.

Every training example is rendered with the STUDENT's chat template and tokenizer (the text the
student trains on, token for token), the teacher scores those ids in one forward pass, and for each
position whose next token is an assistant token (the positions assistant-only loss trains) the top-k
next-token log-probs are kept: int32 ids + fp16 log-probs, 6 bytes per (token, k). They are stored in
the train phase's prefix (`kd/teacher-topk.npz` + `kd/scoring.json`); a restarted job whose
examples, teacher and topK match reuses them instead of scoring again.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass
from typing import Any

from distillery.api.distillation import DistillationSpec
from distillery.errors import TrainingError
from distillery.store import ArtifactStore

log = logging.getLogger(__name__)
TOPK_KEY = "kd/teacher-topk.npz"
SCORING_KEY = "kd/scoring.json"
LOG_EVERY_EXAMPLES = 50


@dataclass(frozen=True)
class Tokenized:
    """One example as the trainer sees it: its ids and which of them are assistant tokens."""

    input_ids: list[int]
    assistant_mask: list[int]

    @property
    def key(self) -> bytes:
        import numpy as np

        return np.asarray(self.input_ids, dtype=np.int32).tobytes()

    @property
    def scored_positions(self) -> list[int]:
        """Positions t whose next token t+1 is an assistant token (shifted labels != -100)."""
        return [t for t in range(len(self.input_ids) - 1) if self.assistant_mask[t + 1]]


@dataclass
class TeacherScores:
    """The stored top-k, indexed by the examples' token ids (how a training batch finds its rows)."""

    ids: Any  # np.int32 [rows, k]
    logprobs: Any  # np.float16 [rows, k]
    offsets: Any  # np.int64 [examples + 1]
    index: dict[bytes, int]

    def rows_for(self, input_ids: Any) -> tuple[int, int]:
        """The [start, stop) rows of the example whose (unpadded) ids are `input_ids`."""
        import numpy as np

        example = self.index.get(np.asarray(input_ids, dtype=np.int32).tobytes())
        if example is None:
            raise TrainingError(
                "a training batch holds an example the teacher did not score (its tokenization differs from "
                "the scoring step's)"
            )
        return int(self.offsets[example]), int(self.offsets[example + 1])


def tokenize(tokenizer: Any, conversations: list[list[dict[str, str]]]) -> list[Tokenized]:
    out = []
    for messages in conversations:
        encoded = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids = list(encoded["input_ids"])
        out.append(Tokenized(ids, list(encoded.get("assistant_masks") or [0] * len(ids))))
    return out


def check_same_tokenizer(
    student: Any, teacher: Any, *, student_name: str, teacher_name: str, sample: str
) -> None:
    """Logit KD compares distributions id by id: the vocabularies and the tokenization must be the same."""
    student_vocab, teacher_vocab = student.get_vocab(), teacher.get_vocab()
    where = (
        f"student.distillation.teacher.model {teacher_name}: its tokenizer differs from "
        f"student.baseModel {student_name}'s"
    )
    if student_vocab != teacher_vocab:
        differing = sorted(
            t for t in student_vocab.keys() & teacher_vocab.keys() if student_vocab[t] != teacher_vocab[t]
        )
        only_student = len(student_vocab.keys() - teacher_vocab.keys())
        only_teacher = len(teacher_vocab.keys() - student_vocab.keys())
        example = (
            f", e.g. {differing[0]!r} is {student_vocab[differing[0]]} vs {teacher_vocab[differing[0]]}"
            if differing
            else ""
        )
        raise TrainingError(
            f"{where} ({len(student_vocab)} vs {len(teacher_vocab)} tokens; {len(differing)} shared tokens "
            f"have different ids{example}; {only_student} only in the student's, {only_teacher} only in the "
            "teacher's): logit distillation needs the same tokenizer"
        )
    if student(sample)["input_ids"] != teacher(sample)["input_ids"]:
        raise TrainingError(
            f"{where}: same vocabulary but a training example tokenizes differently (normaliser or "
            "pre-tokenizer); logit distillation needs the same tokenizer"
        )


def digest(examples: list[Tokenized]) -> str:
    sha = hashlib.sha256()
    for example in examples:
        sha.update(example.key + bytes(example.assistant_mask) + b"|")
    return sha.hexdigest()


def score(model: Any, examples: list[Tokenized], top_k: int, vocab_size: int) -> tuple[Any, Any, float]:
    """(ids int32 [rows, k], log-probs fp16 [rows, k], mean teacher probability mass covered by the top-k)."""
    import numpy as np
    import torch

    all_ids, all_logprobs, covered = [], [], 0.0
    started = time.monotonic()
    with torch.no_grad():
        for number, example in enumerate(examples, 1):
            positions = torch.tensor(example.scored_positions, dtype=torch.long, device=model.device)
            input_ids = torch.tensor([example.input_ids], device=model.device)
            logits = model(input_ids=input_ids).logits[0, positions, :vocab_size]
            logprobs, ids = torch.log_softmax(logits.float(), dim=-1).topk(top_k, dim=-1)
            covered += float(logprobs.exp().sum(-1).sum())
            all_ids.append(ids.to(torch.int32).cpu().numpy())
            all_logprobs.append(logprobs.to(torch.float16).cpu().numpy())
            if number % LOG_EVERY_EXAMPLES == 0:
                log.info(
                    "teacher scoring: %d/%d examples (%.1f s)",
                    number,
                    len(examples),
                    time.monotonic() - started,
                )
    rows = sum(len(i) for i in all_ids)
    ids_array = np.concatenate(all_ids) if rows else np.zeros((0, top_k), np.int32)
    logprob_array = np.concatenate(all_logprobs) if rows else np.zeros((0, top_k), np.float16)
    return ids_array, logprob_array, covered / max(rows, 1)


def release_cuda_cache() -> None:
    """The teacher's weights leave the GPU before the student's training starts."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _offsets(examples: list[Tokenized]) -> Any:
    import numpy as np

    return np.concatenate([[0], np.cumsum([len(e.scored_positions) for e in examples])]).astype(np.int64)


def _load(store: ArtifactStore, examples: list[Tokenized]) -> TeacherScores:
    import numpy as np

    with np.load(io.BytesIO(store.read_bytes(TOPK_KEY))) as stored:
        ids, logprobs = stored["ids"], stored["logprobs"]
    offsets = _offsets(examples)
    if int(offsets[-1]) != len(ids):
        raise TrainingError(
            f"{store.uri_for(TOPK_KEY)} has {len(ids)} rows, the examples need {int(offsets[-1])}"
        )
    return TeacherScores(ids, logprobs, offsets, {e.key: i for i, e in enumerate(examples)})


def load_or_score(
    distillation: DistillationSpec,
    student_name: str,
    tokenizer: Any,
    conversations: list[list[dict[str, str]]],
    store: ArtifactStore,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> tuple[TeacherScores, dict[str, Any]]:
    """The teacher's top-k for `conversations` (scored now, or reused from the store) and the stats."""
    import numpy as np

    from distillery.train import model as models

    teacher = distillation.teacher
    assert teacher is not None  # the spec requires it for method logits
    examples = tokenize(tokenizer, conversations)
    wanted = {
        "teacher": teacher.base_url or teacher.model,
        "top_k": distillation.top_k,
        "examples_digest": digest(examples),
    }
    if store.exists(SCORING_KEY) and store.exists(TOPK_KEY):
        stats = store.read_json(SCORING_KEY)
        if all(stats.get(k) == v for k, v in wanted.items()):
            log.info("teacher scoring: reusing %s", store.uri_for(TOPK_KEY))
            return _load(store, examples), {**stats, "reused": True}
    teacher_path = models.resolve_model_path(teacher.model, endpoint_url=endpoint_url, region=region)
    teacher_tokenizer = models.load_tokenizer(teacher_path)
    sample = tokenizer.apply_chat_template(conversations[0], tokenize=False)
    check_same_tokenizer(
        tokenizer, teacher_tokenizer, student_name=student_name, teacher_name=teacher.model, sample=sample
    )
    started = time.monotonic()
    if teacher.provider == "openai-compatible":
        from distillery.train.scoring_endpoint import score_endpoint

        assert teacher.base_url is not None
        served = teacher.served_model_name or teacher.model
        ids, logprobs, coverage = score_endpoint(teacher.base_url, served, examples, distillation.top_k)
    else:
        teacher_model = models.load_model(teacher_path).eval()
        if models.cuda_available():
            teacher_model.to("cuda")
        ids, logprobs, coverage = score(teacher_model, examples, distillation.top_k, len(tokenizer))
        del teacher_model
        release_cuda_cache()
    buffer = io.BytesIO()
    np.savez(buffer, ids=ids, logprobs=logprobs)
    store.write_bytes(TOPK_KEY, buffer.getvalue())
    rows = len(ids)
    stats = {
        **wanted,
        "examples": len(examples),
        "scored_tokens": rows,
        "stored_bytes": len(buffer.getvalue()),
        "bytes_per_token": round(len(buffer.getvalue()) / max(rows, 1), 2),
        "teacher_coverage": round(coverage, 4),
        "scoring_seconds": round(time.monotonic() - started, 2),
        "topk_uri": store.uri_for(TOPK_KEY),
    }
    store.write_json(SCORING_KEY, stats)
    log.info(
        "teacher scoring: %d assistant tokens, top-%d covers %.1f%% of the teacher's mass, %.1f bytes/token",
        rows,
        distillation.top_k,
        100 * coverage,
        stats["bytes_per_token"],
    )
    offsets = _offsets(examples)
    return TeacherScores(ids, logprobs, offsets, {e.key: i for i, e in enumerate(examples)}), {
        **stats,
        "reused": False,
    }
