"""The one training loop: :func:`fit` trains a model for some epochs and keeps the best epoch.

The whole training array sits on the device and each epoch indexes it with a permutation,
instead of a DataLoader fetching items one by one. The permutation and every other random
draw consume the generators exactly as the original's ``DataLoader(shuffle=True)`` and mixup
do, so a seed gives the original's batches, mixing coefficients and pairings:

- per epoch, two int64 draws from torch's global generator (the loader iterator's base seed,
  then the sampler's seed) and ``randperm`` on a private generator seeded with the second;
- per batch with mixup, λ from the run's numpy RandomState (``beta(α, α)``) and the partner
  permutation from ``torch.randperm(batch)`` on torch's global CPU generator.

What a batch costs is not the loop's business: :func:`fit` is given the batch loss (GLAM's
mixup, :func:`mixup_loss`, or seed 004's options from ``ser.training.augment``) and a small
:class:`FitOptions`; everything that happens between epochs for a person or a file (logs,
CSV, TensorBoard, progress, resume state) belongs to the :class:`EpochObserver` it is given.
Evaluation is ``ser.training.metrics``' utterance scoring.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

from ser.errors import UserError
from ser.machine import keep_freed_memory
from ser.training.dataset import TestUtterances, TrainSegments
from ser.training.frames import DeviceFrames, rows_on_device
from ser.training.metrics import Scores, autocast, predict_utterances, score

OPTIMIZERS = ("adam", "sgd", "adamw")
LR_SCHEDULES = ("exp", "step", "warmstep", "cosine", "constant")
SELECTIONS = ("WA_UA_mean", "WA")
POOLINGS = ("logits", "log_softmax")


class DivergedError(UserError):
    """Training produced a non-finite loss; the message names the epoch."""


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


def train_one_epoch(model: nn.Module, X: torch.Tensor | DeviceFrames, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                    batch_size: int, batch_loss: BatchLoss, amp: bool = False) -> float:
    """One pass over the shuffled training segments ``X``/``y`` (on the device, in the order a
    shuffling DataLoader visits them; ``X`` a tensor, or ``ser.training.frames.DeviceFrames``,
    which pads each batch to its longest utterance); returns the epoch's training loss as the original logs it
    (see below). ``amp``: forward and loss in bf16 autocast.
    """
    model.train()
    device = y.device
    order = epoch_permutation(len(y)).to(device)
    # The original's epoch loss: each batch's loss times the batch size (a short last batch
    # counts as a full one there), over the number of segments. Summed on the device in
    # float64, the same operations as summing loss.item() in Python, without making every step
    # wait for the GPU.
    total = torch.zeros((), dtype=torch.float64, device=device)
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        with autocast(device, amp):
            loss = batch_loss(model, X[index].unsqueeze(1), y[index], index)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.detach().double() * batch_size
    return total.item() / max(len(order), 1)


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


@dataclass(frozen=True)
class FitOptions:
    """How :func:`fit` trains and selects (defaults: the paper's, but epochs and batch size)."""
    epochs: int
    batch_size: int
    lr: float = 1e-3
    lr_min: float = 1e-6              # the schedule stops once the lr falls below this
    optimizer: str = "adam"           # see OPTIMIZERS
    lr_schedule: str = "exp"          # see LR_SCHEDULES
    selection: str = "WA_UA_mean"     # epochs compete on (WA + UA) / 2 (GLAM) or WA (seed 004)
    pooling: str = "logits"           # utterance score: mean segment logits (GLAM) or log-softmax (seed 004)
    keep_best_state: bool = False     # return the selected epoch's weights
    amp: bool = False                 # bf16 autocast for forward passes and losses
    compile: bool = False             # train and score through torch.compile(model)

    def __post_init__(self):
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZERS),
                                     ("lr_schedule", self.lr_schedule, LR_SCHEDULES),
                                     ("selection", self.selection, SELECTIONS), ("pooling", self.pooling, POOLINGS)):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(allowed)}")

    def selection_value(self, scores: Scores) -> float:
        return scores.WA if self.selection == "WA" else scores.selection


class EpochObserver(Protocol):
    """Everything done for one seed between epochs that is not training: logs, files, progress,
    resume state."""

    def epoch_done(self, record: EpochRecord, best: EpochRecord) -> None:
        """After each epoch: its record (scored on the selection set) and the best so far."""

    def checkpoint(self, state: dict) -> None:
        """After each epoch: the state that :func:`fit` continues from when given it as ``resume``."""


class Stepper(Protocol):
    """One seed's model, or K seeds' stacked, and what training them takes: the part of a run
    that differs between one seed (:class:`SoloStepper`) and K seeds trained in lockstep
    (``ser.training.stacked.StackedStepper``). :func:`train_epochs`, the one epoch loop, drives it.
    Seeds are numbered 0..K-1; ``part`` is "selection" (the set each epoch is scored on: the
    validation set, else the test set) or "test"."""

    seeds: int          # K
    validated: bool     # whether the selection set is a validation set (then "test" is scored once, at the end)

    @property
    def lr(self) -> float: ...
    def train_epoch(self) -> list[float]: ...
    def step_schedule(self) -> None: ...
    def predict(self, part: str) -> list[np.ndarray]: ...
    def labels(self, part: str) -> list[np.ndarray]: ...
    def weights(self, k: int) -> dict: ...
    def load_weights(self, k: int, weights: dict) -> None: ...
    def state(self) -> dict: ...
    def load_state(self, state: dict) -> None: ...


def train_epochs(stepper: Stepper, options: FitOptions, *, observers: Sequence[EpochObserver] = (),
                 checkpoint: Callable[[dict], None] | None = None, resume: dict | None = None) -> list[FitResult]:
    """The one training loop: ``options.epochs`` epochs of every seed of ``stepper``, keeping each
    seed's epoch with the best selection value; a :class:`FitResult` per seed.

    After each epoch the learning rate is stepped while it is at least ``options.lr_min``, every
    seed is scored on its selection set, its best epoch updated (ties keep the earlier epoch)
    and ``observers[k].epoch_done`` told; ``checkpoint`` then receives the state that, passed
    back as ``resume``, continues the run as if it had never stopped. Without a validation set
    the selection set is the test set, as in the paper; with one, the test sets are scored once,
    after the last epoch, with each seed's selected weights, which the models keep.
    """
    keep_freed_memory()  # every step frees and takes again the same blocks (ser.machine)
    K = stepper.seeds
    keep_state = options.keep_best_state or stepper.validated
    histories: list[list[EpochRecord]] = [[] for _ in range(K)]
    best_index: list[int | None] = [None] * K
    best_states: list[dict | None] = [None] * K
    first_epoch = 0
    if resume is not None:
        resume = _lists_of_seeds(resume)
        stepper.load_state(resume)
        histories = [list(h) for h in resume["histories"]]
        best_index, best_states = list(resume["best_index"]), list(resume["best_states"])
        first_epoch = resume["next_epoch"]
    labels = stepper.labels("selection")
    for epoch in range(first_epoch, options.epochs):
        started = time.perf_counter()
        losses = stepper.train_epoch()
        diverged = [loss for loss in losses if not math.isfinite(loss)]
        if diverged:
            raise DivergedError(f"the training loss became {diverged[0]} in epoch {epoch + 1} of {options.epochs}; "
                                "the run stops and is not recorded as finished: lower the learning rate (-l) or "
                                "check the hyperparameters and features")
        if stepper.lr >= options.lr_min:
            stepper.step_schedule()
        seconds = time.perf_counter() - started  # a lockstep epoch's, shared by its seeds
        predictions = stepper.predict("selection")
        for k in range(K):
            record = EpochRecord(epoch, stepper.lr, losses[k], seconds, score(labels[k], predictions[k]),
                                 predictions[k])
            histories[k].append(record)
            best = None if best_index[k] is None else histories[k][best_index[k]]
            if best is None or options.selection_value(record.scores) > options.selection_value(best.scores):
                best_index[k] = len(histories[k]) - 1
                if keep_state:
                    best_states[k] = stepper.weights(k)
            if observers:
                observers[k].epoch_done(record, histories[k][best_index[k]])
        if checkpoint is not None:
            checkpoint({"next_epoch": epoch + 1, **stepper.state(), "histories": histories,
                        "best_index": best_index, "best_states": best_states})
    bests = [None if i is None else h[i] for h, i in zip(histories, best_index)]
    tested = list(bests)
    if stepper.validated and all(best is not None for best in bests):
        for k in range(K):
            stepper.load_weights(k, best_states[k])
        test_labels = stepper.labels("test")
        for k, predictions in enumerate(stepper.predict("test")):
            best = bests[k]
            tested[k] = EpochRecord(best.epoch, best.lr, best.loss, best.seconds, score(test_labels[k], predictions),
                                    predictions)
    return [FitResult(best=bests[k], history=histories[k],
                      best_state=best_states[k] if options.keep_best_state else None, test=tested[k])
            for k in range(K)]


def _lists_of_seeds(state: dict) -> dict:
    """A resume state with per-seed lists; a single seed's state from before K-seed stepping
    kept one history, best index and best state."""
    if "histories" in state:
        return state
    return {**state, "histories": [state["history"]], "best_index": [state["best_index"]],
            "best_states": [state["best_state"]]}


class SoloStepper:
    """One seed's model, optimizer, schedule and data for :func:`train_epochs`: every epoch
    trains on all of ``train`` in the order a shuffling DataLoader visits it (each batch's loss
    given by ``batch_loss``) and scores on ``selection``; ``test`` (None: the selection set is
    the test set) is scored at the end."""

    seeds = 1

    def __init__(self, model: nn.Module, train: TrainSegments, selection: TestUtterances,
                 test: TestUtterances | None, device: torch.device, options: FitOptions, batch_loss: BatchLoss,
                 rng: np.random.RandomState):
        self.model, self.device, self.options, self.batch_loss, self.rng = model, device, options, batch_loss, rng
        self.sets = {"selection": selection, "test": selection if test is None else test}
        self.validated = test is not None
        self.runner = torch.compile(model) if options.compile else model
        # seed 004 scores an utterance by its segments' mean log-softmax: the plain module
        # wrapped, which shares its parameters with whatever trains
        self.scorer = self.runner if options.pooling == "logits" else nn.Sequential(model, nn.LogSoftmax(dim=1))
        self.X = rows_on_device(train.X, device)  # an upstream's frames: padded per batch (ser.training.frames)
        self.y = torch.from_numpy(train.y).to(device)
        self.optimizer = make_optimizer(options.optimizer, model.parameters(), options.lr)
        self.scheduler = make_scheduler(options.lr_schedule, self.optimizer)

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def train_epoch(self) -> list[float]:
        return [train_one_epoch(self.runner, self.X, self.y, self.optimizer, self.options.batch_size,
                                self.batch_loss, self.options.amp)]

    def step_schedule(self) -> None:
        self.scheduler.step()

    def predict(self, part: str) -> list[np.ndarray]:
        return [evaluate(self.scorer, self.sets[part], self.device, self.options.amp)[1]]

    def labels(self, part: str) -> list[np.ndarray]:
        return [self.sets[part].y]

    def weights(self, k: int) -> dict:
        return {key: value.detach().cpu().clone() for key, value in self.model.state_dict().items()}

    def load_weights(self, k: int, weights: dict) -> None:
        self.model.load_state_dict(weights)

    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng": capture_rng(self.rng)}

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        restore_rng(state["rng"], self.rng)


def fit(model: nn.Module, train: TrainSegments, test: TestUtterances, device: torch.device,
        options: FitOptions, batch_loss: BatchLoss, rng: np.random.RandomState, *,
        validation: TestUtterances | None = None, observer: EpochObserver | None = None,
        resume: dict | None = None) -> FitResult:
    """One seed's run: :func:`train_epochs` of a :class:`SoloStepper`.

    Without ``validation`` the selection set is ``test``, as in the paper; with it (the honest
    protocols) every epoch is scored on ``validation`` only, and ``test`` once, after the last
    epoch, with the selected epoch's weights, which the model keeps. ``rng`` is the run's numpy
    generator, whose state is part of the resume state. Passing an observer's checkpoint state
    back as ``resume`` continues the run as if it had never stopped.

    Speed options (off by default, as the paper's runs): ``amp`` runs forward passes and losses
    in bf16 autocast (results change within bf16 precision); ``compile`` trains and scores
    through ``torch.compile(model)``, which shares the model's parameters, so its state dict
    and checkpoints are unchanged.
    """
    selection, held_out = (test, None) if validation is None else (validation, test)
    stepper = SoloStepper(model, train, selection, held_out, device, options, batch_loss, rng)
    return train_epochs(stepper, options, observers=() if observer is None else (observer,),
                        checkpoint=None if observer is None else observer.checkpoint, resume=resume)[0]
