"""Segmentation and feature kinds, as the original GLAM code computes them."""
from pathlib import Path

import librosa
import numpy as np
import pytest
import python_speech_features as psf
from python_speech_features import sigproc

from ser.features import glam

GOLDEN = Path(__file__).parent / "data" / "mfcc_golden.npy"
SR = 16000


def golden_signal() -> np.ndarray:
    """3 s of a gliding harmonic tone in noise: deterministic, and not silent anywhere."""
    t = np.arange(3 * SR) / SR
    f0 = 150 + 50 * t
    phase = 2 * np.pi * np.cumsum(f0) / SR
    tone = sum(np.sin(k * phase) / k for k in range(1, 8))
    noise = np.random.default_rng(0).standard_normal(len(t))
    return (0.1 * tone + 0.01 * noise).astype(np.float32)


@pytest.mark.parametrize("length, overlap, hop", [(1.8, 1.6, 3199), (2, 1, 16000), (2, 1.6, 6399), (1.8, 0.9, 14400)])
def test_hop_is_computed_in_floating_point_like_the_original(length, overlap, hop):
    assert glam.segment_hop(length, overlap, SR) == hop


@pytest.mark.parametrize("n_samples", [28799, 28800, 28801, 31999, 32000, 3 * SR, 80000])
def test_segment_starts_and_tail(n_samples):
    wav = np.arange(n_samples, dtype=np.float32)
    segments = glam.segment(wav, SR, 1.8, 1.6)
    expected = 0 if n_samples < 28800 else 1 + (n_samples - 28800) // 3199
    assert segments.shape == (expected, 28800)
    for k, seg in enumerate(segments):
        assert seg[0] == k * 3199 and seg[-1] == k * 3199 + 28799


def test_short_utterance_is_dropped_or_tiled():
    wav = np.arange(10000, dtype=np.float32)
    assert glam.segment(wav, SR, 1.8, 1.6).shape == (0, 28800)
    tiled = glam.segment(wav, SR, 1.8, 1.6, padding=True)
    # ceil(28800 / 10000) = 3 copies = 30000 samples: one segment, made of the utterance repeated
    assert tiled.shape == (1, 28800)
    np.testing.assert_array_equal(tiled[0][:10000], wav)
    np.testing.assert_array_equal(tiled[0][10000:20000], wav)
    assert glam.extract(wav, SR, "mfcc", 1.8, 1.6).shape == (0, 26, 57)


def test_overlap_must_be_shorter_than_segment():
    with pytest.raises(ValueError, match="overlap"):
        glam.segment(np.zeros(40000, np.float32), SR, 1.8, 1.8)


@pytest.mark.parametrize("length, shape", [(1.8, (26, 57)), (2.0, (26, 63))])
def test_mfcc_shape(length, shape):
    out = glam.extract(golden_signal(), SR, "mfcc", length, 1.6 if length == 1.8 else 1.0)
    assert out.shape[1:] == shape and out.dtype == np.float32


def _original_maps(kind: str, segments: np.ndarray) -> np.ndarray:
    """The maps the original computes: its call of the library behind each kind, applied along
    the segment axis as it applies it, then float32 as its data loader hands them on."""
    calls = {
        "mfcc": lambda x: librosa.feature.mfcc(y=x, sr=SR, n_mfcc=26),
        "spectrogram": lambda x: sigproc.logpowspec(sigproc.framesig(x, 640, 160), NFFT=3198).swapaxes(0, 1)[:400],
        "interspeech2018": _original_interspeech2018,
        "logfbank": lambda x: psf.logfbank(signal=x, samplerate=SR, winlen=0.040, winstep=0.010, nfft=1024,
                                           highfreq=4000, nfilt=40),
        "fbank": lambda x: psf.fbank(signal=x, samplerate=SR, winlen=0.040, winstep=0.010, nfft=1024)[0],
        "melspectrogram": lambda x: np.log10(
            librosa.feature.melspectrogram(y=x, sr=SR, n_fft=800, hop_length=400)[np.newaxis, :]).squeeze(),
    }
    return np.apply_along_axis(calls[kind], 1, segments).astype(np.float32)


def _original_interspeech2018(x: np.ndarray) -> np.ndarray:
    out = sigproc.magspec(sigproc.framesig(x, 640, 160), NFFT=3198)
    out = out / out.max() * 2 - 1
    out = np.sign(out) * np.log(1 + 255 * np.abs(out)) / np.log(256)
    return out.swapaxes(0, 1)[:400]


@pytest.mark.parametrize("kind", glam.FEATURE_KINDS)
@pytest.mark.parametrize("length, overlap", [(1.8, 1.6), (2.0, 1.0)])
def test_every_kind_is_the_originals_library_call_to_the_last_bit(kind, length, overlap):
    """Bit for bit, on this machine: the same library calls, segment by segment, in the same
    floating point types (a batched STFT or a float64 dB changes the last bits)."""
    wav = golden_signal()
    wav[SR:SR + 8000] *= 1e-4  # a very quiet part: the MFCC's 80 dB floor is per segment
    segments = glam.segment(wav, SR, length, overlap)
    assert len(segments) > 1
    np.testing.assert_array_equal(glam.extract(wav, SR, kind, length, overlap), _original_maps(kind, segments))


def burst_then_quiet_signal() -> np.ndarray:
    """0.4 s of a loud harmonic tone, then 3.6 s of noise about 80 dB below it (4 s in all).

    Segments over the burst have most of their mel power more than 80 dB under their own
    maximum, so the floor decides those values; the later segments hold only the quiet
    noise, whose maximum is itself more than 80 dB under the burst's, so a floor taken over
    several segments together would flatten them entirely.
    """
    t = np.arange(4 * SR) / SR
    x = 1e-4 * np.random.default_rng(2).standard_normal(len(t))
    burst = t < 0.4
    x[burst] += 0.5 * sum(np.sin(2 * np.pi * k * 220 * t[burst]) / k for k in range(1, 6))
    return x.astype(np.float32)


def test_mfcc_equals_librosa_mfcc_where_the_80_db_floor_applies():
    """The reference is librosa.feature.mfcc itself, called on one segment at a time with every
    parameter it takes explicit, as the original calls it. It takes the dB with power_to_db's
    defaults (ref 1, amin 1e-10, top_db 80: each segment floored 80 dB below its own maximum),
    which it does not let a caller pass; the test pins those defaults instead."""
    assert librosa.power_to_db.__kwdefaults__ == {"ref": 1.0, "amin": 1e-10, "top_db": 80.0}
    segments = glam.segment(burst_then_quiet_signal(), SR, 1.8, 1.6)
    # mfcc()'s own `norm` is the DCT's; the mel filters' Slaney norm is librosa's default
    mel_params = {k: v for k, v in glam.MFCC_PARAMS.items() if k != "norm"}
    unfloored = np.stack([librosa.power_to_db(librosa.feature.melspectrogram(y=seg, sr=SR, **mel_params),
                                              ref=1.0, amin=1e-10, top_db=None) for seg in segments])
    tops = unfloored.max(axis=(1, 2))
    floored = (unfloored < tops[:, None, None] - 80.0).mean(axis=(1, 2))
    assert floored[0] > 0.5  # the floor decides most values of the first segment
    assert (tops < tops.max() - 80.0).any()  # a floor over all segments would flatten these
    reference = np.stack([librosa.feature.mfcc(y=seg, sr=SR, n_mfcc=26, dct_type=2, norm="ortho", lifter=0,
                                               **mel_params)
                          for seg in segments])
    np.testing.assert_array_equal(glam.mfcc(segments, SR, 26), reference)


def test_mfcc_matches_committed_golden_array():
    out = glam.extract(golden_signal(), SR, "mfcc", 1.8, 1.6)
    np.testing.assert_allclose(out, np.load(GOLDEN), rtol=1e-5, atol=2e-4)


def test_spectrogram_shape_and_normalisation():
    out = glam.extract(golden_signal(), SR, "spectrogram", 2.0, 1.0)
    assert out.shape[1:] == (400, 197)
    # log power normalised to each segment's maximum (0 dB), floors at -300 dB
    np.testing.assert_allclose(out.max(axis=(1, 2)), 0.0, atol=1e-5)


def test_spectrogram_frames_follow_python_speech_features():
    """Frame k spans samples [160k, 160k + 640); the last one is zero padded."""
    x = np.zeros((1, 1000), np.float32)
    x[0, 700] = 1.0  # lies in frames 1..3 (starts 160, 320, 480), not in frame 0
    frames = glam._frames(x[0], 640, 160)
    assert frames.shape == (4, 640) and frames.dtype == np.float64
    assert [frames[k].sum() for k in range(4)] == [0, 1, 1, 1]


@pytest.mark.parametrize("kind", glam.FEATURE_KINDS)
def test_every_kind_is_finite_float32(kind):
    out = glam.extract(golden_signal(), SR, kind, 2.0, 1.0)
    assert out.dtype == np.float32 and out.ndim == 3 and len(out) == 2
    assert np.isfinite(out).all()
    assert out.shape[1:] == glam.feature_shape(kind, 2.0)


@pytest.mark.parametrize("kind", glam.FEATURE_KINDS)
@pytest.mark.parametrize("length, sr", [(0.03, SR), (0.3, SR), (1.8, SR), (2.01, SR), (3.3, SR), (1.8, 8000),
                                        (2.0, 22050)])
def test_shape_from_framing_equals_the_computed_maps(kind, length, sr):
    """feature_shape never computes a map; each kind's framing must still predict its size."""
    wav = np.random.default_rng(1).standard_normal((2, int(length * sr))).astype(np.float32)
    computed = glam.features_of_segments(wav, sr, kind, n_mfcc=26).shape[1:]
    assert glam.feature_shape(kind, length, sr, n_mfcc=26) == computed


def test_unknown_kind_lists_choices():
    with pytest.raises(ValueError, match="mfcc"):
        glam.extract(golden_signal(), SR, "wav2vec", 2.0, 1.0)
