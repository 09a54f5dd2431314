"""Reading one recording as the original reads it, and the reasons a recording is left out.

Audio is read as ``librosa.load`` reads it (float32, channels averaged, soxr_hq resampling to
the run's rate), with checks the original lacks: a file that cannot be decoded, has no
samples, is silent (every sample zero) or holds NaN/Inf samples raises :class:`UnusableAudio`
with one of the stable ``R_*`` reasons, so a run leaves the utterance out with that reason
instead of crashing or feeding NaN to the model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import librosa
import numpy as np
import soundfile as sf

# Why an utterance's audio was left out (stable strings, so summaries can group them).
R_UNDECODABLE = "audio cannot be decoded"
R_NO_SAMPLES = "audio has no samples"
R_SILENT = "silent audio (every sample is zero)"
R_NONFINITE_AUDIO = "audio holds NaN/Inf samples"
R_NONFINITE_FEATURES = "features are not finite"
R_CHANGED = "wav changed while its features were computed"


class UnusableAudio(Exception):
    """One utterance cannot be used; ``reason`` is one of the ``R_*`` strings."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Audio:
    """One utterance's signal, mono at the requested rate, and what it was on disk."""
    samples: np.ndarray  # (N,) float32
    source_rate: int
    channels: int


def load_audio(path: str | os.PathLike, sample_rate: int) -> Audio:
    """Mono float32 at ``sample_rate``, numerically what ``librosa.load(path, sr=sample_rate)``
    gives; raises :class:`UnusableAudio` for undecodable, empty, silent or NaN/Inf audio."""
    try:
        with sf.SoundFile(path) as f:
            source_rate, channels = f.samplerate, f.channels
            data = f.read(dtype="float32", always_2d=True)  # (N, C)
    except (sf.SoundFileError, RuntimeError, OSError) as error:
        raise UnusableAudio(R_UNDECODABLE, f"{type(error).__name__}: {error}") from None
    if data.size == 0:
        raise UnusableAudio(R_NO_SAMPLES)
    if not np.isfinite(data).all():
        raise UnusableAudio(R_NONFINITE_AUDIO)
    if not data.any():
        # Silence carries nothing of the label, and some feature kinds take its log (-inf).
        raise UnusableAudio(R_SILENT)
    # librosa.load's own steps: to_mono on (C, N), then soxr_hq resampling.
    wav = librosa.to_mono(data.T)
    if source_rate != sample_rate:
        wav = librosa.resample(wav, orig_sr=source_rate, target_sr=sample_rate, res_type="soxr_hq")
    return Audio(np.ascontiguousarray(wav, dtype=np.float32), source_rate, channels)
