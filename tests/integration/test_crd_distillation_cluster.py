"""student.distillation on the real test API server (v1.20): the logit-KD example is stored as written,
and the OpenAPI schema refuses topK out of range. v1.20 does not evaluate CEL rules
(x-kubernetes-validations: alpha in 1.23, on by default from 1.25), so the refusal of an anthropic
teacher is tested through `distillery validate` (tests/unit/test_api_distillation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from distillery.api.crd import GROUP, PLURAL, VERSION

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "logit-kd" / "run.yaml"


def test_logit_kd_is_stored_and_topk_out_of_range_refused(
    distillery_crd: str, kube_api: k8s.ApiClient, kube_namespace: str
) -> None:
    api = k8s.CustomObjectsApi(kube_api)
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["metadata"] = {"name": "kd"}
    api.create_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, document)
    stored = api.get_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "kd")
    assert stored["spec"]["student"]["distillation"] == document["spec"]["student"]["distillation"]

    document["metadata"] = {"name": "kd-wide"}
    document["spec"]["student"]["distillation"]["topK"] = 500
    with pytest.raises(ApiException) as refused:
        api.create_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, document)
    assert refused.value.status == 422 and "distillation.topK" in refused.value.body
