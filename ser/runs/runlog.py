"""What a run writes and shows while it trains: the engine's epoch observer.

:class:`RunLog` owns every per-epoch side effect of one run: the original's training log
(``<MODEL>_train.log``: each epoch's report and confusion matrix, then the best so far),
``<stem>_epochs.csv`` (one row per epoch, rewritten whole), TensorBoard scalars
(``--tensorboard``), the progress bar, and the resume state (``resume_<stem>.pt``, written
atomically after every epoch unless ``--no-save_resume_state``). :func:`resume_state` reads a
resume state back and refuses one saved by a run with other arguments.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ser.errors import UserError
from ser.io import write_csv
from ser.records.checkpoint import CheckpointError, load_resume_state, save_resume_state
from ser.records.results import RunFiles
from ser.training.engine import EpochRecord
from ser.training.metrics import confusion, report_text

EPOCH_COLUMNS = ["seed", "iteration", "epoch", "lr", "loss", "seconds", "scored_on", "WA", "UA", "macro_f1",
                 "weighted_f1", "WA_UA_mean", "best_epoch_so_far"]


class RunLogError(UserError):
    """A run's logs or resume state cannot be used; the message says what to do."""


@dataclass
class BestSoFar:
    """The best iteration so far (``--iter``): its selected epoch, history, weights and test scores."""
    best: EpochRecord | None = None
    history: list[EpochRecord] = field(default_factory=list)
    state: dict | None = None
    tested: EpochRecord | None = None

    def as_tuple(self) -> tuple:
        return self.best, self.history, self.state, self.tested


@dataclass
class RunState:
    """Where a run stands between epochs: what ``--resume`` continues from."""
    args: dict
    iteration: int = 0
    fit: dict | None = None        # the fit's own state inside the iteration (None at its start)
    best_so_far: BestSoFar = field(default_factory=BestSoFar)
    epoch_rows: list[dict] = field(default_factory=list)
    rng: dict | None = None        # the random streams at the start of ``iteration``
    running_time: float = 0.0

    def as_dict(self) -> dict:
        return {"args": self.args, "iteration": self.iteration, "fit": self.fit,
                "best_so_far": self.best_so_far.as_tuple(), "epoch_rows": list(self.epoch_rows), "rng": self.rng,
                "running_time": self.running_time}


def resume_state(resume: bool, files: RunFiles, args: dict, log) -> RunState:
    """The saved state to continue from with ``--resume``, or a fresh run's. A state saved by
    a run with other arguments is refused: resuming it would mix two runs."""
    fresh, path = RunState(args), files.resume_state
    if not path.exists():
        if resume:
            log(f"--resume: no {path.name} in {path.parent}; starting from the first epoch")
        return fresh
    if not resume:
        log(f"NOTE: {path} holds an interrupted run; starting afresh and replacing it "
            "(pass --resume to continue it instead)")
        return fresh
    try:
        saved = load_resume_state(path)
    except CheckpointError as error:
        raise RunLogError(str(error)) from None
    differing = sorted(k for k in set(saved["args"]) | set(args) if saved["args"].get(k) != args.get(k))
    if differing:
        raise RunLogError(f"{path} was saved by a run with other arguments ("
                          + ", ".join(f"{k}: {saved['args'].get(k)!r} then, {args.get(k)!r} now" for k in differing)
                          + "); rerun with those arguments, or without --resume to start afresh")
    state = RunState(saved["args"], saved["iteration"], saved["fit"], BestSoFar(*saved["best_so_far"]),
                     list(saved["epoch_rows"]), saved["rng"], saved["running_time"])
    epochs_done = 0 if state.fit is None else state.fit["next_epoch"]
    log(f"Resuming from {path.name}: iteration {state.iteration + 1}, {epochs_done} epoch(s) done")
    return state


def epoch_log_text(record: EpochRecord, best: EpochRecord, class_names: list[str], y_true: np.ndarray) -> str:
    """The original's per-epoch block in ``<MODEL>_train.log``."""
    s = best.scores
    return (f"epoch: {record.epoch}, lr: {record.lr:.4}, loss: {record.loss:.4}\n{record.seconds}\n"
            f"{report_text(y_true, record.predictions, class_names)}\n"
            f"{confusion(y_true, record.predictions, len(class_names))}\n"
            "The best result ----------\n"
            f"WA: {s.WA:.4f}%, UA: {s.UA:.4f}%, macro f1: {s.macro_f1:.4f}%, weighted f1: {s.weighted_f1:.4f}%\n"
            "--------------------------\n")


def epoch_row(seed: int, iteration: int, record: EpochRecord, best: EpochRecord, validated: bool) -> dict:
    """One line of ``<stem>_epochs.csv``: the epoch's loss, lr and scores on the selection set."""
    return {"seed": seed, "iteration": iteration, "epoch": record.epoch, "lr": record.lr, "loss": record.loss,
            "seconds": round(record.seconds, 3), "scored_on": "validation" if validated else "test",
            **{k: round(v, 4) for k, v in record.scores.as_dict().items()}, "best_epoch_so_far": best.epoch}


class RunLog:
    """The epoch observer of one run (see the module doc). Use as a context manager."""

    def __init__(self, files: RunFiles, state: RunState, *, seed: int, model: str, epochs: int,
                 class_names: list[str], selection_labels: np.ndarray, validated: bool, save_resume: bool,
                 tensorboard: bool, quiet: bool):
        self.files, self.state, self.seed, self.model, self.epochs = files, state, seed, model, epochs
        self.class_names, self.selection_labels, self.validated = class_names, selection_labels, validated
        self.save_resume, self.quiet = save_resume, quiet
        self.writer = self._tensorboard_writer() if tensorboard else None
        self.train_log = open(files.train_log, "a")
        if state.iteration or state.fit:
            self.train_log.write(f"resumed from {files.resume_state}\n")
        self.started = time.perf_counter() - state.running_time
        self.iteration, self.bar = state.iteration, None

    def _tensorboard_writer(self):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise RunLogError(f"--tensorboard needs the tensorboard package ({error}); pip install tensorboard, "
                              "or drop --tensorboard (the epochs are in the CSV file anyway)") from None
        return SummaryWriter(str(self.files.tensorboard(self.seed)))

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def running_time(self) -> float:
        return time.perf_counter() - self.started

    def start_iteration(self, iteration: int, epochs_done: int) -> None:
        self.iteration = iteration
        self.bar = tqdm(total=self.epochs, initial=epochs_done, desc=f"{self.model} seed {self.seed}", unit="epoch",
                        disable=self.quiet)

    def end_iteration(self) -> None:
        self.bar.close()

    def epoch_done(self, record: EpochRecord, best: EpochRecord) -> None:
        self.state.epoch_rows.append(epoch_row(self.seed, self.iteration, record, best, self.validated))
        try:
            self.train_log.write(epoch_log_text(record, best, self.class_names, self.selection_labels))
            self.train_log.flush()
            write_csv(self.files.epochs_csv, EPOCH_COLUMNS, self.state.epoch_rows)
        except OSError as error:
            raise RunLogError(f"cannot write the epoch logs in {self.files.run_dir} ({error}); free some space "
                              "or pass -d a writable path") from None
        if self.writer is not None:
            step = self.iteration * self.epochs + record.epoch
            self.writer.add_scalar("train/loss", record.loss, step)
            self.writer.add_scalar("train/lr", record.lr, step)
            for name, value in record.scores.as_dict().items():
                self.writer.add_scalar(f"selection_set/{name}", value, step)
            self.writer.flush()
        self.bar.set_postfix(loss=f"{record.loss:.4f}", WA=f"{record.scores.WA:.2f}", UA=f"{record.scores.UA:.2f}",
                             best=f"{best.scores.selection:.2f}")
        self.bar.update()

    def checkpoint(self, fit_state: dict) -> None:
        """The state after an epoch inside the current iteration."""
        if self.save_resume:
            self._save(RunState(self.state.args, self.iteration, fit_state, self.state.best_so_far,
                                self.state.epoch_rows, None, self.running_time))

    def between_iterations(self, next_iteration: int, rng_state: dict) -> None:
        """The state at the start of the next iteration (``--iter``)."""
        if self.save_resume:
            self._save(RunState(self.state.args, next_iteration, None, self.state.best_so_far,
                                self.state.epoch_rows, rng_state, self.running_time))

    def _save(self, state: RunState) -> None:
        try:
            save_resume_state(self.files.resume_state, state.as_dict())
        except CheckpointError as error:
            raise RunLogError(f"{error} (or turn the resume state off: --no-save_resume_state)") from None

    def close(self) -> None:
        if not self.train_log.closed:
            self.train_log.close()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
