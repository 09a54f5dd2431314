"""Utterance-level scoring: an utterance's prediction from its segments, and the scores.

An utterance is scored as the original scores a test utterance: its segments go through the
model (in eval mode), the segment logits are averaged, and the argmax is the prediction
(:func:`predict_utterances` does this for all utterances in a few large batches, averaging
on the device).

Scores are WA, UA, macro F1 and support-weighted F1. WA is accuracy, UA the mean recall over
classes, and "weighted F1" is what the paper's tables call "micro F1". Like the original
(which calls scikit-learn's report without ``labels``), the averages run over the classes that
occur in the truth or the predictions, so the numbers equal the original's whenever all four
classes are present; unlike it, a test set missing a class does not crash.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
from sklearn.metrics import classification_report, confusion_matrix

from ser.dataset import TestUtterances


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


def score(y_true, y_pred) -> Scores:
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    return Scores(WA=100 * report["accuracy"], UA=100 * report["macro avg"]["recall"],
                  macro_f1=100 * report["macro avg"]["f1-score"],
                  weighted_f1=100 * report["weighted avg"]["f1-score"])


def report_text(y_true, y_pred, class_names: list[str]) -> str:
    """scikit-learn's classification report (6 digits, as the original) with correct names."""
    present = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()))
    return classification_report(y_true, y_pred, labels=present, digits=6, zero_division=0,
                                 target_names=[class_names[i] for i in present])


def confusion(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted, all classes listed."""
    return confusion_matrix(y_true, y_pred, labels=list(range(num_classes)))


def autocast(device: torch.device, amp: bool):
    """bf16 autocast for ``--amp`` (no loss scaling needed: bf16 has fp32's exponent range)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)


@torch.no_grad()
def predict_utterances(model: nn.Module, test: TestUtterances, device: torch.device,
                       batch_size: int = 1024, amp: bool = False) -> torch.Tensor:
    """Utterance logits: the mean of each utterance's segment logits (in fp32), ``(U, C)``."""
    model.eval()
    X = torch.from_numpy(test.X)
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
