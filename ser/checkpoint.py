"""Trained-model files that can be used without the command that trained them.

A checkpoint is one ``torch.save`` file holding the weights and everything needed to turn
audio into predictions with them: model name and options, input shape, feature settings
(the GLAM kinds' ``ser.features.FeatureSettings`` or seed 004's
``ser.spectral.SpectralSettings``, told apart by the kind's name), overlaps, the min-max
scaling fitted on the training data if the run used one, the utterance pooling, class names
and label set, plus provenance (protocol, seed, best epoch and its scores, project and torch
versions). ``train.py --SaveModel`` writes one for the best epoch.

A resume file (``train.py`` writes one after every epoch) is a different format: the whole
state of an unfinished run, see :func:`save_resume_state`.

Weights saved by the original GLAM code (a bare ``state_dict``) load too, given the model
name and input shape, since our models keep the original parameter names.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch

import models
import ser
from ser.dataset import MinMaxScaler
from ser.errors import UserError
from ser.features import FeatureSettings
from ser.featuresets import Settings, settings_from_dict
from ser.io import write_via_temporary

FORMAT = "ser-checkpoint/1"
RESUME_FORMAT = "ser-resume/1"


class CheckpointError(UserError):
    """The file is not a usable checkpoint, or not the one the caller expects."""


def build_checkpoint(model: torch.nn.Module, *, model_name: str, model_options: dict,
                     features: Settings, train_overlap: float,
                     test_overlap: float, class_names: list[str], labels: str, protocol: str, seed: int,
                     epoch: int, scores: dict, state_dict: dict | None = None,
                     scaler: tuple[np.ndarray, np.ndarray] | None = None, pooling: str = "logits") -> dict:
    """The checkpoint dictionary for ``model`` (or for ``state_dict``, e.g. a best epoch's).

    ``scaler``: the per-bin (minimum, scale) of the run's min-max scaling, if it used one.
    """
    return {
        "format": FORMAT,
        "state_dict": state_dict if state_dict is not None else model.state_dict(),
        "model": models.resolve_name(model_name),
        "model_options": dict(model_options),
        "num_classes": len(class_names),
        "input_shape": list(features.shape()),
        "features": dataclasses.asdict(features),
        "train_overlap": train_overlap,
        "test_overlap": test_overlap,
        "scaler": None if scaler is None else {"minimum": torch.as_tensor(scaler[0]),
                                               "scale": torch.as_tensor(scaler[1])},
        "pooling": pooling,
        "class_names": list(class_names),
        "labels": labels,
        "protocol": protocol,
        "seed": seed,
        "epoch": epoch,
        "scores": dict(scores),
        "versions": {"ser": ser.__version__, "torch": str(torch.__version__)},
    }


def save(checkpoint: dict, path: str | os.PathLike) -> None:
    """Write atomically: a reader never sees half a checkpoint. A write that fails (torch
    reports a full disk as a RuntimeError of its zip writer) is a CheckpointError."""
    try:
        write_via_temporary(path, lambda tmp: torch.save(checkpoint, tmp))
    except (OSError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"cannot write {path} ({first}); is the disk full? Free some space or pass -d a "
                              "folder on another disk") from None


def load(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save`; CheckpointError if it is something else."""
    path = Path(path)
    if path.is_dir():
        # A run folder is the common slip: train.py --SaveModel writes model_<run>.pth inside it.
        inside = sorted(p.name for p in path.glob("model_*.pth") if p.is_file())
        hint = (f"it holds {', '.join(inside)}: pass one of them" if inside
                else "pass the model_*.pth file that train.py --SaveModel wrote")
        raise CheckpointError(f"checkpoint {path} is a folder, not a checkpoint file; {hint}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged or foreign file
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a bare state_dict or another format, not a {FORMAT} checkpoint; "
            "to use weights saved by the original GLAM code, call load_original_weights() "
            "with the model name and input shape")
    return checkpoint


def feature_settings(checkpoint: dict) -> Settings:
    return settings_from_dict(checkpoint["features"])


def scale(checkpoint: dict, maps: np.ndarray) -> np.ndarray:
    """(N, F, T) feature maps with the checkpoint's min-max scaling applied (if it has one)."""
    if checkpoint.get("scaler") is None:
        return maps
    scaler = MinMaxScaler()
    scaler.minimum, scaler.scale = (checkpoint["scaler"][k].numpy() for k in ("minimum", "scale"))
    return scaler.transform(maps)


def check_compatible(checkpoint: dict, *, model_name: str | None = None,
                     features: FeatureSettings | None = None, source: str = "checkpoint") -> None:
    """Refuse a checkpoint of another model or feature setting, saying which differs."""
    if model_name is not None and models.resolve_name(model_name) != checkpoint["model"]:
        raise CheckpointError(f"{source} holds a {checkpoint['model']} model, not {model_name}")
    if features is not None:
        saved, requested = dataclasses.asdict(feature_settings(checkpoint)), dataclasses.asdict(features)
        differences = [f"{name}: {saved.get(name)!r} saved vs {requested.get(name)!r} requested"
                       for name in sorted(set(saved) | set(requested)) if saved.get(name) != requested.get(name)]
        if differences:
            raise CheckpointError(f"{source} was trained with other features ({'; '.join(differences)})")


def build_model(checkpoint: dict) -> torch.nn.Module:
    """The checkpoint's model with its weights, in eval mode, on the CPU."""
    model = models.create_model(checkpoint["model"], shape=tuple(checkpoint["input_shape"]),
                                num_classes=checkpoint["num_classes"], **checkpoint["model_options"])
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(f"weights do not fit a {checkpoint['model']} model: {error}") from None
    return model.eval()


def load_original_weights(path: str | os.PathLike, model_name: str, shape: tuple[int, int],
                          num_classes: int = 4, **model_options) -> torch.nn.Module:
    """A model from a bare ``state_dict`` (e.g. the original's ``model_GLAM_mfcc_impro.pth``)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = models.create_model(model_name, shape=shape, num_classes=num_classes, **model_options)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path} does not hold {model_name} weights for input {shape}: {error}") from None
    return model.eval()


def save_resume_state(path: str | os.PathLike, state: dict) -> None:
    """The state of an unfinished run after a completed epoch, written atomically so that a
    kill never leaves half a file."""
    save({"format": RESUME_FORMAT, **state}, path)


def load_resume_state(path: str | os.PathLike) -> dict:
    """Our own resume file: it holds numpy arrays and epoch records, so it is not weights-only."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a damaged or foreign file
        raise CheckpointError(f"cannot resume from {path} ({type(error).__name__}: {error}); "
                              "delete it to start the run afresh") from None
    if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
        raise CheckpointError(f"{path} is not a {RESUME_FORMAT} file; delete it to start the run afresh")
    return state
