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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ser import checkpoint as ckpt
from ser.audio import load_audio
from ser.dataset import TestUtterances
from ser.metrics import predict_utterances

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


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


def audio_files(inputs: list[str | os.PathLike]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand folders (recursively, sorted) into audio files; name inputs that do not exist."""
    found, missing = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            found += sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        elif item.is_file():
            found.append(item)
        else:
            missing.append((str(item), "no such file or folder"))
    return found, missing
