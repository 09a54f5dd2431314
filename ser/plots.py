"""Figures like the GLAM paper's: confusion matrices and t-SNE maps of hidden states, as PNG and PDF.

    python -m ser.plots confusion data/mfccS1.8O1.6a0.5/GLAM/2602656884 -o figures/confusion_glam
    python -m ser.plots confusion data/mfccS1.8O1.6a0.5/GLAM/[0-9]* -o figures/confusion_glam_all
    python -m ser.plots tsne data/comparison/MHCNN/2602656884 data/mfccS1.8O1.6a0.5/GLAM/2602656884 \\
        -o figures/tsne [--data IEMOCAP_ROOT] [--cache_dir DIR]

The paper shows the confusion matrices of AACNN and GLAM on the improvised subset and t-SNE
maps of the hidden states of APCNN, MHCNN, AACNN and GLAM. Here:

- ``confusion`` reads each run directory's ``results.json`` (the reported epoch's test
  confusion matrix and class names; the folder of a ``loso``/``loso-speaker`` sweep holds the
  sum over its folds), sums them, and draws counts beside row-normalised percentages.
- ``tsne`` needs runs trained with ``--SaveModel``. It loads the checkpoint (``ser.checkpoint``,
  refused if its model or features differ from the run's), recomputes the run's test
  utterances' features from the corpus through the feature cache (the settings and utterance
  names are in ``results.json``; the checkpoint's min-max scaling applied), takes
  ``forward_features`` of every segment (the classifier's input), averages them per
  utterance and maps the utterances with scikit-learn's t-SNE (seeded), one panel per run,
  coloured by true class.

Each figure is written as ``OUT.png`` and ``OUT.pdf``, atomically.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.manifold import TSNE

from ser import checkpoint as ckpt
from ser import corpora, emodb
from ser.cache import CacheError, FeatureCache
from ser.errors import UserError
from ser.featuresets import settings_from_dict
from ser.io import write_via_temporary

FORMATS = ("png", "pdf")
# One fixed colour per class index, so every panel and figure agrees.
CLASS_COLOURS = ("#4c72b0", "#55a868", "#c44e52", "#dd8452", "#8172b3", "#937860", "#da8bc3")


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


def summed_confusion(run_dirs: list[str | os.PathLike]) -> tuple[np.ndarray, list[str], int]:
    """The test confusion counts of the runs, summed (rows true, columns predicted), the class
    names, and how many trained models that sums (a fold sweep's folder counts its folds)."""
    total, names, trained = None, None, 0
    for run_dir in run_dirs:
        run = load_run(run_dir)
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
    return total, names, trained


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Percent of each true class (row); rows without utterances stay 0."""
    sums = counts.sum(axis=1, keepdims=True)
    return np.divide(100.0 * counts, sums, out=np.zeros(counts.shape), where=sums > 0)


def _draw_matrix(ax, values: np.ndarray, names: list[str], title: str, text_format: str) -> None:
    ax.imshow(values, cmap="Blues", vmin=0)
    threshold = values.max() / 2 if values.size else 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, format(values[i, j], text_format), ha="center", va="center",
                    color="white" if values[i, j] > threshold else "black", fontsize=9)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)


def confusion_figure(run_dirs: list[str | os.PathLike], out: str | os.PathLike,
                     title: str | None = None) -> list[Path]:
    """Counts and row-normalised percentages of the runs' summed test confusion matrices."""
    counts, names, trained = summed_confusion(run_dirs)
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    _draw_matrix(left, counts, names, "counts", "d")
    _draw_matrix(right, row_normalised(counts), names, "% of true class", ".1f")
    runs = f"{trained} trained model{'s' if trained != 1 else ''}, {int(counts.sum())} test utterances"
    figure.suptitle(f"{title} ({runs})" if title else runs)
    return save_figure(figure, out)


def hidden_states(run_dir: str | os.PathLike, data_root: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Per test utterance, the mean of ``forward_features`` over its segments, from the saved model.

    Returns ``(Z (U, D), true labels (U,), class names, panel title)``. ``data_root`` and
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
    emodb_run = args.get("corpus") == "emodb"
    try:
        if emodb_run:
            root = emodb.validate_root(data_root or run["corpus"]["root"])
            scan = emodb.scan_emodb(root, 0)
        else:
            root = corpora.validate_root(data_root or run["corpus"]["root"])
            scan = corpora.scan_iemocap(root)
    except corpora.CorpusError as error:
        raise PlotError(f"{error} (pass --data)") from None
    by_turn = {u.turn: u for u in scan.utterances}
    missing = [t for t in turns if t not in by_turn]
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
    paths = [root / by_turn[t].path for t in turns]
    overlap = args["test_overlap"]
    try:
        per_overlap, _ = FeatureCache(cache_dir or args["cache_dir"]).load(
            paths, settings, (overlap,), progress=False, names=[by_turn[t].path for t in turns])
        feats = [None if f is None else settings.model_input(f) for f in per_overlap[overlap]]
    except CacheError as error:
        raise PlotError(str(error)) from None
    if any(f is None or len(f) == 0 for f in feats):
        raise PlotError(f"some test utterances of {run_dir} could not be read from {root}")
    feats = [ckpt.scale(saved, f) for f in feats]  # the run's min-max scaling, if it used one

    class_names = list(run["class_names"])
    segments = torch.from_numpy(np.concatenate(feats).astype(np.float32)).unsqueeze(1)  # (S, 1, F, T)
    owner = torch.from_numpy(np.repeat(np.arange(len(feats)), [len(f) for f in feats]))
    with torch.no_grad():
        hidden = torch.cat([model.forward_features(segments[start:start + 256]).flatten(1)
                            for start in range(0, len(segments), 256)])
    sums = torch.zeros(len(feats), hidden.shape[1], dtype=torch.float64).index_add_(0, owner, hidden.double())
    Z = (sums / torch.bincount(owner, minlength=len(feats)).unsqueeze(1)).numpy()
    fold = "" if run.get("fold") is None else f", fold {run['fold']}"
    return Z, labels, class_names, f"{run['model']['name']} (seed {args['seed']}{fold})"


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
    """One t-SNE panel per run, side by side, as the paper's figure (a), (b), ..."""
    if not run_dirs:
        raise PlotError("no run directories given")
    panels = [hidden_states(d, data_root, cache_dir) for d in run_dirs]
    figure = Figure(figsize=(4.2 * len(panels), 4.4), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for index, (ax, (Z, labels, names, title)) in enumerate(zip(axes, panels)):
        points = tsne_map(Z, seed, perplexity, iterations)
        for c, name in enumerate(names):
            chosen = labels == c
            ax.scatter(points[chosen, 0], points[chosen, 1], s=10, color=CLASS_COLOURS[c % len(CLASS_COLOURS)],
                       label=name)
        ax.set_title(f"{chr(ord('a') + index)}) {title}")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(loc="best", fontsize=8, markerscale=1.5)
    return save_figure(figure, out)


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description="Confusion matrix and t-SNE figures from train.py run directories.")
    commands = parser.add_subparsers(dest="figure", required=True)
    confusion = commands.add_parser("confusion", help="test confusion matrix of one run or summed over runs")
    confusion.add_argument("runs", nargs="+", help="run directories (train.py -d), or a fold sweep's folder")
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
    args = parser.parse_args(argv)
    try:
        if args.figure == "confusion":
            written = confusion_figure(args.runs, args.out, args.title)
        else:
            written = tsne_figure(args.runs, args.out, args.seed, args.perplexity, args.data, args.cache_dir,
                                  args.iterations)
    except PlotError as error:
        sys.exit(f"error: {error}")
    print("wrote " + ", ".join(str(p) for p in written))
    return written


if __name__ == "__main__":
    main()
