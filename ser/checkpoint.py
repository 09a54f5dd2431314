"""Trained-model files that can be used without the command that trained them.

A checkpoint is one ``torch.save`` file holding the weights and everything needed to turn
audio into predictions with them: model name and options, input shape, feature settings
(kind, sample rate, MFCC count, segment length, overlaps, padding), class names and label
set, plus provenance (protocol, seed, best epoch and its scores, project and torch
versions). ``train.py --SaveModel`` writes one for the best epoch.

Weights saved by the original GLAM code (a bare ``state_dict``) load too, given the model
name and input shape, since our models keep the original parameter names.
"""
from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path

import torch

import models
import ser
from ser.dataset import FeatureSettings

FORMAT = "ser-checkpoint/1"


class CheckpointError(Exception):
    """The file is not a usable checkpoint, or not the one the caller expects."""


def build_checkpoint(model: torch.nn.Module, *, model_name: str, model_options: dict,
                     features: FeatureSettings, train_overlap: float, test_overlap: float,
                     class_names: list[str], labels: str, protocol: str, seed: int,
                     epoch: int, scores: dict, state_dict: dict | None = None) -> dict:
    """The checkpoint dictionary for ``model`` (or for ``state_dict``, e.g. a best epoch's)."""
    return {
        "format": FORMAT,
        "state_dict": state_dict if state_dict is not None else model.state_dict(),
        "model": model_name,
        "model_options": dict(model_options),
        "num_classes": len(class_names),
        "input_shape": list(features.shape()),
        "features": dataclasses.asdict(features),
        "train_overlap": train_overlap,
        "test_overlap": test_overlap,
        "class_names": list(class_names),
        "labels": labels,
        "protocol": protocol,
        "seed": seed,
        "epoch": epoch,
        "scores": dict(scores),
        "versions": {"ser": ser.__version__, "torch": str(torch.__version__)},
    }


def save(checkpoint: dict, path: str | os.PathLike) -> None:
    """Write atomically: a reader never sees half a checkpoint."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save`; CheckpointError if it is something else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged or foreign file
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(error).__name__}: {error})")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a bare state_dict or another format, not a {FORMAT} checkpoint; "
            "to use weights saved by the original GLAM code, call load_original_weights() "
            "with the model name and input shape")
    return checkpoint


def feature_settings(checkpoint: dict) -> FeatureSettings:
    return FeatureSettings(**checkpoint["features"])


def check_compatible(checkpoint: dict, *, model_name: str | None = None,
                     features: FeatureSettings | None = None, source: str = "checkpoint") -> None:
    """Refuse a checkpoint of another model or feature setting, saying which differs."""
    if model_name is not None and models.resolve_name(model_name) != checkpoint["model"]:
        raise CheckpointError(f"{source} holds a {checkpoint['model']} model, not {model_name}")
    if features is not None:
        saved = feature_settings(checkpoint)
        differences = [f"{name}: {getattr(saved, name)!r} saved vs {getattr(features, name)!r} requested"
                       for name in dataclasses.asdict(saved) if getattr(saved, name) != getattr(features, name)]
        if differences:
            raise CheckpointError(f"{source} was trained with other features ({'; '.join(differences)})")


def build_model(checkpoint: dict) -> torch.nn.Module:
    """The checkpoint's model with its weights, in eval mode, on the CPU."""
    model = models.create_model(checkpoint["model"], shape=tuple(checkpoint["input_shape"]),
                                num_classes=checkpoint["num_classes"], **checkpoint["model_options"])
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(f"weights do not fit a {checkpoint['model']} model: {error}")
    return model.eval()


def load_original_weights(path: str | os.PathLike, model_name: str, shape: tuple[int, int],
                          num_classes: int = 4, **model_options) -> torch.nn.Module:
    """A model from a bare ``state_dict`` (e.g. the original's ``model_GLAM_mfcc_impro.pth``)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = models.create_model(model_name, shape=shape, num_classes=num_classes, **model_options)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path} does not hold {model_name} weights for input {shape}: {error}")
    return model.eval()


def capture_rng(rng) -> dict:
    """Every random stream a run draws from, so a resumed run continues them exactly."""
    return {
        "python": random.getstate(),
        "numpy_run": rng.get_state(),
        "torch_cpu": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: dict, rng) -> None:
    random.setstate(state["python"])
    rng.set_state(state["numpy_run"])
    torch.set_rng_state(state["torch_cpu"])
    if state["torch_cuda"]:
        torch.cuda.set_rng_state_all(state["torch_cuda"])


def save_resume_state(path: str | os.PathLike, state: dict) -> None:
    """The state after a completed epoch (written atomically, so a kill never corrupts it)."""
    save(state, path)


def load_resume_state(path: str | os.PathLike) -> dict:
    """Our own resume file: it holds numpy arrays and records, so it is not weights-only."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise CheckpointError(f"cannot resume from {path} ({type(error).__name__}: {error}); "
                              "delete it to start the run afresh")
