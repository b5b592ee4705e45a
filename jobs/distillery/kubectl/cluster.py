"""The plugin's view of the cluster: kubeconfig as kubectl reads it, runs, their pods and events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillery.api.crd import GROUP, PLURAL, VERSION
from distillery.errors import DistilleryError

# The operator's labels and annotation (operator/distillery_operator/builders.py; a test keeps them equal).
LABEL_RUN = "distillery.dev/run"
LABEL_ATTEMPT = "distillery.dev/attempt"
LABEL_PHASE = "distillery.dev/phase"
ANNOTATION_RERUN = "distillery.dev/rerun"


class PluginError(DistilleryError):
    """What the plugin tells the user instead of a traceback."""


def _kubernetes() -> Any:
    try:
        import kubernetes
    except ImportError as exc:  # the plugin's only extra dependency
        raise PluginError(
            "kubectl distill needs the kubernetes client: pip install 'distillery[kubectl]'"
        ) from exc
    return kubernetes


@dataclass
class Cluster:
    """API clients for one kubeconfig context, and the namespace kubectl would use."""

    api: Any
    namespace: str

    @classmethod
    def connect(cls, kubeconfig: str | None, context: str | None, namespace: str | None) -> Cluster:
        kubernetes = _kubernetes()
        config = kubernetes.config
        try:
            _, active = config.list_kube_config_contexts(config_file=kubeconfig)
            if context:
                contexts, _ = config.list_kube_config_contexts(config_file=kubeconfig)
                active = next((c for c in contexts if c["name"] == context), None)
                if active is None:
                    raise PluginError(f"--context {context}: no such context in the kubeconfig")
            api = config.new_client_from_config(config_file=kubeconfig, context=context)
        except config.ConfigException as exc:
            raise PluginError(f"kubeconfig: {exc}") from exc
        default = (active or {}).get("context", {}).get("namespace") or "default"
        return cls(api=api, namespace=namespace or default)

    def _call(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        api_exception = _kubernetes().client.exceptions.ApiException
        try:
            return call(*args, **kwargs)
        except api_exception as exc:
            if exc.status == 404:
                raise PluginError(f"{what}: not found") from exc
            raise PluginError(f"{what}: {exc.status} {exc.reason}: {_message(exc)}") from exc

    @property
    def custom(self) -> Any:
        return _kubernetes().client.CustomObjectsApi(self.api)

    @property
    def core(self) -> Any:
        return _kubernetes().client.CoreV1Api(self.api)

    def runs(self, all_namespaces: bool) -> list[dict[str, Any]]:
        if all_namespaces:
            body = self._call(
                "distillationruns", self.custom.list_cluster_custom_object, GROUP, VERSION, PLURAL
            )
        else:
            body = self._call(
                f"distillationruns in {self.namespace}",
                self.custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
            )
        return list(body.get("items") or [])

    def run(self, name: str) -> dict[str, Any]:
        return self._call(
            f"distillationrun {self.namespace}/{name}",
            self.custom.get_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            name,
        )

    def annotate(self, name: str, key: str, value: str) -> None:
        self._call(
            f"distillationrun {self.namespace}/{name}",
            self.custom.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            name,
            {"metadata": {"annotations": {key: value}}},
        )

    def events(self, name: str) -> list[Any]:
        selector = f"involvedObject.name={name},involvedObject.kind=DistillationRun"
        items = self._call(
            "events", self.core.list_namespaced_event, self.namespace, field_selector=selector
        ).items
        return sorted(items, key=_event_time)

    def pods(self, run: str, attempt: int, phase: str | None) -> list[Any]:
        selector = f"{LABEL_RUN}={run},{LABEL_ATTEMPT}={attempt}"
        if phase:
            selector += f",{LABEL_PHASE}={phase}"
        items = self._call(
            "pods", self.core.list_namespaced_pod, self.namespace, label_selector=selector
        ).items
        return sorted(items, key=lambda pod: pod.metadata.creation_timestamp)

    def log(self, pod: str, container: str, tail: int | None) -> str:
        return self._call(
            f"logs of pod {pod}, container {container}",
            self.core.read_namespaced_pod_log,
            pod,
            self.namespace,
            container=container,
            tail_lines=tail,
        )


def _message(exc: Any) -> str:
    import json

    try:
        return json.loads(exc.body).get("message") or str(exc.body)
    except (TypeError, ValueError):
        return str(exc.body or "").strip()


def _event_time(event: Any) -> str:
    moment = event.last_timestamp or event.event_time or event.metadata.creation_timestamp
    return moment.isoformat() if moment else ""
