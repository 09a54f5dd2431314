"""Seed 004's spectrogram features: log (mel) spectrograms cut into T-frame segments.

Seed 004 (samsudinng/speech_emo_recognition)
treats an utterance's spectrogram as an image. Unlike the GLAM features (``ser.features.glam``,
which cut the *waveform* first), the whole utterance is analysed once and its map is cut:

    wav (N,) --pre-emphasis--> --kind--> (C, F, frames) --segment()--> (S, C, F, T) float32

Kinds (16 kHz, 40 ms periodic Hamming window = 640 samples zero-padded to n_fft
800, hop 10 ms = 160, centred frames with reflect padding, so frames = 1 + len // 160):

- ``logspec`` (C=1): 20·log10 of the STFT magnitude relative to the utterance's maximum over
  all 401 bins (amin 1e-5), floored 80 dB below it, then the lowest ``n_freq`` = 200 bins.
- ``logmelspec`` (C=1): 10·log10 of 128 Slaney mel bands (0-8 kHz, Slaney area norm) of the
  power STFT relative to their maximum (amin 1e-10), floored 80 dB below it.
- ``logmeldeltaspec`` (C=3): logmelspec, its width-5 Savitzky-Golay delta (edge mode
  ``nearest``) and the same delta of that delta.
- ``lognrevspec`` (C=3): logspec of the signal, of the signal plus white noise N(0, 0.002),
  and of the signal through SoX's ``reverb`` (reimplemented below, no binary needed); each
  has its own dB reference. Noise and reverb act on the pre-emphasised signal, as the seed.
- ``logdeltaspec`` (C=3, undocumented in the seed): logspec, its width-9 delta and its
  width-9 second-order delta (both librosa ``delta`` with edge mode ``interp``).

Segmentation: ceil(frames / T) consecutive, non-overlapping segments of T = 300
frames (3 s); the last one is padded at its end. The seed pads with 0.0, which in these dB
maps is the utterance's *maximum*, so padding looks like the loudest sound (a bug).
``pad="max"`` keeps that (the default, for parity); ``pad="floor"`` pads the dB channels
with the -80 dB floor (silence) and the delta channels with 0 (no change) instead.

Differences from the seed, each a fix: white noise comes from a generator seeded by (seed,
utterance name) instead of NumPy's global stream, so a feature does not depend on the order
of extraction; noise shorter than the speech is tiled instead of failing.
``reverb_rate`` is the rate SoX is told the audio has: the seed's pysndfx declared 44100 Hz
for 16 kHz audio, stretching every reverb time ×2.76; 44100 keeps that, ``None`` uses
the true rate.

Also here: ``--mixnoise`` versions (clean, the clean wav mixed with each noise at
its SNR, and reverb applied *before* pre-emphasis, as the seed does), the noise-mixing
function of ``create_mixed_audio_file.py``. Mix one file by hand with

    python -m ser.features.spectral CLEAN.wav NOISE.wav OUT.wav --snr 6
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import librosa
import numpy as np
import scipy.signal
import soundfile as sf

from ser.features.audio import UnusableAudio, load_audio
from ser.features.recipe import Decibels, MelFilters, Segmentation, Stft
from ser.features.registry import FeatureKind, register_feature_kind
from ser.io import write_via_temporary

SAMPLE_RATE = 16000
KINDS = ("logspec", "logmelspec", "logmeldeltaspec", "lognrevspec", "logdeltaspec")
CHANNELS = {"logspec": 1, "logmelspec": 1, "logmeldeltaspec": 3, "lognrevspec": 3, "logdeltaspec": 3}
# Which channels hold dB values (the rest are deltas): what ``pad="floor"`` pads with.
_DB_CHANNELS = {"logspec": (True,), "logmelspec": (True,), "logmeldeltaspec": (True, False, False),
                "lognrevspec": (True, True, True), "logdeltaspec": (True, False, False)}
PAD_MODES = ("max", "floor")
# Paired noisy copies of a whole feature map (stability training, ``ser.training.augment``).
PERTURBATIONS = ("white", "reverb")
TOP_DB = 80.0
SEED = 100  # the seed's extraction seed

# --mixnoise: the seven active noises of the seed, in version order, with their SNR
# in dB. The seed's files are DEMAND-like recordings that this project does not ship; the
# user supplies one wav per name.
MIXNOISE = (("cafetaria", 0.0), ("kitchen", 0.0), ("park", 6.0), ("traffic", 6.0),
            ("presto", 10.0), ("river", 0.0), ("square", 0.0))

# Bump when a change here alters the numbers, so old cache entries are ignored.
FEATURE_CODE_VERSION = 1


@dataclass(frozen=True)
class SpectralSettings:
    """Every parameter that changes the numbers (the seed's extraction command line)."""
    kind: str = "logspec"
    sample_rate: int = SAMPLE_RATE
    window: str = "hamming"
    win_length_ms: float = 40.0
    hop_length_ms: float = 10.0
    n_fft: int = 800
    n_freq: int = 200          # linear bins kept (logspec, lognrevspec, logdeltaspec)
    n_mels: int = 128          # mel bands (logmelspec, logmeldeltaspec)
    segment_size: int = 300    # T, frames per segment
    pad: str = "max"           # see the module doc
    preemphasis: float = 0.97
    noise_std: float = 0.002   # lognrevspec's white noise and the "white" perturbation
    reverb_rate: int | None = 44100  # rate SoX is told; None: the true rate (see module doc)
    perturbation: str | None = None  # a paired noisy copy: None, "white" or "reverb"
    seed: int = SEED

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown spectral feature kind {self.kind!r}; choose one of: {', '.join(KINDS)}")
        if self.pad not in PAD_MODES:
            raise ValueError(f"unknown pad mode {self.pad!r}; choose one of: {', '.join(PAD_MODES)}")
        if self.perturbation not in (None, *PERTURBATIONS):
            raise ValueError(f"unknown perturbation {self.perturbation!r}; choose one of: "
                             f"{', '.join(PERTURBATIONS)}")
        if self.segment_size < 1 or self.n_freq < 1 or self.n_mels < 1:
            raise ValueError("segment_size, n_freq and n_mels must be at least 1")
        if self.win_length > self.n_fft:
            raise ValueError(f"the window ({self.win_length} samples) is longer than n_fft ({self.n_fft})")
        if self.n_freq > self.n_fft // 2 + 1:
            raise ValueError(f"n_freq {self.n_freq} exceeds the {self.n_fft // 2 + 1} bins of n_fft {self.n_fft}")

    @property
    def win_length(self) -> int:
        return int(self.win_length_ms / 1000 * self.sample_rate)

    @property
    def hop_length(self) -> int:
        return int(self.hop_length_ms / 1000 * self.sample_rate)

    @property
    def channels(self) -> int:
        return CHANNELS[self.kind]

    @property
    def bins(self) -> int:
        return self.n_mels if self.kind in ("logmelspec", "logmeldeltaspec") else self.n_freq

    def segment_shape(self) -> tuple[int, int, int]:
        """(C, F, T) of one segment."""
        return self.channels, self.bins, self.segment_size

    def shape(self) -> tuple[int, int]:
        """(C·F, T): one segment with its channels stacked along frequency, the (F, T) map the
        shared pipeline and the model registry take (see :func:`pack`)."""
        return self.channels * self.bins, self.segment_size

    # The noisy channel of lognrevspec draws from a generator seeded by the utterance's name.
    uses_name = True
    # The flags that set a map's size (for messages).
    SIZE_FLAGS = "--segment_size, --nfreq or --nmel"

    @classmethod
    def from_flags(cls, kind: str, flags) -> SpectralSettings:
        """The settings of ``kind`` that a run's flags (a RunConfig or a parsed namespace) set."""
        return cls(kind=kind, sample_rate=flags.sample_rate, n_freq=flags.nfreq, n_mels=flags.nmel,
                   segment_size=flags.segment_size, pad=flags.pad, reverb_rate=flags.reverb_rate or None)

    def key(self, overlap: float | None = None) -> str:
        """The cache folder of these settings; the whole utterance is cut into consecutive
        segments, so there is no overlap and one entry serves training and testing."""
        described = dict(asdict(self), version=FEATURE_CODE_VERSION)
        digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
        return f"{self.kind}_T{self.segment_size}_{digest}"

    def entry_shape(self) -> tuple[int, int, int]:
        """Shape of one cached segment, (C, F, T)."""
        return self.segment_shape()

    def compute(self, wav: np.ndarray, overlap: float | None = None, name: str = "") -> np.ndarray:
        """(S, C, F, T) float32 of one utterance, its random draws seeded by (seed, ``name``)."""
        return extract(wav, self, utterance_rng(self.seed, name))

    def model_input(self, entry: np.ndarray) -> np.ndarray:
        """A cached (S, C, F, T) entry as the model takes it, (S, C·F, T) (see :func:`pack`)."""
        return pack(entry)

    def prediction_input(self, wav: np.ndarray, overlap: float | None = None, name: str = "") -> np.ndarray:
        """The model input of a new recording: its last segment padded, as in training."""
        return pack(self.compute(wav, overlap, name))

    def is_tiled(self, samples: int) -> bool:
        """Seed 004's segments pad a short recording instead of tiling it."""
        return False

    def describe_segmentation(self, overlap: float | None = None) -> dict:
        """How export says a recording is cut (see ``ser.features.recipe``); no overlap."""
        return asdict(Segmentation(
            segment_samples=None, hop_samples=None, frames_per_segment=self.segment_size,
            rule=(f"the recording's map of 1 + N // {self.hop_length} frames is cut into max(1, ceil(frames / "
                  f"{self.segment_size})) consecutive segments of {self.segment_size} frames, without overlap; each "
                  "segment's (channels, bins, frames) is then stacked channel after channel into "
                  "(channels * bins, frames)"),
            tail=f"the last segment is padded at its end, channel c with {pad_values(self).tolist()}[c]",
            short_recording="one segment, padded as the tail"))


def pack(segments: np.ndarray) -> np.ndarray:
    """(S, C, F, T) -> (S, C·F, T), channel after channel along frequency (a view)."""
    s, c, f, t = segments.shape
    return segments.reshape(s, c * f, t)


def utterance_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of one utterance's random draws, from (seed, name) only."""
    return np.random.default_rng(np.random.SeedSequence([seed, *f"ser.spectral/{name}".encode()]))


# ---------------------------------------------------------------------------------------
# Signal level: pre-emphasis, SoX reverb, noise mixing


def preemphasize(wav: np.ndarray, coef: float = 0.97) -> np.ndarray:
    """y[n] = x[n] - coef·x[n-1] with a zero initial state, so y[0] = x[0]."""
    wav = np.asarray(wav)
    return np.concatenate([wav[:1], wav[1:] - coef * wav[:-1]])


# SoX's reverb (reverb.c, after Jezar's freeverb): delay lengths in samples at 44.1 kHz.
_COMB_LENGTHS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
_ALLPASS_LENGTHS = (225, 341, 441, 556)
_STEREO_ADJUST = 12


def _comb(x: np.ndarray, size: int, feedback: float, damping: float) -> np.ndarray:
    """Feedback comb with a one-pole low-pass in the loop: out[n] = w[n-size],
    store[n] = (1-d)·out[n] + d·store[n-1], w[n] = x[n] + feedback·store[n].

    The loop's delay is ``size`` samples, so a block of ``size`` outputs depends only on the
    previous block: each block is one first-order filter call instead of a per-sample loop.
    """
    out = np.zeros_like(x)
    previous_w = np.zeros(size)
    store = 0.0
    for start in range(0, len(x), size):
        block = slice(start, min(start + size, len(x)))
        n = block.stop - block.start
        out[block] = previous_w[:n]
        stored, _ = scipy.signal.lfilter([1 - damping], [1, -damping], out[block], zi=[damping * store])
        store = stored[-1]
        previous_w = x[block] + feedback * stored
    return out


def _allpass(x: np.ndarray, size: int) -> np.ndarray:
    """SoX's allpass: w[n] = x[n] + 0.5·w[n-size], out[n] = w[n-size] - x[n]."""
    out = np.empty_like(x)
    previous_w = np.zeros(size)
    for start in range(0, len(x), size):
        block = slice(start, min(start + size, len(x)))
        n = block.stop - block.start
        out[block] = previous_w[:n] - x[block]
        previous_w = x[block] + 0.5 * previous_w[:n]
    return out


def _filter_array(x: np.ndarray, ratio: float, scale: float, offset: float, feedback: float,
                  damping: float) -> np.ndarray:
    """One of SoX's two filter arrays: 8 parallel combs, then 4 allpasses in series. The
    stereo offset flips sign from filter to filter, combs first, then allpasses."""
    total = np.zeros_like(x)
    for length in _COMB_LENGTHS:
        total += _comb(x, int(scale * ratio * (length + _STEREO_ADJUST * offset) + 0.5), feedback, damping)
        offset = -offset
    allpass_sizes = []
    for length in _ALLPASS_LENGTHS:
        allpass_sizes.append(int(ratio * (length + _STEREO_ADJUST * offset) + 0.5))
        offset = -offset
    for size in reversed(allpass_sizes):  # SoX runs them from the last to the first
        total = _allpass(total, size)
    return total


def sox_reverb(wav: np.ndarray, rate: float, reverberance: float = 50.0, hf_damping: float = 50.0,
               room_scale: float = 100.0, stereo_depth: float = 100.0, pre_delay_ms: float = 20.0,
               wet_gain_db: float = 0.0) -> np.ndarray:
    """SoX ``reverb`` on a mono signal, mixed back to mono; same length as the input.

    Defaults are pysndfx 0.3.6's ``AudioEffectsChain().reverb()``. ``rate`` is the rate SoX
    is *told* (pysndfx told it 44100 for the seed's 16 kHz audio). With a stereo depth SoX
    makes two wet channels (filter arrays at stereo offsets 0 and depth) and pysndfx asked
    for mono output, so they are averaged: out = dry + (wet0 + wet1) / 2, clipped to [-1, 1]
    as SoX's float-to-sample conversion does. The last ``pre_delay`` samples never reach the
    reverb, as in SoX (which never drains the pre-delay).
    """
    x = np.asarray(wav, dtype=np.float64)
    delay = int(pre_delay_ms / 1000 * rate + 0.5)
    scale = room_scale / 100 * 0.9 + 0.1
    depth = stereo_depth / 100
    a = -1 / math.log(1 - 0.3)             # minimum feedback
    b = 100 / (math.log(1 - 0.98) * a + 1)  # maximum feedback
    feedback = 1 - math.exp((reverberance - b) / (a * b))
    damping = hf_damping / 100 * 0.3 + 0.2
    gain = 10 ** (wet_gain_db / 20) * 0.015
    delayed = np.concatenate([np.zeros(delay), x])[:len(x)]
    ratio = rate / 44100
    wets = [_filter_array(delayed, ratio, scale, i * depth, feedback, damping) * gain
            for i in range(math.ceil(depth) + 1)]
    return np.clip(x + np.mean(wets, axis=0), -1.0, 1.0)


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """``create_mixed_audio_file``'s mix: in 16-bit units, a noise piece as long as
    the speech, from a random start, scaled to ``clean_rms / 10**(snr/20)`` and added; a mix
    beyond the int16 range is scaled down as a whole. Returns float32 in [-1, 1].

    Noise shorter than the speech is tiled (the seed failed).
    """
    speech = np.round(np.asarray(clean, dtype=np.float64) * 32767)
    background = np.round(np.asarray(noise, dtype=np.float64) * 32767)
    if len(background) == 0 or not background.any():
        raise ValueError("the noise signal is empty or silent; it cannot be scaled to an SNR")
    if len(background) < len(speech):
        background = np.tile(background, math.ceil(len(speech) / len(background)))
    start = int(rng.integers(0, len(background) - len(speech) + 1))
    piece = background[start:start + len(speech)]
    piece_rms = math.sqrt(float(np.mean(piece ** 2)))
    if piece_rms == 0:
        raise ValueError("the stretch of noise drawn for this utterance is silent; trim the silence "
                         "from the noise file")
    target_rms = math.sqrt(float(np.mean(speech ** 2))) / 10 ** (snr_db / 20)
    mixed = speech + piece * (target_rms / piece_rms)
    top, bottom = mixed.max(), mixed.min()
    if top > 32767 or bottom < -32768:
        mixed *= (-32768 / bottom) if abs(bottom) > top else (32767 / top)
    return (mixed / 32767).astype(np.float32)


# ---------------------------------------------------------------------------------------
# Maps: STFT, dB, deltas


def _stft_magnitude(y: np.ndarray, s: SpectralSettings) -> np.ndarray:
    # pad_mode is explicit: librosa 0.10 changed its default from reflect (the seed's) to constant.
    return np.abs(librosa.stft(y=np.asarray(y, dtype=np.float32), n_fft=s.n_fft, hop_length=s.hop_length,
                               win_length=s.win_length, window=s.window, center=True, pad_mode="reflect"))


def _to_db(values: np.ndarray, factor: float, amin: float) -> np.ndarray:
    """factor·log10(max(amin, v) / max(amin, max v)), floored TOP_DB below its maximum
    (librosa's amplitude_to_db / power_to_db with ref=np.max)."""
    db = factor * np.log10(np.maximum(amin, values)) - factor * np.log10(max(amin, float(values.max())))
    return np.maximum(db, db.max() - TOP_DB)


def logspec(y: np.ndarray, s: SpectralSettings) -> np.ndarray:
    """(F, frames): dB magnitude over all bins, then the lowest ``n_freq`` bins."""
    return _to_db(_stft_magnitude(y, s), 20.0, 1e-5)[:s.n_freq]


def logmelspec(y: np.ndarray, s: SpectralSettings) -> np.ndarray:
    """(n_mels, frames): Slaney mel bands of the power STFT in dB."""
    bank = librosa.filters.mel(sr=s.sample_rate, n_fft=s.n_fft, n_mels=s.n_mels, fmin=0.0,
                               fmax=s.sample_rate / 2, htk=False, norm="slaney")
    return _to_db(bank @ _stft_magnitude(y, s) ** 2, 10.0, 1e-10)


def delta(x: np.ndarray, width: int, order: int = 1, mode: str = "nearest") -> np.ndarray:
    """Savitzky-Golay derivative of ``order`` along time (librosa's ``delta``)."""
    return scipy.signal.savgol_filter(x, width, polyorder=order, deriv=order, axis=-1, mode=mode)


def spectral_maps(y: np.ndarray, s: SpectralSettings, rng: np.random.Generator) -> np.ndarray:
    """(C, F, frames) float32 of an already pre-emphasised signal."""
    if s.kind == "logspec":
        maps = [logspec(y, s)]
    elif s.kind == "logmelspec":
        maps = [logmelspec(y, s)]
    elif s.kind == "logmeldeltaspec":
        mel = logmelspec(y, s)
        first = delta(mel, 5)
        maps = [mel, first, delta(first, 5)]  # a delta of the delta, not librosa's order=2
    elif s.kind == "lognrevspec":
        noisy = y + rng.normal(0.0, s.noise_std, len(y))
        maps = [logspec(y, s), logspec(noisy, s), logspec(_reverb(y, s), s)]
    else:  # logdeltaspec
        spec = logspec(y, s)
        maps = [spec, delta(spec, 9, 1, "interp"), delta(spec, 9, 2, "interp")]
    return np.stack(maps).astype(np.float32)


def _reverb(y: np.ndarray, s: SpectralSettings) -> np.ndarray:
    return sox_reverb(y, s.reverb_rate or s.sample_rate)


def pad_values(s: SpectralSettings) -> np.ndarray:
    """(C,) value each channel's last segment is padded with (see the module doc)."""
    if s.pad == "max":
        return np.zeros(s.channels, dtype=np.float32)
    return np.array([-TOP_DB if is_db else 0.0 for is_db in _DB_CHANNELS[s.kind]], dtype=np.float32)


def segment(maps: np.ndarray, size: int, pad: np.ndarray) -> np.ndarray:
    """(C, F, frames) -> (ceil(frames/size), C, F, size): consecutive, non-overlapping; the
    last segment (the only one when frames < size) is padded at its end with ``pad[c]``."""
    channels, bins, frames = maps.shape
    count = max(1, math.ceil(frames / size))
    out = np.empty((count, channels, bins, size), dtype=np.float32)
    out[...] = np.asarray(pad, dtype=np.float32)[None, :, None, None]
    for k in range(count):
        piece = maps[:, :, k * size:(k + 1) * size]
        out[k, :, :, :piece.shape[-1]] = piece
    return out


def extract(wav: np.ndarray, s: SpectralSettings, rng: np.random.Generator) -> np.ndarray:
    """One utterance (mono, at ``s.sample_rate``) -> its segments (S, C, F, T) float32.

    With ``s.perturbation`` the map is that of a noisy copy: white noise N(0, noise_std) or
    the reverb added to the pre-emphasised signal, as lognrevspec's channels 1 and 2.
    """
    y = preemphasize(np.asarray(wav, dtype=np.float32), s.preemphasis)
    if s.perturbation == "white":
        y = y + rng.normal(0.0, s.noise_std, len(y))
    elif s.perturbation == "reverb":
        y = _reverb(y, s)
    return segment(spectral_maps(y, s, rng), s.segment_size, pad_values(s))


def mixnoise_versions(wav: np.ndarray, s: SpectralSettings, noises: list[tuple[np.ndarray, float]],
                      rng: np.random.Generator) -> list[np.ndarray]:
    """``--mixnoise``: [clean, one per (noise, snr), reverb], each (S, C, F, T).

    Noise is mixed into the raw wav and reverb applied to it *before* pre-emphasis, as the
    seed does here (unlike lognrevspec).
    """
    versions = [extract(wav, s, rng)]
    for noise, snr in noises:
        versions.append(extract(mix_at_snr(wav, noise, snr, rng), s, rng))
    versions.append(extract(_reverb(np.asarray(wav, dtype=np.float64), s).astype(np.float32), s, rng))
    return versions


# ---------------------------------------------------------------------------------------
# The standalone noise mixer (the seed's create_mixed_audio_file.py)


def mix_files(clean_path: str | os.PathLike, noise_path: str | os.PathLike, out_path: str | os.PathLike,
              snr_db: float, seed: int = SEED, sample_rate: int = SAMPLE_RATE) -> None:
    """Mix a noise file into a speech file at ``snr_db`` and write a float WAV (atomically).

    Both are read at ``sample_rate`` (the seed kept the noise file's rate)."""
    clean = load_audio(clean_path, sample_rate).samples
    noise = load_audio(noise_path, sample_rate).samples
    mixed = mix_at_snr(clean, noise, snr_db, utterance_rng(seed, Path(clean_path).name))
    write_via_temporary(out_path, lambda tmp: sf.write(tmp, mixed, sample_rate, subtype="FLOAT", format="WAV"))


# ---------------------------------------------------------------------------------------
# Seed 004's kinds' entries (ser.features.registry). The family computes every kind the same
# way (spectral_maps, cut by segment); ser.features.torch_backend attaches the batched path.

FAMILY = "seed004"
_CHANNEL_NAMES = {
    "logspec": ["logspec"],
    "logmelspec": ["logmelspec"],
    "logmeldeltaspec": ["logmelspec", "delta of channel 0", "delta of channel 1"],
    "lognrevspec": ["logspec", "logspec of the pre-emphasised signal plus white noise",
                    "logspec of the pre-emphasised signal through the reverb"],
    "logdeltaspec": ["logspec", "first derivative of channel 0", "second derivative of channel 0"],
}
_HELP = {"logspec": "seed 004's log spectrogram image, --nfreq bins",
         "logmelspec": "seed 004's log mel image, --nmel bands",
         "logmeldeltaspec": "logmelspec with its two deltas (3 channels)",
         "lognrevspec": "logspec of the clean, noisy and reverberant signal (3 channels)",
         "logdeltaspec": "logspec with its width-9 deltas (3 channels)"}


def describe(s: SpectralSettings) -> dict:
    """The steps of one seed-004 map, computed once on the whole recording, then cut (export)."""
    recipe = {
        "preemphasis": {"coefficient": s.preemphasis,
                        "rule": f"y[0] = x[0], y[n] = x[n] - {s.preemphasis} x[n-1], on the whole recording"},
        "stft": asdict(Stft(s.n_fft, s.hop_length, s.win_length, s.window, True, True, "reflect", 1.0)),
        "channels": _CHANNEL_NAMES[s.kind],
        "logspec": {"of": "the STFT magnitude",
                    "decibels": asdict(Decibels(20.0, 1e-5, "max", TOP_DB, "the whole recording, all bins")),
                    "bins": f"the lowest {s.n_freq} of n_fft // 2 + 1, kept after the dB step"},
        "layout": "(channels, bins, frames)",
    }
    if s.kind in ("logmelspec", "logmeldeltaspec"):
        recipe["logmelspec"] = {
            "of": "mel_filters @ magnitude ** 2",
            "mel_filters": asdict(MelFilters(s.n_mels, 0.0, s.sample_rate / 2, False, "slaney")),
            "decibels": asdict(Decibels(10.0, 1e-10, "max", TOP_DB, "the whole recording, all bands"))}
        del recipe["logspec"]
    if s.kind == "logmeldeltaspec":
        recipe["delta"] = {"rule": "scipy.signal.savgol_filter along frames", "window_length": 5, "polyorder": 1,
                           "deriv": 1, "mode": "nearest"}
    if s.kind == "logdeltaspec":
        recipe["delta"] = {"rule": "scipy.signal.savgol_filter along frames, polyorder = deriv",
                           "window_length": 9, "derivs": [1, 2], "mode": "interp"}
    if s.kind == "lognrevspec":
        # the reverb's settings are sox_reverb's defaults, read from it so that they cannot drift
        parameters = inspect.signature(sox_reverb).parameters.items()
        reverb = {name: p.default for name, p in parameters if p.default is not inspect.Parameter.empty}
        recipe["noise"] = {"distribution": "normal", "mean": 0.0, "std": s.noise_std,
                           "note": "drawn per recording by this package; any draw serves outside it"}
        recipe["reverb"] = {"effect": "SoX reverb, its two wet channels averaged and added to the dry signal, "
                                      "clipped to [-1, 1]",
                            "rate_told_to_sox": s.reverb_rate or s.sample_rate, **reverb}
    return recipe


def _shape(s: SpectralSettings) -> tuple[int, int]:
    return s.shape()


for _kind in KINDS:
    register_feature_kind(FeatureKind(_kind, FAMILY, SpectralSettings, _shape, spectral_maps, describe,
                                      help=_HELP[_kind], channels=CHANNELS[_kind]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser.features.spectral",
                                     description="Mix a noise recording into a speech file at a given SNR "
                                                 "(seed 004's create_mixed_audio_file).")
    parser.add_argument("clean", help="speech wav")
    parser.add_argument("noise", help="noise wav (tiled when shorter than the speech)")
    parser.add_argument("out", help="mixed wav to write (32-bit float)")
    parser.add_argument("--snr", type=float, required=True, help="signal-to-noise ratio in dB")
    parser.add_argument("--seed", type=int, default=SEED, help="seeds the noise start position")
    args = parser.parse_args(argv)
    try:
        mix_files(args.clean, args.noise, args.out, args.snr, args.seed)
    except (UnusableAudio, ValueError, OSError) as error:
        print(f"ser.features.spectral: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
