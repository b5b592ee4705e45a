"""publish.mergeWeights: base + adapter merged into safetensors weights that load on their own.

The adapter is made by PEFT on the tiny model with its LoRA B matrices set to small random values
(no training needed: merging is arithmetic), so the merged model must differ from the base model
and agree with base + adapter.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from distillery.cli.job import main as job_main
from distillery.store import open_store

NAMESPACE, RUN = "ml", "merge"


def make_adapter(base: Path, out: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]),
    )
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)


@pytest.mark.slow
def test_merged_weights_are_published_and_equal_base_plus_adapter(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    storage = tmp_path / "artifacts"
    attempt = open_store(f"file://{storage}/{NAMESPACE}/{RUN}/a1")
    adapter = tmp_path / "adapter"
    make_adapter(tiny_model_dir, adapter)
    attempt.upload_dir("train/adapter/", adapter)
    attempt.write_json(
        "evaluate/summary.json", {"gates_passed": True, "contract_pass_rate": {"student": 0.5}}
    )
    body = {
        "apiVersion": "distillery.dev/v1alpha1",
        "kind": "DistillationRun",
        "metadata": {"name": RUN, "namespace": NAMESPACE},
        "spec": {
            "task": {"systemPrompt": "Answer."},
            "teacher": {"model": "claude-haiku-4-5"},
            "prompts": {"sources": [{"inline": ["hi"]}]},
            "student": {"baseModel": str(tiny_model_dir), "lora": {"r": 8, "alpha": 16}},
            "evaluation": {"heldOut": {"inline": ["ok"]}, "compare": []},
            "storage": {"uri": f"file://{storage}"},
            "publish": {"enabled": True, "mergeWeights": True},
        },
    }
    manifest = tmp_path / "run.yaml"
    manifest.write_text(yaml.safe_dump(body))
    assert job_main(["publish", "--manifest", str(manifest), "--attempt", "1"]) == 0

    merged_dir = storage / NAMESPACE / ".registry" / RUN / "versions" / "1" / "merged"
    assert (merged_dir / "model.safetensors").is_file()
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.inference_mode():
        merged_logits = merged(ids).logits
        base_logits = base(ids).logits
        adapted_logits = PeftModel.from_pretrained(base, adapter)(ids).logits
    assert not torch.allclose(merged_logits, base_logits, atol=1e-3)
    assert torch.allclose(merged_logits, adapted_logits, atol=1e-4)
