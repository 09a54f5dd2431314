"""Speaker cross-validation: seed 004's ``crossval_SER.py`` and ``get_crossval_result.py``.

    python -m ser.runners.crossval run DATADIR --data IEMOCAP_ROOT [--repeats 5] [--folds 1,2] [-- TRAIN.PY FLAGS]
    python -m ser.runners.crossval run DATADIR --data EMODB_DIR --corpus emodb
    python -m ser.runners.crossval report DATADIR [--kfold 5] [--five_fold seed004|intended]

**Folds**: 10 folds of (validation → test) speakers, each test speaker
validated on the other speaker of its session: 1F→1M, 1M→1F, 2F→2M, ..., 5M→5F. The rest (4
sessions, 8 speakers) train. These are exactly ``train.py --protocol loso-speaker`` folds 1-10,
so a fold is run as ``train.py --protocol loso-speaker --fold K -d DATADIR/<seed>`` and leaves
the same files as any train.py run (``DATADIR/<seed>/fold<K>/results.json``, the ``.metric``
line the report reads). emoDB's speakers carry the same ids (``ser.corpora.emodb``), so the same 10
folds apply; its "sessions" are speaker pairs.

**Repeats**: the seed ran 5 repeats with seeds 111, 211, 411, 711, 1111 (it added r·100 to a
running seed; ``--seed_sequence seed004``, the default); ``intended`` gives 111, 211,
311, 411, 511. All folds of a repeat share its seed.

**Defaults** are crossval_SER's: ``alexnet_gap`` on ``logspec``, 100 epochs, batch 64, AdamW
lr 1e-4 (constant), seed 004's per-sample mixup (α 0.4), the epoch chosen on validation WA,
utterances scored by mean log-softmax, and the seed's label set (``seed004`` on IEMOCAP,
``emodb`` on emoDB). ``--pretrained PATH`` (an ImageNet AlexNet file) must be passed after
``--``, as every other train.py flag; later flags override these defaults.

**Report**, as the seed's ``get_crossval_result.py``, over every fold of every repeat found under DATADIR:

- per repeat: mean and population std (ddof 0) of the folds' test WA and UA;
- pooled over folds × repeats: Avg, Std, Min, Max;
- a table per repeat with one column per session, [M, F] test speakers, then Mean and Std;
- the test confusion matrices summed over everything, as row percentages (rows true).

WA is plain accuracy; UA follows the seed: the mean recall over the classes present in the
test speaker's true labels (``ser.training.metrics`` also counts classes that are only predicted, so
its UA can be lower on a single speaker). ``--kfold 5`` keeps 5 of the 10 folds: the seed's
indices 0, 3, 5, 7, 9 test 1M, 2F, 3F, 4F, 5F (``--five_fold seed004``) although its comment
meant 1M, 2F, 3M, 4F, 5F (``intended``); a repeat with fewer than 10 folds uses all of
them, as the seed did. Result files that cannot be read are listed, not silently skipped.
Note: the validation speaker shares the test speaker's session, dialogues and microphone
crosstalk, so validation scores correlate with test scores; this is the seed's design. The
seed's per-repeat LOSS row is left out: train.py's results do not keep a test loss. Written to
``DATADIR/crossval.json`` and ``DATADIR/crossval.md``, and, for the seed's own
``get_crossval_result.py``, one ``DATADIR/allstat_iemocap_<label>_<repeat>.pkl`` per repeat
holding crossval_SER.py's list of per-fold tuples (:func:`seed_tuple`).

A features file of ``extract_features.py`` trains in place of the corpus, as crossval_SER.py
did: pass it after ``--`` (``-- IEMOCAP_logspec200.pkl``; see train.py's ``features_file``).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ser.errors import UserError
from ser.io import write_json, write_pickle, write_text
from ser.protocols.splits import SPEAKER_FOLDS as FOLDS
from ser.records.results import mean_std
from ser.runs import pipeline
from ser.runs.config import resolve_args

SESSIONS = 5
FIVE_FOLD = {"seed004": (0, 3, 5, 7, 9), "intended": (0, 3, 4, 7, 9)}
SEED_SEQUENCES = ("seed004", "intended")
FIRST_SEED = 111

# crossval_SER.py's settings, as train.py flags (the label set is added per corpus).
SEED004_TRAIN_FLAGS = ("-m", "alexnet_gap", "-f", "logspec", "-e", "100", "-b", "64", "-l", "1e-4",
                       "--optimizer", "adamw", "--lr_schedule", "constant", "--mixup", "seed004", "--alpha", "0.4",
                       "--select_on", "WA", "--pooling", "log_softmax")
LABELS_OF_CORPUS = {"iemocap": "seed004", "emodb": "emodb"}


def seed_sequence(repeats: int, kind: str = "seed004", first: int = FIRST_SEED) -> list[int]:
    """The repeats' seeds: the seed's cumulative 111, 211, 411, 711, 1111, or 111, 211, 311, ..."""
    if kind not in SEED_SEQUENCES:
        raise ValueError(f"unknown seed sequence {kind!r}; choose one of: {', '.join(SEED_SEQUENCES)}")
    seeds, seed = [], first
    for r in range(repeats):
        seed = seed + r * 100 if kind == "seed004" else first + r * 100
        seeds.append(seed)
    return seeds


def train_fold(argv: list[str]) -> dict | None:
    """One fold as ``train.py ARGV`` trains it (the corpus root as train.py finds it: ser.runs.roots)."""
    return pipeline.run(resolve_args(argv))


def run(datadir: str | Path, train_flags: Sequence[str], train_main: Callable[[list[str]], object],
        repeats: int = 5, sequence: str = "seed004", folds: Sequence[int] = tuple(range(1, 11))) -> list[int]:
    """Train every fold of every repeat (``train_main``: :func:`train_fold`); returns the seeds.

    A fold whose seed is already in its ``.metric`` file is skipped by train.py, so an
    interrupted cross-validation resumes where it stopped.
    """
    seeds = seed_sequence(repeats, sequence)
    for seed in seeds:
        for fold in folds:
            train_main([*train_flags, "--protocol", "loso-speaker", "--fold", str(fold), "--seed", str(seed),
                        "-d", str(Path(datadir) / str(seed))])
    return seeds


def seed_style_scores(labels: Sequence[int], predictions: Sequence[int]) -> tuple[float, float]:
    """(WA, UA) in percent as seed 004 computes them (UA over the classes in ``labels``)."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    recalls = [np.mean(predictions[labels == c] == c) for c in np.unique(labels)]
    return 100 * float(np.mean(labels == predictions)), 100 * float(np.mean(recalls))


def collect(datadir: str | Path) -> tuple[dict[int, dict[int, dict]], list[str]]:
    """({seed: {fold: results.json}} of every finished fold under ``datadir``, the result files
    that could not be read). The seed's aggregator skipped unreadable files silently."""
    found: dict[int, dict[int, dict]] = {}
    unreadable = []
    for path in sorted(Path(datadir).glob("*/fold*/results.json")):
        try:
            summary = json.loads(path.read_text())
            seed, fold = int(summary["args"]["seed"]), int(summary["fold"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            unreadable.append(f"{path} ({type(error).__name__})")
            continue
        found.setdefault(seed, {})[fold] = summary
    return found, unreadable


def aggregate(runs: dict[int, dict[int, dict]], kfold: int = 10, five_fold: str = "seed004") -> dict:
    """The seed's get_crossval_result over ``collect``'s runs (see the module doc)."""
    if kfold not in (5, 10):
        raise ValueError("kfold must be 5 or 10")
    if not runs:
        raise ValueError("no finished cross-validation folds found")
    keep = {index + 1 for index in FIVE_FOLD[five_fold]} if kfold == 5 else set(range(1, 11))
    per_run, pooled, confusion, class_names = [], {"WA": [], "UA": []}, None, None
    for seed in sorted(runs):
        folds = runs[seed]
        chosen = sorted(f for f in folds if f in keep) if len(folds) == len(FOLDS) else sorted(folds)
        rows = []
        for fold in chosen:
            summary = folds[fold]
            tested = summary["test_utterances"]
            wa, ua = seed_style_scores(tested["labels"], tested["predictions"])
            counts = np.asarray(summary["confusion_matrix"]["counts"], dtype=np.int64)
            confusion = counts if confusion is None else confusion + counts
            class_names = summary["class_names"]
            rows.append({"fold": fold, "validation": FOLDS[fold - 1][0], "test": FOLDS[fold - 1][1],
                         "WA": wa, "UA": ua, "best_epoch": summary["best_epoch"]})
            pooled["WA"].append(wa)
            pooled["UA"].append(ua)
        stats = {m: mean_std([r[m] for r in rows]) for m in ("WA", "UA")}
        per_run.append({"seed": seed, "folds": rows, **{f"{m}_mean": stats[m][0] for m in ("WA", "UA")},
                        **{f"{m}_std": stats[m][1] for m in ("WA", "UA")}})
    totals = confusion.sum(axis=1, keepdims=True)
    percent = np.where(totals > 0, 100 * confusion / np.maximum(totals, 1), 0.0)
    first = next(iter(runs.values()))
    first_fold = first[min(first)]
    return {
        "kfold": kfold, "five_fold": five_fold if kfold == 5 else None, "runs": len(per_run),
        "model": first_fold["model"]["name"], "features": first_fold["args"]["features_to_use"],
        "labels": first_fold["labels"], "class_names": class_names,
        "pooled": {m: {**dict(zip(("avg", "std"), mean_std(v))), "min": float(np.min(v)), "max": float(np.max(v))}
                   for m, v in pooled.items()},
        "per_run": per_run,
        "confusion_matrix": {"rows_true_columns_predicted": class_names, "counts": confusion.tolist(),
                             "row_percent": percent.round(2).tolist()},
        "ua_definition": "mean recall over the classes in the test speaker's true labels (seed 004)",
    }


def format_report(result: dict) -> str:
    """The seed's printout, as Markdown."""
    group = "pair" if result["labels"] == "emodb" else "Sess."
    present = sorted({f["fold"] for run_result in result["per_run"] for f in run_result["folds"]})
    partial = "" if len(present) == result["kfold"] else f" (folds present: {', '.join(map(str, present))})"
    lines = [f"# {result['kfold']}-fold Cross Validation x {result['runs']} runs{partial}",
             f"{result['model']} on {result['features']}, labels {result['labels']}"
             + (f", 5 folds: {result['five_fold']}" if result["five_fold"] else ""), "",
             "| | WA | UA |", "|---|---|---|"]
    for stat in ("avg", "std", "min", "max"):
        pooled = result["pooled"]
        lines.append(f"| {stat.capitalize()} | {pooled['WA'][stat]:.1f} | {pooled['UA'][stat]:.1f} |")
    lines += ["", "| run | " + " | ".join(f"{group}{s} [M,F]" for s in range(1, SESSIONS + 1)) + " | --> Mean | Std |",
              "|---" * (SESSIONS + 3) + "|"]
    for r, run_result in enumerate(result["per_run"]):
        for metric in ("WA", "UA"):
            cells = []
            for s in range(1, SESSIONS + 1):
                values = [f"{f[metric]:.1f}" for gender in "MF" for f in run_result["folds"]
                          if f["test"] == f"{s}{gender}"]
                cells.append("[" + ", ".join(values) + "]")
            lines.append(f"| [{r}] {metric} (seed {run_result['seed']}) | " + " | ".join(cells)
                         + f" | {run_result[f'{metric}_mean']:.1f} | {run_result[f'{metric}_std']:.1f} |")
    names = result["class_names"]
    lines += ["", "Confusion matrix (% of each true class; rows true, columns predicted)", "",
              "| true \\ predicted | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in zip(names, result["confusion_matrix"]["row_percent"]):
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    if result.get("unreadable"):
        lines += ["", f"Left out, unreadable: {', '.join(result['unreadable'])}"]
    return "\n".join(lines) + "\n"


def seed_tuple(summary: dict) -> tuple:
    """One fold's results.json as the seed's ``train_ser.main`` returned them: per-epoch
    training losses ('%.4f'), training WA and UA (empty: the seed never filled them), per-epoch
    validation losses, WA and UA ('%.2f'), then test loss, WA, UA and the confusion matrix.

    train.py keeps no validation or test loss: those are [] and 'nan'. The per-epoch validation
    UA is ser.training.metrics'; the test WA and UA are the seed's (:func:`seed_style_scores`)."""
    epochs = summary["epochs"]
    tested = summary["test_utterances"]
    wa, ua = seed_style_scores(tested["labels"], tested["predictions"])
    return ([f"{e['loss']:.4f}" for e in epochs], [], [], [], [f"{e['WA']:.2f}" for e in epochs],
            [f"{e['UA']:.2f}" for e in epochs], "nan", f"{wa:.2f}", f"{ua:.2f}",
            np.asarray(summary["confusion_matrix"]["counts"]))


def write_allstat(datadir: str | Path, runs: dict[int, dict[int, dict]], label: str) -> list[Path]:
    """crossval_SER.py's output for ``get_crossval_result.py``: per repeat r (seeds in order)
    ``allstat_<corpus>_<label>_<r>.pkl``, the list of its folds' :func:`seed_tuple` in fold
    order. The seed only knew IEMOCAP (``allstat_iemocap_...``); emoDB's files say ``emodb``."""
    written = []
    for r, seed in enumerate(sorted(runs)):
        folds = runs[seed]
        corpus = "emodb" if folds[min(folds)]["labels"] == "emodb" else "iemocap"
        written.append(Path(datadir) / f"allstat_{corpus}_{label}_{r}.pkl")
        write_pickle(written[-1], [seed_tuple(folds[fold]) for fold in sorted(folds)])
    return written


def report(datadir: str | Path, kfold: int = 10, five_fold: str = "seed004", save_label: str | None = None) -> dict:
    """Aggregate DATADIR, write ``crossval.json``, ``crossval.md`` and the seed's ``allstat``
    files (labelled ``save_label``, default ``<model>_<features>``) there, return the result."""
    runs, unreadable = collect(datadir)
    result = {**aggregate(runs, kfold, five_fold), "unreadable": unreadable}
    write_json(Path(datadir) / "crossval.json", result)
    write_text(Path(datadir) / "crossval.md", format_report(result))
    write_allstat(datadir, runs, save_label or f"{result['model']}_{result['features']}")
    return result


def _fold_list(text: str) -> list[int]:
    try:
        folds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--folds takes comma-separated fold numbers 1-10, got {text!r}") from None
    if not folds or any(not 1 <= f <= len(FOLDS) for f in folds):
        raise argparse.ArgumentTypeError(f"--folds takes fold numbers 1-10, got {text!r}")
    return folds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser.runners.crossval",
                                     description="Seed 004's speaker cross-validation (10 folds x repeats) "
                                                 "and its result table.")
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="train every fold of every repeat, then report; train.py flags "
                                               "after -- override the seed's defaults")
    run_cmd.add_argument("datadir", help="one folder per repeat seed is made in it")
    run_cmd.add_argument("--data", default=None, help="corpus root (IEMOCAP_full_release or the emoDB wav folder)")
    run_cmd.add_argument("--corpus", default="iemocap", choices=sorted(LABELS_OF_CORPUS))
    run_cmd.add_argument("--repeats", type=int, default=5, help="repeats, each with its own seed")
    run_cmd.add_argument("--seed_sequence", default="seed004", choices=SEED_SEQUENCES,
                         help="seed004: 111, 211, 411, 711, 1111 (the seed's); intended: 111, 211, 311, ...")
    run_cmd.add_argument("--folds", type=_fold_list, default=list(range(1, 11)),
                         help="comma-separated folds to run (default all 10)")
    for cmd in (run_cmd, commands.add_parser("report", help="aggregate finished folds")):
        if cmd is not run_cmd:
            cmd.add_argument("datadir")
        cmd.add_argument("--kfold", type=int, default=10, choices=(5, 10))
        cmd.add_argument("--five_fold", default="seed004", choices=sorted(FIVE_FOLD),
                         help="which 5 folds --kfold 5 keeps (see python -m ser.runners.crossval --help)")
        cmd.add_argument("--save_label", default=None,
                         help="LABEL of the seed's allstat_<corpus>_LABEL_<repeat>.pkl files (default "
                              "<model>_<features>)")
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after "--" goes to train.py untouched.
    split_at = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split_at])
    train_flags = argv[split_at + 1:]
    if train_flags and args.command != "run":
        parser.error("train.py flags after -- only go with 'run'")
    if args.command == "run":
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
        flags = [*SEED004_TRAIN_FLAGS, "--corpus", args.corpus, "--labels", LABELS_OF_CORPUS[args.corpus],
                 *(["--data", args.data] if args.data else []), *train_flags]
        if "--pretrained" not in train_flags:
            print("warning: seed 004's published numbers come from ImageNet-initialised AlexNet; without "
                  "-- --pretrained PATH (torchvision's alexnet-owt-7be5be79.pth) these folds train from random "
                  "weights", file=sys.stderr)
        try:
            run(args.datadir, flags, train_fold, args.repeats, args.seed_sequence, args.folds)
        except UserError as error:
            print(f"ser.runners.crossval: error: {error}", file=sys.stderr)
            return 1
    try:
        result = report(args.datadir, args.kfold, args.five_fold, args.save_label)
    except ValueError as error:
        print(f"ser.runners.crossval: error: {error} under {args.datadir}", file=sys.stderr)
        return 1
    print(format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
