"""ser.features.torch_backend against the reference path it stands in for (ser.features, ser.features.spectral).

Every kind is compared with the reference on speech-like signals at 16 and 8 kHz, for
utterances with no segment, exactly one segment and odd lengths, in chunks small enough that
utterances straddle two chunks. Tolerances are the largest |torch - reference| allowed, in
the kind's own units (MFCC, dB, log), for float64 and float32 (the default of all but the
float64 kinds, on every device); fbank's are relative.
"""
from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch
from test_features import GOLDEN, burst_then_quiet_signal, golden_signal

from ser.features import glam, spectral
from ser.features import torch_backend as tf

F64, F32 = torch.float64, torch.float32
# kind: (float64, float32) largest absolute difference allowed. float32 is an explicit choice
# for the spectrogram (its default is float64 on every device): its bins 130-160 dB below the
# maximum are off by a few tenths of a dB.
GLAM_TOLERANCE = {"mfcc": (1e-4, 5e-4), "melspectrogram": (1e-5, 1e-3), "spectrogram": (1e-5, 1.0),
                  "interspeech2018": (1e-6, 5e-5), "logfbank": (1e-6, 5e-4)}
FBANK_RELATIVE_TOLERANCE = (1e-6, 2e-4)
# dB channels, then delta channels (dB per frame)
SPECTRAL_TOLERANCE = {F64: (1e-4, 2e-5), F32: (1e-2, 2e-3)}
LENGTH, OVERLAP = 1.8, 1.6


def voice(seconds: float, sr: int, seed: int) -> np.ndarray:
    """A vowel-like harmonic tone with a gliding pitch, syllable-rate loudness and breath noise."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(100, 220) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    formant = rng.uniform(500, 900)
    harmonics = sum(np.sin(k * phase) / k * (1 + 4 * np.exp(-((k * f0 - formant) / 200) ** 2))
                    for k in range(1, int(sr / 2 / 330)))
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6)), 0.02, None)
    return (0.05 * harmonics * syllables + 0.002 * rng.standard_normal(n)).astype(np.float32)


def utterances(sr: int) -> list[np.ndarray]:
    """No segment (1.25 s), exactly one (1.8 s), and two odd lengths (5 and 8 segments)."""
    samples = [round(1.25 * sr), int(LENGTH * sr), round(2.6 * sr) + 1, round(3.3 * sr) + 13]
    return [voice(n / sr, sr, seed) for seed, n in enumerate(samples)]


_REFERENCE: dict[tuple, list[np.ndarray]] = {}


def reference(kind: str, sr: int, n_mfcc: int) -> list[np.ndarray]:
    """ser.features.glam.extract of utterances(sr), computed once per setting for all dtypes."""
    key = (kind, sr, n_mfcc)
    if key not in _REFERENCE:
        _REFERENCE[key] = [glam.extract(w, sr, kind, LENGTH, OVERLAP, n_mfcc=n_mfcc) for w in utterances(sr)]
    return _REFERENCE[key]


def assert_equal_within(ours: np.ndarray, expected: np.ndarray, atol: float, rtol: float = 0.0) -> None:
    assert ours.shape == expected.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, rtol=rtol, atol=atol)


def assert_kind_equal(kind: str, ours: np.ndarray, expected: np.ndarray, dtype: torch.dtype) -> None:
    precision = int(dtype == F32)
    if kind == "fbank":
        assert_equal_within(ours, expected, 0.0, FBANK_RELATIVE_TOLERANCE[precision])
    else:
        assert_equal_within(ours, expected, GLAM_TOLERANCE[kind][precision])


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("sr", [16000, 8000])
@pytest.mark.parametrize("kind, n_mfcc", [("mfcc", 13), ("mfcc", 26), ("mfcc", 40), ("spectrogram", 26),
                                          ("interspeech2018", 26), ("logfbank", 26), ("fbank", 26),
                                          ("melspectrogram", 26)])
def test_every_glam_kind_equals_the_reference(kind, n_mfcc, sr, dtype):
    expected = reference(kind, sr, n_mfcc)
    assert [len(e) for e in expected] == [0, 1, 5, 8]
    ours = tf.extract_many(utterances(sr), sr, kind, LENGTH, OVERLAP, n_mfcc=n_mfcc, dtype=dtype, batch_segments=3)
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected):
        assert_kind_equal(kind, mine, theirs, dtype)


@pytest.mark.filterwarnings("ignore:n_fft=.* is too large")
@pytest.mark.parametrize("kind", tf.GLAM_KINDS)
@pytest.mark.parametrize("length, sr", [(0.03, 16000), (0.3, 16000), (2.01, 16000), (0.5, 22050), (0.5, 44100)])
def test_short_and_odd_segments_and_other_rates_equal_the_reference(kind, length, sr):
    """Segments shorter than an FFT, lengths just below an integer number of samples, and
    44.1 kHz, whose 40 ms fbank frames are longer than their 1024-point FFT (cut, as numpy cuts)."""
    segments = voice(2 * length, sr, 5)[:2 * int(length * sr)].reshape(2, -1)
    expected = glam.features_of_segments(segments, sr, kind)
    assert_kind_equal(kind, tf.extract_segments(segments, sr, kind).numpy(), expected, tf.default_dtype(kind))


def test_padding_tiles_short_utterances_as_the_reference_does():
    wavs = [voice(0.5, 16000, 7), voice(1.0, 16000, 8)]
    ours = tf.extract_many(wavs, 16000, "mfcc", LENGTH, OVERLAP, padding=True)
    for wav, mine in zip(wavs, ours):
        assert_equal_within(mine, glam.extract(wav, 16000, "mfcc", LENGTH, OVERLAP, padding=True),
                            GLAM_TOLERANCE["mfcc"][0])
    assert [len(m) for m in ours] == [2, 2]  # tiled to 2.0 s: 4 and 2 copies


@pytest.mark.parametrize("n_mfcc", [1, 128])
def test_extract_segments_takes_arrays_or_tensors_and_every_mfcc_count(n_mfcc):
    segments = glam.segment(voice(2.5, 16000, 3), 16000, LENGTH, OVERLAP)
    expected = glam.features_of_segments(segments, 16000, "mfcc", n_mfcc)
    for given in (segments, torch.from_numpy(segments)):
        ours = tf.extract_segments(given, 16000, "mfcc", n_mfcc, batch_segments=2)
        assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float32 and ours.is_contiguous()
        assert_equal_within(ours.numpy(), expected, GLAM_TOLERANCE["mfcc"][0])


@pytest.mark.parametrize("kind", tf.GLAM_KINDS)
def test_zero_segments_give_the_reference_shape(kind):
    shape = glam.feature_shape(kind, LENGTH, 16000)
    assert tf.extract_segments(np.zeros((0, int(LENGTH * 16000)), np.float32), 16000, kind).shape == (0, *shape)
    assert tf.extract_many([np.ones(100, np.float32)], 16000, kind, LENGTH, OVERLAP)[0].shape == (0, *shape)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_mfcc_matches_the_committed_golden_array(dtype):
    ours = tf.extract_many([golden_signal()], 16000, "mfcc", LENGTH, OVERLAP, dtype=dtype)[0]
    assert_equal_within(ours, np.load(GOLDEN), GLAM_TOLERANCE["mfcc"][dtype == F32])


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_mfcc_equals_librosa_per_segment_where_the_80_db_floor_applies(dtype):
    """test_features checks that the floor decides most values of this signal."""
    segments = glam.segment(burst_then_quiet_signal(), 16000, LENGTH, OVERLAP)
    mel_params = {k: v for k, v in glam.MFCC_PARAMS.items() if k != "norm"}
    expected = np.stack([librosa.feature.mfcc(y=seg, sr=16000, n_mfcc=26, dct_type=2, norm="ortho", lifter=0,
                                              **mel_params) for seg in segments])
    ours = tf.extract_segments(segments, 16000, "mfcc", 26, dtype=dtype).numpy()
    # the reference rounds to float32 along the way: 2e-4 as in test_features
    assert_equal_within(ours, expected, 2e-4 if dtype == F64 else GLAM_TOLERANCE["mfcc"][1])


def test_bad_arguments_give_clear_errors():
    wav = [voice(2.0, 16000, 0)]
    with pytest.raises(ValueError, match="unknown feature kind 'wav2vec'; choose one of: mfcc"):
        tf.extract_many(wav, 16000, "wav2vec", LENGTH, OVERLAP)
    for n_mfcc in (0, 129):
        with pytest.raises(ValueError, match="n_mfcc must be between 1 and 128"):
            tf.extract_many(wav, 16000, "mfcc", LENGTH, OVERLAP, n_mfcc=n_mfcc)
    with pytest.raises(ValueError, match="dtype must be torch.float32 or torch.float64"):
        tf.extract_many(wav, 16000, "mfcc", LENGTH, OVERLAP, dtype=torch.float16)
    with pytest.raises(ValueError, match=r"segments must be a \(count, samples\) array"):
        tf.extract_segments(wav[0], 16000, "mfcc")
    with pytest.raises(ValueError, match="overlap"):
        tf.extract_many(wav, 16000, "mfcc", LENGTH, LENGTH)


# ---------------------------------------------------------------------------------------
# Seed 004's whole-utterance kinds


def spectral_utterances(sr: int) -> list[np.ndarray]:
    """One segment padded (0.3 s), two with the second almost empty (3.01 s + 1 sample)."""
    return [voice(0.3, sr, 10), voice(3.01 + 1 / sr, sr, 11), voice(1.7, sr, 12)]


def generators(s: spectral.SpectralSettings, count: int) -> list[np.random.Generator]:
    return [spectral.utterance_rng(s.seed, f"utterance{i}.wav") for i in range(count)]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("sr", [16000, 8000])
@pytest.mark.parametrize("kind, perturbation, pad", [("logspec", None, "max"), ("logspec", "white", "max"),
                                                     ("logspec", "reverb", "floor"), ("logmelspec", None, "max"),
                                                     ("logmeldeltaspec", None, "floor"), ("lognrevspec", None, "max"),
                                                     ("logdeltaspec", None, "max")])
def test_every_spectral_kind_equals_the_reference(kind, perturbation, pad, sr, dtype):
    s = spectral.SpectralSettings(kind=kind, sample_rate=sr, perturbation=perturbation, pad=pad)
    wavs = spectral_utterances(sr)
    expected = [spectral.extract(w, s, rng) for w, rng in zip(wavs, generators(s, len(wavs)))]
    assert [len(e) for e in expected] == [1, 2, 1]
    ours = tf.extract_spectral_many(wavs, s, generators(s, len(wavs)), dtype=dtype, batch_frames=400)
    db_tolerance, delta_tolerance = SPECTRAL_TOLERANCE[dtype]
    for mine, theirs in zip(ours, expected):
        assert mine.shape == theirs.shape and mine.dtype == np.float32
        for channel, is_db in enumerate(spectral._DB_CHANNELS[kind]):
            np.testing.assert_allclose(mine[:, channel], theirs[:, channel], rtol=0,
                                       atol=db_tolerance if is_db else delta_tolerance)


def test_the_db_reference_is_the_maximum_over_every_bin_not_only_the_kept_ones():
    """A loud 6 kHz tone is the utterance's maximum but lies above the kept 0-4 kHz bins."""
    s = spectral.SpectralSettings(kind="logspec", pad="floor")
    t = np.arange(16000) / 16000
    wav = voice(1.0, 16000, 4) + (0.5 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    expected = spectral.extract(wav, s, None)
    assert expected.max() < -10.0
    for dtype in (F64, F32):
        ours = tf.extract_spectral_many([wav], s, dtype=dtype)[0]
        np.testing.assert_allclose(ours, expected, rtol=0, atol=SPECTRAL_TOLERANCE[dtype][0])


def test_spectral_noise_needs_one_generator_per_wav():
    s = spectral.SpectralSettings(kind="lognrevspec")
    wavs = spectral_utterances(16000)
    for rngs in (None, generators(s, 1)):
        with pytest.raises(ValueError, match="pass one numpy Generator per wav as rngs"):
            tf.extract_spectral_many(wavs, s, rngs)


def test_interp_deltas_need_nine_frames_like_the_reference():
    """logdeltaspec's polynomial fit at the edges needs 9 frames: 0.05 s at 16 kHz has 6."""
    s = spectral.SpectralSettings(kind="logdeltaspec")
    wav = voice(0.05, 16000, 0)
    with pytest.raises(ValueError, match="window_length must be less than or equal"):
        spectral.extract(wav, s, generators(s, 1)[0])
    with pytest.raises(ValueError, match="needs at least 9 frames, got 6"):
        tf.extract_spectral_many([wav], s)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_float32_is_within_the_float32_tolerances():
    ours = tf.extract_many(utterances(16000), 16000, "mfcc", LENGTH, OVERLAP, device="cuda")
    for mine, theirs in zip(ours, reference("mfcc", 16000, 26)):
        assert_equal_within(mine, theirs, GLAM_TOLERANCE["mfcc"][1])
    s = spectral.SpectralSettings(kind="logdeltaspec")
    wavs = spectral_utterances(16000)
    expected = [spectral.extract(w, s, None) for w in wavs]
    for mine, theirs in zip(tf.extract_spectral_many(wavs, s, device="cuda"), expected):
        np.testing.assert_allclose(mine[:, 0], theirs[:, 0], rtol=0, atol=SPECTRAL_TOLERANCE[F32][0])
        np.testing.assert_allclose(mine[:, 1:], theirs[:, 1:], rtol=0, atol=SPECTRAL_TOLERANCE[F32][1])
