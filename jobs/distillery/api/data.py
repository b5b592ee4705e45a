"""Where prompts come from, how they are expanded, and how completions are curated."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from distillery.api.base import (
    LONG_TEXT,
    MAX_INLINE_PROMPTS,
    MAX_LIST,
    SHORT_TEXT,
    URI_TEXT,
    ApiModel,
    PromptText,
    ShortText,
    cel_rule,
    validations,
)
from distillery.api.teacher import SecretKeyRef


class ConfigMapKeyRef(ApiModel):
    """A key of a ConfigMap holding JSONL or one prompt per line."""

    name: str = Field(max_length=SHORT_TEXT, description="ConfigMap name.")
    key: str = Field(max_length=SHORT_TEXT, description="Key inside the ConfigMap.")


class DatasetSource(ApiModel):
    """A local or mounted dataset file (JSON, JSONL, CSV or Parquet) read with `datasets`."""

    path: str = Field(max_length=URI_TEXT, description="Path of the file (json, jsonl, csv, parquet).")
    prompt_column: str = Field(default="prompt", max_length=SHORT_TEXT, description="Prompt column.")
    category_column: str | None = Field(default=None, max_length=SHORT_TEXT, description="Category column.")
    expected_column: str | None = Field(
        default=None, max_length=SHORT_TEXT, description="Expected output / label column."
    )
    limit: int | None = Field(default=None, ge=1, description="Take at most this many rows.")


class PromptSource(ApiModel):
    """Exactly one of inline, configMap, uri or dataset."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": validations(
            cel_rule(
                "[has(self.inline), has(self.configMap), has(self.uri), has(self.dataset)]"
                ".filter(x, x).size() == 1",
                "exactly one of inline, configMap, uri or dataset must be set",
            )
        )
    }

    inline: list[PromptText] | None = Field(
        default=None,
        max_length=MAX_INLINE_PROMPTS,
        description="Prompts written in the manifest.",
    )
    config_map: ConfigMapKeyRef | None = Field(
        default=None, description="A ConfigMap key (mounted into the job as a file)."
    )
    uri: str | None = Field(
        default=None,
        max_length=URI_TEXT,
        description='JSONL at s3:// or file://, lines {"prompt", "category"?, "expected"?}.',
    )
    dataset: DatasetSource | None = Field(default=None, description="A dataset file with a prompt column.")

    @model_validator(mode="after")
    def _exactly_one(self) -> PromptSource:
        chosen = [
            name for name in ("inline", "config_map", "uri", "dataset") if getattr(self, name) is not None
        ]
        if len(chosen) != 1:
            raise ValueError(
                "exactly one of inline, configMap, uri or dataset must be set "
                f"(got {len(chosen)}: {', '.join(chosen) or 'none'})"
            )
        return self


class Modifier(ApiModel):
    """Text appended to a selection of base prompts, making new prompts (seed 003)."""

    text: str = Field(min_length=1, max_length=LONG_TEXT, description="Text appended to the prompt.")
    select: str = Field(
        default="all",
        max_length=SHORT_TEXT,
        pattern=r"^(all|\d+(-\d+)?(\s*,\s*\d+(-\d+)?)*)$",
        description='Base-prompt indices, e.g. "0-15" or "0-7, 20-23", or "all".',
    )


class Expansion(ApiModel):
    """How base prompts become the prompts sent to the teacher."""

    modifiers: list[Modifier] = Field(default_factory=list, max_length=MAX_LIST, description="Modifiers.")
    samples_per_prompt: int = Field(
        default=1, ge=1, le=64, description="Completions collected per prompt (needs temperature > 0)."
    )
    dedupe: bool = Field(default=True, description="Drop repeated prompts before collection.")


class PromptsSpec(ApiModel):
    """Where prompts come from and how they are expanded."""

    sources: list[PromptSource] = Field(min_length=1, max_length=64, description="Prompt sources.")
    expand: Expansion = Field(default_factory=Expansion, description="Prompt expansion.")


# --- curation ---------------------------------------------------------------------------------


class HeuristicFilters(ApiModel):
    """Seed 002's cheap filters; each is off unless set."""

    min_words: int | None = Field(default=None, ge=1, description="Reject completions with fewer words.")
    uncertainty_phrases: list[ShortText] | None = Field(
        default=None,
        max_length=MAX_LIST,
        description="Reject completions containing any of these phrases (case-insensitive).",
    )
    min_keyword_overlap: float | None = Field(
        default=None, ge=0, le=1, description="Reject when fewer prompt keywords appear in the completion."
    )


class JudgeSpec(ApiModel):
    """An LLM judge scoring each completion from 0 to 1 (another model family by default)."""

    provider: Literal["anthropic", "openai-compatible"] = Field(default="anthropic", description="Provider.")
    model: str = Field(min_length=1, max_length=SHORT_TEXT, description="Judge model id.")
    base_url: str | None = Field(default=None, max_length=URI_TEXT, description="API base URL.")
    rubric: str | None = Field(default=None, max_length=LONG_TEXT, description="What a good answer is.")
    min_score: float = Field(default=0.75, ge=0, le=1, description="Keep completions scoring at least this.")
    api_key_secret_ref: SecretKeyRef | None = Field(default=None, description="Secret with the API key.")


class AnchorsSpec(ApiModel):
    """Human-verified examples mixed into training (seed 002: real data against model collapse).

    Each example's expected output is the assistant answer trained on; anchors go to train.jsonl
    only, and an anchor whose prompt is also in evaluation.heldOut is left out (and counted).
    """

    source: PromptSource = Field(
        description="Examples with an expected output (uri / configMap JSONL, or dataset + expectedColumn)."
    )
    share: float = Field(
        gt=0, lt=1, description="Share of train.jsonl lines that are anchors, e.g. 0.2 (capped by supply)."
    )


class CurationSpec(ApiModel):
    """From raw teacher completions to a clean train / validation split."""

    filters: HeuristicFilters = Field(default_factory=HeuristicFilters, description="Heuristic filters.")
    require_expected_match: bool = Field(
        default=True, description="Reject completions that differ from a prompt's expected output."
    )
    dedupe: bool = Field(default=True, description="Remove exact and near-duplicate completions.")
    near_duplicate_threshold: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Jaccard similarity of word shingles above which two are duplicates.",
    )
    judge: JudgeSpec | None = Field(default=None, description="Optional LLM judge.")
    validation_fraction: float = Field(
        default=0.1, ge=0, lt=1, description="Fraction held out for validation during training."
    )
    seed: int = Field(default=0, ge=0, description="Seed of the deterministic split.")
    anchors: AnchorsSpec | None = Field(
        default=None, description="Human-verified examples mixed into training at a configured share."
    )
