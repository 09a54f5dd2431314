"""How a sweep's tasks run: on worker slots of this machine (``LocalBackend``) or on a Ray
cluster (``RayBackend``), each task one ``train.py`` process, retried by ``run_tasks`` and
reported as an ``Outcome``; ``Progress`` is the sweep's live line. What the tasks are is
``ser.runners.sweep_grid``; the command line and the driver are ``ser.runners.sweep``.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ser.io import ClaimSet, append_line, write_json, write_via_temporary
from ser.machine import threads_per_process
from ser.runners.sweep_grid import ROOT, SweepError, Task, seed_groups

# How much of a task's output the reason for a failure is looked for in.
OUTPUT_TAIL = 8192


def train_command(template: str, python: str) -> list[str]:
    return [part.replace("{python}", python).replace("{train}", str(ROOT / "train.py"))
            for part in shlex.split(template)]


def failure_reason(returncode: int, output: str) -> str:
    """What a person needs first: how the process ended and its last error line."""
    if returncode < 0:
        try:
            how = f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"killed by signal {-returncode}"
    else:
        how = f"exit status {returncode}"
    lines = [line.strip() for line in output.replace("\r", "\n").splitlines() if line.strip()]
    detail = next((line for line in reversed(lines) if line.startswith("error:") or "Error" in line),
                  lines[-1] if lines else "")
    return f"{how}: {detail}" if detail else how


def permanent_failure(attempt: Attempt) -> bool:
    """A run that stopped with train.py's own ``error:`` line (bad arguments, a missing corpus, a
    seed recorded with other settings): trying again gives the same line, so it is not retried.
    A crash, a kill or a lost worker may be passing and is."""
    if attempt.lost or attempt.returncode <= 0:
        return False
    lines = [line.strip() for line in attempt.output.replace("\r", "\n").splitlines() if line.strip()]
    return bool(lines) and lines[-1].startswith("error:")


@dataclass
class Attempt:
    returncode: int
    output: str
    seconds: float
    where: str
    lost: str = ""  # why the backend lost the process (a dead worker or node), when it did


def _log_header(task: Task, attempt: int, where: str, command: list[str]) -> str:
    return f"=== attempt {attempt} on {where}, {time.strftime('%Y-%m-%d %H:%M:%S')}: {shlex.join(command)}\n"


class LocalBackend:
    """Worker slots on this machine (a GPU index each, or -1 for the CPU); each slot runs one
    ``train.py`` process at a time."""
    name = "local"

    def __init__(self, slots: list[int], command: list[str], extra_flags: list[str], claims: ClaimSet | None = None):
        self.free = list(slots)
        self.command, self.extra_flags, self.claims = command, extra_flags, claims
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")
        cpu_workers = slots.count(-1)
        if cpu_workers > 1 and "OMP_NUM_THREADS" not in os.environ:
            self.env["OMP_NUM_THREADS"] = str(threads_per_process(cpu_workers))
        self.running: dict[subprocess.Popen, tuple[Task, int, float, int, object]] = {}

    def describe(self) -> str:
        slots = self.free + [slot for _, slot, *_ in self.running.values()]
        if all(slot < 0 for slot in slots):
            return f"{len(slots)} CPU worker{'s' * (len(slots) > 1)}"
        return "workers on " + ", ".join(f"cuda:{slot}" for slot in slots)

    def free_slots(self) -> int:
        return len(self.free)

    def busy(self) -> bool:
        return bool(self.running)

    def start(self, task: Task, attempt: int) -> None:
        slot = self.free.pop(0)
        command = [*self.command, *task.train_args(), "-g", str(slot), *self.extra_flags]
        task.run_dir.mkdir(parents=True, exist_ok=True)
        log = open(task.log_file, "a")
        log.write(_log_header(task, attempt, "cpu" if slot < 0 else f"cuda:{slot}", command))
        log.flush()
        offset = log.tell()
        # The task trains under the sweep's claims of its seeds (they outlive the sweep if it dies first).
        claimed = {} if self.claims is None else dict(env=self.claims.env(self.env),
                                                      pass_fds=self.claims.fds(task.claim_files))
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   **{"env": self.env, **claimed})
        self.running[process] = (task, slot, time.perf_counter(), offset, log)

    def next_result(self, tick=lambda: None) -> tuple[Task, Attempt]:
        while True:
            for process, (task, slot, started, offset, log) in list(self.running.items()):
                if process.poll() is None:
                    continue
                del self.running[process]
                self.free.append(slot)
                log.close()
                with open(task.log_file, "rb") as f:
                    f.seek(max(offset, os.path.getsize(task.log_file) - OUTPUT_TAIL))
                    output = f.read().decode(errors="replace")
                return task, Attempt(process.returncode, output, time.perf_counter() - started,
                                     "cpu" if slot < 0 else f"cuda:{slot}")
            tick()
            time.sleep(0.2)

    def shutdown(self) -> None:
        for process in self.running:
            process.terminate()
        for process, (*_, log) in self.running.items():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
        self.running.clear()


def _ray_attempt(command: list[str], cwd: str, root: str, env: dict) -> dict:
    """One task inside a Ray worker: run train.py with ``-d`` in a scratch folder and return
    its exit status, output and every file it wrote. It uses the standard library only, because
    Ray ships it by value to nodes that need not have this package on their path."""
    started = time.perf_counter()
    node = socket.gethostname()
    if not (Path(root) / "train.py").exists():
        return dict(returncode=2, output=f"error: no repository at {root} on node {node}; the ray backend needs "
                    "the repository (and corpus) at the same paths on every node", files={},
                    seconds=0.0, node=node, argv=command, scratch="")
    scratch = tempfile.mkdtemp(prefix="ser-sweep-")
    try:
        argv = [part.replace("{python}", sys.executable).replace("{scratch}", scratch) for part in command]
        completed = subprocess.run(argv, cwd=cwd if os.path.isdir(cwd) else root, env={**os.environ, **env},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        files = {}
        if completed.returncode == 0:
            for path in sorted(Path(scratch).rglob("*")):
                if path.is_file():
                    files[str(path.relative_to(scratch))] = path.read_bytes()
        return dict(returncode=completed.returncode, output=completed.stdout.decode(errors="replace"), files=files,
                    seconds=time.perf_counter() - started, node=node, argv=argv, scratch=scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_via_temporary(path, lambda tmp: tmp.write_bytes(data))


def _relocated(value, scratch: str, results_dir: str):
    """``value`` (parsed JSON) with paths under the remote scratch folder moved to ``results_dir``."""
    if isinstance(value, str) and value.startswith(scratch):
        return os.path.join(results_dir, os.path.relpath(value, scratch))
    if isinstance(value, list):
        return [_relocated(v, scratch, results_dir) for v in value]
    if isinstance(value, dict):
        return {k: _relocated(v, scratch, results_dir) for k, v in value.items()}
    return value


def materialize(task: Task, files: dict[str, bytes], scratch: str) -> None:
    """Put a remote run's files where a local run puts them: run-folder files written (the
    run directory recorded in its JSON files made this machine's), lines of the shared result
    files appended under their lock, the ``.metric`` line last since it marks the task
    finished."""
    collect = Path(task.datadir).parent
    appended = []
    for rel, data in sorted(files.items()):
        target = Path(task.results_dir) / rel
        if target.parent == collect:
            appended.append((target.suffix in (".metric", ".same"), target, data))
        elif target.suffix == ".json":
            target.parent.mkdir(parents=True, exist_ok=True)
            write_json(target, _relocated(json.loads(data), scratch, task.results_dir))
        else:
            _write_bytes_atomic(target, data)
    collect.mkdir(parents=True, exist_ok=True)
    for _, target, data in sorted(appended, key=lambda item: item[0]):
        append_line(target, data.decode())


class RayBackend:
    """Tasks on a Ray cluster: one GPU each (or ``cpus_per_task`` CPUs without GPUs)."""
    name = "ray"

    def __init__(self, address: str | None, use_gpus: bool, cpus_per_task: int, train_template: str,
                 extra_flags: list[str]):
        try:
            import ray
        except ImportError:
            raise SweepError("the ray backend needs Ray: pip install ray==2.60.0 (or pip install -r "
                             "requirements-test.txt); --backend local needs nothing more") from None
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            try:
                ray.init(address=None if address in (None, "local") else address, include_dashboard=False,
                         log_to_driver=False)
            except Exception as error:  # Ray raises several unrelated types for an unreachable cluster
                raise SweepError(f"cannot start or reach Ray at {address or 'a new local instance'}: {error}") from None
        gpus = ray.cluster_resources().get("GPU", 0) if use_gpus else 0
        self.resources = dict(num_gpus=1, num_cpus=1) if gpus else dict(num_gpus=0, num_cpus=cpus_per_task)
        self.env = {"PYTHONUNBUFFERED": "1"}
        if not gpus:
            self.env["OMP_NUM_THREADS"] = str(cpus_per_task)
        for name in ("IEMOCAP_DIR", "EMODB_DIR", "SER_CACHE_DIR"):
            if name in os.environ:
                self.env[name] = os.environ[name]
        # Ship the task function by value: nodes need not import this package to run it.
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
        self.remote = ray.remote(_ray_attempt).options(max_retries=0, **self.resources)
        self.template, self.extra_flags = train_template, extra_flags
        self.pending: dict = {}

    def describe(self) -> str:
        resources = self.ray.cluster_resources()
        each = "1 GPU" if self.resources["num_gpus"] else f"{self.resources['num_cpus']} CPU"
        return (f"Ray ({resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs in the cluster; "
                f"{each} per task)")

    def free_slots(self) -> int:
        return 1 << 30  # Ray queues tasks until resources free up

    def busy(self) -> bool:
        return bool(self.pending)

    def start(self, task: Task, attempt: int) -> None:
        rel = os.path.relpath(task.datadir, task.results_dir)
        device = "0" if self.resources["num_gpus"] else "-1"  # Ray narrows CUDA_VISIBLE_DEVICES to its GPU
        command = [*train_command(self.template, "{python}"), *task.train_args(os.path.join("{scratch}", rel)),
                   "-g", device, *self.extra_flags]
        ref = self.remote.remote(command, os.getcwd(), str(ROOT), self.env)
        self.pending[ref] = (task, attempt, command, time.perf_counter())

    def next_result(self, tick=lambda: None) -> tuple[Task, Attempt]:
        ready = []
        while not ready:
            ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=1.0)
            tick()
        ref = ready[0]
        task, attempt, command, started = self.pending.pop(ref)
        lost = ""
        try:
            outcome = self.ray.get(ref)
        except self.ray.exceptions.RayError as error:
            first = (str(error).strip().splitlines() or [""])[0]
            lost = f"Ray lost the task: {type(error).__name__}: {first}"
            outcome = dict(returncode=1, output=lost, files={}, seconds=time.perf_counter() - started,
                           node="ray", argv=command, scratch="")
        task.run_dir.mkdir(parents=True, exist_ok=True)
        with open(task.log_file, "a") as log:
            log.write(_log_header(task, attempt, f"ray node {outcome['node']}", outcome["argv"]) + outcome["output"])
        if outcome["returncode"] == 0:
            materialize(task, outcome["files"], outcome["scratch"])
        return task, Attempt(outcome["returncode"], outcome["output"][-OUTPUT_TAIL:], outcome["seconds"],
                             f"ray node {outcome['node']}", lost)

    def shutdown(self) -> None:
        for ref in self.pending:
            self.ray.cancel(ref, force=True)
        self.pending.clear()
        if self.started_here:
            self.ray.shutdown()


# What became of a task: trained here, finished before, being trained by another run, failed.
STATUSES = ("done", "skipped", "busy", "failed")


@dataclass
class Outcome:
    task: Task
    status: str = "pending"  # one of STATUSES
    attempts: int = 0
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)
    where: str = ""
    log_path: str | None = None  # the log the task's output is in (its own, or its seed group's)

    def as_dict(self) -> dict:
        t = self.task
        log = self.log_path or str(t.log_file)
        return dict(task=t.label, recipe=t.row.name, model=t.row.model, subset=t.row.subset, alpha=t.alpha,
                    protocol=t.protocol, fold=t.fold, seed=t.seed, run_dir=str(t.run_dir), metric_file=t.metric_file,
                    status=self.status, attempts=self.attempts, seconds=round(self.seconds, 1),
                    reasons=self.reasons, where=self.where, log=log if self.attempts else None)


class Progress:
    """One live line for the whole sweep on a terminal; one line per event in a log."""

    def __init__(self, total: int, name: str = "sweep", stream=None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.name, self.total, self.done, self.failed = name, total, 0, 0
        self.bar = tqdm(total=total, desc=name, unit="run", file=self.stream, disable=not self.live,
                        smoothing=0, dynamic_ncols=True)
        self.started = self.refreshed = time.monotonic()

    def tick(self) -> None:
        """Keep the elapsed time moving while runs are long."""
        if self.live and time.monotonic() - self.refreshed >= 1:
            self.bar.refresh()
            self.refreshed = time.monotonic()

    def event(self, text: str, finished: bool, failed: bool = False) -> None:
        self.done += finished
        self.failed += failed
        if self.live:
            self.bar.write(text, file=self.stream)
            self.bar.set_postfix_str(f"failed {self.failed}" if self.failed else "", refresh=False)
            self.bar.update(int(finished))
        else:
            elapsed = time.monotonic() - self.started
            eta = (f", ETA {tqdm.format_interval(elapsed / self.done * (self.total - self.done))}"
                   if self.done else "")
            print(f"{self.name} [{self.done}/{self.total}{eta}] {text}", file=self.stream, flush=True)

    def close(self) -> None:
        self.bar.close()


def run_tasks(tasks: list[Task], backend, retries: int, progress: Progress) -> list[Outcome]:
    """Run every task on ``backend``, retrying failures ``retries`` times; a task counts as
    done only when its line is in its ``.metric`` file."""
    outcomes = {task: Outcome(task) for task in tasks}
    queue = deque(tasks)
    try:
        while queue or backend.busy():
            while queue and backend.free_slots():
                task = queue.popleft()
                outcomes[task].attempts += 1
                backend.start(task, outcomes[task].attempts)
            task, attempt = backend.next_result(progress.tick)
            outcome = outcomes[task]
            outcome.seconds += attempt.seconds
            outcome.where = attempt.where
            if attempt.returncode == 0 and task.finished():
                outcome.status = "done"
                progress.event(f"done   {task.label} ({attempt.seconds:.0f} s on {attempt.where})", finished=True)
                continue
            if attempt.lost:
                reason = attempt.lost
            elif attempt.returncode != 0:
                reason = failure_reason(attempt.returncode, attempt.output)
            else:
                reason = (f"train.py exited 0 but {task.metric_file} has no line for seed {task.seed}; do the "
                          "train.py flags change the result file's name?")
            outcome.reasons.append(reason)
            if outcome.attempts <= retries and not permanent_failure(attempt):
                queue.append(task)
                progress.event(f"retry  {task.label} (attempt {outcome.attempts} failed: {reason})", finished=False)
            else:
                outcome.status = "failed"
                progress.event(f"FAILED {task.label}: {reason} (log: {task.log_file})", finished=True, failed=True)
    finally:
        backend.shutdown()
        progress.close()
    return list(outcomes.values())


def run_grouped(runs: list[Task], size: int, backend, retries: int) -> list[Outcome]:
    """The runs trained ``size`` seeds per process; each task's outcome is its group's, done
    when the task's own line is there."""
    groups = seed_groups(runs, size)
    outcomes = []
    for group_outcome in run_tasks(groups, backend, retries, Progress(len(groups))):
        for task in group_outcome.task.tasks:
            done = task.finished()
            reasons = group_outcome.reasons or [f"its seed group's train.py left no line for seed {task.seed} "
                                                "(trained meanwhile by another run?)"]
            outcomes.append(Outcome(task, status="done" if done else "failed", attempts=group_outcome.attempts,
                                    seconds=group_outcome.seconds, reasons=[] if done else reasons,
                                    where=group_outcome.where, log_path=str(group_outcome.task.log_file)))
    return outcomes
