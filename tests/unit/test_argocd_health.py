"""The Argo CD health check (charts/distillery/files/argocd-health.lua) run by a real Lua (lupa)
on DistillationRuns in each phase, and the install snippet in docs/gitops.md kept equal to it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from lupa import LuaRuntime

from tests.fixtures.helm import CHART, ROOT

SCRIPT = (CHART / "files" / "argocd-health.lua").read_text()


def health(obj: dict[str, Any]) -> dict[str, str]:
    """Argo CD runs the script with the object as global `obj`; it returns a table."""
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = _to_lua(lua, obj)
    result = lua.execute(SCRIPT)
    return {"status": result["status"], "message": result["message"]}


def _to_lua(lua: LuaRuntime, value: Any) -> Any:
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value


def run(status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "DistillationRun", "metadata": {"name": "r", "generation": generation}}
    if status is not None:
        body["status"] = {"observedGeneration": generation, "attempt": 1, **status}
    return body


def test_a_new_run_without_status_is_progressing() -> None:
    assert health(run(None))["status"] == "Progressing"


@pytest.mark.parametrize(
    "phase", ["Pending", "Collecting", "Curating", "Training", "Evaluating", "Publishing"]
)
def test_running_phases_are_progressing(phase: str) -> None:
    result = health(run({"phase": phase}))
    assert result == {"status": "Progressing", "message": f"attempt 1: {phase}"}


def test_succeeded_is_healthy_with_the_verdict() -> None:
    result = health(run({"phase": "Succeeded", "summary": {"verdict": "viable"}}))
    assert result == {"status": "Healthy", "message": "attempt 1 succeeded, verdict viable"}


def test_failed_is_degraded_with_reason_and_message() -> None:
    status = {
        "phase": "Failed",
        "message": "spec.student.method: qlora needs a GPU",
        "conditions": [{"type": "Complete", "status": "False", "reason": "InvalidSpec"}],
    }
    result = health(run(status))
    assert result["status"] == "Degraded"
    assert result["message"] == "attempt 1 failed (InvalidSpec): spec.student.method: qlora needs a GPU"


def test_a_spec_change_not_yet_seen_is_progressing_even_after_success() -> None:
    body = run({"phase": "Succeeded"}, generation=3)
    body["status"]["observedGeneration"] = 2
    assert health(body) == {
        "status": "Progressing",
        "message": "Waiting for the operator to act on generation 3",
    }


def test_a_job_that_cannot_start_is_named() -> None:
    status = {
        "phase": "Training",
        "conditions": [
            {"type": "Collected", "status": "True", "reason": "Completed"},
            {
                "type": "Trained",
                "status": "Unknown",
                "reason": "JobNotStarted",
                "message": "0/3 nodes have GPUs",
            },
        ],
    }
    result = health(run(status))
    assert result["status"] == "Progressing"
    assert "Trained: JobNotStarted: 0/3 nodes have GPUs" in result["message"]


def test_the_docs_install_exactly_this_script() -> None:
    """docs/gitops.md's argocd-cm snippet carries the same Lua, under the key Argo CD reads."""
    text = (ROOT / "docs" / "gitops.md").read_text()
    snippet = text.split("```yaml\n# argocd-cm\n", 1)[1].split("```", 1)[0]
    config = yaml.safe_load(snippet)
    key = "resource.customizations.health.distillery.dev_DistillationRun"
    assert config["data"][key] == SCRIPT
