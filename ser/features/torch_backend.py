"""The feature kinds of :mod:`ser.features.glam` and :mod:`ser.features.spectral`, computed by torch in batches.

The reference path computes one utterance at a time with librosa and numpy. Here the
segments of many utterances are stacked into chunks and every chunk goes through one
framing, one FFT and one filter-bank product, on the CPU or on a CUDA device:

    wavs --ser.features.glam.segment()--> chunks (c, L) --frames, rfft, filters--> (S_i, F, T) float32

The filter banks (librosa's Slaney mel filters, python_speech_features' HTK triangles), the
DCT and the windows are built once per setting by the reference's own builders and kept as
tensors; only the per-segment arithmetic runs in torch. A filter bank is applied in blocks
of consecutive filters, each multiplying only the FFT bins its filters cover: every mel
filter spans a few dozen of 1025 bins, so the dense product would spend nearly all of its
multiply-adds on zeros, and it costs more than the FFTs themselves.

Equality with the reference: the largest |torch - reference| that ``tests/test_torch_features.py``
allows, then (in brackets) the largest found over 100 utterances of the synthetic corpus,
in float64 and in float32 (the default of all but the float64 kinds, on every device;
measured on the CPU), in each kind's own units:

    kind                      float64               float32
    mfcc                      1e-4   (6e-5)         5e-4  (1.1e-4)
    melspectrogram (log10)    1e-5   (1e-6)         1e-3  (2.6e-4)
    spectrogram (dB)          1e-5   (4e-6)         1.0   (0.14)     float64 on every device
    interspeech2018           1e-6   (0)            5e-5  (1.2e-5)   float64 on every device
    logfbank (ln)             1e-6   (0)            5e-4  (1.7e-4)   float64 on every device
    fbank (relative)          1e-6   (0)            2e-4  (7e-5)     float64 on every device
    seed 004 dB channels      1e-4   (1.5e-5)       1e-2  (2.4e-3)
    seed 004 delta channels   2e-5   (5e-6)         2e-3  (4.3e-4)

Most of the float64 differences are the reference's own rounding: librosa rounds its STFT to
complex64 and its mel products to float32. Values the reference floors (80 dB below the
maximum, amin) are floored the same way here.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import librosa
import numpy as np
import scipy.fft
import scipy.signal
import torch
import torch.nn.functional as F

from ser.features import glam, spectral
from ser.features.registry import TorchComputation, attach_torch, feature_kind

GLAM_KINDS = glam.FEATURE_KINDS
# Segments per chunk. On the CPU a chunk's frames and spectra should stay in the core's cache:
# MFCC of 1.8 s segments in float32 ran fastest at 2 to 4 segments (4 MB of frames and
# spectra), and 1.5 times slower at 16. A GPU wants thousands of frames per call to be busy,
# and 256 segments keep the largest kind (the spectrogram's 1600 complex bins per frame, in
# float64) near 4 GB.
CPU_BATCH_SEGMENTS = 4
CUDA_BATCH_SEGMENTS = 256
# STFT frames per chunk for the spectral kinds (whole utterances): about 20 s of audio on
# the CPU, 11 minutes on a GPU.
CPU_BATCH_FRAMES = 2048
CUDA_BATCH_FRAMES = 65536
# Consecutive filters applied as one dense block (see the module doc). On the CPU 16 was
# fastest for the 128 mel filters: 8 made twice as many small products, 32 wider blocks.
FILTERS_PER_BLOCK = 16


def default_dtype(kind: str) -> torch.dtype:
    """The compute type of ``kind``'s torch computation (its registry entry): float64 for the
    kinds whose reference is numpy in float64 throughout (:data:`FLOAT64_KINDS`), float32 for
    the others, on every device: their reference rounds its spectra to float32 itself, float32
    keeps them within the tolerances of the module doc, and it is twice as fast as float64 on
    a CPU (the FFTs dominate)."""
    computation = feature_kind(kind).torch
    if computation is None:
        raise ValueError(f"feature kind {kind!r} has no torch computation; compute it with librosa")
    return getattr(torch, computation.dtype)


def _resolve(device: torch.device | str, dtype: torch.dtype | None, kind: str) -> tuple[torch.device, torch.dtype]:
    device = torch.device(device)
    dtype = dtype or default_dtype(kind)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, not {dtype}")
    return device, dtype


# ---------------------------------------------------------------------------------------
# Constants, built once per setting


class _FilterBank:
    """``x @ weights.T`` for a filter bank whose filters each cover one short run of bins.

    ``interleaved`` banks take the squared real and imaginary parts of an FFT side by side
    (``view_as_real(spectrum).square()`` flattened), so that the power never needs a tensor
    of its own: each weight is used for both parts of its bin.
    """

    def __init__(self, weights: np.ndarray, dtype: torch.dtype, device: torch.device, interleaved: bool):
        if interleaved:
            weights = np.repeat(weights, 2, axis=1)
        self.blocks = []
        for first in range(0, len(weights), FILTERS_PER_BLOCK):
            block = weights[first:first + FILTERS_PER_BLOCK]
            covered = np.flatnonzero(block.any(axis=0))
            lo, hi = (covered[0], covered[-1] + 1) if len(covered) else (0, 0)
            matrix = torch.as_tensor(np.ascontiguousarray(block[:, lo:hi].T), dtype=dtype, device=device)
            self.blocks.append((int(lo), int(hi), matrix))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[..., lo:hi] @ matrix for lo, hi, matrix in self.blocks], dim=-1)


@lru_cache(maxsize=32)
def _window(name: str, length: int, n_fft: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """librosa's STFT window: periodic, centred and zero padded to ``n_fft``."""
    window = librosa.util.pad_center(scipy.signal.get_window(name, length, fftbins=True), size=n_fft)
    return torch.as_tensor(window, dtype=dtype, device=device)


@lru_cache(maxsize=32)
def _mel_bank(sr: int, n_fft: int, n_mels: int, fmax: float | None, dtype: torch.dtype,
              device: torch.device) -> _FilterBank:
    # float32, as librosa builds it for the reference: the same weights, exactly.
    weights = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=fmax, htk=False, norm="slaney")
    return _FilterBank(weights, dtype, device, interleaved=True)


@lru_cache(maxsize=32)
def _htk_bank(nfilt: int, nfft: int, sr: int, high: float, dtype: torch.dtype, device: torch.device) -> _FilterBank:
    return _FilterBank(glam._filterbank(nfilt, nfft, sr, 0.0, high), dtype, device, interleaved=True)


@lru_cache(maxsize=32)
def _dct(n_mels: int, n_mfcc: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(n_mels, n_mfcc): ``db @ matrix`` is the orthonormal DCT-II over the mel axis, cut."""
    matrix = scipy.fft.dct(np.eye(n_mels), type=2, norm="ortho", axis=0)[:n_mfcc].T
    return torch.as_tensor(np.ascontiguousarray(matrix), dtype=dtype, device=device)


@lru_cache(maxsize=32)
def _savgol(width: int, order: int, deriv: int, dtype: torch.dtype,
            device: torch.device) -> tuple[tuple[float, ...], torch.Tensor]:
    """Savitzky-Golay taps for a sliding dot product, and (width, width): row i maps a
    ``width``-sample signal to output i in scipy's ``interp`` mode, whose first and last
    ``width // 2`` rows are the polynomial fits it uses at the two ends of longer signals."""
    taps = tuple(float(t) for t in scipy.signal.savgol_coeffs(width, order, deriv=deriv, use="dot"))
    ends = scipy.signal.savgol_filter(np.eye(width), width, order, deriv=deriv, mode="interp", axis=-1).T
    return taps, torch.as_tensor(np.ascontiguousarray(ends), dtype=dtype, device=device)


# ---------------------------------------------------------------------------------------
# Per-segment kinds of ser.features: (c, L) -> (c, F, T)
#
# Each kind frames its segments with zeros around them (centred STFT frames, or the zero
# padded last frame of python_speech_features). The kernels below take the segments with
# those zeros already in place (see _margins): a chunk buffer reused from chunk to chunk
# keeps its zero margins, so the padding costs no copy per chunk (about a tenth of the
# MFCC's time on the CPU).


def _margins(kind: str, sr: int, length: int) -> tuple[int, int]:
    """Zeros before and after a segment of ``length`` samples that ``kind``'s framing reads."""
    return feature_kind(kind).torch.margins(sr, length)


def _centred_margins(params: dict):
    """A centred STFT's margins: half its n_fft either side."""
    def margins(sr: int, length: int) -> tuple[int, int]:
        return params["n_fft"] // 2, params["n_fft"] // 2
    return margins


def _apcnn_margins(sr: int, length: int) -> tuple[int, int]:
    return 0, _psf_padding(length, 640, 160)


def _no_margins(sr: int, length: int) -> tuple[int, int]:
    return 0, 0  # the filterbanks pad after their pre-emphasis, which must not see the zeros


def _squared_parts(frames: torch.Tensor, n: int | None = None) -> torch.Tensor:
    """(..., 2·bins): squared real and imaginary parts of each frame's rfft, side by side."""
    return torch.view_as_real(torch.fft.rfft(frames, n=n)).square_().flatten(-2)


def _mfcc(x: torch.Tensor, sr: int, n_mfcc: int) -> torch.Tensor:
    p = glam.MFCC_PARAMS
    window = _window(p["window"], p["n_fft"], p["n_fft"], x.dtype, x.device)
    # librosa's center=True, pad_mode="constant" frames: 1 + L // hop of them.
    frames = x.unfold(-1, p["n_fft"], p["hop_length"]) * window
    mel = _mel_bank(sr, p["n_fft"], p["n_mels"], p["fmax"], x.dtype, x.device)(_squared_parts(frames))
    # From here on float64 whatever the dtype: the mel map is 1/16 of the spectrum's size, and
    # a float32 DCT's rounding alone comes close to 1e-3 on the first coefficient (about -700).
    db = torch.log10(mel.to(torch.float64).clamp_(min=glam.DB_AMIN)).mul_(10.0)
    db -= 10.0 * math.log10(max(glam.DB_AMIN, glam.DB_REF))
    # The 80 dB floor is taken per segment, as one librosa call per segment takes it.
    floor = db.amax(dim=(-2, -1), keepdim=True) - glam.DB_TOP
    db = torch.maximum(db, floor)
    return (db @ _dct(p["n_mels"], n_mfcc, torch.float64, x.device)).transpose(-1, -2)


def _melspectrogram(x: torch.Tensor, sr: int) -> torch.Tensor:
    p = glam.MELSPECTROGRAM_PARAMS
    window = _window("hann", p["n_fft"], p["n_fft"], x.dtype, x.device)
    frames = x.unfold(-1, p["n_fft"], p["hop_length"]) * window
    mel = _mel_bank(sr, p["n_fft"], p["n_mels"], None, x.dtype, x.device)(_squared_parts(frames))
    return torch.log10(mel.to(torch.float64)).transpose(-1, -2)


def _psf_padding(length: int, frame_len: int, frame_step: int) -> int:
    """Zeros python_speech_features appends so that its last frame is whole."""
    return (glam._frame_count(length, frame_len, frame_step) - 1) * frame_step + frame_len - length


def _psf_power(x: torch.Tensor) -> torch.Tensor:
    """|rfft|² of APCNN's rectangular frames (640 samples, step 160, NFFT 3198): (c, frames, 1600)."""
    frames = x.unfold(-1, 640, 160)
    squared = torch.view_as_real(torch.fft.rfft(frames, n=glam.SPECTROGRAM_NFFT)).square_()
    return squared[..., 0] + squared[..., 1]  # torch's sum over a last axis of 2 is slow


def _spectrogram(x: torch.Tensor) -> torch.Tensor:
    power = _psf_power(x) / glam.SPECTROGRAM_NFFT
    # The maximum is over every bin, the map keeps the lowest ones; log10 is monotonic, so
    # the log of the largest power is the largest log power.
    top = 10.0 * torch.log10(power.amax(dim=(-2, -1), keepdim=True).clamp_(min=1e-30))
    bins = glam.SPECTROGRAM_BINS
    return (10.0 * torch.log10(power[..., :bins].clamp(min=1e-30)) - top).transpose(-1, -2)


def _interspeech2018(x: torch.Tensor) -> torch.Tensor:
    mag = _psf_power(x).sqrt_()  # a complex abs() is several times slower on the CPU
    scaled = mag[..., :glam.SPECTROGRAM_BINS] / mag.amax(dim=(-2, -1), keepdim=True) * 2 - 1
    companded = torch.sign(scaled) * torch.log1p(255 * scaled.abs()) / math.log(256)
    return companded.transpose(-1, -2)


def _fbank(x: torch.Tensor, sr: int, nfilt: int, high: float | None, log: bool) -> torch.Tensor:
    """(c, frames, nfilt), time × filters as in the original."""
    # pre-emphasis in float32 whatever the dtype, as python_speech_features computes it on the
    # float32 samples (exact: the samples are float32 values)
    samples = x.float()
    emphasized = torch.cat([samples[..., :1], samples[..., 1:] - 0.97 * samples[..., :-1]], dim=-1).to(x.dtype)
    frame_len, frame_step = round(0.040 * sr), round(0.010 * sr)
    padded = F.pad(emphasized, (0, _psf_padding(x.shape[-1], frame_len, frame_step)))
    frames = padded.unfold(-1, frame_len, frame_step)
    bank = _htk_bank(nfilt, 1024, sr, high or sr / 2, x.dtype, x.device)
    energies = bank(_squared_parts(frames, 1024)) / 1024
    energies = torch.where(energies == 0, np.finfo(float).eps, energies)
    return torch.log(energies) if log else energies


def _check_kind(kind: str, n_mfcc: int) -> None:
    entry = feature_kind(kind, family=glam.FAMILY)
    if entry.torch is None:
        raise ValueError(f"feature kind {kind!r} has no torch computation; compute it with librosa")
    problem = entry.check(glam.FeatureSettings(kind=kind, n_mfcc=n_mfcc)) if entry.check else None
    if problem:
        raise ValueError(problem)


def _kind_of_chunk(x: torch.Tensor, sr: int, kind: str, n_mfcc: int) -> torch.Tensor:
    """One chunk of segments with their margins (c, left + L + right) in the compute dtype ->
    (c, F, T), a float32 view or copy."""
    return feature_kind(kind).torch.kernel(x, sr, n_mfcc).to(torch.float32)


def extract_segments(segments: np.ndarray | torch.Tensor, sr: int, kind: str, n_mfcc: int = 26,
                     device: torch.device | str = "cpu", dtype: torch.dtype | None = None,
                     batch_segments: int | None = None) -> torch.Tensor:
    """``ser.features.glam.features_of_segments`` in torch: (S, L) segments -> (S, F, T) float32 on ``device``.

    Segments are computed ``batch_segments`` at a time (default: by device) in ``dtype``
    (default :func:`default_dtype`); the result is one contiguous tensor.
    """
    _check_kind(kind, n_mfcc)
    device, dtype = _resolve(device, dtype, kind)
    segments = torch.as_tensor(segments)
    if segments.ndim != 2:
        raise ValueError(f"segments must be a (count, samples) array, not of shape {tuple(segments.shape)}")
    margins = _margins(kind, sr, segments.shape[1])
    if len(segments) == 0:
        # MKL's FFT refuses an empty batch; one silent segment gives the (F, T) of this length.
        silent = torch.zeros((1, sum(margins) + segments.shape[1]), dtype=dtype, device=device)
        return _kind_of_chunk(silent, sr, kind, n_mfcc)[:0].contiguous()
    batch = batch_segments or (CUDA_BATCH_SEGMENTS if device.type == "cuda" else CPU_BATCH_SEGMENTS)
    out = None
    for start in range(0, len(segments), batch):
        chunk = F.pad(segments[start:start + batch].to(device=device, dtype=dtype), margins)
        computed = _kind_of_chunk(chunk, sr, kind, n_mfcc)
        if out is None:
            out = torch.empty((len(segments), *computed.shape[1:]), dtype=torch.float32, device=device)
        out[start:start + batch] = computed
    return out


@dataclass
class _Pending:
    """Rows ``[first, first + count)`` of one utterance's result, waiting in the chunk."""
    result: np.ndarray
    first: int
    count: int


def extract_many(wavs: Sequence[np.ndarray], sr: int, kind: str, segment_length: float, overlap: float,
                 n_mfcc: int = 26, padding: bool = False, device: torch.device | str = "cpu",
                 dtype: torch.dtype | None = None, batch_segments: int | None = None) -> list[np.ndarray]:
    """``ser.features.glam.extract`` for many utterances: one (S_i, F, T) float32 array per wav.

    Each wav is cut by :func:`ser.features.glam.segment` (same hop, tail and ``padding`` rules)
    and its segments join a chunk of ``batch_segments`` segments (default: by device) from
    consecutive utterances, so a wav may span two chunks; each chunk goes through one
    framing, one rfft and one filter-bank product in ``dtype`` (default :func:`default_dtype`).
    A wav shorter than one segment (without ``padding``) gives a (0, F, T) array.

    The CPU work runs on torch's intra-op threads (``torch.set_num_threads``); on a CPU shared
    with other busy processes, more than one thread can be several times slower than one.
    """
    _check_kind(kind, n_mfcc)
    device, dtype = _resolve(device, dtype, kind)
    batch = batch_segments or (CUDA_BATCH_SEGMENTS if device.type == "cuda" else CPU_BATCH_SEGMENTS)
    shape = glam.feature_shape(kind, segment_length, sr, n_mfcc)
    width = int(segment_length * sr)
    left, right = _margins(kind, sr, width)
    # The chunk is filled on the CPU, in the compute dtype there (the copy of each segment
    # into it converts it), in float32 and pinned for a GPU (its copy then needs no staging).
    cuda = device.type == "cuda"
    chunk = torch.zeros((batch, left + width + right), dtype=torch.float32 if cuda else dtype, pin_memory=cuda)
    staged = chunk.numpy()[:, left:left + width]
    pending: list[_Pending] = []
    filled = 0

    def flush() -> None:
        nonlocal filled
        computed = _kind_of_chunk(chunk[:filled].to(device=device, dtype=dtype, non_blocking=True),
                                  sr, kind, n_mfcc).cpu().numpy()
        row = 0
        for p in pending:
            p.result[p.first:p.first + p.count] = computed[row:row + p.count]
            row += p.count
        pending.clear()
        filled = 0

    results = []
    for wav in wavs:
        segments = glam.segment(np.asarray(wav, dtype=np.float32), sr, segment_length, overlap, padding)
        result = np.empty((len(segments), *shape), dtype=np.float32)
        results.append(result)
        done = 0
        while done < len(segments):
            take = min(len(segments) - done, batch - filled)
            staged[filled:filled + take] = segments[done:done + take]
            pending.append(_Pending(result, done, take))
            filled += take
            done += take
            if filled == batch:
                flush()
    if filled:
        flush()
    return results


# ---------------------------------------------------------------------------------------
# Seed 004's whole-utterance kinds of ser.features.spectral


def _signals(wav: np.ndarray, s: spectral.SpectralSettings, rng: np.random.Generator | None) -> list[np.ndarray]:
    """The float32 signals whose maps make an utterance's channels, drawn in the order of
    ``ser.features.spectral.extract``: the pre-emphasised wav (or its noisy copy under
    ``s.perturbation``), then for lognrevspec its white-noise and reverberant copies.

    Noise and reverb stay in numpy and scipy: the reverb is a chain of recursive filters
    and the noise must be the reference's own draws.
    """
    y = spectral.preemphasize(np.asarray(wav, dtype=np.float32), s.preemphasis)
    rate = s.reverb_rate or s.sample_rate
    if s.perturbation == "white":
        y = y + rng.normal(0.0, s.noise_std, len(y))
    elif s.perturbation == "reverb":
        y = spectral.sox_reverb(y, rate)
    if s.kind != "lognrevspec":
        return [np.asarray(y, dtype=np.float32)]
    noisy = y + rng.normal(0.0, s.noise_std, len(y))
    return [np.asarray(v, dtype=np.float32) for v in (y, noisy, spectral.sox_reverb(y, rate))]


def _power_rows(signals: list[np.ndarray], s: spectral.SpectralSettings, dtype: torch.dtype,
                device: torch.device) -> tuple[torch.Tensor, list[slice]]:
    """Power maps of many signals from one rfft call, and each signal's rows: librosa's
    centred frames with reflect padding, 1 + N // hop per signal. The map is (frames, n_mels)
    for the mel kinds, (frames, n_fft // 2 + 1) for the others.

    Each signal is reflect padded on its own and laid out at a multiple of the hop, so that
    one framing of the whole layout contains every signal's frames; the few frames that
    straddle two signals are computed and ignored.
    """
    hop, half = s.hop_length, s.n_fft // 2
    starts, rows, end = [], [], 0
    for y in signals:
        starts.append(end)
        rows.append(slice(end // hop, end // hop + 1 + len(y) // hop))
        end += math.ceil((len(y) + 2 * half) / hop) * hop
    layout = np.zeros(end, dtype=np.float32)
    for start, y in zip(starts, signals):
        # numpy's reflect padding, as librosa pads: it also works for signals shorter than the pad.
        layout[start:start + len(y) + 2 * half] = np.pad(y, half, mode="reflect")
    window = _window(s.window, s.win_length, s.n_fft, dtype, device)
    frames = torch.as_tensor(layout).to(device=device, dtype=dtype).unfold(0, s.n_fft, hop) * window
    squared = torch.view_as_real(torch.fft.rfft(frames)).square_()
    if s.kind in ("logmelspec", "logmeldeltaspec"):
        return _mel_bank(s.sample_rate, s.n_fft, s.n_mels, s.sample_rate / 2, dtype, device)(squared.flatten(-2)), rows
    return squared[..., 0] + squared[..., 1], rows  # torch's sum over a last axis of 2 is slow


def _power_to_db(power: torch.Tensor, amin: float, bins: int) -> torch.Tensor:
    """ser.features.spectral's dB map relative to the utterance's maximum over every bin, floored
    TOP_DB below it, of the lowest ``bins`` bins: (bins, frames), float64.

    From the power, not the magnitude: 10·log10(max(amin², |X|²)) is logspec's
    20·log10(max(amin, |X|)) without a square root per bin. The dB map's maximum is the
    maximum relative to itself, 0, so the floor is -TOP_DB.
    """
    power = power.to(torch.float64)
    reference = 10.0 * torch.log10(power.amax().clamp(min=amin))
    db = 10.0 * torch.log10(power[:, :bins].clamp(min=amin)) - reference
    return db.clamp_(min=-spectral.TOP_DB).T


def _sliding_dot(x: torch.Tensor, taps: tuple[float, ...]) -> torch.Tensor:
    """out[..., i] = sum over k of taps[k]·x[..., i + k], for every full window. A sum of
    shifted slices: on the CPU several times faster than a one-channel conv1d or a product
    with the unfolded windows."""
    n = x.shape[-1] - len(taps) + 1
    out = x[..., :n] * taps[0]
    for k, tap in enumerate(taps[1:], start=1):
        out.add_(x[..., k:k + n], alpha=tap)
    return out


def _delta(x: torch.Tensor, width: int, order: int, deriv: int, mode: str) -> torch.Tensor:
    """ser.features.spectral.delta along time of an (F, T) map: scipy's savgol_filter in ``nearest``
    (edges repeated) or ``interp`` mode (a polynomial fit on the first and last ``width`` frames)."""
    taps, ends = _savgol(width, order, deriv, x.dtype, x.device)
    half = width // 2
    if mode == "nearest":
        return _sliding_dot(F.pad(x[:, None], (half, half), mode="replicate")[:, 0], taps)
    if x.shape[-1] < width:
        raise ValueError(f"a width-{width} delta in interp mode needs at least {width} frames, got {x.shape[-1]}")
    middle = _sliding_dot(x, taps)
    return torch.cat([x[:, :width] @ ends[:half].T, middle, x[:, -width:] @ ends[-half:].T], dim=-1)


def _utterance_maps(powers: list[torch.Tensor], s: spectral.SpectralSettings) -> torch.Tensor:
    """(C, F, frames) of one utterance from the power maps (frames, bins) of its signals."""
    if s.kind in ("logmelspec", "logmeldeltaspec"):
        mel = _power_to_db(powers[0], 1e-10, s.n_mels)
        if s.kind == "logmelspec":
            return mel[None]
        first = _delta(mel, 5, 1, 1, "nearest")
        return torch.stack([mel, first, _delta(first, 5, 1, 1, "nearest")])
    specs = [_power_to_db(power, 1e-5 ** 2, s.n_freq) for power in powers]
    if s.kind == "logdeltaspec":
        spec = specs[0]
        return torch.stack([spec, _delta(spec, 9, 1, 1, "interp"), _delta(spec, 9, 2, 2, "interp")])
    return torch.stack(specs)  # logspec: one channel; lognrevspec: clean, noisy, reverberant


def extract_spectral_many(wavs: Sequence[np.ndarray], settings: spectral.SpectralSettings,
                          rngs: Sequence[np.random.Generator] | None = None, device: torch.device | str = "cpu",
                          dtype: torch.dtype | None = None, batch_frames: int | None = None) -> list[np.ndarray]:
    """``ser.features.spectral.extract`` for many utterances: one (S_i, C, F, T) float32 array per wav.

    ``rngs`` (one per wav, e.g. ``ser.features.spectral.utterance_rng(seed, name)``) are needed when
    the settings draw noise (lognrevspec, the white perturbation) and are drawn from exactly
    as the reference draws. Utterances are grouped into chunks of about ``batch_frames``
    STFT frames, each computed by one rfft call.
    """
    device, dtype = _resolve(device, dtype, settings.kind)
    s = settings
    if (s.kind == "lognrevspec" or s.perturbation == "white") and (rngs is None or len(rngs) != len(wavs)):
        raise ValueError(f"{s.kind} with perturbation {s.perturbation} draws white noise: pass one "
                         f"numpy Generator per wav as rngs")
    batch = batch_frames or (CUDA_BATCH_FRAMES if device.type == "cuda" else CPU_BATCH_FRAMES)
    pad = spectral.pad_values(s)
    results: list[np.ndarray] = []
    group: list[list[np.ndarray]] = []

    def flush() -> None:
        powers, rows = _power_rows([y for signals in group for y in signals], s, dtype, device)
        row = iter(rows)
        for signals in group:
            maps = _utterance_maps([powers[next(row)] for _ in signals], s)
            results.append(spectral.segment(maps.to(torch.float32).cpu().numpy(), s.segment_size, pad))
        group.clear()

    frames = 0
    for i, wav in enumerate(wavs):
        group.append(_signals(wav, s, rngs[i] if rngs is not None else None))
        frames += sum(1 + len(y) // s.hop_length for y in group[-1])
        if frames >= batch:
            flush()
            frames = 0
    if group:
        flush()
    return results


# ---------------------------------------------------------------------------------------
# A feature setting of the cache, computed here


@dataclass(frozen=True)
class TorchFeatures:
    """``settings`` computed by this module on ``device`` in ``dtype``, for ``ser.features.cache``.

    It offers what the cache asks of a feature setting, plus :meth:`compute_many`, which
    the cache calls with many utterances at once. Its key is the librosa setting's key with
    the backend and the dtype appended: the values differ from librosa's within the module
    doc's tolerances, so the two kinds of entry are kept apart, and so are the dtypes.
    """
    settings: glam.FeatureSettings | spectral.SpectralSettings
    device: str = "cpu"
    dtype: str | None = None  # "float32" or "float64"; None: the kind's :func:`default_dtype`

    def __post_init__(self):
        if self.dtype is None:
            object.__setattr__(self, "dtype", str(default_dtype(self.settings.kind)).removeprefix("torch."))

    @classmethod
    def for_device(cls, settings: glam.FeatureSettings | spectral.SpectralSettings,
                   device: torch.device | str) -> TorchFeatures:
        """``settings`` on ``device`` in the kind's :func:`default_dtype`."""
        return cls(settings, str(torch.device(device)))

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def sample_rate(self) -> int:
        return self.settings.sample_rate

    @property
    def uses_name(self) -> bool:
        return self.settings.uses_name

    def key(self, overlap: float | None) -> str:
        return f"{self.settings.key(overlap)}_torch_{self.dtype}"

    def entry_shape(self) -> tuple[int, ...]:
        return self.settings.entry_shape()

    def compute(self, wav: np.ndarray, overlap: float | None, name: str = "") -> np.ndarray:
        return self.compute_many([wav], overlap, [name])[0]

    def compute_many(self, wavs: Sequence[np.ndarray], overlap: float | None,
                     names: Sequence[str]) -> list[np.ndarray]:
        """The entries of many utterances at ``overlap``, one array per wav, as ``compute`` gives
        them one at a time; ``names`` seed seed 004's draws as they seed the reference's."""
        dtype = getattr(torch, self.dtype)
        s = self.settings
        if isinstance(s, spectral.SpectralSettings):
            rngs = [spectral.utterance_rng(s.seed, name) for name in names]
            return extract_spectral_many(wavs, s, rngs, device=self.device, dtype=dtype)
        return extract_many(wavs, s.sample_rate, s.kind, s.segment_length, overlap, n_mfcc=s.n_mfcc,
                            padding=s.padding, device=self.device, dtype=dtype)


# ---------------------------------------------------------------------------------------
# The built-in kinds' torch computations, attached to their registry entries

# Kinds whose reference is numpy in float64 throughout. In float32 an FFT bin more than about
# 120 dB below its frame's peak is mostly rounding error, and the spectrogram keeps bins down
# to -300 dB, so these stay float64 on every device.
FLOAT64_KINDS = ("spectrogram", "interspeech2018", "logfbank", "fbank")
_BANKS = glam.FILTERBANK_KINDS
_KERNELS = {  # kind: (kernel(x, sr, n_mfcc), margins)
    "mfcc": (_mfcc, _centred_margins(glam.MFCC_PARAMS)),
    "spectrogram": (lambda x, sr, n_mfcc: _spectrogram(x), _apcnn_margins),
    "interspeech2018": (lambda x, sr, n_mfcc: _interspeech2018(x), _apcnn_margins),
    "logfbank": (lambda x, sr, n_mfcc: _fbank(x, sr, _BANKS["logfbank"].nfilt, _BANKS["logfbank"].high, True),
                 _no_margins),
    "fbank": (lambda x, sr, n_mfcc: _fbank(x, sr, _BANKS["fbank"].nfilt, _BANKS["fbank"].high, False), _no_margins),
    "melspectrogram": (lambda x, sr, n_mfcc: _melspectrogram(x, sr), _centred_margins(glam.MELSPECTROGRAM_PARAMS))}
for _kind, (_kernel, _kind_margins) in _KERNELS.items():
    attach_torch(_kind, TorchComputation(_kernel, _kind_margins, "float64" if _kind in FLOAT64_KINDS else "float32"))
for _kind in spectral.KINDS:  # seed 004's family: extract_spectral_many, in float32
    attach_torch(_kind, TorchComputation(None, None, "float32"))
