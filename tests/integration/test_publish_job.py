"""`distillery-job publish` against moto's S3 server: the registry, the champion pointer and the
summaries as the job leaves them in the bucket (the compared numbers are arranged evaluate summaries,
the adapter is a few stand-in files: publish copies them, it loads no model when the champion's
stored numbers are reused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from distillery.cli.job import main as job_main
from distillery.store import open_store
from tests.fixtures.s3 import S3Env

NAMESPACE, RUN = "ml", "sinc"
ADAPTER = {
    "adapter_config.json": b'{"r": 16}',
    "adapter_model.safetensors": b"weights",
    "tokenizer.json": b"{}",
    "chat_template.jinja": b"{{ messages }}",
}


def manifest(tmp_path: Path, s3_env: S3Env) -> Path:
    body: dict[str, Any] = {
        "apiVersion": "distillery.dev/v1alpha1",
        "kind": "DistillationRun",
        "metadata": {"name": RUN, "namespace": NAMESPACE},
        "spec": {
            "task": {"systemPrompt": "Answer in JSON.", "output": {"format": "json"}},
            "teacher": {"model": "claude-haiku-4-5"},
            "prompts": {"sources": [{"inline": ["hi"]}]},
            "student": {"baseModel": "/models/tiny", "lora": {"r": 16, "alpha": 32}},
            "evaluation": {"heldOut": {"inline": ["ok", "fix nginx"]}, "compare": ["base"]},
            "storage": {"uri": s3_env.uri("artifacts")},
            "publish": {"enabled": True, "model": "sinc-scatter", "comparison": {"margin": 0.05}},
        },
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def arrange(s3_env: S3Env, attempt: int, pass_rate: float) -> None:
    root = open_store(s3_env.uri(f"artifacts/{NAMESPACE}/{RUN}/a{attempt}"))
    for name, data in ADAPTER.items():
        root.write_bytes(f"train/adapter/{name}", data)
    root.write_json("train/summary.json", {"base_model": "/models/tiny", "final_loss": 0.1})
    root.write_json(
        "collect/summary.json", {"model": "claude-haiku-4-5-20251001", "prompts": 10, "collected": 10}
    )
    root.write_json("curate/summary.json", {"train": 9, "validation": 1})
    root.write_json(
        "evaluate/summary.json",
        {"gates_passed": True, "examples": 2, "contract_pass_rate": {"base": 0.0, "student": pass_rate}},
    )
    root.write_jsonl("evaluate/predictions.jsonl", [{"id": "p1", "models": {"student": {"output": "{}"}}}])


def summary(s3_env: S3Env, attempt: int) -> dict[str, Any]:
    return open_store(s3_env.uri(f"artifacts/{NAMESPACE}/{RUN}/a{attempt}")).read_json("publish/summary.json")


def test_publish_job_on_s3_promotes_then_refuses_a_worse_student(s3_env: S3Env, tmp_path: Path) -> None:
    path = manifest(tmp_path, s3_env)
    registry = f"artifacts/{NAMESPACE}/.registry/sinc-scatter"
    arrange(s3_env, 1, 0.8)
    assert job_main(["publish", "--manifest", str(path), "--attempt", "1"]) == 0
    first = summary(s3_env, 1)
    assert (first["decision"], first["version"], first["promoted"]) == ("Promoted", 1, True)
    client = s3_env.client()
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_env.bucket, Prefix=registry)["Contents"]}
    version = f"{registry}/versions/1"
    assert {f"{version}/adapter/{name}" for name in ADAPTER} <= keys
    assert {f"{version}/tokenizer/tokenizer.json", f"{version}/tokenizer/chat_template.jinja"} <= keys
    assert f"{version}/tokenizer/adapter_model.safetensors" not in keys
    for name in ("version.json", "metrics.json", "README.md", "serving.json", "predictions.jsonl"):
        assert f"{version}/{name}" in keys, name
    pointer = json.loads(client.get_object(Bucket=s3_env.bucket, Key=f"{registry}/champion")["Body"].read())
    assert pointer["version"] == 1 and pointer["uri"] == s3_env.uri(version)
    serving = json.loads(
        client.get_object(Bucket=s3_env.bucket, Key=f"{version}/serving.json")["Body"].read()
    )
    assert serving["lora_modules"] == [{"name": "sinc-scatter", "path": s3_env.uri(f"{version}/adapter")}]
    card = client.get_object(Bucket=s3_env.bucket, Key=f"{version}/README.md")["Body"].read().decode()
    assert "claude-haiku-4-5-20251001" in card and "r=16, alpha=32" in card

    arrange(s3_env, 2, 0.74)  # 0.06 below the champion: outside the 0.05 margin
    assert job_main(["publish", "--manifest", str(path), "--attempt", "2"]) == 0
    second = summary(s3_env, 2)
    assert (second["decision"], second["promoted"], second["champion_version"]) == ("NotPromoted", False, 1)
    assert second["champion_reevaluated"] is False
    assert second["comparison"] == [
        {"metric": "contractPassRate", "challenger": 0.74, "champion": 0.8, "passed": False}
    ]
    assert "contractPassRate 0.74 < champion v1's 0.8 - margin 0.05" in second["reason"]

    arrange(s3_env, 3, 0.76)  # 0.04 below: within the margin -> promoted
    assert job_main(["publish", "--manifest", str(path), "--attempt", "3"]) == 0
    assert summary(s3_env, 3)["version"] == 2
    pointer = json.loads(client.get_object(Bucket=s3_env.bucket, Key=f"{registry}/champion")["Body"].read())
    assert pointer["version"] == 2 and [e["version"] for e in pointer["history"]] == [2, 1]


def test_a_retried_publish_job_resumes_its_own_version(s3_env: S3Env, tmp_path: Path) -> None:
    path = manifest(tmp_path, s3_env)
    version = f"artifacts/{NAMESPACE}/.registry/sinc-scatter/versions/1"
    arrange(s3_env, 1, 0.8)
    assert job_main(["publish", "--manifest", str(path), "--attempt", "1"]) == 0
    client = s3_env.client()
    # Marks in files of the version: a retry that rewrote them would erase the marks.
    claim = json.loads(client.get_object(Bucket=s3_env.bucket, Key=f"{version}/version.json")["Body"].read())
    client.put_object(
        Bucket=s3_env.bucket, Key=f"{version}/version.json", Body=json.dumps({**claim, "mark": 1})
    )
    card = client.get_object(Bucket=s3_env.bucket, Key=f"{version}/README.md")["Body"].read()
    client.put_object(Bucket=s3_env.bucket, Key=f"{version}/README.md", Body=card + b"<!-- first try -->")

    assert job_main(["publish", "--manifest", str(path), "--attempt", "1"]) == 0  # the pod is retried
    again = summary(s3_env, 1)
    assert (again["version"], again["promoted"], again["champion_version"]) == (1, True, 1)
    prefix = f"artifacts/{NAMESPACE}/.registry/sinc-scatter/versions/"
    listed = client.list_objects_v2(Bucket=s3_env.bucket, Prefix=prefix, Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == [prefix + "1/"]  # no v2
    claim = json.loads(client.get_object(Bucket=s3_env.bucket, Key=f"{version}/version.json")["Body"].read())
    card = client.get_object(Bucket=s3_env.bucket, Key=f"{version}/README.md")["Body"].read()
    assert claim["mark"] == 1 and card.endswith(b"<!-- first try -->")
