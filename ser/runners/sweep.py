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

This module is the command line and the driver; the grid's rows and tasks are
``ser.runners.sweep_grid``, the backends and the retry loop ``ser.runners.sweep_backends``.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import sys
import time
from pathlib import Path

from ser.corpora.iemocap import SUBSETS
from ser.errors import UserError
from ser.io import ClaimSet, write_json
from ser.machine import visible_gpus
from ser.protocols import registry as protocols
from ser.runners.sweep_backends import (
    STATUSES,
    LocalBackend,
    Outcome,
    Progress,
    RayBackend,
    run_grouped,
    run_tasks,
    train_command,
)
from ser.runners.sweep_grid import (
    RECIPES_FILE,
    SweepError,
    Task,
    expand,
    grid_rows,
    lift_grid_flags,
    read_recipes,
    read_seeds,
    reserve,
    seed_groups,
)
from ser.runs.config import resolve_args
from ser.runs.data import load_corpus
from ser.runs.request import data_request

# {python}: the interpreter where the task runs; {train}: this repository's train.py.
DEFAULT_TRAIN_COMMAND = "{python} {train}"


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
            load_corpus(data_request(config), lambda *a: None)
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
