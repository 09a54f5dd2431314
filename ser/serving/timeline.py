"""The emotion of a recording over time: its segments' scores pooled in windows.

``predict.py --timeline FOLDER`` writes, for every recording, one row per window with the
window's start and end (seconds), how many segments it pooled, its top class and each class's
probability, as ``NAME.timeline.csv``, ``NAME.timeline.json`` and a figure ``NAME.timeline.png``.

A window's scores are the mean of the scores (logits, or log-softmax for ``--pooling
log_softmax`` checkpoints) of the recording's segments that lie wholly inside it, and its
probabilities their softmax: a window is scored as an utterance is. By default a window is one
segment and windows start one segment hop apart (GLAM: the segment length and the
checkpoint's test overlap, 1.8 s every 0.2 s; seed 004's kinds: consecutive 3 s segments), so
every row is one segment the checkpoint scored exactly as it scored its test set's segments.
Longer windows (``--timeline_window``, ``--timeline_hop``) smooth the curve. A recording
shorter than one segment (tiled to fill one) is a single window, its whole length.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ser.errors import UserError
from ser.io import write_text, write_via_temporary
from ser.serving.inference import Prediction

SUFFIXES = (".timeline.csv", ".timeline.json", ".timeline.png")


class TimelineError(UserError):
    """A timeline's window or hop cannot be used; the message says what to give."""


@dataclass
class Timeline:
    """One row per window of a recording."""
    path: str
    class_names: list[str]
    window: float            # seconds
    hop: float               # seconds
    starts: np.ndarray       # (W,) seconds
    ends: np.ndarray         # (W,) seconds, the recording's end at the latest
    segments: np.ndarray     # (W,) segments pooled in each window
    probabilities: np.ndarray  # (W, C)

    @property
    def labels(self) -> list[str]:
        return [self.class_names[i] for i in self.probabilities.argmax(axis=1)]

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["start", "end", "segments", "label", *self.class_names])
        for start, end, count, label, row in zip(self.starts, self.ends, self.segments, self.labels,
                                                 self.probabilities):
            writer.writerow([f"{start:.3f}", f"{end:.3f}", int(count), label, *(f"{p:.6f}" for p in row)])
        return buffer.getvalue()

    def as_dict(self) -> dict:
        return {"path": self.path, "class_names": self.class_names, "window_seconds": self.window,
                "hop_seconds": self.hop,
                "windows": [{"start": round(float(start), 4), "end": round(float(end), 4), "segments": int(count),
                             "label": label, "probabilities": dict(zip(self.class_names, map(float, row)))}
                            for start, end, count, label, row in zip(self.starts, self.ends, self.segments,
                                                                     self.labels, self.probabilities)]}


def check_window(window: float | None, hop: float | None, segment_seconds: float) -> None:
    """Refuse a window shorter than one segment or a hop that is not a positive number of
    seconds, before any work."""
    if hop is not None and not hop > 0:
        raise TimelineError(f"--timeline_hop {hop}: give a positive number of seconds")
    if window is not None and not window >= segment_seconds:
        raise TimelineError(f"--timeline_window {window}: a window must hold one segment at least "
                            f"({segment_seconds:g} s for this checkpoint)")


def timeline(prediction: Prediction, class_names: list[str], window: float | None = None,
             hop: float | None = None) -> Timeline:
    """The windows of a scored recording (``Predictor.predict_file`` / ``predict_wav``);
    ``window`` and ``hop`` in seconds, None for one segment and the segment hop."""
    scores = prediction.scores
    rate = scores.sample_rate
    check_window(window, hop, scores.width / rate)
    window_samples = scores.width if window is None else max(scores.width, round(window * rate))
    hop_samples = scores.hop if hop is None else max(1, round(hop * rate))
    if scores.tiled:
        probabilities = np.array([[prediction.probabilities[c] for c in class_names]])
        return Timeline(prediction.path, list(class_names), window_samples / rate, hop_samples / rate,
                        np.zeros(1), np.array([scores.samples / rate]), np.array([len(scores.logits)]), probabilities)
    ends = np.minimum(scores.starts + scores.width, scores.samples)
    starts = np.arange(0, scores.starts[-1] + 1, hop_samples)
    first = np.searchsorted(scores.starts, starts, side="left")       # segments starting in the window
    stop = np.searchsorted(ends, starts + window_samples, side="right")  # segments ending in it
    kept = stop > first
    starts, first, stop = starts[kept], first[kept], stop[kept]
    totals = np.concatenate([np.zeros((1, scores.logits.shape[1])), np.cumsum(scores.logits, axis=0, dtype=np.float64)])
    means = (totals[stop] - totals[first]) / (stop - first)[:, None]
    exponentials = np.exp(means - means.max(axis=1, keepdims=True))
    return Timeline(prediction.path, list(class_names), window_samples / rate, hop_samples / rate, starts / rate,
                    np.minimum(starts + window_samples, scores.samples) / rate, stop - first,
                    exponentials / exponentials.sum(axis=1, keepdims=True))


def draw(line: Timeline) -> Figure:
    """Each class's probability over time (at each window's centre), and the top class as a band."""
    figure = Figure(figsize=(10, 3.6))
    axes = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [5, 1]})
    long = line.ends[-1] > 600
    unit, scale = ("min", 60.0) if long else ("s", 1.0)
    centres = (line.starts + line.ends) / 2 / scale
    colours = [f"C{k}" for k in range(len(line.class_names))]
    for k, name in enumerate(line.class_names):
        axes[0].plot(centres, line.probabilities[:, k], color=colours[k], linewidth=0.9, label=name)
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("probability")
    axes[0].legend(loc="upper right", fontsize="small", ncol=len(line.class_names))
    axes[0].set_title(f"{Path(line.path).name}: windows of {line.window:.3g} s every {line.hop:.3g} s",
                      fontsize="medium")
    top = line.probabilities.argmax(axis=1)
    for k in range(len(line.class_names)):
        chosen = top == k
        axes[1].broken_barh([(s / scale, (e - s) / scale) for s, e in zip(line.starts[chosen], line.ends[chosen])],
                            (0, 1), facecolors=colours[k], linewidth=0)
    axes[1].set_yticks([])
    axes[1].set_ylabel("top", rotation=0, ha="right", va="center")
    axes[1].set_xlabel(f"time ({unit})")
    figure.tight_layout()
    return figure


def write(line: Timeline, folder: str | os.PathLike, name: str) -> list[Path]:
    """``folder/NAME.timeline.{csv,json,png}``, each written atomically."""
    paths = [Path(folder) / f"{name}{suffix}" for suffix in SUFFIXES]
    write_text(paths[0], line.csv())
    write_text(paths[1], json.dumps(line.as_dict()) + "\n")
    figure = draw(line)
    write_via_temporary(paths[2], lambda tmp: figure.savefig(tmp, format="png", dpi=120))
    return paths


def names_for(paths: list[Path]) -> list[str]:
    """A distinct file name stem per recording: its path below the folder common to all of
    them, the folders joined by ``__`` (``a/x.wav`` and ``b/x.wav`` are ``a__x.wav``, ``b__x.wav``)."""
    resolved = [p.resolve() for p in paths]
    common = Path(os.path.commonpath([p.parent for p in resolved])) if resolved else Path()
    return ["__".join(p.relative_to(common).parts) for p in resolved]
