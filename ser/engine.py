"""Training and evaluation loops (spec sections 5-6), with the data resident on the device.

The whole training array sits on the device and each epoch indexes it with a permutation,
instead of a DataLoader fetching items one by one. The permutation and every other random
draw consume the generators exactly as the original's ``DataLoader(shuffle=True)`` and mixup
do, so a seed gives the original's batches, mixing coefficients and pairings:

- per epoch, two int64 draws from torch's global generator (the loader iterator's base seed,
  then the sampler's seed) and ``randperm`` on a private generator seeded with the second;
- per batch with mixup, λ from the run's numpy RandomState (``beta(α, α)``) and the partner
  permutation from ``torch.randperm(batch)`` on torch's global CPU generator.

Evaluation scores every test segment in a few large batches and averages the logits of each
utterance's segments on the device before the argmax, which is the original's per-utterance
scoring done in bulk.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

from ser.dataset import TestUtterances, TrainSegments
from ser.metrics import Scores, score

OPTIMIZERS = ("adam", "sgd")
LR_SCHEDULES = ("exp", "step", "warmstep", "cosine", "constant")


def seed_everything(seed: int) -> np.random.RandomState:
    """Seed python, numpy and torch (CPU and CUDA) as the original does; cuDNN deterministic.

    Returns the run's numpy generator: a legacy RandomState, because the paper's split and
    mixup draws come from numpy's legacy global stream.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    return np.random.RandomState(seed)


def epoch_permutation(n: int) -> torch.Tensor:
    """The order ``DataLoader(shuffle=True)`` would visit ``n`` items in this epoch."""
    torch.empty((), dtype=torch.int64).random_()  # the iterator's base seed (unused here)
    sampler_seed = int(torch.empty((), dtype=torch.int64).random_().item())
    generator = torch.Generator()
    generator.manual_seed(sampler_seed)
    return torch.randperm(n, generator=generator)


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=1e-6)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4, nesterov=True)
    raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


def make_scheduler(name: str, optimizer: torch.optim.Optimizer):
    """The original's schedules. ``warmstep`` behaves exactly like ``step`` there, so here too."""
    if name == "exp":
        return ExponentialLR(optimizer, 0.95)
    if name in ("step", "warmstep"):
        return StepLR(optimizer, 10, 0.1)
    if name == "cosine":
        return CosineAnnealingLR(optimizer, T_max=10)
    return StepLR(optimizer, 10000, 1)  # any other name: constant, as in the original


def inverse_frequency_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """``--weight``: N / (C · n_c), so every class contributes equally to the loss.

    (The original looked counts up with string keys against integer labels and got NaN.)
    """
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def train_one_epoch(model: nn.Module, data: TrainSegments, X: torch.Tensor, y: torch.Tensor,
                    optimizer: torch.optim.Optimizer, criterion: nn.Module, batch_size: int,
                    alpha: float, rng: np.random.RandomState) -> float:
    """One pass over the shuffled training segments; returns the mean training loss.

    ``X``/``y`` are ``data`` already on the device. Mixup (α > 0) mixes each batch with a
    permutation of itself using one λ ~ Beta(α, α) per batch.
    """
    model.train()
    device = X.device
    order = epoch_permutation(len(data.y)).to(device)
    total = 0.0
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        x, target = X[index].unsqueeze(1), y[index]
        if alpha > 0:
            lam = rng.beta(alpha, alpha)
            partner = torch.randperm(len(index)).to(device)
            out = model(lam * x + (1 - lam) * x[partner])
            loss = lam * criterion(out, target) + (1 - lam) * criterion(out, target[partner])
        else:
            loss = criterion(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(index)
    return total / max(len(order), 1)


@torch.no_grad()
def predict_utterances(model: nn.Module, test: TestUtterances, device: torch.device,
                       batch_size: int = 1024) -> torch.Tensor:
    """Utterance logits: the mean of each utterance's segment logits, ``(U, C)``."""
    model.eval()
    X = torch.from_numpy(test.X)
    owner = torch.from_numpy(test.owner).to(device)
    sums = None
    for start in range(0, len(X), batch_size):
        logits = model(X[start:start + batch_size].to(device).unsqueeze(1)).float()
        if sums is None:
            sums = torch.zeros(len(test.y), logits.shape[1], device=device)
        sums.index_add_(0, owner[start:start + batch_size], logits)
    counts = torch.bincount(owner, minlength=len(test.y)).clamp(min=1).unsqueeze(1)
    return sums / counts


def evaluate(model: nn.Module, test: TestUtterances, device: torch.device) -> tuple[Scores, np.ndarray]:
    """Scores and predictions on the test utterances (segment logits averaged per utterance)."""
    predictions = predict_utterances(model, test, device).argmax(dim=1).cpu().numpy()
    return score(test.y, predictions), predictions


@dataclass
class EpochRecord:
    epoch: int
    lr: float
    loss: float
    seconds: float
    scores: Scores
    predictions: np.ndarray = field(repr=False)


@dataclass
class FitResult:
    best: EpochRecord | None  # the selected epoch, scored on the selection set
    history: list[EpochRecord]  # every epoch, scored on the selection set
    best_state: dict | None = field(default=None, repr=False)
    test: EpochRecord | None = None  # the selected epoch scored on the test set (``best`` without validation)


def fit(model: nn.Module, train: TrainSegments, test: TestUtterances, device: torch.device, *,
        epochs: int, batch_size: int, lr: float, lr_min: float, optimizer: str, lr_schedule: str,
        alpha: float, rng: np.random.RandomState, class_weights: torch.Tensor | None = None,
        keep_best_state: bool = False, validation: TestUtterances | None = None,
        on_epoch: Callable[[EpochRecord, EpochRecord], None] | None = None) -> FitResult:
    """Train for ``epochs`` and keep the epoch with the highest (WA + UA) / 2 on the selection set.

    Without ``validation`` the selection set is ``test``, as in the paper; ties keep the earlier
    epoch. With ``validation`` (the honest protocols) every epoch is scored on ``validation``
    only, and ``test`` is scored once, after the last epoch, with the selected epoch's weights,
    which the model keeps.
    """
    selection_set = test if validation is None else validation
    keep_state = keep_best_state or validation is not None
    X = torch.from_numpy(train.X).to(device)
    y = torch.from_numpy(train.y).to(device)
    criterion = nn.CrossEntropyLoss(weight=None if class_weights is None else class_weights.to(device))
    opt = make_optimizer(optimizer, model.parameters(), lr)
    scheduler = make_scheduler(lr_schedule, opt)
    best, history, best_state = None, [], None
    for epoch in range(epochs):
        started = time.perf_counter()
        loss = train_one_epoch(model, train, X, y, opt, criterion, batch_size, alpha, rng)
        if opt.param_groups[0]["lr"] >= lr_min:
            scheduler.step()
        seconds = time.perf_counter() - started
        scores, predictions = evaluate(model, selection_set, device)
        record = EpochRecord(epoch, opt.param_groups[0]["lr"], loss, seconds, scores, predictions)
        history.append(record)
        if best is None or scores.selection > best.scores.selection:
            best = record
            if keep_state:
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if on_epoch is not None:
            on_epoch(record, best)
    tested = best
    if validation is not None and best is not None:
        model.load_state_dict(best_state)
        scores, predictions = evaluate(model, test, device)
        tested = EpochRecord(best.epoch, best.lr, best.loss, best.seconds, scores, predictions)
    return FitResult(best=best, history=history, best_state=best_state if keep_best_state else None, test=tested)
