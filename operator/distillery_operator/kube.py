"""The Kubernetes API calls the reconciler makes (the official client; nothing else talks to it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from distillery.api.crd import GROUP, KIND, PLURAL, VERSION
from distillery_operator.builders import LABEL_ATTEMPT, LABEL_RUN

NOT_FOUND = 404
CONFLICT = 409
COMPONENT = "distillery-operator"
TRAINER_GROUP, TRAINER_VERSION, TRAINJOBS = "trainer.kubeflow.org", "v1alpha1", "trainjobs"
JOBSET_LABEL = "jobset.sigs.k8s.io/jobset-name"


@dataclass
class Kube:
    """Thin wrappers over the API calls of one reconcile pass."""

    api: client.ApiClient

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def _plain(self, value: Any) -> Any:
        return self.api.sanitize_for_serialization(value)

    # --- runs -----------------------------------------------------------------------------------

    def get_run(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as exc:
            if exc.status == NOT_FOUND:
                return None
            raise

    def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": status}
        )

    # --- jobs, pods, config maps ------------------------------------------------------------------

    def list_jobs(self, namespace: str, run: str) -> list[dict[str, Any]]:
        jobs = self.batch.list_namespaced_job(namespace, label_selector=f"{LABEL_RUN}={run}")
        return [self._plain(job) for job in jobs.items]

    def list_pods(self, namespace: str, job: str) -> list[dict[str, Any]]:
        pods = self.core.list_namespaced_pod(namespace, label_selector=f"job-name={job}")
        return [self._plain(pod) for pod in pods.items]

    def list_train_jobs(self, namespace: str, run: str) -> list[dict[str, Any]]:
        """The run's Kubeflow TrainJobs (only asked for when the run uses them: the CRD may be absent)."""
        found = self.custom.list_namespaced_custom_object(
            TRAINER_GROUP, TRAINER_VERSION, namespace, TRAINJOBS, label_selector=f"{LABEL_RUN}={run}"
        )
        return list(found.get("items") or [])

    def list_phase_pods(self, namespace: str, job: dict[str, Any]) -> list[dict[str, Any]]:
        """The pods of a phase's Job, or of a TrainJob (its JobSet's pods)."""
        name = job["metadata"]["name"]
        selector = f"{JOBSET_LABEL}={name}" if job.get("kind") == "TrainJob" else f"job-name={name}"
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector)
        return [self._plain(pod) for pod in pods.items]

    def create(self, body: dict[str, Any]) -> bool:
        """Create a phase's object (Job, Service or TrainJob); False when it is already there."""
        namespace = body["metadata"]["namespace"]
        try:
            if body["kind"] == "Job":
                self.batch.create_namespaced_job(namespace, body)
            elif body["kind"] == "Service":
                self.core.create_namespaced_service(namespace, body)
            else:
                self.custom.create_namespaced_custom_object(
                    TRAINER_GROUP, TRAINER_VERSION, namespace, TRAINJOBS, body
                )
        except ApiException as exc:
            if exc.status == CONFLICT:
                return False
            raise
        return True

    def delete_phase(self, namespace: str, job: dict[str, Any]) -> None:
        """Delete a phase's Job or TrainJob (its pods go with it)."""
        if job.get("kind") != "TrainJob":
            self.delete_job(namespace, job["metadata"]["name"])
            return
        try:
            self.custom.delete_namespaced_custom_object(
                TRAINER_GROUP, TRAINER_VERSION, namespace, TRAINJOBS, job["metadata"]["name"]
            )
        except ApiException as exc:
            if exc.status != NOT_FOUND:
                raise

    def create_job(self, body: dict[str, Any]) -> bool:
        """Create; False when it is already there (409: a pass before this one made it)."""
        try:
            self.batch.create_namespaced_job(body["metadata"]["namespace"], body)
        except ApiException as exc:
            if exc.status == CONFLICT:
                return False
            raise
        return True

    def delete_job(self, namespace: str, name: str) -> None:
        try:
            self.batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
        except ApiException as exc:
            if exc.status != NOT_FOUND:
                raise

    def create_config_map(self, body: dict[str, Any]) -> bool:
        try:
            self.core.create_namespaced_config_map(body["metadata"]["namespace"], body)
        except ApiException as exc:
            if exc.status == CONFLICT:
                return False
            raise
        return True

    def delete_config_maps(self, namespace: str, run: str, keep_attempts: set[int]) -> None:
        maps = self.core.list_namespaced_config_map(namespace, label_selector=f"{LABEL_RUN}={run}")
        for item in maps.items:
            attempt = (item.metadata.labels or {}).get(LABEL_ATTEMPT, "")
            if attempt.isdigit() and int(attempt) not in keep_attempts:
                try:
                    self.core.delete_namespaced_config_map(item.metadata.name, namespace)
                except ApiException as exc:
                    if exc.status != NOT_FOUND:
                        raise

    # --- events ------------------------------------------------------------------------------------

    def post_event(self, run: dict[str, Any], kind: str, reason: str, message: str) -> None:
        """A core/v1 Event on the run (what `kubectl describe` shows)."""
        meta = run["metadata"]
        now = datetime.now(UTC)
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{meta['name']}.", namespace=meta["namespace"]),
            involved_object=client.V1ObjectReference(
                api_version=f"{GROUP}/{VERSION}",
                kind=KIND,
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta.get("uid"),
                resource_version=meta.get("resourceVersion"),
            ),
            type=kind,
            reason=reason,
            message=message[:1024],
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=COMPONENT,
            reporting_instance=COMPONENT,
            first_timestamp=now,
            last_timestamp=now,
            event_time=None,
            count=1,
        )
        self.core.create_namespaced_event(meta["namespace"], event)
