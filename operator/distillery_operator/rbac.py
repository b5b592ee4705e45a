"""The permissions the operator needs, as data: the chart renders its ClusterRole from here.

Each rule is (apiGroup, resources, verbs). Nothing else is granted: tests run the operator with
exactly these rules through the real API server's RBAC authorizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from distillery.api.crd import GROUP, PLURAL


@dataclass(frozen=True)
class Rule:
    api_group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]

    def to_policy_rule(self) -> dict[str, list[str]]:
        return {"apiGroups": [self.api_group], "resources": list(self.resources), "verbs": list(self.verbs)}


RULES: tuple[Rule, ...] = (
    # The runs: watch them, write their status, keep kopf's progress in annotations (patch).
    Rule(GROUP, (PLURAL,), ("get", "list", "watch", "patch")),
    Rule(GROUP, (f"{PLURAL}/status",), ("get", "patch", "update")),
    # The phases' Jobs and the attempt's manifest snapshot.
    Rule("batch", ("jobs",), ("get", "list", "watch", "create", "delete")),
    Rule("", ("configmaps",), ("get", "list", "create", "delete")),
    # Multi-node training: the headless Service of the train Job (deleted with the run: ownerReferences).
    Rule("", ("services",), ("get", "list", "create")),
    # student.trainer: kubeflow: the train phase as a Kubeflow Trainer TrainJob.
    Rule("trainer.kubeflow.org", ("trainjobs",), ("get", "list", "watch", "create", "delete")),
    # Termination messages of the phases' pods.
    Rule("", ("pods",), ("get", "list")),
    # Events on runs (both APIs, as kopf posts core events).
    Rule("", ("events",), ("create", "patch")),
    Rule("events.k8s.io", ("events",), ("create", "patch")),
    # kopf: namespaces to watch, CRDs to find the resource; peering so two replicas never both act.
    Rule("", ("namespaces",), ("get", "list", "watch")),
    Rule("apiextensions.k8s.io", ("customresourcedefinitions",), ("get", "list", "watch")),
    Rule("kopf.dev", ("clusterkopfpeerings",), ("get", "list", "watch", "patch", "create")),
    Rule("kopf.dev", ("kopfpeerings",), ("get", "list", "watch", "patch", "create")),
)


def cluster_role(name: str) -> dict:
    """A ClusterRole granting RULES (the chart and the tests apply it)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": [rule.to_policy_rule() for rule in RULES],
    }
