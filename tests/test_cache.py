"""The feature cache: entries that are not what they claim are rebuilt; --feature_backend torch
through the same cache, next to librosa."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import train
from ser.features import audio, spectral
from ser.features import cache as cache_module
from ser.features.cache import FeatureCache
from ser.features.glam import FeatureSettings
from ser.features.torch_backend import TorchFeatures
from ser.runs.config import resolve_args
from ser.runs.data import cached_settings
from ser.runs.request import data_request

SR = 16000
OVERLAPS = (1.6, 1.0)


def voice(seconds: float, seed: int) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.1 * np.sin(2 * np.pi * (150 + 20 * seed) * t) + 0.01 * noise).astype(np.float32)


@pytest.fixture
def wavs(tmp_path) -> list[Path]:
    """Four usable wavs of different lengths (one shorter than a segment) and an undecodable one."""
    paths = []
    for k, seconds in enumerate((2.5, 1.2, 4.0, 3.1)):
        paths.append(tmp_path / f"w{k}.wav")
        sf.write(paths[-1], voice(seconds, k), SR)
    paths.insert(2, tmp_path / "broken.wav")
    paths[2].write_bytes(b"\x00" * 2000)
    return paths


def test_torch_entries_equal_librosa_within_the_mfcc_tolerance(tmp_path, wavs):
    cache, settings = FeatureCache(tmp_path / "cache"), FeatureSettings()
    torch_settings = TorchFeatures.for_device(settings, "cpu")
    reference, reference_report = cache.load(wavs, settings, OVERLAPS, progress=False)
    computed, report = cache.load(wavs, torch_settings, OVERLAPS, progress=False)
    assert report.skipped == reference_report.skipped == [(2, audio.R_UNDECODABLE, report.skipped[0][2])]
    for overlap in OVERLAPS:
        assert [None if f is None else f.shape for f in computed[overlap]] == \
            [None if f is None else f.shape for f in reference[overlap]]
        for ours, theirs in zip(computed[overlap], reference[overlap]):
            if theirs is not None:
                np.testing.assert_allclose(ours, theirs, rtol=0, atol=5e-4)  # the float32 MFCC bound
    # Both kinds of entry live side by side, under keys that name the backend and the dtype.
    assert torch_settings.key(1.6) == settings.key(1.6) + "_torch_float32"
    entries = sorted(p.relative_to(cache.root).parts[0] for p in cache.root.rglob("*.npz"))
    assert entries == sorted(k(o) for k in (settings.key, torch_settings.key) for o in OVERLAPS for _ in range(4))
    # and a second load reads the torch entries back: on the meta device any computation would fail
    again, _ = FeatureCache(cache.root).load(wavs, dataclasses.replace(torch_settings, device="meta"), OVERLAPS,
                                             progress=False)
    np.testing.assert_array_equal(again[1.6][3], computed[1.6][3])


def test_librosa_keys_are_the_ones_existing_caches_hold():
    # The keys of the default settings since feature code version 2 (every kind per segment, in
    # the original's arithmetic): entries of version 1 are recomputed, these stay valid.
    assert FeatureSettings().key(1.6) == "mfcc_L1.8_O1.6_3fdbb7741eb40da9"
    assert FeatureSettings().key(1.0) == "mfcc_L1.8_O1.0_f1b84857d8097511"
    assert spectral.SpectralSettings(kind="logspec").key() == "logspec_T300_a95be19962499102"


def test_nearby_overlaps_and_segment_lengths_get_entries_of_their_own(tmp_path, wavs):
    """A key that rounded the overlap (or the segment length) to 0.1 s would hand
    --train_overlap 1.65 the entries computed at 1.6: every nearby setting has a key of its
    own, and the cache returns for each overlap what a cache holding only that one returns."""
    glam = [(FeatureSettings(segment_length=length), overlap) for length in (1.8, 1.81, 1.85, 2.0)
            for overlap in (1.0, 1.04, 1.05, 1.6, 1.61, 1.65) if overlap < length]
    assert len({settings.key(overlap) for settings, overlap in glam}) == len(glam)
    nearby = [{}, dict(segment_size=301), dict(win_length_ms=40.5), dict(hop_length_ms=10.5), dict(n_fft=801),
              dict(preemphasis=0.975), dict(noise_std=0.0025), dict(n_freq=201), dict(n_mels=129)]
    seed004 = [spectral.SpectralSettings(kind="lognrevspec", **changed) for changed in nearby]
    assert len({settings.key() for settings in seed004}) == len(seed004)
    usable = [wav for wav in wavs if wav.name != "broken.wav"]
    settings = FeatureSettings(segment_length=1.85)
    together, _ = FeatureCache(tmp_path / "both").load(usable, settings, (1.6, 1.65), progress=False)
    for overlap in (1.6, 1.65):
        alone, _ = FeatureCache(tmp_path / str(overlap)).load(usable, settings, (overlap,), progress=False)
        for mine, theirs in zip(together[overlap], alone[overlap]):
            np.testing.assert_array_equal(mine, theirs)
    assert [len(f) for f in together[1.6]] != [len(f) for f in together[1.65]]  # 0.25 s and 0.2 s apart


def test_seed004_torch_entries_draw_the_same_noise(tmp_path, wavs):
    usable = [w for w in wavs if w.name != "broken.wav"]
    names = [w.name for w in usable]
    cache, settings = FeatureCache(tmp_path / "cache"), spectral.SpectralSettings(kind="lognrevspec", segment_size=100)
    reference, _ = cache.load(usable, settings, names=names, progress=False)
    computed, report = cache.load(usable, TorchFeatures.for_device(settings, "cpu"), names=names, progress=False)
    assert report.skipped == []
    for ours, theirs in zip(computed[None], reference[None]):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-2)  # float32 dB channels


@pytest.mark.parametrize("gpu, backend, expected", [
    (None, "auto", "librosa"), ("cuda", "auto", "torch"), ("cuda", "librosa", "librosa"), (None, "torch", "torch")])
def test_auto_is_torch_on_cuda_and_librosa_on_the_cpu(gpu, backend, expected):
    config = resolve_args(["--feature_backend", backend, "-g", "-1"])
    assert config.feature_backend == backend
    assert config.feature_backend_on(torch.device(gpu or "cpu")) == expected


def test_the_cache_is_handed_the_backends_settings():
    settings = FeatureSettings()
    # the CPU default: librosa, as before
    assert cached_settings(data_request(resolve_args(["-g", "-1"])), settings) is settings
    chosen = cached_settings(data_request(resolve_args(["-g", "-1", "--feature_backend", "torch"])), settings)
    assert chosen == TorchFeatures(settings, "cpu", "float32")
    spectrogram = FeatureSettings(kind="spectrogram")  # numpy's float64 throughout in the reference
    assert cached_settings(data_request(resolve_args(["-g", "-1", "--feature_backend", "torch"])), spectrogram) == \
        TorchFeatures(spectrogram, "cpu", "float64") == TorchFeatures(spectrogram)


@dataclasses.dataclass(frozen=True)
class Faulty(TorchFeatures):
    """Torch features that fail on 4-s wavs, in the way ``fault`` names."""
    fault: str = "raise"

    def compute_many(self, wavs, overlap, names):
        if any(len(w) == 4 * SR for w in wavs):
            if self.fault == "raise":
                raise RuntimeError("the kernel broke")
            return [np.full_like(f, np.nan) if len(w) == 4 * SR else f
                    for w, f in zip(wavs, super().compute_many(wavs, overlap, names))]
        return super().compute_many(wavs, overlap, names)


@pytest.mark.parametrize("fault, reason", [("raise", audio.R_UNDECODABLE), ("nan", audio.R_NONFINITE_FEATURES)])
def test_a_failing_utterance_of_a_batch_is_left_out_alone(tmp_path, wavs, fault, reason):
    cache = FeatureCache(tmp_path / "cache")
    feats, report = cache.load(wavs, Faulty(FeatureSettings(), fault=fault), OVERLAPS, progress=False)
    assert [(i, r) for i, r, _ in report.skipped] == [(2, audio.R_UNDECODABLE), (3, reason)]
    for overlap in OVERLAPS:
        assert [f is None for f in feats[overlap]] == [False, False, True, True, False]
    assert len(list(cache.root.rglob("*.npz"))) == 3 * len(OVERLAPS)  # nothing written for the failures


def test_train_py_with_the_torch_backend_records_it(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "CNN_GAP" / "1"
    # the cheapest model, and segments that do not overlap (a ninth of the default's): seconds
    summary = train.main(["-m", "CNN_GAP", "-e", "1", "-b", "64", "--data", str(tiny_corpus), "-d", str(run_dir),
                          "--seed", "1", "--cache_dir", str(tmp_path / "cache"), "-g", "-1", "--quiet",
                          "--train_overlap", "0", "--test_overlap", "0", "--feature_backend", "torch"])
    assert summary["args"]["feature_backend"] == "torch" and summary["feature_backend"] == "torch"
    assert json.loads((run_dir / "results.json").read_text())["feature_backend"] == "torch"
    assert json.loads((run_dir / "last.json").read_text())["feature_backend"] == "torch"
    keys = [p.name for p in (tmp_path / "cache").iterdir()]
    assert keys and all(key.endswith("_torch_float32") for key in keys)


def test_a_valid_looking_entry_with_other_values_is_recomputed(tmp_path, wavs):
    """An entry whose every field matches but whose features were changed (rewritten by
    another tool, a bit flipped before the zip CRC was computed) fails its checksum and is
    recomputed, never trusted."""
    cache, settings = FeatureCache(tmp_path / "cache"), FeatureSettings()
    first, _ = cache.load(wavs, settings, (1.6,), progress=False)
    entry = cache.entry_path(wavs[0], settings, 1.6)
    with np.load(entry) as data:
        fields = {name: data[name] for name in data.files}
    fields["features"] = fields["features"] + np.float32(0.5)  # same shape, finite, checksum left as it was
    with open(entry, "wb") as f:
        np.savez(f, **fields)
    again, _ = cache.load(wavs, settings, (1.6,), progress=False)
    np.testing.assert_array_equal(again[1.6][0], first[1.6][0])
    with np.load(entry) as data:
        np.testing.assert_array_equal(data["features"], first[1.6][0])  # rewritten with the right values


@pytest.mark.parametrize("settings", [FeatureSettings(), spectral.SpectralSettings(kind="lognrevspec")],
                         ids=["mfcc", "lognrevspec"])
def test_worker_threads_write_what_one_thread_writes(tmp_path, wavs, settings, monkeypatch):
    """A few utterances are computed by threads (processes only pay off for hundreds) when the
    numeric libraries run one thread each: the same entries, bit for bit, as one after the
    other, the broken wav left out alike."""
    monkeypatch.setattr(cache_module, "_library_threads", lambda: 1)
    alone, alone_report = FeatureCache(tmp_path / "one").load(wavs, settings, OVERLAPS, workers=1, progress=False)
    threads, report = FeatureCache(tmp_path / "threads").load(wavs, settings, OVERLAPS, workers=3, progress=False)
    assert report.skipped == alone_report.skipped and len(report.skipped) == 1
    for overlap in OVERLAPS:
        for ours, theirs in zip(threads[overlap], alone[overlap]):
            assert (ours is None) == (theirs is None)
            if theirs is not None:
                np.testing.assert_array_equal(ours, theirs)
