"""Segmentation and per-segment features, as the GLAM code computes them.

An utterance is cut into fixed-length segments and each segment becomes one 2-D feature map:

    wav (N,) --segment()--> (S, L samples) --kind--> (S, F, T) float32

``extract(wav, sr, kind, segment_length, overlap)`` does both steps. Feature kinds:

- ``mfcc`` (GLAM's default): librosa MFCC, 26 coefficients, with every librosa parameter
  passed explicitly (n_fft 2048, hop 512, Hann, centred zero padding, 128 Slaney mels,
  power 2, ``power_to_db`` with ref 1, amin 1e-10 and an 80 dB floor under the segment's own
  maximum, orthonormal DCT-II). 26×57 for 1.8 s, 26×63 for 2 s.
- ``spectrogram`` (APCNN): python_speech_features-style framing (640-sample frames, step 160,
  rectangular window, last frame zero padded), log power spectrum with NFFT 3198 normalised
  to its maximum, lowest 400 bins, frequency × time: 400×197 for 2 s.
- ``interspeech2018``: the same frames as a mu-law companded magnitude spectrum.
- ``logfbank`` / ``fbank``: python_speech_features-style filterbanks (pre-emphasis 0.97,
  40 ms rectangular frames, 10 ms step, NFFT 1024, HTK-mel triangles): logfbank is the log
  of 40 filters up to 4 kHz, fbank 26 filters up to 8 kHz. As in the original these are
  time × filters, not transposed.
- ``melspectrogram``: log10 of a librosa mel spectrogram with n_fft 800, hop 400.

Every kind is computed one segment at a time, with the calls and the arithmetic of the library
the original calls (librosa, python_speech_features), in the same order and the same floating
point types, so that each map equals the original's to the last bit on the same machine
(``tests/test_features.py`` checks this against those libraries). Computing a whole utterance's
segments in one batched call is the same mathematics, but other array shapes take other BLAS
and FFT kernels, whose last bits differ on some CPUs.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import asdict, dataclass

import librosa
import numpy as np

from ser.features.recipe import Dct, Decibels, Framing, MelFilters, Segmentation, Stft
from ser.features.registry import FeatureKind, feature_kind, register_feature_kind

SAMPLE_RATE = 16000
# The kinds this module registers (the end of the module); other modules may register more.
FEATURE_KINDS = ("mfcc", "spectrogram", "interspeech2018", "logfbank", "fbank", "melspectrogram")

# librosa.feature.mfcc's defaults, spelled out: librosa changed the STFT padding from reflect
# to constant in 0.9 and took away positional signal arguments in 0.10; pinning them here
# keeps features identical across versions (the golden test fails loudly otherwise).
MFCC_PARAMS = dict(n_fft=2048, hop_length=512, win_length=None, window="hann", center=True,
                   pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None,
                   htk=False, norm="slaney")
DB_REF, DB_AMIN, DB_TOP = 1.0, 1e-10, 80.0
# APCNN's spectrogram: the lowest 400 bins of a 3198-point FFT.
SPECTROGRAM_NFFT, SPECTROGRAM_BINS = 3198, 400
# The original's melspectrogram call, n_fft 800 and hop 400; the rest are librosa's defaults,
# spelled out as for the MFCC.
MELSPECTROGRAM_PARAMS = dict(MFCC_PARAMS, n_fft=800, hop_length=400)
# Bump when a change here alters the numbers, so old cache entries are ignored. 2: every kind
# per segment in the original's arithmetic (1 computed the MFCC's dB in float64 and batched
# the segments' spectra).
FEATURE_CODE_VERSION = 2


def segment_hop(segment_length: float, overlap: float, sr: int) -> int:
    """Samples between segment starts: ``int((L - overlap) * sr)``, floating point and all.

    For L=1.8 s and overlap 1.6 s that is 3199, not 3200, exactly as in the original.
    """
    hop = int((segment_length - overlap) * sr)
    if hop <= 0:
        raise ValueError(f"overlap ({overlap} s) must be shorter than the segment length ({segment_length} s)")
    return hop


def tile_to_length(wav: np.ndarray, segment_length: float, sr: int) -> np.ndarray:
    """``--padding``: repeat a short utterance end to end until one segment fits."""
    if len(wav) == 0:
        raise ValueError("cannot tile an empty signal")
    copies = math.ceil(segment_length * sr / len(wav))
    return np.tile(wav, copies) if copies > 1 else wav


def segment(wav: np.ndarray, sr: int, segment_length: float, overlap: float,
            padding: bool = False) -> np.ndarray:
    """Cut ``wav`` into segments of ``segment_length`` seconds, ``(S, int(L*sr))``.

    Starts are 0, hop, 2·hop, … while start + L·sr ≤ len(wav); the tail is dropped. An
    utterance shorter than one segment gives zero segments, or is tiled first with ``padding``.
    """
    seg_len = segment_length * sr  # a float, compared and sliced exactly as the original does
    hop = segment_hop(segment_length, overlap, sr)
    if seg_len > len(wav) and padding:
        wav = tile_to_length(wav, segment_length, sr)
    starts = []
    index = 0
    while index + seg_len <= len(wav):
        starts.append(index)
        index += hop
    width = int(seg_len)
    if not starts:
        return np.zeros((0, width), dtype=wav.dtype)
    # Every segment is int(L·sr) samples, as in the original. Slicing up to int(start + L·sr)
    # instead gave a sample more at some starts when L·sr falls just below an integer in
    # floating point (2.01 s at 16 kHz is 32159.999999999996), and the stack failed.
    return np.stack([wav[s:s + width] for s in starts])


def _per_segment(compute, segments: np.ndarray) -> np.ndarray:
    """``compute`` on one segment at a time, stacked: the original applies its feature function
    along the segment axis (``np.apply_along_axis``). Calling the libraries on the whole batch
    at once gives the same mathematics but other array shapes, so other BLAS and FFT kernels
    and, on some CPUs, other last bits; per segment, the bits are the original's."""
    return np.stack([compute(segment) for segment in segments])


@functools.lru_cache(maxsize=8)
def _mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None, htk: bool,
                 norm: str) -> np.ndarray:
    """``librosa.filters.mel``, which ``librosa.feature.melspectrogram`` rebuilds on every call
    (almost half of a segment's MFCC time); the same float32 filters, built once."""
    filters = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    filters.flags.writeable = False
    return filters


def _mel_power(segment: np.ndarray, sr: int, p: dict) -> np.ndarray:
    """``librosa.feature.melspectrogram(y=segment, sr=sr, **p)``: its steps, its calls and its
    product, with the mel filters built once."""
    spectrum = np.abs(librosa.stft(segment, n_fft=p["n_fft"], hop_length=p["hop_length"], win_length=p["win_length"],
                                   window=p["window"], center=p["center"], pad_mode=p["pad_mode"])) ** p["power"]
    filters = _mel_filters(sr, p["n_fft"], p["n_mels"], p["fmin"], p["fmax"], p["htk"], p["norm"])
    return np.einsum("...ft,mf->...mt", spectrum, filters, optimize=True)


def _mfcc_of_segment(segment: np.ndarray, sr: int, n_mfcc: int) -> np.ndarray:
    """``librosa.feature.mfcc(y=segment, sr=sr, n_mfcc=n_mfcc)`` as the original calls it, in
    the same three steps it takes, with every parameter explicit: the mel power spectrum,
    ``power_to_db`` (in float32, with the 80 dB floor under this segment's own maximum) and
    the orthonormal DCT-II."""
    db = librosa.power_to_db(_mel_power(segment, sr, MFCC_PARAMS), ref=DB_REF, amin=DB_AMIN, top_db=DB_TOP)
    return librosa.feature.mfcc(S=db, n_mfcc=n_mfcc, dct_type=2, norm="ortho", lifter=0)


def mfcc(segments: np.ndarray, sr: int, n_mfcc: int = 26) -> np.ndarray:
    """MFCCs of a batch of segments ``(S, L)`` → ``(S, n_mfcc, frames)`` float32."""
    return _per_segment(lambda segment: _mfcc_of_segment(segment, sr, n_mfcc), segments)


def _frame_count(n: int, frame_len: int, frame_step: int) -> int:
    """python_speech_features' frame count for ``n`` samples: ``1 + ceil((n - len)/step)``."""
    return 1 if n <= frame_len else 1 + math.ceil((n - frame_len) / frame_step)


def _frames(signal: np.ndarray, frame_len: int, frame_step: int) -> np.ndarray:
    """python_speech_features framing of one signal ``(N,)`` → ``(frames, frame_len)`` float64:
    ``1 + ceil((N - len)/step)`` frames, the end zero padded (the padding is float64, which
    makes the frames float64 whatever the signal's type, as there)."""
    count = _frame_count(signal.shape[-1], frame_len, frame_step)
    padded = np.concatenate((signal, np.zeros((count - 1) * frame_step + frame_len - len(signal))))
    index = np.arange(frame_len)[None, :] + frame_step * np.arange(count)[:, None]
    return padded[index]


def _magnitude(frames: np.ndarray, nfft: int) -> np.ndarray:
    return np.abs(np.fft.rfft(frames, nfft))


def _power(frames: np.ndarray, nfft: int) -> np.ndarray:
    """python_speech_features' power spectrum: ``1/NFFT · |rfft|²``, multiplied by the
    rounded reciprocal as there (dividing by NFFT rounds differently)."""
    return 1.0 / nfft * np.square(_magnitude(frames, nfft))


def _spectrogram_of_segment(segment: np.ndarray, nfft: int, bins: int) -> np.ndarray:
    power = _power(_frames(segment, 640, 160), nfft)
    power[power <= 1e-30] = 1e-30
    log_power = 10 * np.log10(power)
    return (log_power - np.max(log_power)).swapaxes(0, 1)[:bins]


def spectrogram(segments: np.ndarray, nfft: int = SPECTROGRAM_NFFT, bins: int = SPECTROGRAM_BINS) -> np.ndarray:
    """APCNN's log power spectrogram, ``(S, 400, frames)``: python_speech_features'
    ``logpowspec(framesig(segment, 640, 160), 3198)`` (floored at 1e-30, normalised to the
    segment's maximum), frequency × time, the lowest 400 bins."""
    return _per_segment(lambda segment: _spectrogram_of_segment(segment, nfft, bins), segments)


def _interspeech2018_of_segment(segment: np.ndarray, nfft: int, bins: int) -> np.ndarray:
    magnitude = _magnitude(_frames(segment, 640, 160), nfft)
    scaled = magnitude / magnitude.max() * 2 - 1
    companded = np.sign(scaled) * np.log(1 + 255 * np.abs(scaled)) / np.log(256)
    return companded.swapaxes(0, 1)[:bins]


def interspeech2018(segments: np.ndarray, nfft: int = SPECTROGRAM_NFFT, bins: int = SPECTROGRAM_BINS) -> np.ndarray:
    """Magnitude spectrum scaled to [-1, 1] by its maximum, then mu-law (mu 255)."""
    return _per_segment(lambda segment: _interspeech2018_of_segment(segment, nfft, bins), segments)


def _hz_to_mel(hz):
    return 2595 * np.log10(1 + hz / 700.0)


def _mel_to_hz(mel):
    return 700 * (10 ** (mel / 2595.0) - 1)


def _filterbank(nfilt: int, nfft: int, sr: int, low: float, high: float) -> np.ndarray:
    """Triangular HTK-mel filters on FFT bins, as python_speech_features builds them."""
    mel_points = np.linspace(_hz_to_mel(low), _hz_to_mel(high), nfilt + 2)
    bins = np.floor((nfft + 1) * _mel_to_hz(mel_points) / sr)
    bank = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        lo, mid, hi = int(bins[j]), int(bins[j + 1]), int(bins[j + 2])
        for i in range(lo, mid):
            bank[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(mid, hi):
            bank[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    return bank


@dataclass(frozen=True)
class FilterbankKind:
    """The filter bank of one of the original's two filterbank kinds."""
    nfilt: int
    high: float | None  # top edge in Hz; None: half the sample rate
    log: bool


# logfbank: 40 filters up to 4 kHz, natural log; fbank: the original left nfilt at its default 26.
FILTERBANK_KINDS = {"logfbank": FilterbankKind(nfilt=40, high=4000.0, log=True),
                    "fbank": FilterbankKind(nfilt=26, high=None, log=False)}


def _fbank_of_segment(segment: np.ndarray, sr: int, bank: np.ndarray, log: bool) -> np.ndarray:
    # pre-emphasis in the segment's own float32, as python_speech_features computes it
    emphasized = np.append(segment[0], segment[1:] - 0.97 * segment[:-1])
    frames = _frames(emphasized, round(0.040 * sr), round(0.010 * sr))
    energies = np.dot(_power(frames, 1024), bank.T)
    energies = np.where(energies == 0, np.finfo(float).eps, energies)
    return np.log(energies) if log else energies


def fbank(segments: np.ndarray, sr: int, nfilt: int, high: float | None = None, log: bool = False) -> np.ndarray:
    """Mel filterbank energies, ``(S, frames, nfilt)``: python_speech_features' ``fbank`` (and
    ``logfbank`` with ``log``): pre-emphasis 0.97, 40 ms frames, 10 ms step, NFFT 1024."""
    bank = _filterbank(nfilt, 1024, sr, 0.0, high or sr / 2)
    return _per_segment(lambda segment: _fbank_of_segment(segment, sr, bank, log), segments)


def melspectrogram(segments: np.ndarray, sr: int) -> np.ndarray:
    """log10 of ``librosa.feature.melspectrogram(y=segment, sr=sr, n_fft=800, hop_length=400)``."""
    return _per_segment(lambda segment: np.log10(_mel_power(segment, sr, MELSPECTROGRAM_PARAMS)), segments)


def features_of_segments(segments: np.ndarray, sr: int, kind: str, n_mfcc: int = 26) -> np.ndarray:
    """One feature map per segment, ``(S, F, T)`` float32 (the original's float64 maps become
    float32 where its data loader converts them, so this rounds once, as it does)."""
    out = feature_kind(kind, family=FAMILY).compute(segments, sr, n_mfcc)
    return np.ascontiguousarray(out, dtype=np.float32)


def feature_shape(kind: str, segment_length: float, sr: int = SAMPLE_RATE, n_mfcc: int = 26) -> tuple[int, int]:
    """``(F, T)`` of one segment's map, from each kind's framing alone.

    Every run asks for it before reading its cached features; computing a map instead would
    load librosa and compile its numba kernels, seconds per process for nothing (a test checks
    these shapes against computed maps for every kind).
    """
    return tuple(feature_kind(kind, family=FAMILY).shape(int(segment_length * sr), sr, n_mfcc))


def extract(wav: np.ndarray, sr: int, kind: str, segment_length: float, overlap: float,
            n_mfcc: int = 26, padding: bool = False) -> np.ndarray:
    """Segment ``wav`` (sampled at ``sr``) and compute ``kind`` per segment: ``(S, F, T)`` float32.

    Utterances shorter than one segment give ``S = 0`` unless ``padding`` tiles them.
    """
    segments = segment(np.asarray(wav, dtype=np.float32), sr, segment_length, overlap, padding)
    if len(segments) == 0:
        return np.zeros((0, *feature_shape(kind, segment_length, sr, n_mfcc)), dtype=np.float32)
    return features_of_segments(segments, sr, kind, n_mfcc)


@dataclass(frozen=True)
class FeatureSettings:
    """Every parameter that changes a GLAM feature map, but the overlap (one setting serves the
    training and the test overlap). The feature cache and checkpoints key on these."""
    kind: str = "mfcc"
    sample_rate: int = SAMPLE_RATE
    n_mfcc: int = 26
    segment_length: float = 1.8
    padding: bool = False

    # GLAM's kinds draw nothing at random, so an entry does not depend on the utterance's name.
    uses_name = False
    # The flags that set a map's size (for messages).
    SIZE_FLAGS = "--segment_length, --sample_rate or --nmfcc"

    @classmethod
    def from_flags(cls, kind: str, flags) -> FeatureSettings:
        """The settings of ``kind`` that a run's flags (a RunConfig or a parsed namespace) set."""
        return cls(kind=kind, sample_rate=flags.sample_rate, n_mfcc=flags.nmfcc, segment_length=flags.segment_length,
                   padding=flags.padding)

    def __reduce__(self):
        # Pickled for the cache's worker processes: the kind's computation travels by reference,
        # so unpickling imports the module that registered it (a kind of a module of its own).
        return _settings_of, (feature_kind(self.kind).compute, asdict(self))

    def key(self, overlap: float) -> str:
        """The cache folder of these settings at ``overlap``."""
        described = dict(asdict(self), overlap=overlap, version=FEATURE_CODE_VERSION)
        digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
        return f"{self.kind}_L{self.segment_length}_O{overlap}_{digest}"

    def shape(self) -> tuple[int, int]:
        """(F, T) of one segment, as the model sees it."""
        return feature_shape(self.kind, self.segment_length, self.sample_rate, self.n_mfcc)

    def entry_shape(self) -> tuple[int, ...]:
        """Shape of one segment as the cache stores it (the model's (F, T))."""
        return self.shape()

    def compute(self, wav: np.ndarray, overlap: float, name: str = "") -> np.ndarray:
        """(S, F, T) float32 of one utterance; ``name`` is not used (GLAM's kinds draw nothing)."""
        return extract(wav, self.sample_rate, self.kind, self.segment_length, overlap,
                       n_mfcc=self.n_mfcc, padding=self.padding)

    def model_input(self, entry: np.ndarray) -> np.ndarray:
        """A cached entry as the model takes it: GLAM maps are (S, F, T) already."""
        return entry

    def prediction_input(self, wav: np.ndarray, overlap: float, name: str = "") -> np.ndarray:
        """The maps of a new recording: a recording shorter than one segment is tiled until
        one fits (the original's ``--padding`` rule) instead of giving no segment at all."""
        return extract(wav, self.sample_rate, self.kind, self.segment_length, overlap,
                       n_mfcc=self.n_mfcc, padding=True)

    def is_tiled(self, samples: int) -> bool:
        """Whether a recording of ``samples`` samples is shorter than one segment."""
        return samples < self.segment_length * self.sample_rate

    def describe_segmentation(self, overlap: float) -> dict:
        """How export says a recording is cut at ``overlap`` (see ``ser.features.recipe``)."""
        sr, length = self.sample_rate, self.segment_length
        return asdict(Segmentation(
            segment_samples=int(length * sr), hop_samples=segment_hop(length, overlap, sr), frames_per_segment=None,
            rule=(f"segment k covers samples [k * hop_samples, k * hop_samples + segment_samples) for every k with "
                  f"k * hop_samples + {length} * {sr} <= N (the product taken in floating point), N the "
                  "recording's length; the waveform is cut first, then each segment's map is computed alone"),
            tail="the samples after the last whole segment are dropped",
            short_recording=("a recording shorter than segment_length_s is repeated end to end "
                             "ceil(segment_length_s * sample_rate / N) times first, so that one segment fits")))


def _settings_of(compute, fields: dict) -> FeatureSettings:
    """:meth:`FeatureSettings.__reduce__`'s rebuild (``compute`` came only to import its module)."""
    return FeatureSettings(**fields)


# ---------------------------------------------------------------------------------------
# The GLAM kinds' entries (ser.features.registry): computation, shape, what export writes.
# ser.features.torch_backend attaches their torch computations.

FAMILY = "glam"


def _mfcc_kind(segments: np.ndarray, sr: int, n_mfcc: int) -> np.ndarray:
    return mfcc(segments, sr, n_mfcc)


def _mfcc_shape(samples: int, sr: int, n_mfcc: int) -> tuple[int, int]:
    return min(n_mfcc, MFCC_PARAMS["n_mels"]), 1 + samples // MFCC_PARAMS["hop_length"]  # centred STFT frames


def _mfcc_check(settings: FeatureSettings) -> str | None:
    if not 1 <= settings.n_mfcc <= MFCC_PARAMS["n_mels"]:
        return (f"--nmfcc: n_mfcc must be between 1 and {MFCC_PARAMS['n_mels']} (the number of mel bands it is "
                f"computed from), not {settings.n_mfcc}")
    return None


def _stft_of(p: dict) -> dict:
    return asdict(Stft(p["n_fft"], p["hop_length"], p["win_length"] or p["n_fft"], p["window"], True,
                       p["center"], p["pad_mode"], p["power"]))


def _mel_filters_of(p: dict, sr: int) -> dict:
    return asdict(MelFilters(p["n_mels"], p["fmin"], p["fmax"] or sr / 2, p["htk"], p["norm"]))


def _mfcc_recipe(settings: FeatureSettings) -> dict:
    p, sr = MFCC_PARAMS, settings.sample_rate
    return {"steps": ["power STFT", "mel filterbank @ power", "decibels", "DCT"],
            "stft": _stft_of(p), "mel_filters": _mel_filters_of(p, sr),
            "decibels": asdict(Decibels(10.0, DB_AMIN, DB_REF, DB_TOP, "segment")),
            "dct": asdict(Dct(2, "ortho", min(settings.n_mfcc, p["n_mels"]))),
            "layout": "(coefficients, frames)"}


def _spectrogram_kind(segments: np.ndarray, sr: int, n_mfcc: int) -> np.ndarray:
    return spectrogram(segments)


def _interspeech2018_kind(segments: np.ndarray, sr: int, n_mfcc: int) -> np.ndarray:
    return interspeech2018(segments)


def _apcnn_shape(samples: int, sr: int, n_mfcc: int) -> tuple[int, int]:
    return min(SPECTROGRAM_BINS, SPECTROGRAM_NFFT // 2 + 1), _frame_count(samples, 640, 160)


def _spectrogram_recipe(settings: FeatureSettings) -> dict:
    return {"steps": ["framing", "power (1 / n_fft) * |rfft|^2", "10*log10(max(power, 1e-30))",
                      "minus its maximum over the segment", "the lowest bins"],
            "framing": asdict(Framing(640, 160, SPECTROGRAM_NFFT)), "bins": SPECTROGRAM_BINS,
            "layout": "(bins, frames)"}


def _interspeech2018_recipe(settings: FeatureSettings) -> dict:
    return {"steps": ["framing", "magnitude |rfft|", "x / max over the segment * 2 - 1",
                      "mu-law: sign(x) * log(1 + 255 |x|) / log(256)", "the lowest bins"],
            "framing": asdict(Framing(640, 160, SPECTROGRAM_NFFT)), "bins": SPECTROGRAM_BINS,
            "layout": "(bins, frames)"}


def _logfbank_kind(segments: np.ndarray, sr: int, n_mfcc: int) -> np.ndarray:
    bank = FILTERBANK_KINDS["logfbank"]
    return fbank(segments, sr, nfilt=bank.nfilt, high=bank.high, log=bank.log)


def _fbank_kind(segments: np.ndarray, sr: int, n_mfcc: int) -> np.ndarray:
    bank = FILTERBANK_KINDS["fbank"]
    return fbank(segments, sr, nfilt=bank.nfilt, high=bank.high, log=bank.log)


def _filterbank_shape(kind: str):
    def shape(samples: int, sr: int, n_mfcc: int) -> tuple[int, int]:  # time × filters, as in the original
        return _frame_count(samples, round(0.040 * sr), round(0.010 * sr)), FILTERBANK_KINDS[kind].nfilt
    return shape


def _filterbank_recipe(kind: str):
    def recipe(settings: FeatureSettings) -> dict:
        bank, sr = FILTERBANK_KINDS[kind], settings.sample_rate
        return {"steps": ["pre-emphasis", "framing", "power (1 / n_fft) * |rfft|^2", "filterbank @ power",
                          "zero energies replaced by float64 eps"] + (["natural log"] if bank.log else []),
                "preemphasis": {"coefficient": 0.97, "rule": "y[0] = x[0], y[n] = x[n] - 0.97 x[n-1]"},
                "framing": asdict(Framing(round(0.040 * sr), round(0.010 * sr), 1024)),
                "filterbank": {"filters": bank.nfilt, "low_hz": 0.0, "high_hz": bank.high or sr / 2,
                               "rule": "python_speech_features' get_filterbanks: HTK mel (2595 log10(1 + f/700)) "
                                       "points evenly spaced from low to high, bin = floor((n_fft + 1) * hz / "
                                       "sample_rate), triangles rising over [bin[j], bin[j+1]) and falling over "
                                       "[bin[j+1], bin[j+2])"},
                "layout": "(frames, filters)"}
    return recipe


def _melspectrogram_kind(segments: np.ndarray, sr: int, n_mfcc: int) -> np.ndarray:
    return melspectrogram(segments, sr)


def _melspectrogram_shape(samples: int, sr: int, n_mfcc: int) -> tuple[int, int]:
    return MELSPECTROGRAM_PARAMS["n_mels"], 1 + samples // MELSPECTROGRAM_PARAMS["hop_length"]  # centred frames


def _melspectrogram_recipe(settings: FeatureSettings) -> dict:
    p, sr = MELSPECTROGRAM_PARAMS, settings.sample_rate
    return {"steps": ["power STFT", "mel filterbank @ power", "log10 (no floor)"],
            "stft": _stft_of(p), "mel_filters": _mel_filters_of(p, sr), "layout": "(mel bands, frames)"}


for _entry in (
        FeatureKind("mfcc", FAMILY, FeatureSettings, _mfcc_shape, _mfcc_kind, _mfcc_recipe, check=_mfcc_check,
                    help="GLAM's default: librosa MFCC of each segment, --nmfcc coefficients"),
        FeatureKind("spectrogram", FAMILY, FeatureSettings, _apcnn_shape, _spectrogram_kind, _spectrogram_recipe,
                    help="APCNN's log power spectrogram, the lowest 400 bins"),
        FeatureKind("interspeech2018", FAMILY, FeatureSettings, _apcnn_shape, _interspeech2018_kind,
                    _interspeech2018_recipe, help="mu-law companded magnitude spectrum"),
        FeatureKind("logfbank", FAMILY, FeatureSettings, _filterbank_shape("logfbank"), _logfbank_kind,
                    _filterbank_recipe("logfbank"), help="log of 40 mel filters up to 4 kHz (time x filters)"),
        FeatureKind("fbank", FAMILY, FeatureSettings, _filterbank_shape("fbank"), _fbank_kind,
                    _filterbank_recipe("fbank"), help="26 mel filterbank energies (time x filters)"),
        FeatureKind("melspectrogram", FAMILY, FeatureSettings, _melspectrogram_shape, _melspectrogram_kind,
                    _melspectrogram_recipe, help="log10 mel spectrogram, n_fft 800, hop 400")):
    register_feature_kind(_entry)
