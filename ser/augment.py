"""Training options of seed 004 (seed004-spec sections 3.2-3.5, 3.9), usable with every model.

- **Min-max scaling** (:class:`MinMaxScaler`): every frequency bin (of every channel: packed
  maps scale row by row) is mapped to [0, 1] with the minimum and maximum it takes over all
  training segments and frames, padding included as in the seed; validation and test use the
  training fit (values may leave [0, 1]; the AlexNet models clip them).
- **Random oversampling** (:func:`oversample_indices`): ``all`` draws extra segments of every
  smaller class, with replacement, until all classes match the largest, from the run's
  seeded generator. ``seed004`` is the seed's call for parity: imbalanced-learn's
  ``RandomOverSampler('minority', random_state=0)`` twice, which balances only the two
  smallest classes and ignores the seed (B14).
- **Mixup**: ``glam`` is GLAM's (one λ ~ Beta(α, α) per batch, ``ser.engine``); ``seed004``
  draws the batch permutation first, then one λᵢ ~ Beta(α, α) per sample from the run's
  numpy generator, folded to λᵢ = max(λᵢ, 1 - λᵢ) ≥ 0.5, and mixes inputs and per-sample
  losses with it (the seed used α = 0.4).
- **Stability training** (Zheng, Song, Leung & Goodfellow, "Improving the Robustness of Deep
  Neural Networks via Stability Training", CVPR 2016). The seed claims it but never had code
  (spec 3.9), so this is an extension: L = L₀(x, y) + w · D(f(x), f(x')), with x' a noisy copy
  of the segment and D either ``kl``, KL(softmax f(x) ‖ softmax f(x')), or ``ce``,
  -Σ softmax f(x) · log softmax f(x') (the form Zheng et al. write). Gradients flow through
  both branches, as in their shared-weight formulation. The copy is Gaussian noise of σ
  ``stability_sigma`` on the model input (their choice), or a paired copy carried by
  :class:`PairedSegments` (e.g. the white-noise or reverb version of the same wav from
  ``ser.spectral``); with mixup, x' is mixed with the same λ and partner as x.

:func:`fit` is ``ser.engine.fit`` with :func:`batch_loss` (these options) as the loss of the
engine's epoch, plus seed 004's model selection (validation WA, strictly better) and utterance
scoring (mean of segment log-softmax); seed 004's AdamW is one of the engine's optimizers. With
every option at its default it draws the same random numbers in the same order as the engine's
own GLAM loss and gives identical results (tests/test_augment.py checks this).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ser import engine
from ser.dataset import TestUtterances, TrainSegments
from ser.engine import FitResult
from ser.metrics import Scores

MIXUP_MODES = ("glam", "seed004")
STABILITY_LOSSES = ("kl", "ce")
STABILITY_SOURCES = ("gaussian", "white", "reverb")
OVERSAMPLE_MODES = ("all", "seed004")
SELECTIONS = ("WA_UA_mean", "WA")
POOLINGS = ("logits", "log_softmax")


@dataclass
class PairedSegments(TrainSegments):
    """Training segments with a noisy copy of each (stability training)."""
    noisy: np.ndarray  # same shape as X


def take(train: TrainSegments, index: np.ndarray) -> TrainSegments:
    """The segments at ``index`` (repeats allowed), noisy copies included."""
    if isinstance(train, PairedSegments):
        return PairedSegments(X=train.X[index], y=train.y[index], noisy=train.noisy[index])
    return TrainSegments(X=train.X[index], y=train.y[index])


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


def _minority_pass(labels: np.ndarray) -> np.ndarray:
    """One ``RandomOverSampler(sampling_strategy='minority', random_state=0)`` call: the
    indices of the resampled set (all originals, then the draws)."""
    draws = np.random.RandomState(0)
    classes, counts = np.unique(labels, return_counts=True)
    minority = classes[np.argmin(counts)]  # the lowest label among equally small classes
    members = np.flatnonzero(labels == minority)
    extra = members[draws.randint(low=0, high=len(members), size=counts.max() - counts.min())]
    return np.concatenate([np.arange(len(labels)), extra])


def oversample_indices(labels: np.ndarray, rng: np.random.RandomState, mode: str = "all") -> np.ndarray:
    """Indices into the training segments after random oversampling (see the module doc):
    every original once, then the extra draws, class by class."""
    labels = np.asarray(labels)
    if mode == "seed004":
        first = _minority_pass(labels)
        return first[_minority_pass(labels[first])]
    if mode != "all":
        raise ValueError(f"unknown oversampling mode {mode!r}; choose one of: {', '.join(OVERSAMPLE_MODES)}")
    classes, counts = np.unique(labels, return_counts=True)
    extra = [np.flatnonzero(labels == c)[rng.randint(0, n, size=counts.max() - n)]
             for c, n in zip(classes, counts) if n < counts.max()]
    return np.concatenate([np.arange(len(labels)), *extra]).astype(np.int64)


def sample_lambdas(rng: np.random.RandomState, alpha: float, n: int) -> np.ndarray:
    """Seed 004's per-sample mixing weights: Beta(α, α) folded to [0.5, 1]."""
    lam = rng.beta(alpha, alpha, size=n)
    return np.maximum(lam, 1 - lam)


def stability_term(clean_logits: torch.Tensor, noisy_logits: torch.Tensor, kind: str = "kl") -> torch.Tensor:
    """D(f(x), f(x')) averaged over the batch (Zheng et al. 2016)."""
    clean = F.log_softmax(clean_logits, dim=1)
    noisy = F.log_softmax(noisy_logits, dim=1)
    if kind == "kl":
        return F.kl_div(noisy, clean, log_target=True, reduction="batchmean")
    if kind == "ce":
        return -(clean.exp() * noisy).sum(dim=1).mean()
    raise ValueError(f"unknown stability loss {kind!r}; choose one of: {', '.join(STABILITY_LOSSES)}")


@dataclass(frozen=True)
class TrainOptions:
    """How each training batch is turned into a loss (defaults: ``ser.engine``'s)."""
    alpha: float = 0.5               # mixup Beta(α, α); 0 turns mixup off
    mixup: str = "glam"              # see MIXUP_MODES
    stability_weight: float = 0.0    # w; 0 turns stability training off
    stability_loss: str = "kl"
    stability_sigma: float = 0.04    # Gaussian copy's σ when no paired copy is given

    def __post_init__(self):
        if self.mixup not in MIXUP_MODES:
            raise ValueError(f"unknown mixup mode {self.mixup!r}; choose one of: {', '.join(MIXUP_MODES)}")
        if self.stability_loss not in STABILITY_LOSSES:
            raise ValueError(f"unknown stability loss {self.stability_loss!r}; "
                             f"choose one of: {', '.join(STABILITY_LOSSES)}")


def batch_loss(model: nn.Module, x: torch.Tensor, target: torch.Tensor, criterion: nn.Module,
               options: TrainOptions, rng: np.random.RandomState, noisy: torch.Tensor | None = None) -> torch.Tensor:
    """The training loss of one batch ``x`` (B, 1, F, T) with the options applied.

    ``noisy`` is the batch's paired noisy copy; without it stability training draws Gaussian
    noise from torch's global generator (after the mixup draws).
    """
    mixing = options.alpha > 0
    if mixing and options.mixup == "glam":
        lam = rng.beta(options.alpha, options.alpha)
        partner = engine.to_device(torch.randperm(len(x)), x.device)
    elif mixing:
        partner = engine.to_device(torch.randperm(len(x)), x.device)
        lam = engine.to_device(torch.as_tensor(sample_lambdas(rng, options.alpha, len(x)), dtype=x.dtype), x.device)

    def mixed(inputs: torch.Tensor) -> torch.Tensor:
        if not mixing:
            return inputs
        weight = lam if options.mixup == "glam" else lam.view(-1, *([1] * (inputs.dim() - 1)))
        return weight * inputs + (1 - weight) * inputs[partner]

    out = model(mixed(x))
    if not mixing:
        loss = criterion(out, target)
    elif options.mixup == "glam":
        loss = lam * criterion(out, target) + (1 - lam) * criterion(out, target[partner])
    else:
        per_sample = nn.CrossEntropyLoss(weight=criterion.weight, reduction="none")
        loss = (lam * per_sample(out, target) + (1 - lam) * per_sample(out, target[partner])).mean()
    if options.stability_weight > 0:
        if noisy is None:
            noisy = x + options.stability_sigma * engine.to_device(torch.randn(x.shape), x.device)
        loss = loss + options.stability_weight * stability_term(out, model(mixed(noisy)), options.stability_loss)
    return loss


def selection_key(selection: str) -> Callable[[Scores], float]:
    """The value epochs are selected on: (WA + UA) / 2 (GLAM) or WA (seed 004)."""
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}; choose one of: {', '.join(SELECTIONS)}")
    return (lambda scores: scores.WA) if selection == "WA" else (lambda scores: scores.selection)


def fit(model: nn.Module, train: TrainSegments, test: TestUtterances, device: torch.device, *,
        batch_size: int, alpha: float, rng: np.random.RandomState, mixup: str = "glam",
        stability_weight: float = 0.0, stability_loss: str = "kl", stability_sigma: float = 0.04,
        selection: str = "WA_UA_mean", pooling: str = "logits", amp: bool = False, **fit_options) -> FitResult:
    """``ser.engine.fit`` with this module's epoch step, selection and scoring; every other
    keyword argument (epochs, optimizer, resume, ...) goes to ``ser.engine.fit`` unchanged.

    ``selection``: the epoch with the best (WA + UA) / 2 (GLAM) or the best WA (seed 004) on
    the selection set; ties keep the earlier epoch. ``pooling``: an utterance's prediction is
    the argmax of its segments' mean logits (GLAM) or mean log-softmax (seed 004). A
    :class:`PairedSegments` ``train`` supplies stability training's noisy copies.
    """
    key = selection_key(selection)
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of: {', '.join(POOLINGS)}")
    options = TrainOptions(alpha, mixup, stability_weight, stability_loss, stability_sigma)
    X = torch.from_numpy(train.X).to(device)
    y = torch.from_numpy(train.y).to(device)
    noisy = torch.from_numpy(train.noisy).to(device) if isinstance(train, PairedSegments) else None

    def epoch_step(model, optimizer, criterion):
        def loss(model, x, target, index):
            return batch_loss(model, x, target, criterion, options, rng, None if noisy is None else noisy[index].unsqueeze(1))
        return engine.train_one_epoch(model, X, y, optimizer, batch_size, loss, amp)

    # ``model`` here is what the engine trains (a compiled model with --compile); the scorer
    # wraps the plain module, which shares its parameters.
    scorer = None if pooling == "logits" else nn.Sequential(model, nn.LogSoftmax(dim=1))
    return engine.fit(model, train, test, device, batch_size=batch_size, alpha=alpha, rng=rng, amp=amp,
                      epoch_step=epoch_step, scorer=scorer, selection_key=key, **fit_options)
