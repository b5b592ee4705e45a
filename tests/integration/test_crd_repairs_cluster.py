"""The generated CRD on the real test API server (v1.20): a repair's `set.value` holds any JSON
value (the only untyped node of the schema, x-kubernetes-preserve-unknown-fields) and is stored
exactly as written; curation.anchors round-trips too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from distillery.api.crd import GROUP, PLURAL, VERSION
from distillery.contract.sinc import SINC_FORMULA

SINC = Path(__file__).resolve().parents[2] / "examples" / "sinc-scatter" / "run.yaml"
VALUES: list[Any] = [SINC_FORMULA, 3, 2.5, True, ["a", {"b": 1}], {"nested": {"list": [1, 2]}}]


def _manifest(name: str, value: Any, **set_fields: Any) -> dict[str, Any]:
    document = yaml.safe_load(SINC.read_text(encoding="utf-8"))
    document["metadata"] = {"name": name}
    document["spec"]["task"]["output"]["repairs"] = [
        {
            "name": "add-formula",
            "when": "!has(output.formula)",
            "set": {"path": "formula", "value": value, **set_fields},
        }
    ]
    document["spec"]["curation"] = {"anchors": {"source": {"uri": "s3://bucket/anchors.jsonl"}, "share": 0.2}}
    return document


def test_any_json_repair_value_is_stored_as_written(
    distillery_crd: str, kube_api: k8s.ApiClient, kube_namespace: str
) -> None:
    api = k8s.CustomObjectsApi(kube_api)
    for index, value in enumerate(VALUES):
        api.create_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, PLURAL, _manifest(f"r{index}", value)
        )
        stored = api.get_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, f"r{index}")
        assert stored["spec"]["task"]["output"]["repairs"][0]["set"]["value"] == value
        assert stored["spec"]["curation"]["anchors"] == {
            "source": {"uri": "s3://bucket/anchors.jsonl"},
            "share": 0.2,
        }


def test_the_api_server_refuses_a_repair_without_its_value_or_with_a_bad_path(
    distillery_crd: str, kube_api: k8s.ApiClient, kube_namespace: str
) -> None:
    api = k8s.CustomObjectsApi(kube_api)
    missing = _manifest("no-value", "x")
    del missing["spec"]["task"]["output"]["repairs"][0]["set"]["value"]
    with pytest.raises(ApiException) as refused:
        api.create_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, missing)
    assert refused.value.status == 422 and "set.value: Required value" in refused.value.body
    bad_path = _manifest("bad-path", "x")
    bad_path["spec"]["task"]["output"]["repairs"][0]["set"]["path"] = "a..b"
    with pytest.raises(ApiException) as refused:
        api.create_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, bad_path)
    assert refused.value.status == 422 and "set.path" in refused.value.body
