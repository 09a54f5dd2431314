"""Result files: the original's sweep contract plus a machine-readable ``results.json``.

For a run directory ``DIR`` (``train.py -d DIR``; the scripts use ``data/<tag>/<MODEL>/<seed>``)
and its parent ``PARENT`` (or ``DIR`` itself when it has no parent), a finished run leaves:

- ``PARENT/<MODEL>_<features>_<subset>.metric``: one line per run, seed right-aligned in 16
  characters, then (WA+UA)/2 with 4 decimals, WA, UA, macro F1 and weighted F1, tab
  separated. The scripts skip seeds already listed here. (``.same`` instead of ``.metric``
  when ``--featuresFileName`` or ``-c`` was given, as in the original.)
- ``PARENT/<MODEL>_<features>_<subset>.log``: the best epoch's classification report and
  confusion matrix, the split's class counts and the running time.
- ``PARENT/<MODEL>_<features>_<subset>.loss``: the seed and the training loss of each epoch.
- ``DIR/last.json``: the resolved arguments; ``DIR/<MODEL>_train.log``: the per-epoch log;
  ``DIR/results.json``: arguments, protocol, per-epoch metrics, best epoch, confusion matrix
  with class names, versions.

Corpora, protocols and label sets never share a result file: the stem above is IEMOCAP with
the ``paper`` protocol and the ``glam`` labels, exactly as the original names it, and anything
else adds parts (:func:`result_stem`, read back by :func:`parse_stem`):

- ``<MODEL>_<features>_<subset>[_<corpus>][_<labels>][_to-<test corpus>][_<protocol>][_fold<K>]``:
  ``<corpus>`` for every corpus but IEMOCAP (whose subset is then ``all``), ``<labels>`` when
  the label set is not the corpus's default (``glam`` for IEMOCAP, the corpus's own set for
  the others), ``to-<test corpus>`` for a cross-corpus run, ``<protocol>`` when not ``paper``
  (``speaker-kfold<K>`` with its fold count), e.g. ``GLAM_mfcc_impro_811.metric``,
  ``MHCNN_mfcc_all_merge.metric``, ``GLAM_mfcc_impro_loso_fold3.metric``,
  ``alexnet_gap_logspec_all_emodb_pair-val2F-test1M.metric``,
  ``MHCNN_mfcc_all_ravdess_speaker-kfold5_fold2.metric``,
  ``CNN_GAP_mfcc_all_ravdess_shared4_to-cremad_811.metric`` (any label set of ``ser.corpora.labels``;
  seed 004's speaker pairs of ``ser.protocols.splits.pair_protocol``).
- A fold run (``train.py --protocol loso --fold K -d DIR``) uses ``DIR/fold<K>`` as its run
  directory and still collects in ``PARENT`` (:func:`run_location`), one
  ``..._<protocol>_fold<K>.metric`` line per seed. ``--protocol loso`` without ``--fold`` runs
  every fold and also writes ``DIR/results.json`` (per-fold scores, their mean ± std) and
  one line per seed with the mean over folds in ``PARENT/..._<protocol>.metric``; the report
  reads the per-fold files, so runs of single folds aggregate the same way.

:class:`RunFiles` is the one place that names a run's files, and :func:`write_finished_run`
the one call that writes a finished run's results, the ``.metric`` line last. Shared files get
whole lines appended under an exclusive lock, so concurrent runs never interleave; single-run
files are written to a temporary name and renamed into place (``ser.io``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ser.corpora.labels import LABEL_SET_NAMES, default_label_set
from ser.corpora.registry import entries as corpus_entries
from ser.corpora.registry import names as corpus_names
from ser.io import append_line, append_lines, read_shared, write_json
from ser.protocols import registry as protocols
from ser.protocols.splits import PAIR_PROTOCOL

METRICS = ("WA_UA_mean", "WA", "UA", "macro_f1", "weighted_f1")


def result_stem(model: str, features: str, subset: str, labels: str = "glam", protocol: str = "paper",
                fold: int | None = None, corpus: str = "iemocap", folds: int | None = None,
                test_corpus: str | None = None) -> str:
    """``<MODEL>_<features>_<subset>``, plus the corpus (not IEMOCAP), the label set (not the
    corpus's default), the test corpus (cross-corpus runs), the protocol (not ``paper``; with
    speaker-kfold's fold count ``folds``) and the fold, as the module doc says."""
    stem = f"{model}_{features}_{subset}"
    if corpus != "iemocap":
        stem += f"_{corpus}"
    if labels != default_label_set(corpus):
        stem += f"_{labels}"
    if test_corpus is not None:
        stem += f"_to-{test_corpus}"
    entry = protocols.find(protocol)  # None: seed 004's speaker pair, named as it is
    part = protocol if entry is None else entry.stem_part(folds)
    if part:
        stem += f"_{part}"
    if fold is not None:
        stem += f"_fold{fold}"
    return stem


def _alternatives(names) -> str:
    return "|".join(re.escape(name) for name in names) or "(?!)"  # none: matches nothing


_STEMS: dict[tuple, re.Pattern] = {}


def _stem_pattern() -> re.Pattern:
    """The result stems of the protocols, corpora and label sets registered now (compiled once per
    set of them)."""
    entries = tuple(protocols.REGISTERED.values())
    key = (entries, corpus_names(), tuple(LABEL_SET_NAMES))
    if key not in _STEMS:
        named = [p.name for p in entries if p.in_result_names and not p.folds_flag]
        counted = [p.name for p in entries if p.in_result_names and p.folds_flag]
        # every corpus's subsets (IEMOCAP's impro, script, all), and "all" for the corpora without any
        subsets = dict.fromkeys([s for c in corpus_entries() for s in c.subsets] + ["all"])
        _STEMS[key] = re.compile(
            rf"(?P<model>.+)_(?P<features>[^_]+)_(?P<subset>{_alternatives(subsets)})"
            rf"(?:_(?P<corpus>{_alternatives([name for name in corpus_names() if name != 'iemocap'])}))?"
            rf"(?:_(?P<labels>{_alternatives(sorted(set(LABEL_SET_NAMES) - {'glam'}))}))?"
            rf"(?:_to-(?P<test_corpus>{_alternatives(corpus_names())}))?"
            rf"(?:_(?:(?P<counted>{_alternatives(counted)})(?P<folds>\d+)"
            rf"|(?P<protocol>{_alternatives(named)}|{PAIR_PROTOCOL.pattern})))?"
            rf"(?:_fold(?P<fold>\d+))?")
    return _STEMS[key]


def parse_stem(stem: str) -> dict | None:
    """The inverse of :func:`result_stem`: its keyword arguments (model, features, subset,
    labels, protocol, fold, corpus, folds, test_corpus); None when ``stem`` is not a result stem."""
    match = _stem_pattern().fullmatch(stem)
    if match is None:
        return None
    parts = match.groupdict()
    corpus = parts["corpus"] or "iemocap"
    folds = None if parts["folds"] is None else int(parts["folds"])
    return dict(model=parts["model"], features=parts["features"], subset=parts["subset"],
                labels=parts["labels"] or default_label_set(corpus),
                protocol=parts["counted"] or parts["protocol"] or "paper",
                fold=None if parts["fold"] is None else int(parts["fold"]), corpus=corpus, folds=folds,
                test_corpus=parts["test_corpus"])


def run_location(datadir: str | os.PathLike, fold: int | None = None) -> tuple[Path, Path]:
    """(run directory, folder collecting the result files) of ``train.py -d datadir [--fold K]``."""
    base = Path(datadir)
    parent = base.parent if os.path.dirname(os.fspath(datadir)) else base
    return (base if fold is None else base / f"fold{fold}"), parent


def metric_line(seed: int, selection: float, WA: float, UA: float, macro_f1: float, weighted_f1: float) -> str:
    """One ``.metric`` line, formatted as the original writes it."""
    return f"{seed:16}\t{selection:.4f}\t{WA}\t{UA}\t{macro_f1}\t{weighted_f1}\n"


@dataclass(frozen=True)
class RunFiles:
    """Every file one run writes, named in one place (see the module doc).

    ``run_dir`` holds the run's own files, ``parent`` the files its sibling runs share.
    """
    run_dir: Path
    parent: Path
    stem: str
    model: str
    suffix: str = ".metric"

    @classmethod
    def of(cls, datadir: str | os.PathLike, model: str, features: str, subset: str, labels: str = "glam",
           protocol: str = "paper", fold: int | None = None, suffix: str = ".metric",
           seed: int | None = None, corpus: str = "iemocap", folds: int | None = None,
           test_corpus: str | None = None) -> RunFiles:
        """The files of ``train.py -d datadir``. A ``datadir`` named by a number is a run folder
        of its own (the scripts' ``<MODEL>/<seed>``); any other (the default ``data``, or a
        results folder) holds many runs, so the run's own files go to ``datadir/<stem>/<seed>``
        and never overwrite another run's. The shared files stay where the original puts
        them (:func:`run_location`). The stem's parts are :func:`result_stem`'s."""
        run_dir, parent = run_location(datadir, fold)
        naming = dict(corpus=corpus, folds=folds, test_corpus=test_corpus)
        if seed is not None and not Path(datadir).name.isdigit():
            own = Path(datadir) / result_stem(model, features, subset, labels, protocol, **naming) / str(seed)
            run_dir = own if fold is None else own / f"fold{fold}"
        return cls(run_dir, parent, result_stem(model, features, subset, labels, protocol, fold, **naming), model,
                   suffix)

    @property
    def metric(self) -> Path:
        return self.parent / f"{self.stem}{self.suffix}"

    @property
    def log(self) -> Path:
        return self.parent / f"{self.stem}.log"

    @property
    def loss(self) -> Path:
        return self.parent / f"{self.stem}.loss"

    @property
    def results_json(self) -> Path:
        return self.run_dir / "results.json"

    @property
    def last_json(self) -> Path:
        return self.run_dir / "last.json"

    @property
    def train_log(self) -> Path:
        return self.run_dir / f"{self.model}_train.log"

    @property
    def epochs_csv(self) -> Path:
        return self.run_dir / f"{self.stem}_epochs.csv"

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / f"model_{self.stem}.pth"

    @property
    def resume_state(self) -> Path:
        return self.run_dir / f"resume_{self.stem}.pt"

    def tensorboard(self, seed: int) -> Path:
        return self.run_dir / "tensorboard" / f"{self.stem}_seed{seed}"

    @property
    def index(self) -> Path:
        """One JSON line per ``.metric`` line: the run's identity and where its files are."""
        return index_path(self.metric)

    def claim(self, seed: int) -> Path:
        """The lock a live run of ``seed`` holds from its "already finished?" check to its line."""
        return claim_path(self.metric, seed)


def index_path(metric_file: str | os.PathLike) -> Path:
    metric_file = Path(metric_file)
    return metric_file.with_name(f"{metric_file.name}.index.jsonl")


def claim_path(metric_file: str | os.PathLike, seed: int) -> Path:
    metric_file = Path(metric_file)
    return metric_file.parent / ".claims" / f"{metric_file.name}.{seed}.lock"


def write_finished_run(files: RunFiles, summary: dict, seed: int, scores: dict, identity: dict, *,
                       log_text: str | None = None, losses: list[float] | None = None) -> None:
    """All result files of a finished run: ``results.json``, the ``.log`` entry and the
    ``.loss`` line when given, and last the ``.metric`` line with its index entry (the run's
    ``identity``), both appended under the ``.metric`` file's lock. That line marks the seed
    finished for sweeps and reruns, so a run killed before it is retried rather than counted
    with missing files. ``scores``: the reported WA, UA, macro_f1, weighted_f1 and WA_UA_mean."""
    write_json(files.results_json, summary)
    if log_text is not None:
        append_line(files.log, f"-------------------------------------------\n{seed}\n{log_text}"
                               "-------------------------------------------\n\n")
    if losses is not None:
        append_line(files.loss, f"{seed}\t" + "\t".join(str(loss) for loss in losses) + "\n")
    line = metric_line(seed, scores["WA_UA_mean"], scores["WA"], scores["UA"], scores["macro_f1"],
                       scores["weighted_f1"])
    entry = {"seed": seed, "line": line.rstrip("\n"), "identity": identity,
             "results_json": os.path.relpath(files.results_json, files.parent)}
    # The index entry first: a reader pairs each .metric line with its entry, and an entry whose
    # line never came (a kill in between) pairs with nothing.
    append_lines([(files.index, json.dumps(entry, sort_keys=True) + "\n"), (files.metric, line)], lock=files.metric)


def flatten(settings: dict, prefix: str = "") -> dict:
    """Nested settings as one level of dotted names (``features.n_mfcc``)."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differences(old: dict, new: dict) -> list[str]:
    """``name: old → new`` for every setting that differs between two identities."""
    before, after = flatten(old), flatten(new)
    return [f"{name}: {before.get(name, '(none)')!r} → {after.get(name, '(none)')!r}"
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


@dataclass(frozen=True)
class FinishedRun:
    """One ``.metric`` line with what its index entry says of it (None: written without one,
    e.g. by the original code)."""
    seed: int
    scores: dict
    identity: dict | None
    results_json: Path | None


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _index_entries(metric_file: Path, warn) -> dict[str, list[dict]]:
    """The index entries of ``metric_file`` by their line, in file order."""
    path = index_path(metric_file)
    entries: dict[str, list[dict]] = {}
    if not path.exists():
        return entries
    for number, text in enumerate(read_shared(path).splitlines(), 1):
        try:
            entry = json.loads(text)
            entries.setdefault(entry["line"], []).append(entry)
        except (ValueError, KeyError, TypeError):
            warn(f"{path} line {number} is not an index entry; skipped")
    return entries


def finished_runs(metric_file: str | os.PathLike, warn=_warn) -> list[FinishedRun]:
    """Every run of a ``.metric`` file, paired with its index entry."""
    metric_file = Path(metric_file)
    if not metric_file.exists():
        return []
    rows = read_metric(metric_file, warn)
    entries = _index_entries(metric_file, warn)
    runs = []
    for row in rows:
        matching = entries.get(row["line"], [])
        entry = matching.pop(0) if matching else None
        results_json = None if entry is None else metric_file.parent / entry["results_json"]
        runs.append(FinishedRun(row["seed"], {k: row[k] for k in METRICS},
                                None if entry is None else entry["identity"], results_json))
    return runs


def read_metric(path: str | os.PathLike, warn=_warn) -> list[dict]:
    """Parse a ``.metric`` file into dicts (seed, WA_UA_mean, WA, UA, macro_f1, weighted_f1 and
    the line itself). A line that is not six tab-separated numbers, or a last line without its
    line end (a writer stopped mid-line), is skipped and ``warn`` names the file and line."""
    text = read_shared(path)
    lines = text.splitlines()
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if number == len(lines) and not text.endswith("\n"):
            warn(f"{path} line {number} is torn (no line end: a writer stopped mid-line); skipped")
            continue
        fields = line.split("\t")
        try:
            if len(fields) != 6:
                raise ValueError(f"{len(fields)} fields")
            seed, *values = int(fields[0]), *map(float, fields[1:])
            if not 0 <= seed < 2**32:
                raise ValueError(f"seed {seed}")
        except ValueError as error:
            warn(f"{path} line {number} is not a result line ({error}); skipped")
            continue
        rows.append(dict(seed=seed, line=line, **dict(zip(METRICS, values))))
    return rows


def seeds_done(path: str | os.PathLike) -> set[int]:
    return {row["seed"] for row in read_metric(path)} if Path(path).exists() else set()


def mean_std(values) -> tuple[float, float]:
    """The mean and the population standard deviation (numpy, ddof=0) of ``values``: the one
    mean ± std of every table, fold mean and cross-validation summary."""
    return float(np.mean(values)), float(np.std(values))


def summary_table(paths: list[str | os.PathLike]) -> str:
    """A Markdown table of mean ± std (numpy's population std) per ``.metric`` file, then a note
    for each file whose lines come from different settings (their mean mixes unlike runs)."""
    lines = ["| results | runs | WA | UA | macro F1 | weighted F1 |", "|---|---|---|---|---|---|"]
    notes = []
    for path in paths:
        runs = finished_runs(path)
        cells = ["{:.2f} ± {:.2f}".format(*mean_std([r.scores[k] for r in runs]))
                 if runs else "-" for k in ("WA", "UA", "macro_f1", "weighted_f1")]
        marks = [run.identity is not None and bool(run.identity["corpus"].get("synthetic")) for run in runs]
        synthetic = any(marks)
        name = Path(path).stem + (" (SYNTHETIC corpus)" if synthetic and all(marks)
                                  else " (some runs on a SYNTHETIC corpus)" if synthetic else "")
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
        settings = {json.dumps({k: run.identity[k] for k in ("settings", "corpus")}, sort_keys=True)
                    for run in runs if run.identity is not None}
        if len(settings) > 1:
            first, *others = [json.loads(text) for text in sorted(settings)]
            changed = sorted({d.split(":")[0] for other in others for d in differences(first, other)})
            notes.append(f"note: {path} holds runs of {len(settings)} different settings (differing: "
                         f"{', '.join(changed)}); its mean mixes them: report.py keeps them apart")
        if synthetic:
            notes.append(f"note: {path} holds runs on a SYNTHETIC corpus: they say nothing about the real one")
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv=None) -> None:
    """``python -m ser.records.results FILE.metric ...``: print the summary table."""
    parser = argparse.ArgumentParser(description="Mean ± std of .metric files (one line per run).")
    parser.add_argument("metric_files", nargs="+")
    print(summary_table(parser.parse_args(argv).metric_files))


if __name__ == "__main__":
    main()
