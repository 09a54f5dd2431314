"""The arrays a run trains and scores on, and the scaling fitted on them.

:class:`TrainSegments` holds every training segment as one example with its utterance's label;
:class:`TestUtterances` keeps each scored utterance's segments together, as the original scores
an utterance by its segments' mean. :class:`MinMaxScaler` is seed 004's per-bin scaling,
fitted on training segments and applied to everything else (and kept by checkpoints, so new
recordings are scaled the same way).

An upstream's frames (``-m ssl_mlp``) are one input per utterance of its own length: their ``X`` is
a ragged ``ser.training.frames.FrameSequences`` instead of a dense array, padded per batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ser.training.frames import FrameSequences, concatenate


@dataclass
class TrainSegments:
    """Training samples: every segment is one example with its utterance's label."""
    X: np.ndarray | FrameSequences  # (N, F, T) float32, or N utterances' frames
    y: np.ndarray  # (N,) int64


@dataclass
class TestUtterances:
    """Test utterances with their segments packed together for batched scoring."""
    __test__ = False  # not a pytest class, despite the name
    X: np.ndarray | FrameSequences  # (M, F, T) float32: all segments of all utterances (or frames)
    owner: np.ndarray    # (M,) int64: index of the utterance each segment belongs to
    y: np.ndarray        # (U,) int64: utterance labels
    names: list[str]     # (U,) utterance identifiers (turn names)

    @classmethod
    def from_lists(cls, feats: list[np.ndarray], labels, names: list[str], shape: tuple[int, int]):
        counts = [len(f) for f in feats]
        X = concatenate(feats, shape)
        owner = np.repeat(np.arange(len(feats), dtype=np.int64), counts)
        return cls(X=X, owner=owner, y=np.asarray(labels, dtype=np.int64), names=list(names))


def stack_segments(feats: list[np.ndarray], labels, shape: tuple[int, int]) -> TrainSegments:
    """Concatenate utterances' segments in the given order (the order the original uses)."""
    counts = [len(f) for f in feats]
    X = concatenate(feats, shape)
    return TrainSegments(X=X, y=np.repeat(np.asarray(labels, dtype=np.int64), counts))


class MinMaxScaler:
    """Per-bin min-max scaling of (N, F, T) maps to [0, 1], fitted on training data only."""

    def __init__(self):
        self.minimum: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> MinMaxScaler:
        """Each bin's minimum and maximum over all segments and frames of ``X``."""
        self.minimum = X.min(axis=(0, 2)).astype(np.float32)
        span = X.max(axis=(0, 2)).astype(np.float32) - self.minimum
        # A constant bin maps to 0, as scikit-learn's MinMaxScaler does.
        self.scale = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 1.0).astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.minimum is None:
            raise RuntimeError("MinMaxScaler.transform before fit")
        return ((X - self.minimum[None, :, None]) * self.scale[None, :, None]).astype(np.float32)
