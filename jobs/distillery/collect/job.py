"""`distillery-job collect`: resolve the run's prompts, collect teacher completions, write the summary."""

from __future__ import annotations

import logging
import signal
from typing import Any

from distillery.collect.cache import TeacherCache
from distillery.collect.shards import shard_index, shard_of, shard_prefix, shard_teacher
from distillery.context import JobContext, secret_from_env
from distillery.errors import CollectInterrupted, TeacherError
from distillery.layout import COLLECT_PROMPTS, COLLECT_TEACHER, SUMMARY
from distillery.prompts import Prompt, resolve_prompts

log = logging.getLogger("distillery.collect")

API_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai-compatible": "OPENAI_API_KEY"}


def store_options(ctx: JobContext) -> dict[str, Any]:
    storage = ctx.run.spec.storage
    return {"endpoint_url": storage.endpoint, "region": storage.region}


def load_or_resolve_prompts(ctx: JobContext, store: Any) -> list[Prompt]:
    """The attempt's prompts: as resolved by the first run of this attempt (sources may change later)."""
    if store.exists(COLLECT_PROMPTS):
        prompts = [Prompt.from_record(record) for record in store.read_jsonl(COLLECT_PROMPTS)]
        log.info("collect: %d prompts from %s (resolved by an earlier run)", len(prompts), COLLECT_PROMPTS)
        return prompts
    prompts = resolve_prompts(ctx.run.spec.prompts, store_options=store_options(ctx), base_dir=None)
    store.write_jsonl(COLLECT_PROMPTS, (p.to_record() for p in prompts))
    return prompts


def api_key_for(provider: str) -> str | None:
    env = API_KEY_ENV[provider]
    key = secret_from_env(env)
    if key is None and provider == "anthropic":
        raise TeacherError(f"{env} is not set (the job gets it from teacher.apiKeySecretRef)")
    return key


def teacher_cache(ctx: JobContext, system_prompt: str) -> TeacherCache | None:
    """The namespace's teacher cache, unless `teacher.cache: false`."""
    from distillery.store import open_store

    spec = ctx.run.spec
    if not spec.teacher.cache:
        return None
    store = open_store(ctx.layout.teacher_cache, **store_options(ctx))
    return TeacherCache(store, spec.teacher, system_prompt)


def shard_store(ctx: JobContext, index: int) -> Any:
    """The store of one shard: collect/shards/<index>/ (its prompts, chunks, journal and summary)."""
    from distillery.store import open_store

    uri = ctx.layout.artifact("collect", shard_prefix(index))
    return open_store(uri, **store_options(ctx))


def shard_prompts(ctx: JobContext, store: Any, index: int, shards: int) -> list[Prompt]:
    """The prompts whose id hashes to this shard (resolved once per shard, then read back)."""
    if store.exists(COLLECT_PROMPTS):
        return [Prompt.from_record(record) for record in store.read_jsonl(COLLECT_PROMPTS)]
    prompts = resolve_prompts(ctx.run.spec.prompts, store_options=store_options(ctx), base_dir=None)
    mine = [p for p in prompts if shard_of(p.id, shards) == index]
    store.write_jsonl(COLLECT_PROMPTS, (p.to_record() for p in mine))
    log.info("collect: shard %d of %d takes %d of %d prompts", index, shards, len(mine), len(prompts))
    return mine


def run(ctx: JobContext) -> dict[str, Any]:
    from distillery.collect.engine import FAILED, INTERRUPTED, CollectOptions, collect_to_store

    for noisy in ("httpx", "httpx2"):  # one INFO line per HTTP request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    spec = ctx.run.spec
    index = shard_index(spec.teacher.shards)
    if index is None:
        store = ctx.store("collect")
        prompts = load_or_resolve_prompts(ctx, store)
    else:
        store = shard_store(ctx, index)
        prompts = shard_prompts(ctx, store, index, spec.teacher.shards)
    system_prompt = spec.teacher.system_prompt or spec.task.system_prompt
    summary = collect_to_store(
        prompts,
        shard_teacher(spec.teacher),
        store,
        api_key=api_key_for(spec.teacher.provider),
        system_prompt=system_prompt,
        options=CollectOptions(stop_signals=(signal.SIGTERM, signal.SIGINT)),
        cache=teacher_cache(ctx, system_prompt),
    )
    if summary["status"] != INTERRUPTED:
        summary["teacher_jsonl"] = store.uri_for(COLLECT_TEACHER)
    if index is not None:
        summary["shard"] = index
    store.write_json(SUMMARY, summary)
    if summary["status"] == INTERRUPTED:
        raise CollectInterrupted(f"collect interrupted: {summary['reason']}")
    if summary["status"] == FAILED:
        raise TeacherError(f"collect failed: {summary['reason']}")
    return summary
