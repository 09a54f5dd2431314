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

Protocols and label sets never share a result file: the stem above is the ``paper`` protocol
with the ``glam`` labels, exactly as the original names it, and anything else adds suffixes
(:func:`result_stem`, read back by :func:`parse_stem`):

- ``<MODEL>_<features>_<subset>[_<labels>][_<protocol>][_fold<K>]``, e.g.
  ``GLAM_mfcc_impro_811.metric``, ``MHCNN_mfcc_all_merge.metric``,
  ``GLAM_mfcc_impro_loso_fold3.metric``, ``alexnet_gap_logspec_all_emodb_pair-val2F-test1M.metric``
  (any label set of ``ser.labels``; seed 004's speaker pairs of ``ser.splits.pair_protocol``).
- A fold run (``train.py --protocol loso --fold K -d DIR``) uses ``DIR/fold<K>`` as its run
  directory and still collects in ``PARENT`` (:func:`run_location`), one
  ``..._<protocol>_fold<K>.metric`` line per seed. ``--protocol loso`` without ``--fold`` runs
  every fold and also writes ``DIR/results.json`` (per-fold scores, their mean ± std) and
  one line per seed with the mean over folds in ``PARENT/..._<protocol>.metric``; the report
  reads the per-fold files, so runs of single folds aggregate the same way.

Shared files get whole lines appended under an exclusive lock, so concurrent runs never
interleave; single-run files are written to a temporary name and renamed into place.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import io
import json
import os
import pickle
import re
from pathlib import Path
from typing import Callable

import numpy as np

from ser.corpora import SUBSETS
from ser.labels import LABEL_SETS
from ser.splits import PAIR_PROTOCOL, PROTOCOLS


def append_line(path: str | os.PathLike, text: str) -> None:
    """Append ``text`` to a file shared by concurrent runs, in one locked write."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_via_temporary(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary name beside ``path``, then rename it into place: readers
    and a killed process see the old file or the new one, never half of one. A write that
    fails takes its temporary file with it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the folder itself may be what is broken
            tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a whole file so that readers see the old content or the new, never half."""
    write_via_temporary(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | os.PathLike, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=4, sort_keys=False) + "\n")


def write_pickle(path: str | os.PathLike, obj) -> None:
    """Pickle ``obj`` atomically (:func:`write_via_temporary`)."""
    def dump(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    write_via_temporary(path, dump)


def write_csv(path: str | os.PathLike, columns: list[str], rows: list[dict]) -> None:
    """The whole table, atomically (rewritten each time, so a resumed run never repeats a row)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue())


def result_stem(model: str, features: str, subset: str, labels: str = "glam", protocol: str = "paper",
                fold: int | None = None) -> str:
    """``<MODEL>_<features>_<subset>``, plus ``_<labels>``, ``_<protocol>``, ``_fold<K>`` when not
    the paper's (``glam`` labels, ``paper`` protocol, no fold)."""
    stem = f"{model}_{features}_{subset}"
    if labels != "glam":
        stem += f"_{labels}"
    if protocol != "paper":
        stem += f"_{protocol}"
    if fold is not None:
        stem += f"_fold{fold}"
    return stem


_STEM = re.compile(
    rf"(?P<model>.+)_(?P<features>[^_]+)_(?P<subset>{'|'.join(SUBSETS)})"
    rf"(?:_(?P<labels>{'|'.join(sorted(set(LABEL_SETS) - {'glam'}))}))?"
    rf"(?:_(?P<protocol>{'|'.join([*(re.escape(p) for p in PROTOCOLS if p != 'paper'), PAIR_PROTOCOL.pattern])}))?"
    rf"(?:_fold(?P<fold>\d+))?")


def parse_stem(stem: str) -> dict | None:
    """The inverse of :func:`result_stem`: model, features, subset, labels, protocol, fold; None
    when ``stem`` is not a result stem."""
    match = _STEM.fullmatch(stem)
    if match is None:
        return None
    parts = match.groupdict()
    return dict(model=parts["model"], features=parts["features"], subset=parts["subset"],
                labels=parts["labels"] or "glam", protocol=parts["protocol"] or "paper",
                fold=None if parts["fold"] is None else int(parts["fold"]))


def run_location(datadir: str | os.PathLike, fold: int | None = None) -> tuple[Path, Path]:
    """(run directory, folder collecting the result files) of ``train.py -d datadir [--fold K]``."""
    base = Path(datadir)
    parent = base.parent if os.path.dirname(os.fspath(datadir)) else base
    return (base if fold is None else base / f"fold{fold}"), parent


def metric_line(seed: int, selection: float, WA: float, UA: float, macro_f1: float, weighted_f1: float) -> str:
    """One ``.metric`` line, formatted as the original writes it."""
    return f"{seed:16}\t{selection:.4f}\t{WA}\t{UA}\t{macro_f1}\t{weighted_f1}\n"


def read_shared(path: str | os.PathLike) -> str:
    """Read a file that concurrent runs append to, under a shared lock: whole lines only."""
    with open(path) as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        try:
            return f.read()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_metric(path: str | os.PathLike) -> list[dict]:
    """Parse a ``.metric`` file into dicts (seed, WA_UA_mean, WA, UA, macro_f1, weighted_f1)."""
    rows = []
    for line in read_shared(path).splitlines():
        fields = line.split("\t")
        if len(fields) != 6:
            continue
        seed, *values = fields
        rows.append(dict(seed=int(seed), **dict(zip(("WA_UA_mean", "WA", "UA", "macro_f1", "weighted_f1"),
                                                   map(float, values)))))
    return rows


def seeds_done(path: str | os.PathLike) -> set[int]:
    return {row["seed"] for row in read_metric(path)} if Path(path).exists() else set()


def summary_table(paths: list[str | os.PathLike]) -> str:
    """A Markdown table of mean ± std (numpy's population std) per ``.metric`` file."""
    lines = ["| results | runs | WA | UA | macro F1 | weighted F1 |", "|---|---|---|---|---|---|"]
    for path in paths:
        rows = read_metric(path) if Path(path).exists() else []
        cells = [f"{np.mean([r[k] for r in rows]):.2f} ± {np.std([r[k] for r in rows]):.2f}" if rows else "-"
                 for k in ("WA", "UA", "macro_f1", "weighted_f1")]
        lines.append(f"| {Path(path).stem} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    """``python -m ser.results FILE.metric ...``: print the summary table."""
    parser = argparse.ArgumentParser(description="Mean ± std of .metric files (one line per run).")
    parser.add_argument("metric_files", nargs="+")
    print(summary_table(parser.parse_args(argv).metric_files))


if __name__ == "__main__":
    main()
