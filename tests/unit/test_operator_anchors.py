"""The curate Job mounts what curation.anchors reads: the anchors' ConfigMap and the held-out one."""

from __future__ import annotations

from distillery_operator.builders import build_job
from tests.unit.test_operator_builders import RUN, SETTINGS, run


def _volumes(phase: str, **spec_changes: object) -> list[dict]:
    return build_job(run(**spec_changes), 1, phase, SETTINGS)["spec"]["template"]["spec"]["volumes"]


def test_curate_mounts_the_anchor_and_held_out_config_maps_only_with_anchors() -> None:
    anchors = {"source": {"configMap": {"name": "anchors", "key": "a.jsonl"}}, "share": 0.2}
    volumes = _volumes("curate", curation={**RUN["spec"]["curation"], "anchors": anchors})
    config_maps = sorted(v["configMap"]["name"] for v in volumes if v["name"].startswith("prompts-"))
    assert config_maps == ["anchors", "heldout"]
    assert not [v for v in _volumes("curate") if v["name"].startswith("prompts-")]
