"""Several training processes: `distillery-job train` as the per-pod launcher of torchrun.

The world comes from the spec (`student.resources.nodes`, `processesPerNode` or `gpus`) and, for
the pod's place in it, from the environment the operator renders on each pod of the Indexed Job:

- `DISTILLERY_NNODES` (must agree with the spec), `DISTILLERY_NODE_RANK` (else
  `JOB_COMPLETION_INDEX`, else Kubeflow's `PET_NODE_RANK`), `DISTILLERY_MASTER_ADDR` (else
  `PET_MASTER_ADDR`), `DISTILLERY_MASTER_PORT` (default 29500), and optionally
  `DISTILLERY_RDZV_TIMEOUT_SECONDS` (torchrun's rendezvous timeout, 600 s by default).

The launcher stays the pod's main process: it starts torchrun, forwards SIGTERM / SIGINT to it
(torchrun passes them to every worker and kills them 30 s later; `subprocess.run` alone would leave
the workers running), makes torchrun die with it when it is killed, streams the workers' output,
and turns a failure into a `TrainingError` naming the first worker error it saw. It also fetches an
s3:// base model once per pod before the workers start, so they find it in the local cache instead
of racing to download it.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillery.errors import TrainingError, TrainingInterrupted

log = logging.getLogger(__name__)

WORK_DIR_ENV = "DISTILLERY_TRAIN_WORK_DIR"
DEFAULT_MASTER_PORT = 29500
TAIL_LINES = 200
_EXCEPTION_LINE = re.compile(r"^(\[[^\]]*\]:?\s*)?([A-Za-z_][\w.]*(Error|Exception)): (.+)$")
_JOB_ERROR = re.compile(r"distillery-job \w+: error: (.+)$")


@dataclass(frozen=True)
class WorldPlan:
    """Where this pod's processes sit in the training world."""

    nodes: int
    processes_per_node: int
    node_rank: int = 0
    master_addr: str | None = None
    master_port: int = DEFAULT_MASTER_PORT
    rdzv_timeout_seconds: int | None = None

    @property
    def world_size(self) -> int:
        return self.nodes * self.processes_per_node

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def describe(self) -> str:
        return (
            f"{self.nodes} node(s) x {self.processes_per_node} process(es) = world size {self.world_size}"
            + (f", this node rank {self.node_rank}" if self.nodes > 1 else "")
        )


def _env_first(env: dict[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _env_int(env: dict[str, str], names: tuple[str, ...], *, minimum: int) -> int | None:
    found = _env_first(env, *names)
    if found is None:
        return None
    name, value = found
    try:
        number = int(value)
    except ValueError:
        raise TrainingError(f"{name} is {value!r}: expected an integer >= {minimum}") from None
    if number < minimum:
        raise TrainingError(f"{name} is {number}: expected an integer >= {minimum}")
    return number


def plan_world(resources: Any, env: dict[str, str]) -> WorldPlan:
    """The world for `student.resources` on this pod; clear errors when the pod lacks its place."""
    nodes = resources.nodes
    processes = resources.processes()
    from_env = _env_int(env, ("DISTILLERY_NNODES",), minimum=1)
    if from_env is not None and from_env != nodes:
        raise TrainingError(
            f"DISTILLERY_NNODES is {from_env} but student.resources.nodes is {nodes}: "
            "the pod was rendered for another spec"
        )
    if nodes == 1:
        return WorldPlan(1, processes)
    rank = _env_int(env, ("DISTILLERY_NODE_RANK", "JOB_COMPLETION_INDEX", "PET_NODE_RANK"), minimum=0)
    if rank is None:
        raise TrainingError(
            f"student.resources.nodes is {nodes}: this pod needs its node rank in DISTILLERY_NODE_RANK "
            "or JOB_COMPLETION_INDEX (an Indexed Job sets it); multi-node training runs only as such a Job"
        )
    if rank >= nodes:
        raise TrainingError(f"node rank {rank} is out of range for student.resources.nodes {nodes}")
    master = _env_first(env, "DISTILLERY_MASTER_ADDR", "PET_MASTER_ADDR")
    if master is None:
        raise TrainingError(
            f"student.resources.nodes is {nodes}: DISTILLERY_MASTER_ADDR must name the pod of node rank 0"
        )
    port = _env_int(env, ("DISTILLERY_MASTER_PORT", "PET_MASTER_PORT"), minimum=1)
    timeout = _env_int(env, ("DISTILLERY_RDZV_TIMEOUT_SECONDS",), minimum=1)
    return WorldPlan(nodes, processes, rank, master[1], port or DEFAULT_MASTER_PORT, timeout)


def available_cores() -> int:
    """Cores this pod may use: its CPU affinity, capped by a cgroup v2 CPU quota when there is one."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return cores
    if quota != "max":
        cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    return cores


def torchrun_command(plan: WorldPlan, job_args: list[str]) -> list[str]:
    """`python -m torch.distributed.run ... -m distillery.cli.job <job_args>` for this pod."""
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={plan.processes_per_node}"]
    if plan.nodes == 1:
        command.append("--standalone")  # c10d rendezvous on a free local port: no port clashes
    else:
        command += [
            f"--nnodes={plan.nodes}",
            f"--node-rank={plan.node_rank}",
            f"--master-addr={plan.master_addr}",
            f"--master-port={plan.master_port}",
        ]
        if plan.rdzv_timeout_seconds is not None:
            command.append(f"--rdzv-conf=timeout={plan.rdzv_timeout_seconds}")
    return [*command, "--max-restarts=0", "-m", "distillery.cli.job", *job_args]


def worker_env(plan: WorldPlan, env: dict[str, str], work_dir: Path) -> dict[str, str]:
    """The workers' environment: threads split across processes, the node's shared work dir, and no
    termination log (the launcher alone writes the pod's)."""
    child = {k: v for k, v in env.items() if k != "DISTILLERY_TERMINATION_LOG"}
    if "OMP_NUM_THREADS" not in child:
        # torchrun sets 1 only when it runs several processes; one process per pod needs it too.
        child["OMP_NUM_THREADS"] = str(max(1, available_cores() // plan.processes_per_node))
    child[WORK_DIR_ENV] = str(work_dir)
    child["PYTHONUNBUFFERED"] = "1"
    return child


def first_worker_error(lines: list[str]) -> str | None:
    """The first error a worker reported: our job's own error line, else the first exception line."""
    for line in lines:
        match = _JOB_ERROR.search(line)
        if match:
            return match.group(1).strip()
    for line in lines:
        match = _EXCEPTION_LINE.match(line.strip())
        if match and not match.group(2).endswith("ChildFailedError"):
            return f"{match.group(2)}: {match.group(4)}"
    return None


def _die_with_the_launcher() -> None:
    """In torchrun, before exec: SIGTERM when the launcher dies (even by SIGKILL), so torchrun stops
    its workers instead of training on as an orphan (Linux prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class _Forwarder:
    """Passes SIGTERM / SIGINT on to torchrun while it runs; remembers what it passed."""

    def __init__(self, child: subprocess.Popen[str]) -> None:
        self.child = child
        self.received: int | None = None
        self._previous = {
            number: signal.signal(number, self._forward) for number in (signal.SIGTERM, signal.SIGINT)
        }

    def _forward(self, number: int, _frame: Any) -> None:
        log.warning("received signal %d: forwarding it to torchrun (workers checkpoint and stop)", number)
        self.received = number
        if self.child.poll() is None:
            self.child.send_signal(number)

    def restore(self) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)


def run_torchrun(
    plan: WorldPlan, job_args: list[str], env: dict[str, str]
) -> tuple[int, int | None, list[str]]:
    """Run torchrun to the end, echoing its output; (exit code, signal forwarded, output tail)."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="distillery-train-node-") as work:
        command = torchrun_command(plan, job_args)
        log.info("training on %s: %s", plan.describe(), " ".join(command))
        child = subprocess.Popen(
            command,
            env=worker_env(plan, env, Path(work)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            # Its own session: a signal to the launcher's process group reaches torchrun once, by
            # forwarding, not twice (a second SIGTERM interrupts torchrun's own shutdown).
            start_new_session=True,
            preexec_fn=_die_with_the_launcher if sys.platform == "linux" else None,
        )
        forwarder = _Forwarder(child)
        try:
            assert child.stdout is not None
            for line in child.stdout:
                sys.stdout.write(line)
                tail.append(line.rstrip("\n"))
                if len(errors) < TAIL_LINES and (_JOB_ERROR.search(line) or "Error" in line):
                    errors.append(line.rstrip("\n"))
            code = child.wait()
        finally:
            forwarder.restore()
            if child.poll() is None:
                child.kill()
                child.wait()
        sys.stdout.flush()
    return code, forwarder.received, [*errors, *tail]


def launch(plan: WorldPlan, job_args: list[str], env: dict[str, str]) -> None:
    """Run this pod's share of the world; raise when any worker (here or on a peer node) failed."""
    code, received, lines = run_torchrun(plan, job_args, env)
    if code == 0:
        return  # a signal that came as training finished changed nothing
    if received is not None:
        raise TrainingInterrupted(
            f"training on {plan.describe()} stopped by signal {received} (forwarded to every worker); "
            "the newest complete checkpoint in the store is where a restart resumes"
        )
    error = first_worker_error(lines) or "no worker error line (see the log above)"
    raise TrainingError(
        f"distributed training on {plan.describe()} failed (torchrun exit code {code}): {error}; "
        "a failed process fails the whole attempt; the next one resumes from the newest complete "
        "checkpoint"
    )
