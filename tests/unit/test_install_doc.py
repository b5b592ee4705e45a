"""docs/install.md matches the chart: its helm commands render, and the names it uses are the chart's."""

from __future__ import annotations

import re
import shlex

from tests.fixtures.helm import CHART, ROOT, Helm, find

DOC = (ROOT / "docs" / "install.md").read_text()


def helm_commands() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC, re.S)
    commands = []
    for block in blocks:
        for command in block.replace("\\\n", " ").splitlines():
            command = command.split("#", 1)[0].strip()
            if command.startswith(("helm install", "helm upgrade")):
                commands.append(shlex.split(command))
    return commands


def test_each_helm_command_in_the_doc_renders(helm: Helm) -> None:
    commands = helm_commands()
    assert [c[1] for c in commands] == ["install", "upgrade"]
    for words in commands:
        release, chart = words[2], words[3]
        assert (ROOT / chart).resolve() == CHART
        options = [w for w in words[4:] if w not in ("--create-namespace", "--reuse-values")]
        helm.run("template", release, str(CHART), *options)


def test_the_names_in_the_doc_are_the_charts(helm: Helm) -> None:
    words = helm_commands()[0]
    sets = [words[i + 1] for i, word in enumerate(words) if word == "--set"]
    objects = helm.template(None, *sets, namespace="distillery-system", release="distillery")
    (deployment,) = find(objects, "Deployment")
    assert f"deployment/{deployment['metadata']['name']}" in DOC
    (service,) = find(objects, "Service")
    assert service["metadata"]["name"] in DOC
    jobs_account = [a for a in find(objects, "ServiceAccount") if a["metadata"].get("namespace") == "ml"]
    assert [a["metadata"]["name"] for a in jobs_account] == ["distillery-job"]
    assert "KopfPeering `distillery` in each watched namespace" in DOC and find(objects, "KopfPeering")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    # Every setting the chart passes is one docs/operator.md documents (and settings.py reads).
    operator_doc = (ROOT / "docs" / "operator.md").read_text()
    undocumented = [
        n for n in env if f"`{n}`" not in operator_doc and not n.startswith("DISTILLERY_JOB_ENV_")
    ]
    assert undocumented == []
    assert env["DISTILLERY_JOB_IMAGE"] == "registry.example.com/distillery/jobs:0.1.0"
    assert "registry.example.com/distillery/jobs:0.1.0" in DOC
