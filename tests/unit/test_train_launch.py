"""The torchrun launcher's world: from the spec and the pod's environment, with clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from distillery.api.student import ResourcesSpec
from distillery.errors import TrainingError
from distillery.train.launch import WorldPlan, first_worker_error, plan_world, torchrun_command, worker_env

POD = {
    "DISTILLERY_NNODES": "3",
    "DISTILLERY_NODE_RANK": "2",
    "DISTILLERY_MASTER_ADDR": "run-train-0.run-train",
}


def test_one_process_by_default_and_one_per_gpu() -> None:
    assert plan_world(ResourcesSpec(gpus=0), {}) == WorldPlan(1, 1)
    assert plan_world(ResourcesSpec(gpus=1), {}).distributed is False
    assert plan_world(ResourcesSpec(gpus=4), {}) == WorldPlan(1, 4)
    assert plan_world(ResourcesSpec(gpus=0, processesPerNode=2), {}).world_size == 2


def test_processes_per_node_must_equal_gpus_on_gpus() -> None:
    with pytest.raises(ValidationError, match="processesPerNode is 3 but gpus is 2"):
        ResourcesSpec(gpus=2, processesPerNode=3)
    assert ResourcesSpec(gpus=2, processesPerNode=2).processes() == 2


def test_multi_node_plan_from_the_pod_environment() -> None:
    plan = plan_world(ResourcesSpec(gpus=2, nodes=3), {**POD, "DISTILLERY_MASTER_PORT": "29400"})
    assert plan == WorldPlan(3, 2, 2, "run-train-0.run-train", 29400)
    assert plan.world_size == 6
    indexed = {k: v for k, v in POD.items() if k != "DISTILLERY_NODE_RANK"} | {"JOB_COMPLETION_INDEX": "1"}
    assert plan_world(ResourcesSpec(gpus=0, nodes=3), indexed).node_rank == 1
    assert plan_world(ResourcesSpec(gpus=0, nodes=3), POD).master_port == 29500


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISTILLERY_NNODES": "2"}, "DISTILLERY_NNODES is 2 but student.resources.nodes is 3"),
        ({"DISTILLERY_NODE_RANK": ""}, "needs its node rank in DISTILLERY_NODE_RANK or JOB_COMPLETION_INDEX"),
        ({"DISTILLERY_NODE_RANK": "3"}, "node rank 3 is out of range"),
        ({"DISTILLERY_NODE_RANK": "one"}, "DISTILLERY_NODE_RANK is 'one': expected an integer >= 0"),
        ({"DISTILLERY_MASTER_ADDR": ""}, "DISTILLERY_MASTER_ADDR must name the pod of node rank 0"),
        ({"DISTILLERY_MASTER_PORT": "0"}, "DISTILLERY_MASTER_PORT is 0: expected an integer >= 1"),
    ],
)
def test_a_pod_without_its_place_is_refused(env: dict, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        plan_world(ResourcesSpec(gpus=1, nodes=3), {**POD, **env})


def test_torchrun_command_single_and_multi_node() -> None:
    args = ["train", "--manifest", "/m.yaml", "--attempt", "2"]
    single = torchrun_command(WorldPlan(1, 2), args)
    assert single[:4] == [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2"]
    assert "--standalone" in single and single[-7:] == ["-m", "distillery.cli.job", *args]
    multi = torchrun_command(WorldPlan(2, 1, 1, "host-0", 29501, 30), args)
    assert multi[3:10] == [
        "--nproc-per-node=1",
        "--nnodes=2",
        "--node-rank=1",
        "--master-addr=host-0",
        "--master-port=29501",
        "--rdzv-conf=timeout=30",
        "--max-restarts=0",
    ]


def test_worker_env_splits_threads_and_drops_the_termination_log(tmp_path: Path) -> None:
    env = worker_env(WorldPlan(2, 1), {"DISTILLERY_TERMINATION_LOG": "/dev/termination-log"}, tmp_path)
    assert "DISTILLERY_TERMINATION_LOG" not in env
    assert int(env["OMP_NUM_THREADS"]) >= 1
    assert env["DISTILLERY_TRAIN_WORK_DIR"] == str(tmp_path)
    assert worker_env(WorldPlan(1, 2), {"OMP_NUM_THREADS": "7"}, tmp_path)["OMP_NUM_THREADS"] == "7"


def test_first_worker_error_prefers_the_job_error_line() -> None:
    lines = [
        "[rank1]: RuntimeError: [../gloo/transport/tcp/pair.cc:534] Connection closed by peer [127.0.0.1]:1",
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ",
    ]
    assert first_worker_error(lines) == (
        "RuntimeError: [../gloo/transport/tcp/pair.cc:534] Connection closed by peer [127.0.0.1]:1"
    )
    assert first_worker_error([*lines, "distillery-job train: error: bad data"]) == "bad data"
    assert first_worker_error(["all fine"]) is None
