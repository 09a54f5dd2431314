"""Emotion predictions for new recordings from a trained checkpoint.

Each file is scored the way the paper scores a test utterance: loaded as mono at the
checkpoint's sample rate (resampled and down-mixed as needed), cut into segments with the
checkpoint's test overlap, every segment classified, the segment logits averaged, and the
class with the highest mean logit predicted. Probabilities are the softmax of the mean
logits. A file shorter than one segment is tiled end to end until one segment fits (the
original's ``--padding`` rule) and flagged ``tiled`` rather than skipped.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ser import checkpoint as ckpt
from ser import features
from ser.dataset import load_audio

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

    def __init__(self, checkpoint_path: str | os.PathLike, device: torch.device = torch.device("cpu"),
                 batch_size: int = 256):
        self.checkpoint = ckpt.load(checkpoint_path)
        self.settings = ckpt.feature_settings(self.checkpoint)
        self.class_names = self.checkpoint["class_names"]
        self.model = ckpt.build_model(self.checkpoint).to(device)
        self.device = device
        self.batch_size = batch_size

    @torch.no_grad()
    def predict_wav(self, wav: np.ndarray, name: str = "<array>") -> Prediction:
        """Score a mono signal already at the checkpoint's sample rate."""
        s = self.settings
        if len(wav) == 0:
            raise ValueError("the file holds no audio samples")
        if not np.isfinite(wav).all():
            raise ValueError("the audio contains NaN or infinite samples")
        tiled = len(wav) < s.segment_length * s.sample_rate
        maps = features.extract(wav, s.sample_rate, s.kind, s.segment_length, self.checkpoint["test_overlap"],
                                n_mfcc=s.n_mfcc, padding=True)
        x = torch.from_numpy(maps).unsqueeze(1)
        logits = torch.cat([self.model(x[i:i + self.batch_size].to(self.device)).float().cpu()
                            for i in range(0, len(x), self.batch_size)]).mean(dim=0)
        probabilities = logits.softmax(dim=0).tolist()
        return Prediction(path=name, label=self.class_names[int(logits.argmax())],
                          probabilities=dict(zip(self.class_names, probabilities)), segments=len(maps),
                          tiled=tiled, seconds=len(wav) / s.sample_rate)

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
