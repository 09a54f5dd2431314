"""What a K-seed run is given and what each seed draws: the data side of ``ser.training.stacked``.

The options every seed shares (:class:`MultiSeedOptions`), one copy of the features as a
:class:`SegmentPool` that the seeds refer to by row (training rows; test and validation sets as
:class:`ScoredRows`), each seed's part of the run (:class:`SeedRun`: its rows and random
streams), and per epoch each seed's draws (:class:`SeedDraws`) laid out as steps of groups of
seeds (:class:`StepGroup`, :class:`EpochPlan`) with the losses they give (:class:`EpochLosses`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ser.training.engine import FitOptions
from ser.training.frames import FrameSequences, concatenate


class MultiSeedError(ValueError):
    """The seeds or options cannot be trained together; the message says what to change."""


@dataclass(frozen=True)
class MultiSeedOptions(FitOptions):
    """The one configuration all seeds share: ``ser.training.engine.FitOptions`` plus GLAM's mixup α
    (the batch loss the engine trains with) and how many segments a scoring pass takes."""
    alpha: float = 0.5              # GLAM's mixup Beta(α, α); 0 trains on plain cross-entropy
    # segments per seed in one scoring pass; None: ser.training.metrics.scoring_batch_size, as
    # ser.training.engine scores
    eval_batch_size: int | None = None
    # How the seeds of a step run: one vmap-ed pass (True), one pass per seed (False), or by
    # device (None): vmap on a GPU, whose kernels then each do the work of every seed; a loop
    # on a CPU, where vmap's batched convolutions ran GLAM three times slower than K plain
    # ones and took K times the memory. Either way the step, its draws and its updates are the
    # same; only the summation order inside a convolution differs.
    vectorize: bool | None = None

    def __post_init__(self):
        try:
            super().__post_init__()
        except ValueError as error:
            raise MultiSeedError(str(error)) from None
        if self.epochs < 1 or self.batch_size < 1 or (self.eval_batch_size is not None and self.eval_batch_size < 1):
            raise MultiSeedError("epochs, batch_size and eval_batch_size must be at least 1")
        if not self.lr > 0 or self.alpha < 0:
            raise MultiSeedError(f"the learning rate must be positive and alpha >= 0 (got lr {self.lr}, "
                                 f"alpha {self.alpha})")
        if self.pooling != "logits" or self.compile:
            raise MultiSeedError("the K-seed engine scores by mean logits and runs eagerly: no log-softmax pooling, "
                                 "no --compile")


@dataclass(frozen=True)
class ScoredRows:
    """Scored utterances (a seed's test or validation set) as rows of a :class:`SegmentPool`."""
    rows: np.ndarray   # (M,) int64: every segment of every utterance, utterance by utterance
    owner: np.ndarray  # (M,) int64: the utterance (0..U-1, in the set's order) each row belongs to
    y: np.ndarray      # (U,) int64: utterance labels


@dataclass(frozen=True)
class SegmentPool:
    """The segments of every utterance of a corpus, stacked once; seeds refer to them by row."""
    X: np.ndarray | FrameSequences  # (N, F, T) float32, or N utterances' frames (ser.training.frames)
    labels: np.ndarray  # (U,) int64: utterance labels
    starts: np.ndarray  # (U + 1,) int64: utterance u owns rows starts[u] to starts[u + 1] - 1

    @classmethod
    def from_utterances(cls, feats: Sequence[np.ndarray], labels, shape: tuple[int, int]) -> SegmentPool:
        """Utterance u's segments ``feats[u]`` (S_u, F, T) with its label ``labels[u]``."""
        counts = np.array([len(f) for f in feats], dtype=np.int64)
        X = concatenate(feats, shape)
        if isinstance(X, np.ndarray):
            X = X.astype(np.float32, copy=False)
        return cls(X=X, labels=np.asarray(labels, dtype=np.int64),
                   starts=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))

    @property
    def y(self) -> np.ndarray:
        """(N,) int64: each segment's utterance label."""
        return np.repeat(self.labels, np.diff(self.starts))

    def _segments(self, utterances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the utterances' segments, in order, and which of the utterances each is."""
        counts = self.starts[utterances + 1] - self.starts[utterances]
        owner = np.repeat(np.arange(len(utterances), dtype=np.int64), counts)
        first = np.repeat(self.starts[utterances], counts)
        within = np.arange(counts.sum(), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        return first + within, owner

    def train_rows(self, utterances: Sequence[int]) -> np.ndarray:
        """A training set's rows: the utterances' segments concatenated in the given order, as
        ``ser.training.dataset.stack_segments`` builds a solo run's training array (repeats allowed)."""
        return self._segments(np.asarray(utterances, dtype=np.int64))[0]

    def scored(self, utterances: Sequence[int]) -> ScoredRows:
        """A test or validation set, as ``ser.training.dataset.TestUtterances.from_lists`` packs it."""
        utterances = np.asarray(utterances, dtype=np.int64)
        rows, owner = self._segments(utterances)
        return ScoredRows(rows=rows, owner=owner, y=self.labels[utterances])


@dataclass
class SeedRun:
    """One seed's part of a K-seed run.

    ``rng`` is the seed's numpy RandomState as a solo run has it when training starts (after
    the split and any oversampling drew from it); ``generator`` stands for torch's global
    generator of the solo run just before the model is built (None: freshly seeded with
    ``seed``, which is what ``ser.training.engine.seed_everything`` leaves). Training advances both.
    """
    seed: int
    rng: np.random.RandomState
    train: np.ndarray                       # (n,) rows of the training pool, in the solo run's order
    test: ScoredRows
    validation: ScoredRows | None = None    # the selection set; None: the epoch is chosen on test
    class_weights: torch.Tensor | None = None  # (C,) cross-entropy weights (train.py's --weight)
    generator: torch.Generator | None = None

    def __post_init__(self):
        self.train = np.asarray(self.train, dtype=np.int64)
        if self.generator is None:
            self.generator = torch.Generator().manual_seed(self.seed)


@dataclass
class SeedDraws:
    """What one seed draws for one epoch, in the solo order."""
    order: np.ndarray              # (n,) positions in the seed's training rows, as the DataLoader visits them
    lams: list[float]              # λ per batch (empty without mixup)
    partners: list[np.ndarray]     # mixup partner permutation per batch (empty without mixup)
    masks: list[list[np.ndarray]]  # per batch, per dropout call: the (b, P) bits packed along P


@dataclass
class StepGroup:
    """Seeds that take a batch of the same size at one step, as one batched step."""
    seeds: list[int]
    index: torch.Tensor | None     # (G,) the seeds on the device; None when all K seeds, in order
    rows: torch.Tensor             # (G, b) rows of the training pool
    lam: torch.Tensor | None       # (G,) λ as float32 (None without mixup)
    rest: torch.Tensor | None      # (G,) 1 - λ as float32
    partner: torch.Tensor | None   # (G, b)
    masks: list[torch.Tensor]      # per dropout call (G, b, bytes): packed bits
    step_size: torch.Tensor | None  # (G,) Adam's -lr / (1 - β1^t) per seed, float32
    bias2_root: torch.Tensor | None  # (G,) Adam's sqrt(1 - β2^t) per seed, float32


@dataclass
class EpochPlan:
    """An epoch's draws and its steps, each step a list of groups."""
    draws: list[SeedDraws]
    steps: list[list[StepGroup]]


@dataclass
class EpochLosses:
    loss: list[float]          # per seed: mean training loss, as ser.training.engine.train_one_epoch returns it
    step_losses: np.ndarray    # (steps, K) each step's batch loss per seed; NaN where a seed had no batch
