"""Training options of seed 004, usable with every model.

- **Min-max scaling** (``ser.training.dataset.MinMaxScaler``): every frequency bin (of every channel:
  packed maps scale row by row) is mapped to [0, 1] with the minimum and maximum it takes over
  all training segments and frames, padding included as in the seed; validation and test use
  the training fit (values may leave [0, 1]; the AlexNet models clip them).
- **Random oversampling** (:func:`oversample_indices`): ``all`` draws extra segments of every
  smaller class, with replacement, until all classes match the largest, from the run's
  seeded generator. ``seed004`` is the seed's call for parity: imbalanced-learn's
  ``RandomOverSampler('minority', random_state=0)`` twice, which balances only the two
  smallest classes and ignores the run's seed.
- **Mixup**: ``glam`` is GLAM's (one λ ~ Beta(α, α) per batch, ``ser.training.engine``); ``seed004``
  draws the batch permutation first, then one λᵢ ~ Beta(α, α) per sample from the run's
  numpy generator, folded to λᵢ = max(λᵢ, 1 - λᵢ) ≥ 0.5, and mixes inputs and per-sample
  losses with it (the seed used α = 0.4).
- **Stability training** (Zheng, Song, Leung & Goodfellow, "Improving the Robustness of Deep
  Neural Networks via Stability Training", CVPR 2016). Seed 004's write-up claims it but its
  code never had it, so this is an extension: L = L₀(x, y) + w · D(f(x), f(x')), with x' a noisy copy
  of the segment and D either ``kl``, KL(softmax f(x) ‖ softmax f(x')), or ``ce``,
  -Σ softmax f(x) · log softmax f(x') (the form Zheng et al. write). Gradients flow through
  both branches, as in their shared-weight formulation. The copy is Gaussian noise of σ
  ``stability_sigma`` on the model input (their choice), or a paired copy carried by
  :class:`PairedSegments` (e.g. the white-noise or reverb version of the same wav from
  ``ser.features.spectral``); with mixup, x' is mixed with the same λ and partner as x.

:func:`options_loss` turns these options into the batch loss ``ser.training.engine.fit`` is given;
seed 004's selection (validation WA) and utterance scoring (mean segment log-softmax) are
``ser.training.engine.FitOptions``, its AdamW one of the engine's optimizers. With every option at its
default the loss draws the same random numbers in the same order as the engine's own GLAM loss
and gives identical results (tests/test_augment.py checks this).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ser.training import engine
from ser.training.dataset import TrainSegments

MIXUP_MODES = ("glam", "seed004")
STABILITY_LOSSES = ("kl", "ce")
STABILITY_SOURCES = ("gaussian", "white", "reverb")
OVERSAMPLE_MODES = ("all", "seed004")


@dataclass
class PairedSegments(TrainSegments):
    """Training segments with a noisy copy of each (stability training)."""
    noisy: np.ndarray  # same shape as X


def take(train: TrainSegments, index: np.ndarray) -> TrainSegments:
    """The segments at ``index`` (repeats allowed), noisy copies included."""
    if isinstance(train, PairedSegments):
        return PairedSegments(X=train.X[index], y=train.y[index], noisy=train.noisy[index])
    return TrainSegments(X=train.X[index], y=train.y[index])


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
    """How each training batch is turned into a loss (defaults: ``ser.training.engine``'s)."""
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


def options_loss(options: TrainOptions, criterion: nn.Module, rng: np.random.RandomState,
                 noisy: torch.Tensor | None = None) -> engine.BatchLoss:
    """:func:`batch_loss` with these options as the batch loss ``ser.training.engine.fit`` is given;
    ``noisy`` (on the training device) holds the paired noisy copy of every training segment."""
    def loss(model: nn.Module, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        paired = None if noisy is None else noisy[index].unsqueeze(1)
        return batch_loss(model, x, target, criterion, options, rng, paired)
    return loss
