"""The Dockerfiles (no docker engine here): each installs exactly extras pyproject declares, runs as a
non-root user the chart and the Job builder agree on, and starts a console script that exists."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from distillery_operator.builders import NON_ROOT_UID, build_job
from distillery_operator.settings import OperatorSettings
from tests.fixtures.helm import CHART, ROOT
from tests.unit.test_operator_builders import run as builders_run

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
SCRIPTS = PYPROJECT["project"]["scripts"]


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def installed_extras(dockerfile: Path) -> set[str]:
    extras: set[str] = set()
    for word, rest in instructions(dockerfile):
        if word == "RUN" and "pip install" in rest:
            for token in shlex.split(rest):
                match = re.fullmatch(r"\.\[([\w,-]+)\]", token)
                if match:
                    extras |= set(match.group(1).split(","))
    return extras


def last(dockerfile: Path, instruction: str) -> str:
    values = [rest for word, rest in instructions(dockerfile) if word == instruction]
    assert values, f"{dockerfile.name}: no {instruction}"
    return values[-1]


@pytest.mark.parametrize(
    ("image", "extras"),
    [("operator.Dockerfile", {"operator"}), ("jobs.Dockerfile", {"jobs", "train", "cuda"})],
)
def test_each_image_installs_declared_extras(image: str, extras: set[str]) -> None:
    dockerfile = ROOT / "images" / image
    assert installed_extras(dockerfile) == extras
    assert extras <= EXTRAS.keys()
    assert any("-c constraints.txt" in rest for word, rest in instructions(dockerfile) if word == "RUN")


def test_the_operator_image_has_no_torch() -> None:
    text = (ROOT / "images" / "operator.Dockerfile").read_text()
    assert "torch" not in text and "train" not in installed_extras(ROOT / "images" / "operator.Dockerfile")
    assert not any("torch" in dep for dep in EXTRAS["operator"] + PYPROJECT["project"]["dependencies"])


@pytest.mark.parametrize("image", ["operator.Dockerfile", "jobs.Dockerfile"])
def test_images_run_as_the_non_root_user_of_the_pods(image: str) -> None:
    user = last(ROOT / "images" / image, "USER")
    assert user.isdigit() and int(user) != 0
    assert int(user) == NON_ROOT_UID  # the Job builder's runAsUser
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == int(user)


def test_the_entrypoints_are_the_ones_the_chart_and_the_job_builder_run() -> None:
    operator_entry = yaml.safe_load(last(ROOT / "images" / "operator.Dockerfile", "ENTRYPOINT"))
    jobs_entry = yaml.safe_load(last(ROOT / "images" / "jobs.Dockerfile", "ENTRYPOINT"))
    assert operator_entry == ["distillery-operator"] and jobs_entry == ["distillery-job"]
    assert {operator_entry[0], jobs_entry[0]} <= SCRIPTS.keys()
    deployment = (CHART / "templates" / "operator" / "deployment.yaml").read_text()
    assert 'command: ["distillery-operator"]' in deployment
    job = build_job(builders_run(), 1, "collect", OperatorSettings())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][0] == jobs_entry[0]


def test_console_scripts_resolve() -> None:
    import importlib

    for name in ("distillery-operator", "distillery-job", "kubectl-distill"):
        module, _, function = SCRIPTS[name].partition(":")
        assert callable(getattr(importlib.import_module(module), function)), name
