"""The vocabulary in which a feature kind describes its computation for export (``describe`` of
``ser.features.registry.FeatureKind``): what ``export.py`` writes beside an ONNX model so that
its inputs can be computed without this package. Plain data, no computation."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stft:
    """A short-time Fourier transform as librosa computes it: frames of ``n_fft`` samples every
    ``hop_length``, each multiplied by a ``win_length`` window centred in ``n_fft`` with zeros
    either side; with ``center`` the signal is first padded by ``n_fft // 2`` samples at each
    end (``pad_mode`` is numpy.pad's mode), so a signal of N samples gives 1 + N // hop_length
    frames. ``power``: the magnitude's exponent (1 magnitude, 2 power)."""
    n_fft: int
    hop_length: int
    win_length: int
    window: str
    window_periodic: bool
    center: bool
    pad_mode: str
    power: float


@dataclass(frozen=True)
class Framing:
    """python_speech_features' framing: frames of ``frame_length`` samples every ``frame_step``,
    1 + ceil((N - frame_length) / frame_step) of them (1 when N <= frame_length), the signal
    zero padded at its end to fill the last; rectangular window; each frame zero padded to
    ``n_fft`` for a real FFT."""
    frame_length: int
    frame_step: int
    n_fft: int
    window: str = "rectangular"


@dataclass(frozen=True)
class MelFilters:
    """A mel filterbank over the ``n_fft // 2 + 1`` FFT bins, as ``librosa.filters.mel(sr, n_fft,
    n_mels, fmin, fmax, htk, norm)`` builds it (``fmax`` in Hz, the Nyquist rate when none was set)."""
    n_mels: int
    fmin: float
    fmax: float
    htk: bool
    norm: str | None


@dataclass(frozen=True)
class Decibels:
    """``factor * log10(max(amin, x)) - factor * log10(max(amin, reference))``, then every value
    below the maximum minus ``top_db`` raised to it; the reference and the maximum are taken
    over ``over`` (``reference`` "max": the maximum of x there)."""
    factor: float
    amin: float
    reference: float | str
    top_db: float | None
    over: str


@dataclass(frozen=True)
class Dct:
    """A DCT along the mel axis (scipy.fft.dct's ``type`` and ``norm``), keeping the first ``keep``."""
    type: int
    norm: str
    keep: int


@dataclass(frozen=True)
class Segmentation:
    """How one recording becomes the model's batch of segments."""
    segment_samples: int | None
    hop_samples: int | None
    frames_per_segment: int | None
    rule: str
    tail: str
    short_recording: str
