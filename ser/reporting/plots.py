"""Figures like the GLAM paper's, and training curves, as PNG and PDF.

    python -m ser.reporting.plots confusion data/mfccS1.8O1.6a0.5/GLAM/2602656884 -o figures/confusion_glam
    python -m ser.reporting.plots confusion --group AACNN data/comparison/AACNN/[0-9]* \\
        --group GLAM data/mfccS1.8O1.6a0.5/GLAM/[0-9]* -o figures/confusion
    python -m ser.reporting.plots tsne data/comparison/MHCNN/2602656884 data/mfccS1.8O1.6a0.5/GLAM/2602656884 \\
        -o figures/tsne [--data IEMOCAP_ROOT] [--cache_dir DIR]
    python -m ser.reporting.plots curves data/mfccS1.8O1.6a0.5/GLAM/2602656884 -o figures/curves_glam

The paper shows the confusion matrices of AACNN and GLAM on the improvised subset and t-SNE
maps of the hidden states of APCNN, MHCNN, AACNN and GLAM. Here:

- ``confusion`` reads each run directory's ``results.json`` (the reported epoch's test
  confusion matrix and class names; the folder of a ``loso``/``loso-speaker`` sweep holds the
  sum over its folds) and sums them: one panel per group of runs (``--group LABEL RUN...``,
  labelled a), b), ... side by side as in the paper; runs given without ``--group`` are one
  group), in percent of each true class, each true class's utterance count in its row label.
- ``tsne`` needs runs trained with ``--SaveModel``. It loads the checkpoint (``ser.records.checkpoint``,
  refused if its model or features differ from the run's), recomputes the run's test
  utterances' features from the corpus through the feature cache (the settings and utterance
  names are in ``results.json``; the checkpoint's min-max scaling applied), takes
  ``forward_features`` of every segment (the classifier's input), averages them per
  utterance and maps the utterances with scikit-learn's t-SNE (seeded), one panel per run,
  coloured by true class.
- ``curves``: per run, the training loss and the WA and UA on the set epochs were selected on
  (test in the paper protocol, validation in the others) of every epoch, from the run's
  ``<stem>_epochs.csv``, the reported epoch marked.

Every panel names the model, subset, protocol and corpus of its runs, read from their
``results.json``, and a figure of runs on a synthetic corpus says so in its title. Epochs are
numbered from 1 in the figures (the files count from 0). Each figure is written as
``OUT.png`` and ``OUT.pdf``, atomically.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.manifold import TSNE

from models.ssl import pack_frames
from ser.corpora.entry import title as corpus_title
from ser.errors import UserError
from ser.features.cache import CacheError, FeatureCache
from ser.features.kinds import settings_from_dict
from ser.io import write_via_temporary
from ser.records import checkpoint as ckpt

FORMATS = ("png", "pdf")
# One fixed colour per class index, so every panel and figure agrees.
CLASS_COLOURS = ("#4c72b0", "#55a868", "#c44e52", "#dd8452", "#8172b3", "#937860", "#da8bc3")
SUBSET_NAMES = {"impro": "improvised", "script": "scripted", "all": "all dialogs"}
SYNTHETIC_WARNING = "SYNTHETIC corpus: these numbers say nothing about real emotional speech"


class PlotError(UserError):
    """A figure cannot be drawn from these runs; the message says what is missing."""


def load_run(run_dir: str | os.PathLike) -> dict:
    """A run directory's ``results.json``."""
    path = Path(run_dir) / "results.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise PlotError(f"cannot read {path} ({error}); pass run directories written by train.py -d") from None


def save_figure(figure: Figure, out: str | os.PathLike) -> list[Path]:
    """``OUT.png`` and ``OUT.pdf``, each written to a temporary name and renamed into place."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in FORMATS:
        target = out.with_name(f"{out.name}.{kind}")
        write_via_temporary(target, lambda tmp, kind=kind: figure.savefig(tmp, format=kind, dpi=150,
                                                                           bbox_inches="tight"))
        written.append(target)
    return written


@dataclass(frozen=True)
class RunInfo:
    """What a figure says about a run: which model, data and protocol produced it."""
    model: str
    subset: str | None      # None for corpora without IEMOCAP's subsets
    protocol: str
    labels: str
    corpus: str
    synthetic: bool
    seed: int | None
    fold: int | None


def _corpus_of(run: dict, run_dir: Path) -> dict | None:
    """``results.json``'s corpus entry; a fold sweep's folder keeps it in its folds' files."""
    if run.get("corpus") is not None or not run.get("folds"):
        return run.get("corpus")
    fold = run["folds"][0]["fold"]
    try:
        return load_run(run_dir / f"fold{fold}").get("corpus")
    except PlotError:
        return None


def run_info(run: dict, run_dir: str | os.PathLike) -> RunInfo:
    """The :class:`RunInfo` of a loaded ``results.json`` (older files lack some fields: "?")."""
    args = run.get("args", {})
    corpus = _corpus_of(run, Path(run_dir))
    kind = args.get("corpus", "iemocap")
    return RunInfo(
        model=(run.get("model") or {}).get("name") or args.get("model", "?"),
        subset=None if kind != "iemocap" else SUBSET_NAMES.get(args.get("impro_or_script"), "?"),
        protocol=run.get("protocol_name") or args.get("protocol", "?"),
        labels=run.get("labels") or args.get("labels", "glam"),
        # a run trained from a features file records no corpus folder
        corpus=corpus_title(kind) + (" features file" if "corpus" in run and corpus is None else ""),
        synthetic=bool(corpus and corpus.get("synthetic")),
        seed=args.get("seed"), fold=run.get("fold"))


def describe(infos: list[RunInfo], with_model: bool = True) -> str:
    """``GLAM · improvised · paper protocol · IEMOCAP``; a field that differs between the runs
    lists its values, and a synthetic corpus is marked."""
    def field(values) -> str:
        return "/".join(sorted({str(v) for v in values}))
    parts = [field(i.model for i in infos)] if with_model else []
    subsets = [i.subset for i in infos if i.subset is not None]
    if subsets:
        parts.append(field(subsets))
    parts.append(f"{field(i.protocol for i in infos)} protocol")
    labels = {i.labels for i in infos}
    if labels != {"glam"}:
        parts.append(f"labels {field(labels)}")
    corpus = field(i.corpus for i in infos)
    parts.append(f"SYNTHETIC {corpus}" if any(i.synthetic for i in infos) else corpus)
    return " · ".join(parts)


@dataclass(frozen=True)
class RunGroup:
    """Runs drawn as one confusion panel (their matrices summed); ``label`` heads the panel."""
    label: str | None
    runs: list[Path]


@dataclass(frozen=True)
class SummedConfusion:
    counts: np.ndarray       # (classes, classes), rows true, columns predicted
    class_names: list[str]
    trained: int             # trained models summed (a fold sweep's folder counts its folds)
    infos: list[RunInfo]


def summed_confusion(run_dirs: list[str | os.PathLike]) -> SummedConfusion:
    """The test confusion counts of the runs, summed, with what the runs were."""
    total, names, trained, infos = None, None, 0, []
    for run_dir in run_dirs:
        run = load_run(run_dir)
        infos.append(run_info(run, run_dir))
        trained += len(run.get("folds") or [run])
        counts = np.asarray(run["confusion_matrix"]["counts"], dtype=np.int64)
        if names is None:
            total, names = counts, list(run["class_names"])
        elif list(run["class_names"]) != names:
            raise PlotError(f"{run_dir} has classes {run['class_names']}, the first run {names}; "
                            "sum only runs with the same --labels")
        else:
            total = total + counts
    if names is None:
        raise PlotError("no run directories given")
    return SummedConfusion(total, names, trained, infos)


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Percent of each true class (row); rows without utterances stay 0."""
    sums = counts.sum(axis=1, keepdims=True)
    return np.divide(100.0 * counts, sums, out=np.zeros(counts.shape), where=sums > 0)


def _draw_percentages(ax, summed: SummedConfusion, title: str) -> None:
    """Percent of each true class, one fixed 0-100 colour scale so that panels compare."""
    values, names = row_normalised(summed.counts), summed.class_names
    ax.imshow(values, cmap="Blues", vmin=0, vmax=100)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, f"{values[i, j]:.1f}", ha="center", va="center",
                    color="white" if values[i, j] > 50 else "black", fontsize=9)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), [f"{name} (n={n})" for name, n in zip(names, summed.counts.sum(axis=1))])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (% of the row)")
    ax.set_title(title, fontsize=10)


def _seed_and_fold(info: RunInfo) -> str:
    """A second title line ``(seed S, fold K)``, or nothing when the run records neither."""
    parts = ([] if info.seed is None else [f"seed {info.seed}"]) + ([] if info.fold is None else [f"fold {info.fold}"])
    return f"\n({', '.join(parts)})" if parts else ""


def panel_letter(index: int) -> str:
    return f"{chr(ord('a') + index)})"


def confusion_figure(groups: list[RunGroup], out: str | os.PathLike, title: str | None = None) -> list[Path]:
    """:func:`draw_confusion`, written to ``OUT.png`` and ``OUT.pdf``."""
    return save_figure(draw_confusion(groups, title), out)


def draw_confusion(groups: list[RunGroup], title: str | None = None) -> Figure:
    """One panel per group: its runs' summed test confusion matrix in percent of each true class."""
    if not groups:
        raise PlotError("no run directories given")
    panels = [summed_confusion(group.runs) for group in groups]
    figure = Figure(figsize=(5.6 * len(panels), 5.4), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for index, (ax, group, summed) in enumerate(zip(axes, groups, panels)):
        models = "/".join(sorted({i.model for i in summed.infos}))
        label = group.label or models
        heading = f"{panel_letter(index)} {label}" if len(panels) > 1 or group.label else label
        runs = (f"{summed.trained} trained model{'s' if summed.trained != 1 else ''}, "
                f"{int(summed.counts.sum())} test utterances")
        _draw_percentages(ax, summed, f"{heading}\n{describe(summed.infos, with_model=label != models)}\n{runs}")
    _suptitle(figure, title, [i for summed in panels for i in summed.infos])
    return figure


def _suptitle(figure: Figure, title: str | None, infos: list[RunInfo]) -> None:
    """The user's title, and the synthetic-corpus warning whenever a run used one."""
    synthetic = any(i.synthetic for i in infos)
    lines = ([title] if title else []) + ([SYNTHETIC_WARNING] if synthetic else [])
    if lines:
        figure.suptitle("\n".join(lines), color="#b00000" if synthetic else "black")


def hidden_states(run_dir: str | os.PathLike, data_root: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Per test utterance, the mean of ``forward_features`` over its segments, from the saved model.

    Returns ``(Z (U, D), true labels (U,), class names, the run's RunInfo, panel title)``. ``data_root`` and
    ``cache_dir`` override the corpus and feature cache recorded in ``results.json``.
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    checkpoint = run_dir / (run.get("checkpoint") or "")
    if not run.get("checkpoint") or not checkpoint.is_file():
        raise PlotError(f"{run_dir} has no saved model; train it with --SaveModel for a t-SNE figure")
    if not run.get("feature_settings") or not run.get("corpus"):
        raise PlotError(f"{run_dir} was trained from a features file, so its test utterances cannot be "
                        "recomputed from the corpus")
    args = run["args"]
    turns, labels = run["test_utterances"]["turns"], np.asarray(run["test_utterances"]["labels"])
    rels = run["test_utterances"].get("paths")
    if not rels:
        raise PlotError(f"{run_dir}'s results.json does not name its test utterances' wavs (written before "
                        "train.py recorded them); retrain it with --SaveModel for a t-SNE figure")
    scored = run.get("test_corpus") or run["corpus"]  # across corpora the test utterances are the test corpus's
    root = Path(data_root or scored["root"]).expanduser()
    if not root.is_dir():
        raise PlotError(f"the corpus of {run_dir} is not at {root} (no such folder); pass --data with its root")
    missing = [t for t, rel in zip(turns, rels) if not (root / rel).is_file()]
    if missing:
        raise PlotError(f"{len(missing)} test utterances of {run_dir} are not in {root} (e.g. {missing[0]}); "
                        "pass --data with the corpus it was trained on")
    settings = settings_from_dict(run["feature_settings"])
    try:
        saved = ckpt.load(checkpoint)
        ckpt.check_compatible(saved, model_name=run["model"]["name"], features=settings, source=str(checkpoint))
        model = ckpt.build_model(saved)
    except ckpt.CheckpointError as error:
        raise PlotError(f"{error}; retrain {run_dir} with --SaveModel") from None
    paths = [root / rel for rel in rels]
    overlap = args["test_overlap"]
    try:
        per_overlap, _ = FeatureCache(cache_dir or args["cache_dir"]).load(
            paths, settings, (overlap,), progress=False, names=list(rels))
        # an upstream's frames stay (T, D) entries, each slice below padded to its longest (as training pads a batch)
        ragged = getattr(settings, "ragged", False)
        feats = [None if f is None else f if ragged else settings.model_input(f) for f in per_overlap[overlap]]
    except CacheError as error:
        raise PlotError(str(error)) from None
    if any(f is None or len(f) == 0 for f in feats):
        raise PlotError(f"some test utterances of {run_dir} could not be read from {root}")
    feats = [ckpt.scale(saved, f) for f in feats]  # the run's min-max scaling, if it used one

    class_names = list(run["class_names"])
    if ragged:  # one input per utterance
        owner = torch.arange(len(feats))
        chunks = [torch.from_numpy(pack_frames(feats[start:start + 256])) for start in range(0, len(feats), 256)]
    else:
        segments = torch.from_numpy(np.concatenate(feats).astype(np.float32))  # (S, F, T)
        owner = torch.from_numpy(np.repeat(np.arange(len(feats)), [len(f) for f in feats]))
        chunks = [segments[start:start + 256] for start in range(0, len(segments), 256)]
    with torch.no_grad():
        hidden = torch.cat([model.forward_features(chunk.unsqueeze(1)).flatten(1) for chunk in chunks])
    sums = torch.zeros(len(feats), hidden.shape[1], dtype=torch.float64).index_add_(0, owner, hidden.double())
    Z = (sums / torch.bincount(owner, minlength=len(feats)).unsqueeze(1)).numpy()
    info = run_info(run, run_dir)
    return Z, labels, class_names, info, f"{describe([info])}{_seed_and_fold(info)}"


def tsne_map(Z: np.ndarray, seed: int = 0, perplexity: float = 30.0, iterations: int = 1000) -> np.ndarray:
    """2-D t-SNE of the rows of ``Z`` (PCA initialisation, seeded); perplexity capped for small sets."""
    if len(Z) < 5:
        raise PlotError(f"t-SNE needs at least 5 test utterances, got {len(Z)}")
    perplexity = min(perplexity, (len(Z) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", max_iter=iterations,
                random_state=seed).fit_transform(Z)


def tsne_figure(run_dirs: list[str | os.PathLike], out: str | os.PathLike, seed: int = 0,
                perplexity: float = 30.0, data_root: str | os.PathLike | None = None,
                cache_dir: str | os.PathLike | None = None, iterations: int = 1000) -> list[Path]:
    """:func:`draw_tsne`, written to ``OUT.png`` and ``OUT.pdf``."""
    return save_figure(draw_tsne(run_dirs, seed, perplexity, data_root, cache_dir, iterations), out)


def draw_tsne(run_dirs: list[str | os.PathLike], seed: int = 0, perplexity: float = 30.0,
              data_root: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
              iterations: int = 1000) -> Figure:
    """One t-SNE panel per run, side by side, as the paper's figure (a), (b), ..."""
    if not run_dirs:
        raise PlotError("no run directories given")
    panels = [hidden_states(d, data_root, cache_dir) for d in run_dirs]
    figure = Figure(figsize=(4.6 * len(panels), 4.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for index, (ax, (Z, labels, names, _, title)) in enumerate(zip(axes, panels)):
        points = tsne_map(Z, seed, perplexity, iterations)
        for c, name in enumerate(names):
            chosen = labels == c
            ax.scatter(points[chosen, 0], points[chosen, 1], s=10, color=CLASS_COLOURS[c % len(CLASS_COLOURS)],
                       label=name)
        ax.set_title(f"{panel_letter(index)} {title}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(loc="best", fontsize=8, markerscale=1.5)
    _suptitle(figure, None, [panel[3] for panel in panels])
    return figure


@dataclass(frozen=True)
class EpochPoint:
    """One row of a run's ``<stem>_epochs.csv``; ``epoch`` counts from 0, as the file does."""
    iteration: int
    epoch: int
    loss: float
    WA: float
    UA: float


@dataclass(frozen=True)
class Curves:
    """A run's epochs per iteration (``--iter``), and the reported epoch and its iteration."""
    iterations: dict[int, list[EpochPoint]]
    best_epoch: int
    best_iteration: int
    scored_on: str
    info: RunInfo


def epoch_curves(run_dir: str | os.PathLike) -> Curves:
    """A run's per-epoch loss and selection-set scores, from the CSV its ``results.json`` names."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    if run.get("folds"):
        raise PlotError(f"{run_dir} is the folder of a fold sweep; pass its folds' run directories "
                        f"({run_dir}/fold1 ...)")
    if not run.get("epochs_csv"):
        raise PlotError(f"{run_dir}/results.json names no epochs CSV (a run of an older version); train it again")
    path = run_dir / run["epochs_csv"]
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        points = [EpochPoint(int(r["iteration"]), int(r["epoch"]), float(r["loss"]), float(r["WA"]), float(r["UA"]))
                  for r in rows]
    except (OSError, KeyError, ValueError) as error:
        raise PlotError(f"cannot read the epochs of {run_dir} from {path} ({type(error).__name__}: {error})") from None
    if not points:
        raise PlotError(f"{path} holds no epoch")
    iterations: dict[int, list[EpochPoint]] = {}
    for point in points:
        iterations.setdefault(point.iteration, []).append(point)
    # results.json's epochs are those of the iteration it reports; their losses say which one it was
    reported = [e["loss"] for e in run.get("epochs", [])]
    best_iteration = next((k for k, pts in sorted(iterations.items()) if [p.loss for p in pts] == reported),
                          max(iterations))
    return Curves(iterations, int(run["best_epoch"]), best_iteration, rows[0].get("scored_on") or "test",
                  run_info(run, run_dir))


def curves_figure(run_dirs: list[str | os.PathLike], out: str | os.PathLike) -> list[Path]:
    """:func:`draw_curves`, written to ``OUT.png`` and ``OUT.pdf``."""
    return save_figure(draw_curves(run_dirs), out)


def draw_curves(run_dirs: list[str | os.PathLike]) -> Figure:
    """One panel per run: training loss (left axis), WA and UA on the selection set (right axis,
    percent) per epoch, numbered from 1, and a line at the epoch the run reports."""
    if not run_dirs:
        raise PlotError("no run directories given")
    panels = [epoch_curves(d) for d in run_dirs]
    figure = Figure(figsize=(5.2 * len(panels), 4.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for index, (ax, curves) in enumerate(zip(axes, panels)):
        scores = ax.twinx()
        for iteration, points in sorted(curves.iterations.items()):
            chosen = iteration == curves.best_iteration
            suffix = f" (iteration {iteration + 1})" if len(curves.iterations) > 1 else ""
            epochs = [p.epoch + 1 for p in points]
            style = dict(alpha=1.0 if chosen else 0.35, marker="o" if len(points) < 30 else None, markersize=3)
            ax.plot(epochs, [p.loss for p in points], color="black", label=f"training loss{suffix}", **style)
            scores.plot(epochs, [p.WA for p in points], color=CLASS_COLOURS[0], label=f"WA{suffix}", **style)
            scores.plot(epochs, [p.UA for p in points], color=CLASS_COLOURS[2], label=f"UA{suffix}", **style)
        ax.axvline(curves.best_epoch + 1, color="#888888", linestyle="--", linewidth=1,
                   label=f"reported epoch {curves.best_epoch + 1}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        scores.set_ylabel(f"WA, UA on the {curves.scored_on} set (%)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"{panel_letter(index)} {describe([curves.info])}{_seed_and_fold(curves.info)}", fontsize=10)
        lines = ax.get_legend_handles_labels()[0] + scores.get_legend_handles_labels()[0]
        ax.legend(lines, [line.get_label() for line in lines], loc="upper center", bbox_to_anchor=(0.5, -0.16),
                  ncol=4, fontsize=8, frameon=False)
    _suptitle(figure, None, [c.info for c in panels])
    return figure


def _confusion_groups(runs: list[str], groups: list[list[str]] | None) -> list[RunGroup]:
    """The command line's runs as panels: the runs given directly, or one panel per ``--group``."""
    if runs and groups:
        raise PlotError("give the runs either directly (one panel) or each panel's with --group LABEL RUN..., "
                        "not both")
    if not groups:
        return [RunGroup(None, [Path(r) for r in runs])] if runs else []
    for group in groups:
        if len(group) < 2:
            raise PlotError(f"--group {group[0]}: name the runs after the label (--group LABEL RUN [RUN ...])")
    return [RunGroup(label, [Path(r) for r in group_runs]) for label, *group_runs in groups]


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description="Confusion matrix, t-SNE and training-curve figures from train.py "
                                                 "run directories.")
    commands = parser.add_subparsers(dest="figure", required=True)
    confusion = commands.add_parser("confusion", help="test confusion matrices, one panel per group of runs")
    confusion.add_argument("runs", nargs="*", help="run directories (train.py -d), or a fold sweep's folder: "
                                                   "one panel of their summed matrices")
    confusion.add_argument("--group", nargs="+", action="append", metavar=("LABEL", "RUN"),
                           help="a panel LABEL of the runs after it; repeat for panels side by side, "
                                "a), b), ... (e.g. --group AACNN RUN... --group GLAM RUN...)")
    confusion.add_argument("-o", "--out", required=True, help="output path without extension (.png and .pdf)")
    confusion.add_argument("--title", default=None)
    tsne = commands.add_parser("tsne", help="t-SNE of hidden states on the test utterances, one panel per run")
    tsne.add_argument("runs", nargs="+", help="run directories trained with --SaveModel")
    tsne.add_argument("-o", "--out", required=True, help="output path without extension (.png and .pdf)")
    tsne.add_argument("--seed", type=int, default=0, help="t-SNE random state")
    tsne.add_argument("--perplexity", type=float, default=30.0, help="capped at (utterances - 1) / 3")
    tsne.add_argument("--iterations", type=int, default=1000, help="t-SNE optimisation steps (at least 250)")
    tsne.add_argument("--data", default=None, help="corpus root, if not where the runs were trained")
    tsne.add_argument("--cache_dir", default=None, help="feature cache, if not the runs' --cache_dir")
    curves = commands.add_parser("curves", help="training loss and selection-set WA/UA per epoch, one panel per run")
    curves.add_argument("runs", nargs="+", help="run directories (train.py -d)")
    curves.add_argument("-o", "--out", required=True, help="output path without extension (.png and .pdf)")
    args = parser.parse_args(argv)
    try:
        if args.figure == "confusion":
            written = confusion_figure(_confusion_groups(args.runs, args.group), args.out, args.title)
        elif args.figure == "curves":
            written = curves_figure(args.runs, args.out)
        else:
            written = tsne_figure(args.runs, args.out, args.seed, args.perplexity, args.data, args.cache_dir,
                                  args.iterations)
    except PlotError as error:
        sys.exit(f"error: {error}")
    print("wrote " + ", ".join(str(p) for p in written))
    return written


if __name__ == "__main__":
    main()
