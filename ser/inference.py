"""Emotion predictions for new recordings from a trained checkpoint.

Each file is scored the way the run scored a test utterance: loaded as mono at the
checkpoint's sample rate (resampled and down-mixed as needed), cut into segments with the
checkpoint's test overlap (GLAM feature kinds) or into consecutive T-frame segments (seed
004's spectrogram kinds), scaled with the run's training min-max fit if it used one, every
segment classified, the segment scores (logits, or log-softmax for ``--pooling
log_softmax`` runs) averaged, and the class with the highest mean predicted. Probabilities
are the softmax of the mean. A file shorter than one GLAM segment is tiled end to end until
one segment fits (the original's ``--padding`` rule) and flagged ``tiled`` rather than
skipped; seed 004's features pad their last segment, as in training.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ser import checkpoint as ckpt
from ser.audio import load_audio
from ser.dataset import TestUtterances
from ser.errors import UserError
from ser.metrics import predict_utterances

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


class InferenceError(UserError):
    """A prediction or export cannot start as asked (device, output path); the message says what to change."""


def check_output_path(path: str | os.PathLike, flag: str = "-o") -> Path:
    """``path`` if a file can be written there, checked before any work whose result would be lost."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise InferenceError(f"{flag} {path} is a folder; give a file name inside it")
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise InferenceError(f"{flag} {path}: the folder {folder} {what}; create it or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InferenceError(f"{flag} {path}: the folder {folder} is not writable; choose another path")
    return path


def inference_device(gpu: int) -> torch.device:
    """``-g K``: CUDA device K, checked against this machine; a negative K is the CPU."""
    if gpu < 0:
        return torch.device("cpu")
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if available == 0:
        raise InferenceError(f"-g {gpu}: this machine has no CUDA device; use -g -1 for the CPU")
    if gpu >= available:
        raise InferenceError(f"-g {gpu}: this machine has {available} CUDA device(s); use -g 0"
                             + (f"..{available - 1}" if available > 1 else "") + " or -g -1 for the CPU")
    return torch.device(f"cuda:{gpu}")


@dataclass
class Prediction:
    path: str
    label: str
    probabilities: dict[str, float]
    segments: int
    tiled: bool
    seconds: float


class Predictor:
    """A checkpoint's model and feature settings, ready to score files."""

    def __init__(self, checkpoint_path: str | os.PathLike, device: torch.device | None = None,
                 batch_size: int = 256):
        if device is not None and device.type == "cuda":  # one error line, not torch's assertion
            inference_device(device.index or 0)
        self.checkpoint = ckpt.load(checkpoint_path)
        self.settings = ckpt.feature_settings(self.checkpoint)
        self.class_names = self.checkpoint["class_names"]
        device = torch.device("cpu") if device is None else device
        self.model = ckpt.build_model(self.checkpoint).to(device)
        if self.checkpoint.get("pooling", "logits") == "log_softmax":
            self.model = torch.nn.Sequential(self.model, torch.nn.LogSoftmax(dim=1))
        self.device = device
        self.batch_size = batch_size

    def predict_wav(self, wav: np.ndarray, name: str = "<array>") -> Prediction:
        """Score a mono signal already at the checkpoint's sample rate."""
        s = self.settings
        if len(wav) == 0:
            raise ValueError("the file holds no audio samples")
        if not np.isfinite(wav).all():
            raise ValueError("the audio contains NaN or infinite samples")
        maps = ckpt.scale(self.checkpoint, s.prediction_input(wav, self.checkpoint["test_overlap"], name))
        # one utterance, scored as training scored its test utterances
        recording = TestUtterances.from_lists([maps], [0], [name], maps.shape[1:])
        logits = predict_utterances(self.model, recording, self.device, self.batch_size)[0].cpu()
        probabilities = logits.softmax(dim=0).tolist()
        return Prediction(path=name, label=self.class_names[int(logits.argmax())],
                          probabilities=dict(zip(self.class_names, probabilities)), segments=len(maps),
                          tiled=s.is_tiled(len(wav)), seconds=len(wav) / s.sample_rate)

    def predict_file(self, path: str | os.PathLike) -> Prediction:
        return self.predict_wav(load_audio(path, self.settings.sample_rate).samples, str(path))


@dataclass
class AudioSearch:
    """The files found in the inputs, the inputs that do not exist, and the files of the folders
    that were passed over for their extension."""
    found: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    def skipped_summary(self, listed: int = 10) -> str | None:
        """One line naming the skipped files (the first ``listed``) by extension, or None."""
        if not self.skipped:
            return None
        counts = Counter(p.suffix.lower() or "(none)" for p in self.skipped)
        kinds = ", ".join(f"{count} {suffix}" for suffix, count in sorted(counts.items()))
        names = ", ".join(str(p) for p in self.skipped[:listed])
        more = f" and {len(self.skipped) - listed} more" if len(self.skipped) > listed else ""
        return (f"skipped {len(self.skipped)} file(s) in the folders whose extension is not read ({kinds}): "
                f"{names}{more}; folders are searched for {', '.join(AUDIO_EXTENSIONS)} (name a file "
                "directly to try any other format)")


def audio_files(inputs: list[str | os.PathLike]) -> AudioSearch:
    """Expand folders (recursively, sorted) into audio files by extension, noting the files left
    out; a file named directly is kept whatever its extension (the decoder reads its header)."""
    search = AudioSearch()
    for item in map(Path, inputs):
        if item.is_dir():
            files = sorted(p for p in item.rglob("*") if p.is_file())
            search.found += [p for p in files if p.suffix.lower() in AUDIO_EXTENSIONS]
            # hidden files (.DS_Store, editors' and our own temporary files) are nobody's recordings
            search.skipped += [p for p in files if p.suffix.lower() not in AUDIO_EXTENSIONS
                               and not p.name.startswith(".")]
        elif item.is_file():
            search.found.append(item)
        else:
            search.missing.append(str(item))
    return search
