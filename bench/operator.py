"""Operator latency and memory: 200 DistillationRuns created at once on the real test API server.

Measures, for each run, the time from its create call returning to its first Job appearing in a
watch (p50, p95), and the operator's resident memory afterwards. Baseline measured in the same
run: the same watch seeing Jobs the benchmark creates itself (the API server's own floor).
Target (issue 9): p95 < 2 s, RSS < 300 MB. The last line is the p95 in seconds.

    .venv/bin/python bench/operator.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from distillery.api.crd import GROUP, PLURAL, VERSION  # noqa: E402
from tests.cluster.apiserver import TestCluster  # noqa: E402
from tests.fixtures.operator import CRD, OperatorProcess  # noqa: E402

NAMESPACE = "bench"


def manifest(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DistillationRun",
        "metadata": {"name": name},
        "spec": {
            "task": {"systemPrompt": "Answer briefly."},
            "teacher": {"model": "claude-haiku-4-5"},
            "prompts": {"sources": [{"inline": ["hi"]}]},
            "student": {"baseModel": "/models/tiny", "resources": {"gpus": 0, "memory": "1Gi"}},
            "evaluation": {"heldOut": {"inline": ["ok"]}},
            "storage": {"uri": "s3://bench/artifacts"},
        },
    }


def baseline_job(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"bench": "baseline"}},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
            }
        },
    }


class JobWatch:
    """Records when each Job is first seen, by name (a background watch on the namespace)."""

    def __init__(self, api: k8s.ApiClient) -> None:
        self.batch = k8s.BatchV1Api(api)
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            stream = watch.Watch()
            for event in stream.stream(self.batch.list_namespaced_job, NAMESPACE, timeout_seconds=5):
                self.seen.setdefault(event["object"].metadata.name, time.monotonic())
                if self.stop.is_set():
                    stream.stop()

    def wait(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(name not in self.seen for name in names):
            time.sleep(0.05)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with TestCluster(verbose=False) as cluster:
        cluster.kubectl("apply", "--validate=false", "-f", str(CRD))
        cluster.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", "crd/" + CRD.name.split(".yaml")[0]
        )
        cluster.kubectl("create", "namespace", NAMESPACE)
        api = cluster.api_client()
        jobs = JobWatch(api)
        batch = k8s.BatchV1Api(api)
        created: dict[str, float] = {}
        for i in range(args.runs):
            name = f"baseline-{i}"
            batch.create_namespaced_job(NAMESPACE, baseline_job(name))
            created[name] = time.monotonic()
        jobs.wait(list(created), 60)
        floor = [jobs.seen[name] - created[name] for name in created if name in jobs.seen]

        log_dir = Path(cluster.work_dir if hasattr(cluster, "work_dir") else "/tmp")
        operator = OperatorProcess(cluster, NAMESPACE, log_dir, DISTILLERY_RESYNC_SECONDS="60")
        operator.start()
        custom = k8s.CustomObjectsApi(api)
        started: dict[str, float] = {}
        for i in range(args.runs):
            name = f"run-{i}"
            custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, manifest(name))
            started[f"{name}-a1-collect"] = time.monotonic()
        jobs.wait(list(started), 300)
        latencies = [jobs.seen[name] - started[name] for name in started if name in jobs.seen]
        memory = rss_mb(operator.process.pid)
        operator.stop()
        jobs.stop.set()
    missing = args.runs - len(latencies)
    print(f"runs: {args.runs}; first Jobs seen: {len(latencies)} (missing {missing})")
    print(
        f"baseline (API server: create Job -> watch sees it): p50 {statistics.median(floor):.3f} s, "
        f"p95 {percentile(floor, 0.95):.3f} s"
    )
    print(f"operator RSS after {args.runs} runs: {memory:.0f} MB (target < 300)")
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(
        f"create run -> first Job: p50 {p50:.3f} s; "
        f"ratio p95 vs API floor {p95 / percentile(floor, 0.95):.1f}x"
    )
    print(f"p95 create run -> first Job: {p95:.3f} s (target < 2)")
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
