"""Utterance-level scores: WA, UA, macro F1 and support-weighted F1 (spec section 6).

WA is accuracy, UA the mean recall over classes, and "weighted F1" is what the paper's tables
call "micro F1". Like the original (which calls scikit-learn's report without ``labels``),
the averages run over the classes that occur in the truth or the predictions, so the numbers
equal the original's whenever all four classes are present; unlike it, a test set missing a
class does not crash.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix


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
