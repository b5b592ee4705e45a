"""The test kubelet's pure mapping functions (tests/cluster/podspec.py, volumes.py, podstatus.py):
paths, env, $(VAR) expansion, volumes on disk and termination messages - no cluster."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.cluster import podstatus
from tests.cluster.podspec import (
    ContainerConfigError,
    Lookup,
    PathMap,
    container_argv,
    container_env,
    expand,
    output_tail,
    termination_message,
)
from tests.cluster.volumes import materialise_volumes, mount_paths

POD = {"metadata": {"name": "p-1", "namespace": "ns", "uid": "u-1", "labels": {"app": "x"}},
       "spec": {"serviceAccountName": "runner"}}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def lookup(secrets: dict[str, dict[str, str]] | None = None,
           config_maps: dict[str, dict[str, str]] | None = None) -> Lookup:
    secrets = {name: {k: _b64(v) for k, v in data.items()} for name, data in (secrets or {}).items()}
    return Lookup("ns", (secrets or {}).get, (config_maps or {}).get)


def test_path_map_replaces_prefix_at_path_boundaries_only() -> None:
    paths = PathMap.of({"/etc/distillery": "/tmp/v/spec", "/etc/distillery/data": "/tmp/v/data"})
    assert paths.map_path("/etc/distillery") == "/tmp/v/spec"
    assert paths.map_path("/etc/distillery/run.yaml") == "/tmp/v/spec/run.yaml"
    assert paths.map_path("/etc/distillery/data/x.jsonl") == "/tmp/v/data/x.jsonl"  # longest first
    assert paths.map_path("/etc/distillery-other/x") == "/etc/distillery-other/x"
    assert paths.map_word("--spec=/etc/distillery/run.yaml") == "--spec=/tmp/v/spec/run.yaml"
    assert paths.map_word("plain=word") == "plain=word"


def test_expand_follows_kubernetes_rules() -> None:
    env = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)-$(C)", env) == "1-two-$(C)"
    assert expand("$$(A) costs $$5", env) == "$(A) costs $5"


def test_env_resolves_values_refs_and_maps_paths() -> None:
    container = {"name": "c", "env": [
        {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "anthropic", "key": "api-key"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "SPEC", "value": "/etc/distillery/run.yaml"},
        {"name": "GREETING", "value": "$(POD) in $(NS)"},
        {"name": "GONE", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}},
    ]}
    env = container_env(container, POD, lookup({"anthropic": {"api-key": "sk-test"}},
                                               {"settings": {"mode": "batch"}}),
                        PathMap.of({"/etc/distillery": "/local/spec"}))
    assert env == {"KEY": "sk-test", "MODE": "batch", "POD": "p-1", "NS": "ns", "APP": "x",
                   "SPEC": "/local/spec/run.yaml", "GREETING": "p-1 in ns"}


@pytest.mark.parametrize(("ref", "message"), [
    ({"name": "missing", "key": "k"}, 'secret "missing" not found'),
    ({"name": "anthropic", "key": "other"}, "couldn't find key other in Secret ns/anthropic"),
])
def test_env_missing_secret_is_a_create_container_config_error(ref: dict[str, str], message: str) -> None:
    container = {"name": "c", "env": [{"name": "K", "valueFrom": {"secretKeyRef": ref}}]}
    with pytest.raises(ContainerConfigError) as caught:
        container_env(container, POD, lookup({"anthropic": {"api-key": "x"}}), PathMap())
    assert (caught.value.reason, caught.value.message) == ("CreateContainerConfigError", message)


def test_env_from_with_prefix() -> None:
    container = {"name": "c", "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "S_"},
                                          {"secretRef": {"name": "creds"}}]}
    env = container_env(container, POD, lookup({"creds": {"TOKEN": "t"}}, {"settings": {"a": "1"}}),
                        PathMap())
    assert env == {"S_a": "1", "TOKEN": "t"}


def test_argv_expands_and_maps_and_requires_a_command() -> None:
    paths = PathMap.of({"/dev/termination-log": "/tmp/p/c.termination-log"})
    container = {"name": "c", "command": ["python", "-m", "job"],
                 "args": ["--out=$(OUT)", "/dev/termination-log", "$(MISSING)"]}
    assert container_argv(container, {"OUT": "/dev/termination-log"}, paths) == [
        "python", "-m", "job", "--out=/tmp/p/c.termination-log", "/tmp/p/c.termination-log", "$(MISSING)"]
    local = PathMap.of({"/work": "/tmp/volume"})  # the program is never mapped: it is a local one
    assert container_argv({"name": "c", "command": ["/work/venv/bin/python", "/work/x"]}, {}, local) == [
        "/work/venv/bin/python", "/tmp/volume/x"]
    with pytest.raises(ContainerConfigError, match="has no command"):
        container_argv({"name": "c", "args": ["x"]}, {}, paths)


def test_volumes_materialise_config_maps_secrets_and_sub_paths(tmp_path: Path) -> None:
    pod = {**POD, "spec": {"volumes": [
        {"name": "spec",
         "configMap": {"name": "run", "items": [{"key": "run.yaml", "path": "sub/run.yaml"}]}},
        {"name": "all", "configMap": {"name": "run"}},
        {"name": "creds", "secret": {"secretName": "anthropic", "defaultMode": 0o400}},
        {"name": "scratch", "emptyDir": {}},
    ]}}
    folders = materialise_volumes(pod, lookup({"anthropic": {"api-key": "sk"}},
                                              {"run": {"run.yaml": "kind: X\n", "other": "o"}}), tmp_path)
    assert (folders["spec"] / "sub/run.yaml").read_text() == "kind: X\n"
    assert not (folders["spec"] / "other").exists()
    assert sorted(p.name for p in folders["all"].iterdir()) == ["other", "run.yaml"]
    assert (folders["creds"] / "api-key").read_text() == "sk"
    assert (folders["creds"] / "api-key").stat().st_mode & 0o777 == 0o400
    assert folders["scratch"].is_dir()
    container = {"volumeMounts": [{"name": "spec", "mountPath": "/etc/distillery"},
                                  {"name": "all", "mountPath": "/etc/run.yaml", "subPath": "run.yaml"}]}
    assert mount_paths(container, folders) == {"/etc/distillery": folders["spec"],
                                               "/etc/run.yaml": folders["all"] / "run.yaml"}


def test_missing_config_map_volume_is_a_mount_failure(tmp_path: Path) -> None:
    pod = {**POD, "spec": {"volumes": [{"name": "spec", "configMap": {"name": "absent"}}]}}
    with pytest.raises(ContainerConfigError) as caught:
        materialise_volumes(pod, lookup(), tmp_path)
    assert caught.value.reason == "ContainerCreating"
    assert caught.value.message == 'MountVolume.SetUp failed for volume "spec" : configmap "absent" not found'
    pod = {**POD, "spec": {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}}
    with pytest.raises(ContainerConfigError, match="does not support volume 'h'"):
        materialise_volumes(pod, lookup(), tmp_path)


def test_termination_message_file_capped_and_log_fallback(tmp_path: Path) -> None:
    file = tmp_path / "termination-log"
    file.write_text("x" * 5000)
    assert termination_message(file, "File", 0, b"") == "x" * 4096
    file.write_text("")
    log = b"".join(b"line %d\n" % i for i in range(200))
    assert termination_message(file, "File", 1, log) == ""
    assert termination_message(file, "FallbackToLogsOnError", 0, log) == ""  # success: no fallback
    tail = termination_message(file, "FallbackToLogsOnError", 1, log)
    assert tail == output_tail(log)
    assert tail.splitlines()[-1] == "line 199" and len(tail.splitlines()) == 80
    big = b"y" * 3000 + b"\n"
    assert len(output_tail(big).encode()) == 2048


def test_terminated_status_has_reason_by_exit_code() -> None:
    ok = podstatus.terminated("c", "img", 0, "{}", "t0", "t1")["state"]["terminated"]
    failed = podstatus.terminated("c", "img", 3, "", "t0", "t1")["state"]["terminated"]
    assert (ok["reason"], ok["message"]) == ("Completed", "{}")
    assert (failed["reason"], failed["exitCode"]) == ("Error", 3)
    assert "message" not in failed
    body = podstatus.pod_status("Succeeded", "t0", [podstatus.running("c", "img", "t0")], [],
                                initialized=True)
    ready = {c["type"]: c for c in body["status"]["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")
