"""The offline demo: the whole pipeline on this machine with no network, no GPU and no cluster.

- The teacher is SCRIPTED: a fake Anthropic API on 127.0.0.1 (in this process) whose answers come
  from `distillery.fakes.scripted.sinc_scatter`, reached by the real anthropic SDK via baseUrl.
- The student is a tiny Qwen2-architecture model built here (random weights, locally trained
  tokenizer), loaded by the train and evaluate jobs through the ordinary from_pretrained path.
- The manifest is built from this package (not from the repository's examples/, so an installed
  `distillery demo` works anywhere): the seed-001 sinc contract of examples/sinc-scatter/run.yaml
  (`distillery.contract.sinc`) plus two input-dependent rules (`data-states-input-size`: DATA
  states the prompt's size; `context-matches-ending`: CONTEXT matches its ending, ? or !), a
  CPU-sized student and training; it is written to the output directory and run through the same
  runner as `distillery run`. The student's system prompt is shortened: a 2-layer model learns the
  format far faster when the fixed prefix it must attend past is a few tokens instead of forty.
- Held-out prompts are unseen combinations of a known request template (one word, gibberish,
  question, paragraph, fix / explain / compare ...) and a known ending (none, ? or !), so the
  scripted teacher's answers to them appear nowhere in training: matching them shows the student
  composes what it learnt, not that it memorised answers.
- The student trains on every prompt outside the held-out combinations (800), 6 epochs, padded
  batches of 8 (`packing: false`; the tiny students generalised better from padded batches than from
  one-example micro-batches, see train/strategy.py). Measured: 300 prompts x 8 epochs and 600 x 4
  (288 optimizer steps each) missed the gates (agreement 29 % and 12.5 %, pass rate 42 % and 25 %);
  800 x 6 (570 steps) passes them with the default training seed (README says by how much); with
  seeds 7 and 1 it failed one gate each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.panel import Panel

from distillery.contract.sinc import SINC_JSON_SCHEMA, SINC_RULES
from distillery.fakes import scripted
from distillery.fakes.prompt_pool import POOL_SIZE
from distillery.runner import LocalRunner, RunResult
from distillery.train.model import THREADS_ENV

SCRIPTED_API_KEY = "scripted-demo-teacher-no-real-key"
RUN_NAME = "sinc-scatter-demo"
NAMESPACE = "demo"
STUDENT_SYSTEM_PROMPT = "Scatter the prompt into sinc JSON."


SHOWS = (
    "It shows: the pipeline end to end, and a tiny CPU student learning the output FORMAT and "
    "INPUT-KEYED behaviour: on held-out prompts whose teacher answer never occurs in training, it "
    "composes answers from the prompt's first word, ending and length (its agreement next to the "
    "best single memorised answer is printed above). The teacher is scripted: a toy task.\n"
    "It does not show: quality on real prompts, copying or reasoning about the input, or whether a "
    "real base model (e.g. Qwen2.5-1.5B with a real teacher) passes your gates; that needs a real run."
)


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of the demo; the defaults pass its gates (with the default seed) in a few minutes on 2 cores."""

    prompts: int = 800  # every (template, ending, topic) prompt outside the held-out combinations
    held_out: int = 24
    epochs: float = 6
    learning_rate: float = 1e-2
    batch_size: int = 8
    gradient_accumulation: int = 1
    lora_rank: int = 64
    max_length: int = 512
    max_new_tokens: int = 190
    eval_batch_size: int = 24
    hidden_size: int = 64
    layers: int = 2
    vocab_size: int = 1024
    checkpoint_every_steps: int = 100
    teacher_latency_s: float = 0.0


def split_prompts(settings: DemoSettings) -> tuple[list[str], list[str]]:
    """Training and held-out prompts; held-out ones are (shape, topic) combinations never trained on."""
    return scripted.split_prompts(settings.prompts, settings.held_out)


def demo_manifest(model_dir: Path, base_url: str, storage_uri: str, settings: DemoSettings) -> dict[str, Any]:
    """The sinc-scatter task (seed 001's contract plus an input-dependent rule), sized for a CPU."""
    train_prompts, held_out = split_prompts(settings)
    spec: dict[str, Any] = {
        "task": {
            "systemPrompt": STUDENT_SYSTEM_PROMPT,
            "output": {
                "format": "json",
                "jsonSchema": SINC_JSON_SCHEMA,
                "rules": [*(dict(rule) for rule in [*SINC_RULES, *scripted.INPUT_RULES])],
            },
        },
        "teacher": {
            "provider": "anthropic",
            "model": "claude-haiku-4-5",
            "systemPrompt": scripted.SINC_SYSTEM_PROMPT,
            "mode": "realtime",
            "maxTokens": 1024,
            "baseUrl": base_url,
            "concurrency": 8,
            "maxAttempts": 3,
            "budget": {"maxCostUSD": 1},
        },
        "prompts": {"sources": [{"inline": train_prompts}]},
    }
    body: dict[str, Any] = {
        "apiVersion": "distillery.dev/v1alpha1",
        "kind": "DistillationRun",
        "metadata": {"name": RUN_NAME, "namespace": NAMESPACE},
        "spec": spec,
    }
    # The scripted teacher's answers differ from each other in a word or two (one template, composed
    # from the prompt's features): near-duplicate removal would keep a handful (a real run keeps it on).
    spec["curation"] = {"dedupe": False, "validationFraction": 0.05}
    spec["student"] = {
        "baseModel": str(model_dir),
        "method": "lora",
        "lora": {"r": settings.lora_rank, "alpha": settings.lora_rank},
        "training": {
            "epochs": settings.epochs,
            "learningRate": settings.learning_rate,
            "batchSize": settings.batch_size,
            "gradientAccumulation": settings.gradient_accumulation,
            "maxLength": settings.max_length,
            "packing": False,  # one example per row: more optimizer steps per epoch for a tiny model
            "warmupSteps": 5,
            "checkpointEverySteps": settings.checkpoint_every_steps,
            "logEverySteps": 5,
        },
        "resources": {"gpus": 0, "memory": "4Gi"},
    }
    spec["evaluation"] = {
        "heldOut": {"inline": held_out},
        "compare": ["base", "teacher"],
        "maxNewTokens": settings.max_new_tokens,
        "batchSize": settings.eval_batch_size,
        "gates": [{"metric": "contractPassRate", "min": 0.5}, {"metric": "teacherAgreement", "min": 0.3}],
    }
    spec["storage"] = {"uri": storage_uri}
    return body


def build_student(model_dir: Path, settings: DemoSettings) -> Path:
    """The tiny base model, built once per output directory (its tokenizer knows the task's words)."""
    if (model_dir / "config.json").is_file():
        return model_dir
    from transformers.utils import logging as hf_logging

    from distillery.modelkit import build_tiny_model

    hf_logging.disable_progress_bar()

    prompts = [*scripted.varied_prompts(POOL_SIZE), *scripted.EDGE_PROMPTS]
    texts = [
        scripted.SINC_SYSTEM_PROMPT,
        STUDENT_SYSTEM_PROMPT,
        *prompts,
        *map(scripted.sinc_scatter, prompts),
    ]
    return build_tiny_model(
        model_dir,
        vocab_texts=texts,
        vocab_size=settings.vocab_size,
        hidden_size=settings.hidden_size,
        layers=settings.layers,
    )


def previous_teacher_port(manifest: Path) -> int:
    """The port the last demo's teacher had: a resumed run must see the same teacher.baseUrl."""
    try:
        url = yaml.safe_load(manifest.read_text(encoding="utf-8"))["spec"]["teacher"]["baseUrl"]
        return int(url.rsplit(":", 1)[1].split("/", 1)[0])
    except (OSError, KeyError, TypeError, ValueError, IndexError, yaml.YAMLError):
        return 0


def write_manifest(path: Path, body: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    return path


def _banner(console: Console, output: Path) -> None:
    console.print(
        Panel.fit(
            "[bold]Distillery offline demo[/]\n"
            "teacher: [bold yellow]SCRIPTED[/] fake Anthropic API on 127.0.0.1 "
            "(deterministic sinc-scatter answers, not a real model):\n"
            "         each answer is composed from the prompt's first word, ending (? !) and length\n"
            "student: tiny Qwen2-architecture model built locally (random init), LoRA on CPU\n"
            f"output:  {output}",
            border_style="yellow",
        )
    )


def run_demo(
    output: str | Path = "distillery-demo",
    *,
    settings: DemoSettings | None = None,
    console: Console | None = None,
    resume: bool = False,
) -> RunResult:
    """Run the offline demo into `output` (model, manifest, artifacts); returns the runner's result."""
    from distillery.fakes.anthropic_server import FakeAnthropicServer, sinc_scatter_responder

    settings = settings or DemoSettings()
    console = console or Console()
    out = Path(output).resolve()
    _banner(console, out)
    console.print("building the tiny student model ...")
    model_dir = build_student(out / "tiny-student", settings)
    port = previous_teacher_port(out / "run.yaml") if resume else 0
    with FakeAnthropicServer(sinc_scatter_responder, latency=settings.teacher_latency_s, port=port) as server:
        console.print(f"SCRIPTED teacher listening on {server.base_url}")
        body = demo_manifest(model_dir, server.base_url, f"file://{(out / 'artifacts').as_posix()}", settings)
        manifest = write_manifest(out / "run.yaml", body)
        env = {**os.environ, "ANTHROPIC_API_KEY": SCRIPTED_API_KEY}
        # One torch thread unless told otherwise: the tiny model's matmuls gain nothing from a second
        # one, and on a shared machine threads spinning for busy cores make them several times slower.
        env.setdefault(THREADS_ENV, "1")
        # The demo prints its gates and exits 0 when one fails: with its seed the student passes them,
        # with another training seed it failed the pass-rate gate (README): a failed gate here says more
        # about the toy student's luck than about the install. `distillery run` exits 3 on one.
        runner = LocalRunner(manifest, resume=resume, console=console, env=env, allow_gate_failure=True)
        result = runner.run()
        served = sum(server.completions.values())
        console.print(
            f"SCRIPTED teacher served {served} completions (the cost shown is what "
            f"{body['spec']['teacher']['model']} would charge; nothing was paid)"
        )
    console.print(f"manifest: {manifest}", highlight=False)
    console.print(Panel(SHOWS, title="what this demo shows", border_style="yellow"))
    return result
