"""Trained-model files that can be used without the command that trained them.

A checkpoint is one ``torch.save`` file holding the weights and everything needed to turn
audio into predictions with them: model name and options, input shape, feature settings
(the GLAM kinds' ``ser.features.glam.FeatureSettings`` or seed 004's
``ser.features.spectral.SpectralSettings``, told apart by the kind's name), overlaps, the min-max
scaling fitted on the training data if the run used one, the utterance pooling, class names
and label set, plus provenance (protocol, seed, best epoch and its scores, project and torch
versions). ``train.py --SaveModel`` writes one for the best epoch.

A resume file (``train.py`` writes one after every epoch) is a different format: the whole
state of an unfinished run, see :func:`save_resume_state`.

Weights saved by the original GLAM code (a bare ``state_dict``) load too, given the model
name and input shape, since our models keep the original parameter names.

A file that is not a checkpoint (audio, a run's ``results.json``, a resume file, a folder) is
refused with a message that says what it is and where checkpoints are written.
"""
from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

import models
import ser
from ser.errors import UserError
from ser.features.glam import FeatureSettings
from ser.features.kinds import Settings, settings_from_dict
from ser.io import write_via_temporary
from ser.training.dataset import MinMaxScaler

FORMAT = "ser-checkpoint/1"
# 2: a fit's state holds per-seed lists of histories, best epochs and weights, and a K-seed
# run's state is a plain dict (the one epoch loop of ser.training.engine writes both).
RESUME_FORMAT = "ser-resume/2"


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


# Where a checkpoint comes from, for every message about a file that is not one.
WHERE_CHECKPOINTS_ARE = ("a checkpoint is the model_<stem>.pth file that train.py --SaveModel writes into the run "
                         "directory (-d), e.g. data/mfccS1.8O1.6a0.5/GLAM/<seed>/model_GLAM_mfcc_impro.pth")
# First bytes of the files most often passed by mistake, and what to call them.
_MAGIC = ((b"RIFF", "a WAV audio file"), (b"fLaC", "a FLAC audio file"), (b"OggS", "an Ogg audio file"),
          (b"ID3", "an MP3 audio file"), (b"\xff\xfb", "an MP3 audio file"), (b"\x89PNG", "a PNG image"),
          (b"%PDF", "a PDF document"))
_ZIP_MAGIC = b"PK\x03\x04"


def _not_a_checkpoint(path: Path, what: str) -> CheckpointError:
    return CheckpointError(f"{path} is {what}, not a checkpoint; {WHERE_CHECKPOINTS_ARE}")


def _results_json_hint(path: Path, text: str) -> str:
    """What to pass instead of a run's ``results.json`` (its checkpoint, when the run saved one)."""
    try:
        summary = json.loads(text)
    except ValueError:
        return "a JSON file"
    if not isinstance(summary, dict) or "checkpoint" not in summary:
        return "a JSON file"
    if summary["checkpoint"] and (path.parent / summary["checkpoint"]).is_file():
        return f"a run's results file (its checkpoint is {path.parent / summary['checkpoint']})"
    return "a run's results file, and that run saved no model (train it again with --SaveModel)"


def _identify(path: Path) -> None:
    """Raise CheckpointError naming what ``path`` is when it is plainly not a PyTorch file.

    torch.load's own messages for such files mislead (a WAV ends in ``pop from empty list``, a
    JSON file in advice to turn off weights-only loading), so the first bytes decide first.
    """
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; {WHERE_CHECKPOINTS_ARE}")
    if path.is_dir():
        # a run folder is the common slip: train.py --SaveModel writes model_<stem>.pth inside it
        inside = sorted(p for p in path.glob("model_*.pth") if p.is_file())
        if inside:
            raise CheckpointError(f"checkpoint {path} is a folder, not a checkpoint file; pass the checkpoint in it: "
                                  + ", ".join(str(p) for p in inside))
        raise _not_a_checkpoint(path, "a folder without a model_*.pth file")
    with open(path, "rb") as f:
        head = f.read(64)
    if not head:
        raise _not_a_checkpoint(path, "an empty file")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise _not_a_checkpoint(path, what)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            raise _not_a_checkpoint(path, "a damaged zip archive") from None
        if not any(name.endswith("/data.pkl") for name in names):
            raise _not_a_checkpoint(path, "a zip archive that PyTorch did not write (a NumPy .npz file?)")
        return
    if head.lstrip()[:1] in (b"{", b"["):
        text = path.read_text(errors="replace")
        raise _not_a_checkpoint(path, _results_json_hint(path, text))
    if head[:1] != b"\x80":  # every pickle PyTorch writes starts with the protocol byte
        if b"\x00" in head:
            raise _not_a_checkpoint(path, "not a file PyTorch wrote")
        raise _not_a_checkpoint(path, f"a text file ({path.suffix or 'no extension'})")


def _holds_resume_state(path: Path) -> bool:
    """Whether a PyTorch zip file is a resume state (its pickle names the resume format)."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickled = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
            return RESUME_FORMAT.encode() in archive.read(pickled)
    except (zipfile.BadZipFile, StopIteration, OSError):
        return False


def _read_weights_only(path: Path):
    """``torch.load`` of a file written by ``torch.save`` with tensors and plain values only."""
    _identify(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged or foreign file
        if _holds_resume_state(path):
            raise CheckpointError(f"{path} is the resume state of an unfinished run (train.py --resume "
                                  f"continues it), not a checkpoint; {WHERE_CHECKPOINTS_ARE}") from None
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint: PyTorch cannot read it as weights "
                              f"({reason[:200]}); {WHERE_CHECKPOINTS_ARE}") from None


def load(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save`; CheckpointError, saying what the file is, if it
    is something else."""
    path = Path(path)
    checkpoint = _read_weights_only(path)
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
    state = _read_weights_only(Path(path))
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
