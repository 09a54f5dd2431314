"""Seed 004's spectrogram features (ser/features/spectral.py) and the features file of extract_features.py:
parameters checked against librosa as an independent oracle, shapes and channel counts of
every kind, the segmentation and its padding rule, SoX's reverb against a per-sample port of
its C code, noise mixing, the cache, and the per-speaker pickle layout."""
from __future__ import annotations

import math
import pickle
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

import extract_features
from ser.corpora import emodb
from ser.corpora.labels import LABEL_SETS
from ser.features import spectral
from ser.features.cache import FeatureCache
from ser.features.spectral import SpectralSettings
from ser.synthetic import synth_emodb


def load_corpus_features(wavs, names, settings, cache_dir):
    """Every wav's (S, C, F, T) segments and the load report, through the feature cache."""
    per_overlap, report = FeatureCache(cache_dir).load(wavs, settings, progress=False, names=names)
    return per_overlap[None], report

SR = 16000


def tone(seconds: float, freq: float = 1000.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def librosa_stft(y: np.ndarray) -> np.ndarray:
    return np.abs(librosa.stft(y=y.astype(np.float32), n_fft=800, hop_length=160, win_length=640, window="hamming",
                               center=True, pad_mode="reflect"))


GOLDEN = Path(__file__).parent / "data" / "spectral_golden.npz"
# Every 8th bin and 3rd frame of the one 64-frame segment (its last 3 frames padded): every
# stage of the chain shows in it, in a few KB per kind.
GOLDEN_CELLS = (slice(None), slice(None), slice(None, None, 8), slice(None, None, 3))


def golden_wav() -> np.ndarray:
    """0.6 s (61 frames) of a gliding harmonic tone in noise: deterministic, loud and quiet bins."""
    t = np.arange(int(0.6 * SR)) / SR
    phase = 2 * np.pi * np.cumsum(180 + 120 * t) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    return (0.1 * voiced + 0.003 * np.random.default_rng(4).standard_normal(len(t))).astype(np.float32)


def golden_cells(kind: str, backend: str) -> np.ndarray:
    s = SpectralSettings(kind=kind, segment_size=64)
    rng = spectral.utterance_rng(s.seed, "golden.wav")
    if backend == "librosa":
        maps = spectral.extract(golden_wav(), s, rng)
    else:
        from ser.features import torch_backend
        maps = torch_backend.extract_spectral_many([golden_wav()], s, [rng], dtype=torch.float64)[0]
    return maps[GOLDEN_CELLS]


@pytest.mark.parametrize("backend", ["librosa", "torch"])
@pytest.mark.parametrize("kind", spectral.KINDS)
def test_every_kind_matches_its_committed_golden_array(kind, backend):
    """A change made in both backends alike (another window, a window added, another dB
    reference or delta) escapes their comparison with each other: the arrays committed in
    tests/data/spectral_golden.npz catch it. Rewrite them only for a deliberate change, with
    ``PYTHONPATH=. python tests/test_spectral.py --write-golden``, and bump FEATURE_CODE_VERSION."""
    golden = np.load(GOLDEN)[kind]
    ours = golden_cells(kind, backend)
    assert ours.shape == golden.shape
    for channel, is_db in enumerate(spectral._DB_CHANNELS[kind]):  # float32's tolerances of the torch backend
        np.testing.assert_allclose(ours[:, channel], golden[:, channel], rtol=0, atol=1e-2 if is_db else 2e-3)


def test_preemphasis_has_zero_initial_state():
    x = np.array([0.5, 1.0, -1.0, 0.25])
    np.testing.assert_allclose(spectral.preemphasize(x), [0.5, 1.0 - 0.485, -1.0 - 0.97, 0.25 + 0.97])


def test_logspec_matches_librosa_and_the_spec_parameters():
    wav = tone(2.345)
    s = SpectralSettings()
    assert (s.win_length, s.hop_length, s.n_fft) == (640, 160, 800)
    y = spectral.preemphasize(wav)
    ours = spectral.logspec(y, s)
    oracle = librosa.amplitude_to_db(librosa_stft(y), ref=np.max, amin=1e-5, top_db=80.0)[:200]
    assert ours.shape == (200, 1 + len(wav) // 160)
    np.testing.assert_allclose(ours, oracle, atol=1e-3)
    assert ours.max() == pytest.approx(0.0, abs=1e-4) and ours.min() >= -80.0 - 1e-6


def test_logspec_golden_peak_of_a_tone():
    """Bins are 20 Hz apart: a 1 kHz tone peaks in bin 50 of every frame clear of the edges."""
    ours = spectral.logspec(spectral.preemphasize(tone(1.0)), SpectralSettings())
    assert set(ours[:, 5:-5].argmax(axis=0).tolist()) == {50}


def test_the_db_reference_is_taken_before_the_bins_are_cut():
    """A tone above 4 kHz is the utterance maximum, so the kept 0-4 kHz bins stay below 0 dB."""
    y = spectral.preemphasize(tone(1.0, freq=6000.0))
    assert spectral.logspec(y, SpectralSettings()).max() < -10.0


def test_logmelspec_matches_librosa():
    y = spectral.preemphasize(tone(1.7, freq=440.0))
    ours = spectral.logmelspec(y, SpectralSettings(kind="logmelspec"))
    mel = librosa.feature.melspectrogram(y=y.astype(np.float32), sr=SR, n_fft=800, hop_length=160, win_length=640,
                                         window="hamming", center=True, pad_mode="reflect", n_mels=128, power=2.0,
                                         fmin=0.0, fmax=8000.0, htk=False, norm="slaney")
    np.testing.assert_allclose(ours, librosa.power_to_db(mel, ref=np.max, amin=1e-10, top_db=80.0), atol=1e-3)


def test_logmeldeltaspec_is_a_width_5_delta_and_its_delta():
    s = SpectralSettings(kind="logmeldeltaspec", segment_size=1000)
    maps = spectral.spectral_maps(spectral.preemphasize(tone(0.8)), s, spectral.utterance_rng(0, "x"))
    mel = maps[0]
    edge = np.pad(mel, ((0, 0), (2, 2)), mode="edge")
    by_formula = (-2 * edge[:, :-4] - edge[:, 1:-3] + edge[:, 3:-1] + 2 * edge[:, 4:]) / 10
    np.testing.assert_allclose(maps[1], by_formula, atol=1e-4)
    np.testing.assert_allclose(maps[2], spectral.delta(maps[1], 5), atol=1e-4)


@pytest.mark.parametrize("kind, channels, bins", [("logspec", 1, 200), ("logmelspec", 1, 128),
                                                  ("logmeldeltaspec", 3, 128), ("lognrevspec", 3, 200),
                                                  ("logdeltaspec", 3, 200)])
def test_every_kind_has_its_channels_bins_and_segments(kind, channels, bins):
    wav = tone(3.3)
    s = SpectralSettings(kind=kind)
    segments = spectral.extract(wav, s, spectral.utterance_rng(100, "utt"))
    frames = 1 + len(wav) // 160
    assert segments.shape == (math.ceil(frames / 300), channels, bins, 300)
    assert segments.dtype == np.float32 and np.isfinite(segments).all()
    assert s.shape() == (channels * bins, 300)
    assert spectral.pack(segments).shape == (len(segments), channels * bins, 300)


def test_lognrevspec_channels_are_clean_noisy_and_reverberant():
    wav = tone(1.2)
    s = SpectralSettings(kind="lognrevspec", segment_size=200)
    first = spectral.extract(wav, s, spectral.utterance_rng(100, "a.wav"))
    y = spectral.preemphasize(wav)
    clean = spectral.segment(spectral.logspec(y, s)[None], 200, np.zeros(1))
    reverberant = spectral.segment(spectral.logspec(spectral.sox_reverb(y, 44100), s)[None], 200, np.zeros(1))
    np.testing.assert_allclose(first[:, :1], clean, atol=1e-5)
    np.testing.assert_allclose(first[:, 2:], reverberant, atol=1e-4)
    assert np.abs(first[:, 1] - first[:, 0]).max() > 1.0  # white noise fills the quiet bins
    # the noise depends on (seed, utterance name) only, never on extraction order
    np.testing.assert_array_equal(first, spectral.extract(wav, s, spectral.utterance_rng(100, "a.wav")))
    assert not np.array_equal(first, spectral.extract(wav, s, spectral.utterance_rng(100, "b.wav")))


@pytest.mark.parametrize("pad, expected_db, expected_delta", [("max", 0.0, 0.0), ("floor", -80.0, 0.0)])
def test_last_segment_is_padded_at_its_end(pad, expected_db, expected_delta):
    maps = np.full((3, 4, 650), -30.0, dtype=np.float32)
    s = SpectralSettings(kind="logmeldeltaspec", pad=pad)
    segments = spectral.segment(maps, 300, spectral.pad_values(s))
    assert segments.shape == (3, 3, 4, 300)  # ceil(650 / 300), no overlap
    assert (segments[:2] == -30.0).all() and (segments[2, :, :, :50] == -30.0).all()
    assert (segments[2, 0, :, 50:] == expected_db).all()
    assert (segments[2, 1:, :, 50:] == expected_delta).all()
    short = spectral.segment(maps[:, :, :10], 300, spectral.pad_values(s))
    assert short.shape == (1, 3, 4, 300) and (short[0, 0, :, 10:] == expected_db).all()


def sox_reverb_per_sample(x: np.ndarray, rate: float) -> np.ndarray:
    """SoX reverb.c's sample loop, transcribed: circular buffers, combs then allpasses."""
    a = -1 / math.log(0.7)
    b = 100 / (math.log(0.02) * a + 1)
    feedback, damping, gain, ratio = 1 - math.exp((50 - b) / (a * b)), 0.35, 0.015, rate / 44100
    delayed = [0.0] * int(20 / 1000 * rate + 0.5) + list(x)
    wets = []
    for offset in (0.0, 1.0):
        combs = []
        for length in spectral._COMB_LENGTHS:
            combs.append({"buf": [0.0] * int(ratio * (length + 12 * offset) + 0.5), "p": 0, "store": 0.0})
            offset = -offset
        allpasses = []
        for length in spectral._ALLPASS_LENGTHS:
            allpasses.append({"buf": [0.0] * int(ratio * (length + 12 * offset) + 0.5), "p": 0})
            offset = -offset
        wet = []
        for n in range(len(x)):
            out = 0.0
            for c in reversed(combs):
                output = c["buf"][c["p"]]
                c["store"] = output + (c["store"] - output) * damping
                c["buf"][c["p"]] = delayed[n] + c["store"] * feedback
                c["p"] = (c["p"] - 1) % len(c["buf"])
                out += output
            for f in reversed(allpasses):
                output = f["buf"][f["p"]]
                f["buf"][f["p"]] = out + output * 0.5
                f["p"] = (f["p"] - 1) % len(f["buf"])
                out = output - out
            wet.append(out * gain)
        wets.append(np.array(wet))
    return np.clip(np.asarray(x) + (wets[0] + wets[1]) / 2, -1, 1)


@pytest.mark.parametrize("rate", [44100, 16000])
def test_reverb_equals_sox_sample_loop(rate):
    x = np.random.default_rng(1).standard_normal(4000) * 0.1
    ours = spectral.sox_reverb(x, rate)
    assert ours.shape == x.shape
    np.testing.assert_allclose(ours, sox_reverb_per_sample(x, rate), atol=1e-12)
    assert np.abs(ours - x).max() > 1e-3


def test_mix_at_snr_reaches_the_snr_and_guards_clipping():
    rng = np.random.default_rng(0)
    speech = tone(1.0) * 0.5
    noise = (rng.standard_normal(SR // 4) * 0.1).astype(np.float32)  # shorter than the speech: tiled
    mixed = spectral.mix_at_snr(speech, noise, 6.0, np.random.default_rng(3))
    added = mixed.astype(np.float64) - np.round(speech * 32767) / 32767
    snr = 20 * math.log10(np.sqrt(np.mean((np.round(speech * 32767) / 32767) ** 2)) / np.sqrt(np.mean(added ** 2)))
    assert snr == pytest.approx(6.0, abs=0.01)
    loud = spectral.mix_at_snr(np.full(1000, 0.9, np.float32), noise, -20.0, np.random.default_rng(0))
    assert np.abs(loud).max() <= 1.0 + 1e-6 and np.abs(loud).max() == pytest.approx(1.0, abs=1e-4)


def test_mixnoise_versions_are_clean_noises_then_reverb():
    wav = tone(1.0)
    s = SpectralSettings(segment_size=200)
    noises = [(tone(2.0, freq=300.0, seed=k), snr) for k, snr in enumerate((0.0, 10.0))]
    versions = spectral.mixnoise_versions(wav, s, noises, spectral.utterance_rng(100, "u"))
    assert len(versions) == 4 and all(v.shape == versions[0].shape for v in versions)
    np.testing.assert_array_equal(versions[0], spectral.extract(wav, s, spectral.utterance_rng(100, "u")))
    assert len({v.tobytes() for v in versions}) == 4


@pytest.fixture(scope="module")
def emodb_corpus(tmp_path_factory):
    """A tiny synthetic emoDB corpus, shared by the modules that ask for the same one."""
    return synth_emodb.generate(tmp_path_factory.getbasetemp() / "emodb_tiny", scale=0.1, seed=0, progress=False)


def test_corpus_cache_reuses_and_refreshes_entries(emodb_corpus, tmp_path):
    wavs = sorted(emodb_corpus.glob("*.wav"))[:3]
    local = []
    for wav in wavs:  # copies, so touching one leaves the shared corpus alone
        local.append(tmp_path / wav.name)
        local[-1].write_bytes(wav.read_bytes())
    names = [p.name for p in local]
    s = SpectralSettings(kind="lognrevspec", segment_size=100)
    first, report = load_corpus_features(local, names, s, tmp_path / "cache")
    assert not report.skipped and all(f.shape[1:] == (3, 200, 100) for f in first)
    entries = sorted((tmp_path / "cache").rglob("*.npz"))
    stamps = [e.stat().st_mtime_ns for e in entries]
    again, _ = load_corpus_features(local, names, s, tmp_path / "cache")
    assert [e.stat().st_mtime_ns for e in entries] == stamps  # read, not recomputed
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    samples, rate = sf.read(local[0], dtype="float32")
    sf.write(local[0], samples[: len(samples) // 2], rate)
    shorter, _ = load_corpus_features(local, names, s, tmp_path / "cache")
    assert shorter[0].shape[0] < first[0].shape[0] or not np.array_equal(shorter[0], first[0])


def test_features_file_has_the_seeds_layout(emodb_corpus, tmp_path):
    features = extract_features.main(["EMODB", str(emodb_corpus), "--cache_dir", str(tmp_path / "cache"),
                                      "--save_dir", str(tmp_path), "--quiet", "--segment_size", "150"])
    with open(tmp_path / "EMODB_logspec200.pkl", "rb") as f:
        saved = pickle.load(f)
    assert list(saved) == ["1M", "1F", "2M", "2F", "3M", "3F", "4M", "4F", "5M", "5F"] == list(features)
    scan = emodb.scan_emodb(emodb_corpus)
    for speaker, (segments, utterance_labels, segment_labels, counts) in saved.items():
        mine = [u for u in scan.utterances if u.speaker == speaker]
        assert segments.dtype == np.float32 and segments.shape[1:] == (1, 200, 150)
        assert utterance_labels.dtype == segment_labels.dtype == counts.dtype == np.int8
        assert len(utterance_labels) == len(counts) == len(mine)
        assert counts.sum() == len(segment_labels) == len(segments)
        assert utterance_labels.tolist() == [LABEL_SETS["emodb"][u.label] for u in mine]
        np.testing.assert_array_equal(segment_labels, np.repeat(utterance_labels, counts))
        assert counts.tolist() == [math.ceil((1 + round(u.duration * SR) // 160) / 150) for u in mine]


def test_mixnoise_file_adds_a_version_axis(emodb_corpus, tmp_path):
    corpus = tmp_path / "emodb"
    corpus.mkdir()
    for wav in sorted(emodb_corpus.glob("*.wav"))[:2]:
        (corpus / wav.name).write_bytes(wav.read_bytes())
    noise_dir = tmp_path / "noise"
    noise_dir.mkdir()
    rng = np.random.default_rng(0)
    for name, _ in spectral.MIXNOISE:
        sf.write(noise_dir / f"{name}.wav", (rng.standard_normal(SR * 2) * 0.05).astype(np.float32), SR)
    features = extract_features.main(["EMODB", str(corpus), "--emodb_files", "0", "--mixnoise", "--noise_dir",
                                      str(noise_dir), "--quiet", "--segment_size", "150"])
    segments, _, segment_labels, _ = next(iter(features.values()))
    assert segments.shape[0] == 1 + len(spectral.MIXNOISE) + 1 and segments.shape[1] == len(segment_labels)
    with pytest.raises(SystemExit, match="needs .*cafetaria.wav"):
        extract_features.main(["EMODB", str(corpus), "--emodb_files", "0", "--mixnoise", "--noise_dir",
                               str(tmp_path), "--quiet"])


def test_noise_mixing_script_writes_a_float_wav(tmp_path):
    sf.write(tmp_path / "clean.wav", tone(1.0), SR)
    sf.write(tmp_path / "noise.wav", (np.random.default_rng(0).standard_normal(SR // 2) * 0.1).astype(np.float32), SR)
    assert spectral.main([str(tmp_path / "clean.wav"), str(tmp_path / "noise.wav"), str(tmp_path / "mixed.wav"),
                          "--snr", "6"]) == 0
    mixed, rate = sf.read(tmp_path / "mixed.wav", dtype="float32")
    assert rate == SR and len(mixed) == SR and sf.info(tmp_path / "mixed.wav").subtype == "FLOAT"
    assert spectral.main([str(tmp_path / "clean.wav"), str(tmp_path / "absent.wav"), str(tmp_path / "x.wav"),
                          "--snr", "6"]) == 1


if __name__ == "__main__" and sys.argv[1:] == ["--write-golden"]:
    np.savez_compressed(GOLDEN, **{kind: golden_cells(kind, "librosa") for kind in spectral.KINDS})
