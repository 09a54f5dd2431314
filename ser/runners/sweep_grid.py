"""What a sweep runs: the rows of the recipes table, the grid's tasks and their seed groups.

A ``Recipe`` is a row of ``scripts/recipes.tsv``; ``expand`` crosses rows with protocols, α,
folds and seeds into ``Task``s (one ``train.py`` run each, named by the result line it writes,
ser/records/results.py), and ``seed_groups`` gathers a grid cell's seeds for ``--seeds-per-process``.
The sweep's command line, driver and summary are in ``ser.runners.sweep``, the backends that run
the tasks in ``ser.runners.sweep_backends``.
"""
from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from ser import seeds
from ser.errors import UserError
from ser.io import ClaimSet, is_claimed
from ser.protocols import registry as protocols
from ser.records import results
from ser.runs.config import resolve_args
from ser.runs.config import result_naming as config_naming
from ser.runs.data import fold_numbers, scan_corpus
from ser.runs.flags import get_args_parser as train_args_parser
from ser.runs.request import data_request

ROOT = Path(__file__).resolve().parents[2]
RECIPES_FILE = ROOT / "scripts" / "recipes.tsv"
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
        scanned = scan_corpus(data_request(config))
    except UserError as error:
        raise SweepError(f"--protocols {protocol}: {error}") from None
    return tuple(fold_numbers(data_request(config), scanned.chosen, scanned.scan.utterances))


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
