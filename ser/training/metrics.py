"""Utterance-level scoring: an utterance's prediction from its segments, and the scores.

An utterance is scored as the original scores a test utterance: its segments go through the
model (in eval mode), the segment logits are averaged, and the argmax is the prediction
(:func:`predict_utterances` does this for all utterances in a few large batches, averaging
on the device).

Scores are WA, UA, macro F1 and support-weighted F1. WA is accuracy, UA the mean recall over
classes, and "weighted F1" is what the paper's tables call "micro F1". Like the original
(which calls scikit-learn's report without ``labels``), the averages run over the classes that
occur in the truth or the predictions, so the numbers equal the original's whenever all four
classes are present; unlike it, a test set missing a class does not crash. The numbers and
the report's text are scikit-learn's (``tests/test_metrics.py`` compares them), computed here
with numpy because importing scikit-learn costs every training process two seconds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn

from ser.training.dataset import TestUtterances
from ser.training.frames import rows_on_device


@dataclass(frozen=True)
class Scores:
    """Percentages, as the original prints and stores them."""
    WA: float
    UA: float
    macro_f1: float
    weighted_f1: float

    @property
    def selection(self) -> float:
        """The original's model-selection criterion, (WA + UA) / 2."""
        return (self.WA + self.UA) / 2

    def as_dict(self) -> dict:
        return {**asdict(self), "WA_UA_mean": self.selection}


@dataclass(frozen=True)
class PerClass:
    """Precision, recall, F1 (fractions) and support of each class in ``labels``."""
    labels: list[int]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray


def confusion(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted, all classes listed."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return counts


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros(len(numerator))
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def per_class(y_true, y_pred) -> PerClass:
    """The per-class figures over the classes in the truth or the predictions, sorted."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    labels = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    counts = confusion(np.searchsorted(labels, y_true), np.searchsorted(labels, y_pred), len(labels))
    hits, predicted, support = np.diag(counts), counts.sum(axis=0), counts.sum(axis=1)
    precision, recall = _ratio(hits, predicted), _ratio(hits, support)
    f1 = _ratio(2 * hits, predicted + support)  # = 2PR / (P + R), and 0 where both are 0
    return PerClass(labels, precision, recall, f1, support)


def score(y_true, y_pred) -> Scores:
    c = per_class(y_true, y_pred)
    total = c.support.sum()
    return Scores(WA=100 * float(np.sum(np.asarray(y_true) == np.asarray(y_pred)) / total),
                  UA=100 * float(c.recall.mean()), macro_f1=100 * float(c.f1.mean()),
                  weighted_f1=100 * float(np.average(c.f1, weights=c.support)))


def report_text(y_true, y_pred, class_names: list[str], digits: int = 6) -> str:
    """scikit-learn's classification report, laid out as it prints it (6 digits, as the
    original), with the classes' names."""
    c = per_class(y_true, y_pred)
    # scikit-learn prints the supports as floats (1.0) when no prediction is right
    support = int if np.any(np.asarray(y_true) == np.asarray(y_pred)) else float
    names = [class_names[i] for i in c.labels]
    width = max(max(map(len, names)), len("weighted avg"), digits)
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    text = ("{:>{width}s} " + " {:>9}" * 4).format("", "precision", "recall", "f1-score", "support", width=width)
    text += "\n\n"
    for name, p, r, f, s in zip(names, c.precision, c.recall, c.f1, c.support):
        text += row.format(name, p, r, f, support(s), width=width, digits=digits)
    total = support(c.support.sum())
    accuracy = float(np.sum(np.asarray(y_true) == np.asarray(y_pred)) / total)
    text += "\n" + ("{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f} {:>9}\n").format(
        "accuracy", "", "", accuracy, total, width=width, digits=digits)
    text += row.format("macro avg", c.precision.mean(), c.recall.mean(), c.f1.mean(), total, width=width,
                       digits=digits)
    weights = c.support
    text += row.format("weighted avg", *(np.average(v, weights=weights) for v in (c.precision, c.recall, c.f1)),
                       total, width=width, digits=digits)
    return text


def autocast(device: torch.device, amp: bool):
    """bf16 autocast for ``--amp`` (no loss scaling needed: bf16 has fp32's exponent range)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)


def scoring_batch_size(device: torch.device) -> int:
    """Segments per forward pass when scoring. A GPU wants wide passes; on a CPU GLAM scored
    512 segments 1.4 times as fast in passes of 32 as in one pass (the activations of a small
    pass stay in the cache)."""
    return 32 if device.type == "cpu" else 1024


@torch.no_grad()
def predict_utterances(model: nn.Module, test: TestUtterances, device: torch.device,
                       batch_size: int | None = None, amp: bool = False) -> torch.Tensor:
    """Utterance logits: the mean of each utterance's segment logits (in fp32), ``(U, C)``,
    scored ``batch_size`` segments at a time (default :func:`scoring_batch_size`)."""
    model.eval()
    batch_size = scoring_batch_size(device) if batch_size is None else batch_size
    X = rows_on_device(test.X, "cpu")  # an upstream's frames: each slice padded to its longest utterance
    owner = torch.from_numpy(test.owner).to(device)
    sums = None
    for start in range(0, len(X), batch_size):
        with autocast(device, amp):
            logits = model(X[start:start + batch_size].to(device).unsqueeze(1)).float()
        if sums is None:
            sums = torch.zeros(len(test.y), logits.shape[1], device=device)
        sums.index_add_(0, owner[start:start + batch_size], logits)
    counts = torch.bincount(owner, minlength=len(test.y)).clamp(min=1).unsqueeze(1)
    return sums / counts
