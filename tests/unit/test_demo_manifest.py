"""The demo's manifest is built from the installed package alone, so `distillery demo` works outside a
checkout (it used to read examples/ and crash on a missing attribute without it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

import distillery
from distillery.api.validation import validate_document
from distillery.demo import DemoSettings, demo_manifest, split_prompts

REPO = Path(__file__).resolve().parents[2]


def test_demo_manifest_from_a_directory_outside_the_repository(tmp_path: Path) -> None:
    # A copy of the package alone (as an installed wheel has it: no examples/ beside it), imported by a
    # fresh isolated interpreter whose working directory is outside the repository.
    site = tmp_path / "site-packages"
    shutil.copytree(
        Path(distillery.__file__).parent, site / "distillery", ignore=shutil.ignore_patterns("__pycache__")
    )
    script = textwrap.dedent(
        """
        import json
        import sys
        from pathlib import Path
        import distillery.demo
        from distillery.demo import DemoSettings, demo_manifest
        assert distillery.demo.__file__.startswith(sys.path[0]), distillery.demo.__file__
        body = demo_manifest(Path("model"), "http://127.0.0.1:1", "file:///tmp/a", DemoSettings())
        print(json.dumps(body))
        """
    )
    isolated = tmp_path / "no-repo-here"
    isolated.mkdir()
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); exec({script!r})"],
        cwd=isolated, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    body = yaml.safe_load(done.stdout)
    report = validate_document(body, "demo")
    assert report.problems == []
    rules = [rule["name"] for rule in body["spec"]["task"]["output"]["rules"]]
    assert rules[-2:] == ["data-states-input-size", "context-matches-ending"] and len(rules) == 7


def test_demo_contract_is_the_examples_contract_plus_the_input_rules() -> None:
    example = yaml.safe_load((REPO / "examples" / "sinc-scatter" / "run.yaml").read_text(encoding="utf-8"))
    demo = demo_manifest(Path("m"), "http://127.0.0.1:1", "file:///tmp/a", DemoSettings())
    example_output, demo_output = example["spec"]["task"]["output"], demo["spec"]["task"]["output"]
    assert demo_output["jsonSchema"] == example_output["jsonSchema"]
    assert [r["expression"] for r in demo_output["rules"][:-2]] == [
        r["expression"] for r in example_output["rules"]
    ]


def test_demo_held_out_prompts_are_never_trained_on() -> None:
    train, held_out = split_prompts(DemoSettings())
    assert len(train) == 800 and len(held_out) == 24 and not set(train) & set(held_out)
