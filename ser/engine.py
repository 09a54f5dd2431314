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

OPTIMIZERS = ("adam", "sgd", "adamw")
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


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A CPU tensor drawn during a step (the faithful random streams are on the CPU), on the
    device without waiting for the GPU: a copy from pageable memory synchronises the stream,
    one from pinned memory is queued behind the step's work."""
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """The original's Adam and SGD, and seed 004's AdamW (PyTorch's defaults: weight decay 0.01)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=1e-6)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4, nesterov=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr)
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


def autocast(device: torch.device, amp: bool):
    """bf16 autocast for ``--amp`` (no loss scaling needed: bf16 has fp32's exponent range)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)


# One batch's training loss: (model, inputs (B, 1, F, T), targets, the batch's segment indices) -> loss.
BatchLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def mixup_loss(criterion: nn.Module, alpha: float, rng: np.random.RandomState) -> BatchLoss:
    """GLAM's batch loss: with α > 0, the batch mixed with a permutation of itself by one
    λ ~ Beta(α, α) and the loss mixed by the same λ; else plain ``criterion``."""
    def batch_loss(model: nn.Module, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if alpha <= 0:
            return criterion(model(x), target)
        lam = rng.beta(alpha, alpha)
        partner = to_device(torch.randperm(len(x)), x.device)
        out = model(lam * x + (1 - lam) * x[partner])
        return lam * criterion(out, target) + (1 - lam) * criterion(out, target[partner])
    return batch_loss


def train_one_epoch(model: nn.Module, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                    batch_size: int, batch_loss: BatchLoss, amp: bool = False) -> float:
    """One pass over the shuffled training segments ``X``/``y`` (on the device, in the order a
    shuffling DataLoader visits them); returns the mean training loss. ``amp``: forward and
    loss in bf16 autocast.
    """
    model.train()
    device = X.device
    order = epoch_permutation(len(y)).to(device)
    # Summed on the device in float64, the same operations as summing loss.item() in Python,
    # without making every step wait for the GPU.
    total = torch.zeros((), dtype=torch.float64, device=device)
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        with autocast(device, amp):
            loss = batch_loss(model, X[index].unsqueeze(1), y[index], index)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.detach().double() * len(index)
    return total.item() / max(len(order), 1)


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


def evaluate(model: nn.Module, test: TestUtterances, device: torch.device,
             amp: bool = False) -> tuple[Scores, np.ndarray]:
    """Scores and predictions on the test utterances (segment logits averaged per utterance)."""
    predictions = predict_utterances(model, test, device, amp=amp).argmax(dim=1).cpu().numpy()
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


# One training epoch: (model, optimizer, criterion) -> mean training loss.
EpochStep = Callable[[nn.Module, torch.optim.Optimizer, nn.Module], float]


def capture_rng(rng: np.random.RandomState) -> dict:
    """Every random stream a run draws from, so that a resumed run continues them exactly."""
    return {
        "python": random.getstate(),
        "numpy_run": rng.get_state(),
        "numpy_global": np.random.get_state(),
        "torch_cpu": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: dict, rng: np.random.RandomState) -> None:
    random.setstate(state["python"])
    rng.set_state(state["numpy_run"])
    np.random.set_state(state["numpy_global"])
    torch.set_rng_state(state["torch_cpu"])
    if state["torch_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])


def fit(model: nn.Module, train: TrainSegments, test: TestUtterances, device: torch.device, *,
        epochs: int, batch_size: int, lr: float, lr_min: float, optimizer: str, lr_schedule: str,
        alpha: float, rng: np.random.RandomState, class_weights: torch.Tensor | None = None,
        keep_best_state: bool = False, validation: TestUtterances | None = None,
        on_epoch: Callable[[EpochRecord, EpochRecord], None] | None = None,
        epoch_step: EpochStep | None = None, scorer: nn.Module | None = None,
        selection_key: Callable[[Scores], float] = lambda scores: scores.selection,
        resume: dict | None = None, on_checkpoint: Callable[[dict], None] | None = None,
        amp: bool = False, compile: bool = False) -> FitResult:
    """Train for ``epochs`` and keep the epoch with the highest ``selection_key`` on the selection set.

    The selection key defaults to (WA + UA) / 2. Without ``validation`` the selection set is
    ``test``, as in the paper; ties keep the earlier epoch. With ``validation`` (the honest
    protocols) every epoch is scored on ``validation`` only, and ``test`` is scored once, after
    the last epoch, with the selected epoch's weights, which the model keeps.

    ``epoch_step`` replaces the paper's epoch (:func:`train_one_epoch` over ``train``, with
    GLAM's mixup) and ``scorer`` the model when scoring utterances (ser.augment uses both).
    After every epoch ``on_checkpoint`` receives the state to continue from (weights,
    optimizer, schedule, random streams, history, best so far); passing such a state as
    ``resume`` continues the run as if it had never stopped.

    Speed options (off by default, as the paper's runs): ``amp`` runs forward passes and losses
    in bf16 autocast (results change within bf16 precision); ``compile`` trains and scores
    through ``torch.compile(model)``, which shares the model's parameters, so its state dict
    and checkpoints are unchanged.
    """
    selection_set = test if validation is None else validation
    keep_state = keep_best_state or validation is not None
    runner = torch.compile(model) if compile else model
    scorer = runner if scorer is None else scorer
    criterion = nn.CrossEntropyLoss(weight=None if class_weights is None else class_weights.to(device))
    if epoch_step is None:
        X = torch.from_numpy(train.X).to(device)
        y = torch.from_numpy(train.y).to(device)

        def epoch_step(model, opt, criterion):
            # looked up at call time, so that tests can interrupt a run mid-way
            return train_one_epoch(model, X, y, opt, batch_size, mixup_loss(criterion, alpha, rng), amp)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    scheduler = make_scheduler(lr_schedule, opt)
    best, history, best_state, first_epoch = None, [], None, 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        restore_rng(resume["rng"], rng)
        history, best_state, first_epoch = list(resume["history"]), resume["best_state"], resume["next_epoch"]
        best = None if resume["best_index"] is None else history[resume["best_index"]]
    for epoch in range(first_epoch, epochs):
        started = time.perf_counter()
        loss = epoch_step(runner, opt, criterion)
        if opt.param_groups[0]["lr"] >= lr_min:
            scheduler.step()
        seconds = time.perf_counter() - started
        scores, predictions = evaluate(scorer, selection_set, device, amp)
        record = EpochRecord(epoch, opt.param_groups[0]["lr"], loss, seconds, scores, predictions)
        history.append(record)
        if best is None or selection_key(scores) > selection_key(best.scores):
            best = record
            if keep_state:
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if on_epoch is not None:
            on_epoch(record, best)
        if on_checkpoint is not None:
            on_checkpoint({"next_epoch": epoch + 1, "model": model.state_dict(), "optimizer": opt.state_dict(),
                           "scheduler": scheduler.state_dict(), "rng": capture_rng(rng), "history": history,
                           "best_index": history.index(best), "best_state": best_state})
    tested = best
    if validation is not None and best is not None:
        model.load_state_dict(best_state)
        scores, predictions = evaluate(scorer, test, device, amp)
        tested = EpochRecord(best.epoch, best.lr, best.loss, best.seconds, scores, predictions)
    return FitResult(best=best, history=history, best_state=best_state if keep_best_state else None, test=tested)
