"""Run a grid of ``train.py`` jobs on every GPU of a machine, or on a Ray cluster.

    python -m ser.runners.sweep --recipes GLAM GLAM_script GLAM_all --seeds 10
    python -m ser.runners.sweep --models GLAM MHCNN --subsets impro script all --protocols paper loso --seeds 100
    python -m ser.runners.sweep --grid grid.yaml --backend ray --address auto
    python -m ser.runners.sweep --recipes MHCNN --seeds 3 --dry-run -- --data /path/to/IEMOCAP_full_release

The grid. Its rows are those of ``scripts/recipes.tsv`` (model, subset, results folder, default
α and train.py flags of each row of the paper's tables, as the original scripts trained them), named directly
(``--recipes``) or as models × subsets (``--models``, ``--subsets``: the first row with that
model and subset; a model without one gets train.py's defaults, which are the GLAM row's, in
the GLAM row's results folder). Each row is crossed with protocols (``--protocols``; each
protocol but ``paper`` in its own folder, ``RESULTS_DIR/split811``, ``/loso``, ``/loso-speaker``,
``/speaker-kfold``, ...; a protocol with folds gives one task per fold, ``--folds`` picks some,
then one that writes the mean over folds; a corpus other than IEMOCAP is named by the flags
after ``--``, e.g. ``-- --data RAVDESS_ROOT --folds 5``, and the folds of the protocols whose
rows decide them are counted from its tree), mixup α (``--alphas``, default the row's) and seeds of
``seeds.txt`` (``--seeds N``: the first N; ``--seed-list``; ``--next N``: per grid cell, the
next N seeds neither finished nor being trained right now, which is how ``scripts/sweep``
counts: a seed whose run failed or was killed is left to the next call). Flags after
``--`` go to every train.py call; train.py's ``--protocol P`` and ``--fold K`` there act as
``--protocols P --folds K`` but keep the runs in ``RESULTS_DIR`` itself, as
``scripts/RECIPE -- --protocol P`` always has. ``--grid FILE`` (``.json``, ``.yaml``) holds
the same keys as the long options (``train_flags`` for the flags after ``--``); the command
line wins over it.

A task is one ``train.py`` process for one seed (and fold), writing exactly what that command
writes by hand: ``RESULTS_DIR/<results folder>/<MODEL>/<seed>[/fold<K>]`` and a line in the
``.metric`` file beside it (ser/records/results.py). A task is finished when its seed has that line, so
a rerun of the same command skips finished tasks and completes only what is missing. Before
any task starts, the sweep claims its tasks' seeds (the lock train.py holds while it trains a
seed; each train.py it starts trains under that claim), and holds them until it ends: a sweep
started meanwhile into the same results folder takes other seeds with ``--next``, and counts a
seed it was given that the other one holds as ``busy`` (left to it), so two sweeps never train
one seed twice and each reports what it trained. Several workers may share a GPU
(``--workers``), as ``train.py --seeds N`` does for one row.

Backends (``--backend``):

- ``local`` (default): one worker per visible GPU (``--gpus``: ``all``, ``0,2`` or ``-1`` for the
  CPU; ``--workers`` to run more or fewer at once, assigned to the GPUs in turn), or CPU workers
  (default one) splitting the cores when there is no GPU. Each worker runs its tasks one after
  another with ``-g K``.
- ``ray``: a Ray cluster (``--address auto`` or ``ray://HEAD:10001``), or a Ray instance on this
  machine when no address is given. Each task asks Ray for one GPU, or ``--cpus-per-task`` CPUs
  on a cluster without GPUs. The repository and the corpus must be at the same paths on every
  node (a shared filesystem, or identical copies); each task runs in a scratch folder and its
  files come back to this machine's results folder, so the layout is the same as ``local``.
  Ray is optional: ``pip install ray==2.60.0``.

Feature caches are computed once per distinct feature setting, here, before the fan-out (when
more than one task can run at a time); on a cluster without a shared filesystem each node
rebuilds its own from the same keys. A failed or killed task is retried ``--retries`` times,
then reported; the end prints done / skipped / failed (with reasons and the task's log,
``<run folder>/sweep.log``) and writes the same as JSON (``--summary``). One live line shows
the progress (done/total, ETA). Exit status: 0 when nothing failed, 1 otherwise, 2 for a bad
grid.
"""
from __future__ import annotations

import argparse
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
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from tqdm import tqdm

from ser import seeds
from ser.corpora.iemocap import SUBSETS
from ser.errors import UserError
from ser.io import ClaimSet, append_line, is_claimed, write_json, write_via_temporary
from ser.machine import threads_per_process, visible_gpus
from ser.protocols import registry as protocols
from ser.records import results
from ser.runs.config import get_args_parser as train_args_parser
from ser.runs.config import resolve_args
from ser.runs.config import result_naming as config_naming
from ser.runs.data import fold_numbers, load_corpus, scan_corpus

ROOT = Path(__file__).resolve().parents[2]
RECIPES_FILE = ROOT / "scripts" / "recipes.tsv"
# {python}: the interpreter where the task runs; {train}: this repository's train.py.
DEFAULT_TRAIN_COMMAND = "{python} {train}"
# train.py's defaults are the GLAM rows' settings, so models without a row use those rows.
TEMPLATE_MODEL = "GLAM"
# train.py flags that decide where a run's results go: the sweep sets them, never the user.
RESERVED_FLAGS = {
    ("-m", "--ser_model", "--model"): "--models or --recipes",
    ("-i", "--impro_or_script"): "--subsets or --recipes",
    ("--protocol",): "--protocols",
    ("--fold",): "--folds",
    ("-d", "--datadir"): "--results-dir",
    ("--save_label",): "--results-dir (and --SaveModel to keep the best model)",
    ("--seed",): "--seeds, --seed-list or --next",
    ("--alpha",): "--alphas",
    ("--val_id",): "--protocols loso-speaker --folds K (a session pair is a fold)",
    ("--test_id",): "--protocols loso-speaker --folds K (a session pair is a fold)",
}


def protocol_folder(protocol: str) -> str:
    """Where --protocols puts the protocol's runs under the results folder (its entry's
    ``results_folder``: "" for paper, split811 for 811, else its name), so that protocols never
    share a run folder (the folders scripts/split811_table and the README's examples use)."""
    return protocols.get(protocol).folder


# How much of a task's output the reason for a failure is looked for in.
OUTPUT_TAIL = 8192


class SweepError(UserError):
    """A grid that cannot run as given; the message says what to change."""


@dataclass(frozen=True)
class Recipe:
    """One row of ``scripts/recipes.tsv``."""
    name: str
    model: str
    subset: str
    tag: str  # results folder; ``{alpha}`` stands for the run's α
    alpha: str
    flags: tuple[str, ...]


def read_recipes(path: str | os.PathLike = RECIPES_FILE) -> dict[str, Recipe]:
    """The rows of a recipes table by name (the first row of a repeated name wins, as in
    ``scripts/sweep``)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise SweepError(f"cannot read the recipes table {path} ({error})") from None
    recipes = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 5:
            raise SweepError(f"{path}:{number}: a recipe needs a name, model, subset, results folder and α")
        name, model, subset, tag, alpha, *flags = fields
        recipes.setdefault(name, Recipe(name, model, subset, tag, alpha, tuple(flags)))
    return recipes


@dataclass(frozen=True)
class Naming:
    """What train.py names a run's result file by, beyond the grid cell (see :func:`result_naming`)."""
    features: str = "mfcc"
    labels: str = "glam"
    suffix: str = ".metric"
    subset: str | None = None  # set when the flags fix it (only IEMOCAP has subsets); else the row's
    corpus: str = "iemocap"
    test_corpus: str | None = None
    folds: int | None = None   # speaker-kfold's fold count


@dataclass(frozen=True)
class Task:
    """One ``train.py`` run: a recipe row at one α, protocol, fold and seed.

    For a protocol with folds (``fold_numbers``: loso, loso-speaker, speaker-kfold, ...),
    ``fold=None`` is the seed's fold mean: train.py without ``--fold``, run once every fold of
    the seed is finished, so it trains nothing and writes the mean over folds
    (``DATADIR/results.json`` and the ``..._<protocol>.metric`` line).
    """
    row: Recipe
    alpha: str
    protocol: str
    fold: int | None
    seed: int
    results_dir: str
    naming: Naming
    fold_numbers: tuple[int, ...] = ()  # the protocol's folds; empty for a single split

    @property
    def datadir(self) -> str:
        """train.py ``-d``: the scripts' ``RESULTS_DIR/<results folder>/<MODEL>/<seed>``."""
        folder = self.row.tag.replace("{alpha}", self.alpha)
        return os.path.join(self.results_dir, folder, self.row.model, str(self.seed))

    @property
    def head(self) -> tuple[str, ...]:
        """train.py arguments before ``-d``."""
        head = ["-m", self.row.model, "-i", self.row.subset, "--alpha", self.alpha, *self.row.flags]
        if self.protocol != "paper" or self.naming.corpus != "iemocap":  # other corpora have other defaults
            head += ["--protocol", self.protocol]
        if self.fold is not None:
            head += ["--fold", str(self.fold)]
        return tuple(head)

    def train_args(self, datadir: str | None = None) -> list[str]:
        return [*self.head, "-d", datadir or self.datadir, "--seed", str(self.seed)]

    @property
    def run_dir(self) -> Path:
        return results.run_location(self.datadir, self.fold)[0]

    @property
    def metric_file(self) -> str:
        stem = results.result_stem(self.row.model, self.naming.features, self.naming.subset or self.row.subset,
                                   self.naming.labels, self.protocol, self.fold, corpus=self.naming.corpus,
                                   folds=self.naming.folds, test_corpus=self.naming.test_corpus)
        return str(results.run_location(self.datadir, self.fold)[1] / f"{stem}{self.naming.suffix}")

    @property
    def log_file(self) -> Path:
        return self.run_dir / "sweep.log"

    @property
    def is_fold_mean(self) -> bool:
        return self.fold is None and bool(self.fold_numbers)

    def fold_tasks(self) -> list[Task]:
        return [replace(self, fold=k) for k in self.fold_numbers]

    @property
    def label(self) -> str:
        fold = " fold mean" if self.is_fold_mean else "" if self.fold is None else f" fold {self.fold}"
        return f"{self.row.name} α={self.alpha} {self.protocol}{fold} seed {self.seed}"

    def finished(self) -> bool:
        return self.seed in results.seeds_done(self.metric_file)

    @property
    def claim_files(self) -> list[Path]:
        """The lock that train.py holds while it trains this task (``ser.records.results.claim_path``)."""
        return [results.claim_path(self.metric_file, self.seed)]

    def running(self) -> bool:
        """Whether a live run holds this seed's claim (one that died holds nothing)."""
        return is_claimed(self.claim_files[0])


@dataclass(frozen=True)
class SeedGroup:
    """Several seeds of one grid cell trained by one ``train.py --seeds N --seed_list ...``
    process (``--seeds-per-process``): together on one device (``ser.training.stacked``), each writing
    exactly what its own task writes. It runs on a backend as a task does."""
    tasks: tuple[Task, ...]

    @property
    def first(self) -> Task:
        return self.tasks[0]

    @property
    def seeds(self) -> list[int]:
        return [t.seed for t in self.tasks]

    @property
    def seed(self) -> int:
        return self.first.seed

    @property
    def datadir(self) -> str:
        """train.py ``-d`` of ``--seeds``: the model folder holding every seed's run folder."""
        return os.path.dirname(self.first.datadir)

    @property
    def results_dir(self) -> str:
        return self.first.results_dir

    @property
    def run_dir(self) -> Path:
        return Path(self.datadir)

    @property
    def metric_file(self) -> str:
        return self.first.metric_file

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"sweep_seeds_{self.first.seed}.log"

    @property
    def label(self) -> str:
        return self.first.label.rsplit(" seed ", 1)[0] + f" seeds {', '.join(map(str, self.seeds))}"

    def train_args(self, datadir: str | None = None) -> list[str]:
        return [*self.first.head, "-d", datadir or self.datadir, "--seeds", str(len(self.tasks)), "--seed_list",
                ",".join(map(str, self.seeds))]

    def finished(self) -> bool:
        return all(t.finished() for t in self.tasks)

    @property
    def claim_files(self) -> list[Path]:
        return [path for task in self.tasks for path in task.claim_files]


def seed_groups(runs: list[Task], size: int) -> list[SeedGroup]:
    """The runs of each grid cell (same row, α, protocol, fold and results folder) in groups of
    at most ``size``, in the runs' order."""
    cells: dict[tuple, list[Task]] = {}
    for task in runs:
        cells.setdefault((task.row, task.alpha, task.protocol, task.fold, task.results_dir), []).append(task)
    return [SeedGroup(tuple(members[start:start + size])) for members in cells.values()
            for start in range(0, len(members), size)]


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


def _reserved_flag_parser() -> argparse.ArgumentParser:
    """The train.py flags the sweep sets itself."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    for names in RESERVED_FLAGS:
        parser.add_argument(*names, dest="reserved_" + names[-1].lstrip("-"), default=None)
    return parser


def result_naming(flags: list[str]) -> dict:
    """Features, labels, subset and file suffix that train.py will name its result file with,
    given the flags the sweep passes through (train.py's own rule, ``ser.runs.config.result_naming``);
    rejects flags the sweep sets itself."""
    try:
        reserved, _ = _reserved_flag_parser().parse_known_args(flags)
        known, _ = train_args_parser(exit_on_error=False).parse_known_args(flags)
    except argparse.ArgumentError as error:
        raise SweepError(f"train.py flags {shlex.join(flags)}: {error}") from None
    for names, instead in RESERVED_FLAGS.items():
        if getattr(reserved, "reserved_" + names[-1].lstrip("-")) is not None:
            raise SweepError(f"train.py flag {names[-1]} decides where a run's results go, which the sweep "
                             f"sets for each task; use {instead}")
    try:
        return config_naming(known)
    except UserError as error:  # --data showing several corpus layouts
        raise SweepError(f"train.py flags {shlex.join(flags)}: {error}") from None


def lift_grid_flags(flags: list[str]) -> tuple[str | None, int | None, list[str]]:
    """train.py's ``--protocol P`` and ``--fold K`` among the pass-through flags, taken out to
    act as ``--protocols P`` and ``--folds K`` (so ``scripts/RECIPE -- --protocol loso`` keeps
    working), and the other flags in order."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--protocol", choices=protocols.names())
    parser.add_argument("--fold", type=int)
    try:
        known, rest = parser.parse_known_args(flags)
    except argparse.ArgumentError as error:
        raise SweepError(f"train.py flags {shlex.join(flags)}: {error}") from None
    return known.protocol, known.fold, rest


def read_seeds(path: str | os.PathLike) -> list[int]:
    """The seeds of ``seeds.txt`` in order (written as seeds.py does when missing)."""
    try:
        return seeds.read_seeds(path)
    except seeds.SeedsFileError as error:
        raise SweepError(str(error)) from None


def grid_rows(recipes: dict[str, Recipe], names: list[str], models: list[str], subsets: list[str]) -> list[Recipe]:
    """The recipe rows a grid names, in order: ``names``, then ``models`` × ``subsets``."""
    unknown = [name for name in names if name not in recipes]
    if unknown:
        raise SweepError(f"unknown recipe {', '.join(map(repr, unknown))}; recipes: {' '.join(recipes)}")
    rows = [recipes[name] for name in names]
    for model in models:
        for subset in subsets:
            row = next((r for r in recipes.values() if r.model == model and r.subset == subset), None)
            if row is None:
                template = next((r for r in recipes.values() if r.model == TEMPLATE_MODEL and r.subset == subset), None)
                if template is None:
                    raise SweepError(f"no recipe for {model} on {subset} and no {TEMPLATE_MODEL} row to copy")
                row = Recipe(f"{model}_{subset}", model, subset, template.tag, template.alpha, template.flags)
            rows.append(row)
    return rows


def protocol_folds(protocol: str, naming: Naming, flags: list[str]) -> tuple[int, ...]:
    """The folds of ``protocol`` for a row's train.py flags (empty for a single split): fixed
    for IEMOCAP's protocols and speaker-kfold, read from the corpus (or the fold files) for
    the protocols whose folds its rows decide, as train.py counts them."""
    entry = protocols.get(protocol)
    if not entry.multi_fold:
        return ()
    if entry.fold_count is not None:
        return tuple(range(1, entry.fold_count + 1))
    if entry.folds_flag:
        return tuple(range(1, naming.folds + 1))
    try:
        config = resolve_args([*flags, "--protocol", protocol, "--quiet"])
        scanned = scan_corpus(config)
    except UserError as error:
        raise SweepError(f"--protocols {protocol}: {error}") from None
    return tuple(fold_numbers(config, scanned.chosen, scanned.scan.utterances))


def reserve(task: Task, claims: ClaimSet) -> bool:
    """Claim ``task``'s seed for this sweep: False when another live run holds it, or when it is
    finished (checked once claimed, so a run that finished meanwhile is seen)."""
    if not claims.take(task.claim_files[0]):
        return False
    if task.finished():
        claims.release(task.claim_files[0])
        return False
    return True


def expand(rows: list[Recipe], protocols: list[str], alphas: list[str], folds: list[int], seed_choice: tuple,
           seeds: list[int], results_dir: str, extra_flags: list[str], protocol_folders: bool = True,
           claims: ClaimSet | None = None) -> list[Task]:
    """Every task of the grid, finished or not: the runs ordered seed-major (so that every cell
    gets its first runs early), then the fold means of protocols whose every fold is in the
    grid. ``seed_choice`` is ``("first", N)``, ``("list", [seeds])`` or ``("next", N)``. With
    ``protocol_folders`` each protocol's runs go to ``results_dir/protocol_folder(protocol)``.
    With ``claims``, ``--next`` claims each seed it chooses as it chooses it, so that sweeps
    started together choose different seeds; without, it only looks (a dry run)."""
    kind, value = seed_choice
    if kind == "first" and value > len(seeds):
        raise SweepError(f"--seeds {value}: the seeds file holds {len(seeds)} seeds")
    per_cell, means = [], []
    for row in rows:
        naming = Naming(**result_naming([*row.flags, *extra_flags]))
        for alpha in alphas or [row.alpha]:
            for protocol in protocols:
                where = os.path.join(results_dir, protocol_folder(protocol)) if protocol_folders else results_dir
                numbers = protocol_folds(protocol, naming, [*row.flags, *extra_flags])
                wanted = [None] if not numbers else sorted(set(folds or numbers))
                bad = [k for k in wanted if k is not None and k not in numbers]
                if bad:
                    raise SweepError(f"--folds {bad[0]}: protocol {protocol} has folds "
                                     f"{', '.join(map(str, numbers))}")
                cells = []
                for fold in wanted:
                    make = partial(Task, row, alpha, protocol, fold, results_dir=where, naming=naming,
                                   fold_numbers=numbers)
                    if kind == "next":
                        cell = []
                        for candidate in map(make, seeds):
                            if len(cell) == value:
                                break
                            if claims is None and not candidate.finished() and not candidate.running() or \
                                    claims is not None and reserve(candidate, claims):
                                cell.append(candidate)
                    else:
                        cell = [make(seed) for seed in (seeds[:value] if kind == "first" else value)]
                    cells.append(cell)
                per_cell += cells
                if numbers and len(wanted) == len(numbers):
                    chosen = dict.fromkeys(t.seed for cell in cells for t in cell)
                    means += [Task(row, alpha, protocol, None, seed, where, naming, numbers) for seed in chosen]
    ordered = [cell[rank] for rank in range(max(map(len, per_cell), default=0))
               for cell in per_cell if rank < len(cell)]
    unique: dict[tuple[str, int], Task] = {}
    for task in [*ordered, *means]:
        other = unique.setdefault((task.metric_file, task.seed), task)
        # MACNN and MHCNN are one row under two names: the same run, kept once.
        if other.head != task.head:
            raise SweepError(f"{other.label} and {task.label} would write the same result line in "
                             f"{task.metric_file}; give their recipes different results folders (use "
                             f"{{alpha}} in the folder to sweep α)")
    return list(unique.values())


def parse_gpus(spec: str) -> list[int] | None:
    """``--gpus``: ``all`` (every visible GPU), ``-1``/``cpu`` (none), or a list like ``0,2``;
    None means "every visible GPU"."""
    spec = str(spec).strip().lower()
    if spec == "all":
        return None
    if spec in ("-1", "cpu"):
        return []
    try:
        gpus = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        gpus = [-1]
    if not gpus or min(gpus) < 0:
        raise SweepError(f"--gpus {spec!r}: give all, -1 (the CPU) or CUDA indices such as 0,2")
    return gpus


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


def warm_feature_caches(tasks: list[Task], extra_flags: list[str], log=print) -> list[str]:
    """Compute each distinct feature setting's cache once, here, before tasks run in parallel
    (otherwise every worker would compute the same entries at the same time). Also checks every
    distinct set of train.py flags, so a bad flag stops the sweep before any task starts."""
    warmed, checked = {}, set()
    for task in tasks:
        argv = [*task.head, "-d", task.datadir, *extra_flags, "--quiet"]
        if tuple(argv) in checked:
            continue
        checked.add(tuple(argv))
        try:
            config = resolve_args(argv)
        except UserError as error:
            raise SweepError(f"{task.label}: {error}") from None
        except SystemExit:  # argparse has printed what it rejects
            raise SweepError(f"{task.label}: train.py rejects the flags {shlex.join(argv)}") from None
        if config.featuresFileName:
            continue  # such runs read the original's features pickle, not the cache
        key = (config.corpus, config.data, config.impro_or_script, config.labels, config.feature_settings(),
               config.train_overlap, config.test_overlap, config.cache_dir)
        if key in warmed:
            continue
        described = (f"{config.features_to_use} of {config.corpus} subset {config.impro_or_script} (segment "
                     f"overlaps {config.train_overlap}/{config.test_overlap} s) in {config.cache_dir}")
        log(f"feature cache: {described}")
        started = time.perf_counter()
        try:
            load_corpus(config, lambda *a: None)
        except UserError as error:
            raise SweepError(f"{error} (while building the feature cache before the fan-out; --no-warm-cache "
                             "leaves it to the tasks)") from None
        warmed[key] = f"{described} ({time.perf_counter() - started:.1f} s)"
    return list(warmed.values())


class SeedChoice(argparse.Action):
    """``--seeds``, ``--seed-list`` and ``--next`` share one destination, so the last one given
    (the command line over a grid file) decides."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, (self.const, values))


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ser.runners.sweep",
        description="Run a grid of train.py jobs (recipes × protocols × α × seeds/folds) on every GPU "
                    "here or on a Ray cluster, skipping finished runs. Flags after -- go to train.py.")
    grid = parser.add_argument_group("grid")
    grid.add_argument("--grid", metavar="FILE", help="JSON or YAML file of these options (the command line wins)")
    grid.add_argument("--recipes", nargs="+", default=[], metavar="NAME", help="rows of the recipes table")
    grid.add_argument("--models", nargs="+", default=[], metavar="MODEL",
                      help="models, crossed with --subsets (each model's row for the subset, else the GLAM row's "
                           "settings)")
    grid.add_argument("--subsets", nargs="+", default=["impro"], choices=SUBSETS,
                      help="subsets for --models (default: impro)")
    grid.add_argument("--protocols", nargs="+", default=["paper"], choices=protocols.names(),
                      help="evaluation protocols (default: paper), each in its own folder: 811 in "
                           "RESULTS_DIR/split811, every other one but paper in RESULTS_DIR/<protocol>; those "
                           f"with folds ({', '.join(protocols.multi_fold_names())}) run one task per fold, then the "
                           "mean over folds. Other corpora: pass their flags after -- (--data, --folds K, --folds_from "
                           "...)")
    grid.add_argument("--folds", nargs="+", type=int, default=[], metavar="K",
                      help="only these folds of a protocol with folds (default: all)")
    grid.add_argument("--alphas", nargs="+", default=[], metavar="ALPHA", help="mixup α values (default: the row's)")
    grid.add_argument("--seeds", dest="seed_choice", action=SeedChoice, const="first", type=int, metavar="N",
                      default=("first", 1), help="the first N seeds of the seeds file (default: 1)")
    grid.add_argument("--seed-list", dest="seed_choice", action=SeedChoice, const="list", type=int, nargs="+",
                      metavar="SEED", help="these seeds")
    grid.add_argument("--next", dest="seed_choice", action=SeedChoice, const="next", type=int, metavar="N",
                      help="per grid cell, the next N seeds of the seeds file neither finished nor being trained "
                           "(scripts/sweep's count)")
    grid.add_argument("--seeds-file", default="seeds.txt",
                      help="default: seeds.txt, written as seeds.py does when missing")
    grid.add_argument("--recipes-file", default=str(RECIPES_FILE),
                      help="the recipes table (default: scripts/recipes.tsv)")
    grid.add_argument("--results-dir", default=os.environ.get("RESULTS_DIR", "data"),
                      help="folder holding the results folders (default: data, env RESULTS_DIR)")

    run = parser.add_argument_group("execution")
    run.add_argument("--backend", default="local", choices=("local", "ray"), help="default: local")
    run.add_argument("--gpus", default="all",
                     help="all (the default: every visible GPU, else the CPU), -1 (the CPU) or CUDA indices "
                          "such as 0,2")
    run.add_argument("--seeds-per-process", type=int, default=1, metavar="K",
                     help="local backend: train up to K seeds of a grid cell in one train.py process (train.py "
                          "--seeds: together on one device, one copy of the features, each kernel doing every "
                          "seed's work); default 1")
    run.add_argument("--workers", type=int, default=None,
                     help="tasks at once on the local backend (default: one per GPU, else 1); GPUs are "
                          "assigned in turn")
    run.add_argument("--address", default=None,
                     help="Ray cluster address (auto, HOST:PORT, ray://HOST:10001); default: a Ray instance "
                          "on this machine")
    run.add_argument("--cpus-per-task", type=int, default=1,
                     help="CPUs a Ray task asks for when it has no GPU (default: 1)")
    run.add_argument("--retries", type=int, default=1,
                     help="times a failed or killed task is tried again (default: 1)")
    run.add_argument("--warm-cache", action=argparse.BooleanOptionalAction, default=None,
                     help="compute feature caches before the fan-out (default: when tasks run in parallel)")
    run.add_argument("--train-command", default=os.environ.get("SER_TRAIN_COMMAND", DEFAULT_TRAIN_COMMAND),
                     help="what runs a task ({python}: the task's interpreter, {train}: train.py); to wrap "
                          "train.py, e.g. 'nice -n 10 {python} {train}' (default: env SER_TRAIN_COMMAND, "
                          "else '{python} {train}'; the env reaches sweeps the recipe scripts start)")
    run.add_argument("--summary", default=None, help="JSON summary (default: RESULTS_DIR/sweep_summary.json)")
    run.add_argument("--dry-run", action="store_true", help="list the tasks and their commands, run nothing")
    return parser


def load_grid_file(path: str, parser: argparse.ArgumentParser) -> dict:
    """A grid file's options as parser defaults; keys are the long options (``-`` or ``_``)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SweepError(f"cannot read the grid file {path}: {error}") from None
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise SweepError(f"{path}: YAML grids need PyYAML (pip install -r requirements.txt); "
                             "or write it as JSON") from None
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise SweepError(f"cannot read the grid file {path}: {error}") from None
    else:
        try:
            values = json.loads(text)
        except ValueError as error:
            raise SweepError(f"cannot read the grid file {path} as JSON (.yaml/.yml for YAML): {error}") from None
    if not isinstance(values, dict):
        raise SweepError(f"grid file {path} must hold a mapping of option names to values")
    actions = {a.dest: a for a in parser._actions}
    seed_keys = {"seeds": "first", "seed_list": "list", "next": "next"}
    defaults = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name == "train_flags":
            defaults[name] = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
        elif name in seed_keys:
            defaults["seed_choice"] = (seed_keys[name], [int(v) for v in value] if name == "seed_list" else int(value))
        elif name in actions and name not in ("grid", "help", "seed_choice"):
            action = actions[name]
            if action.nargs == "+":
                value = [str(v) if action.type is None else action.type(v)
                         for v in (value if isinstance(value, list) else [value])]
                if action.choices and any(v not in action.choices for v in value):
                    raise SweepError(f"grid file {path}: {key} must be among {', '.join(action.choices)}")
            defaults[name] = value
        else:
            valid = sorted({*(a.dest for a in parser._actions if a.dest not in ("help", "grid", "seed_choice")),
                            *seed_keys, "train_flags"})
            raise SweepError(f"grid file {path}: unknown key {key!r}; valid keys: {', '.join(valid)}")
    return defaults


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The sweep's options (a grid file under the command line) and the train.py flags after ``--``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    own, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = get_args_parser()
    first = parser.parse_args(own)
    file_flags = []
    if first.grid:
        defaults = load_grid_file(first.grid, parser)
        file_flags = defaults.pop("train_flags", [])
        parser.set_defaults(**defaults)
    args = parser.parse_args(own)
    protocol, fold, args.train_flags = lift_grid_flags([*file_flags, *extra])
    # train.py's own --protocol writes where -d says, as scripts/RECIPE -- --protocol P always has.
    args.protocol_folders = protocol is None
    if protocol is not None:
        if args.protocols not in (["paper"], [protocol]):
            raise SweepError(f"train.py flag --protocol {protocol} contradicts --protocols {' '.join(args.protocols)}")
        args.protocols = [protocol]
    if fold is not None:
        if args.folds not in ([], [fold]):
            raise SweepError(f"train.py flag --fold {fold} contradicts --folds {' '.join(map(str, args.folds))}")
        args.folds = [fold]
    return args


def write_summary(path: Path, command: list[str], backend: str, outcomes: list[Outcome], warmed: list[str],
                  seconds: float) -> None:
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"command": shlex.join([sys.executable, "-m", "ser.runners.sweep", *command]),
                              "backend": backend, "seconds": round(seconds, 1), "counts": counts,
                              "feature_caches_built": warmed, "runs": [o.as_dict() for o in outcomes]})


def summary_text(outcomes: list[Outcome], summary_file: Path) -> str:
    counts = {status: [o for o in outcomes if o.status == status] for status in STATUSES}
    lines = [f"sweep: {len(outcomes)} runs in the grid: {len(counts['done'])} done, "
             f"{len(counts['skipped'])} skipped (finished before), "
             + (f"{len(counts['busy'])} left to the runs training them right now, " if counts["busy"] else "")
             + f"{len(counts['failed'])} failed"]
    for o in counts["failed"]:
        lines.append(f"  failed: {o.task.label} after {o.attempts} attempt(s): {o.reasons[-1]} "
                     f"(log: {o.log_path or o.task.log_file})")
    if counts["failed"]:
        lines.append("  rerun the same command to retry only what is missing")
    lines.append(f"summary: {summary_file}")
    return "\n".join(lines)


def plan(args: argparse.Namespace, claims: ClaimSet | None = None) -> list[Task]:
    """The grid's tasks, finished ones included (``--next``'s seeds claimed in ``claims``)."""
    if (args.retries < 0 or (args.workers is not None and args.workers < 1) or args.cpus_per_task < 1
            or args.seeds_per_process < 1):
        raise SweepError("--retries must be >= 0, --workers, --cpus-per-task and --seeds-per-process >= 1")
    recipes = read_recipes(args.recipes_file)
    if not args.recipes and not args.models:
        raise SweepError(f"name the grid's rows: --recipes NAME ... or --models MODEL ...; recipes: "
                         f"{' '.join(recipes)}")
    rows = grid_rows(recipes, args.recipes, args.models, args.subsets)
    kind, value = args.seed_choice
    if (kind != "list" and value < 0) or (kind == "list" and not value):
        raise SweepError("--seeds and --next take a count >= 0, --seed-list at least one seed")
    seeds = read_seeds(args.seeds_file) if kind != "list" else []
    return expand(rows, args.protocols, args.alphas, args.folds, args.seed_choice, seeds, args.results_dir,
                  args.train_flags, args.protocol_folders, claims)


def make_backend(args: argparse.Namespace, pending: list[Task], claims: ClaimSet | None = None):
    """The backend for the runs, after the feature caches are built; returns it and the caches built."""
    gpus = parse_gpus(args.gpus)
    if args.backend == "local":
        gpus = visible_gpus() if gpus is None else gpus
        workers = args.workers or max(1, len(gpus))
        slots = [gpus[i % len(gpus)] for i in range(workers)] if gpus else [-1] * workers
        parallel = workers > 1
    else:
        parallel = True
    warmed = []
    if args.warm_cache or (args.warm_cache is None and parallel and len(pending) > 1):
        warmed = warm_feature_caches(pending, args.train_flags, log=lambda text: print(text, file=sys.stderr))
    if args.backend == "local":
        return LocalBackend(slots, train_command(args.train_command, sys.executable), args.train_flags, claims), warmed
    return RayBackend(args.address, gpus != [], args.cpus_per_task, args.train_command, args.train_flags), warmed


def run_fold_means(means: list[Task], args: argparse.Namespace, claims: ClaimSet | None = None) -> list[Outcome]:
    """The fold means whose folds are all finished, on this machine's CPU: they read the
    folds' results (wherever the folds ran, their files are here now) and train nothing."""
    ready = [m for m in means if all(f.finished() for f in m.fold_tasks())]
    waiting = [Outcome(m, status="failed", reasons=["folds not finished: " + ", ".join(
        str(f.fold) for f in m.fold_tasks() if not f.finished())]) for m in means if m not in ready]
    if not ready:
        return waiting
    workers = min(len(ready), args.workers or 1)
    backend = LocalBackend([-1] * workers, train_command(args.train_command, sys.executable), args.train_flags,
                           claims)
    print(f"fold means: {len(ready)} to write on {backend.describe()}", file=sys.stderr)
    return waiting + run_tasks(ready, backend, args.retries, Progress(len(ready), "fold means"))


def summary_path(args: argparse.Namespace, claims: ClaimSet) -> Path:
    """``--summary``, else ``RESULTS_DIR/sweep_summary.json``, or ``sweep_summary_<pid>.json`` while
    another live sweep will write that one, so that sweeps run together never overwrite each
    other's (the name is claimed when the sweep starts)."""
    if args.summary:
        return Path(args.summary)
    shared = Path(args.results_dir) / "sweep_summary.json"
    if claims.take(shared.parent / ".claims" / f"{shared.name}.lock"):
        return shared
    return shared.with_name(f"sweep_summary_{os.getpid()}.json")


def main(argv: list[str] | None = None) -> int:
    """Run a sweep; returns the exit status (0 all done, 1 some failed, 2 a bad grid, 130 interrupted)."""
    started = time.perf_counter()
    command = list(sys.argv[1:] if argv is None else argv)
    # The seeds this sweep trains are claimed before any starts, and held until it ends: sweeps
    # started together into one results folder share the work instead of doing it twice.
    with ClaimSet(f"sweep pid {os.getpid()} on {socket.gethostname()}, since {time.ctime()}") as claims:
        return _sweep(command, claims, started)


def _sweep(command: list[str], claims: ClaimSet, started: float) -> int:
    try:
        args = parse_args(command)
        tasks = plan(args, None if args.dry_run else claims)
        pending = [t for t in tasks if not t.finished()]
        if args.dry_run:
            runs = [t for t in pending if not t.is_fold_mean]
            print(f"{len(tasks)} runs in the grid, {len(tasks) - len(pending)} finished, {len(pending)} to run "
                  f"(fold means after their folds):")
            prefix = train_command(args.train_command, sys.executable)
            grouped = args.seeds_per_process > 1 and args.backend == "local"
            listed = [*seed_groups(runs, args.seeds_per_process), *(t for t in pending if t.is_fold_mean)] \
                if grouped else pending
            for task in listed:
                print(f"  {task.label}: {shlex.join([*prefix, *task.train_args(), *args.train_flags])}")
            return 0
        summary_file = summary_path(args, claims)
        busy = [t for t in pending if not reserve(t, claims) and not t.finished()]
        pending = [t for t in pending if claims.holds(t.claim_files[0])]
        runs = [t for t in pending if not t.is_fold_mean]
        backend, warmed = make_backend(args, pending, claims) if runs else (None, [])
    except SweepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted before any task started", file=sys.stderr)
        return 130
    outcomes = {t: Outcome(t, status="skipped") for t in set(tasks) - set(pending)}
    outcomes.update((t, Outcome(t, status="busy", reasons=["being trained right now by another run"])) for t in busy)
    try:
        if runs:
            print(f"sweep: {len(tasks)} runs, {len(tasks) - len(pending) - len(busy)} finished before, "
                  + (f"{len(busy)} being trained by another run, " if busy else "")
                  + f"{len(pending)} to run on {backend.describe()}", file=sys.stderr)
            if args.seeds_per_process > 1 and args.backend == "local":
                outcomes.update((o.task, o) for o in run_grouped(runs, args.seeds_per_process, backend, args.retries))
            else:
                outcomes.update((o.task, o) for o in run_tasks(runs, backend, args.retries, Progress(len(runs))))
        outcomes.update((o.task, o) for o in run_fold_means([t for t in pending if t.is_fold_mean], args, claims))
    except KeyboardInterrupt:
        print("\ninterrupted: running tasks were stopped; rerun the same command to complete the sweep",
              file=sys.stderr)
        return 130
    ordered = [outcomes[t] for t in tasks]
    write_summary(summary_file, command, args.backend, ordered, warmed, time.perf_counter() - started)
    print(summary_text(ordered, summary_file))
    return 1 if any(o.status == "failed" for o in ordered) else 0

if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into a reader that stopped early, e.g. --dry-run | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
