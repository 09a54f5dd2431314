"""The feature kind registry: a kind registered from outside the package (here, from this test)
is a ``-f``/``--features`` choice with its help line, is computed and cached through the one
cache, travels to the cache's worker processes, and trains through train.py; a kind without a
torch computation or a model that reads other inputs is refused with one line."""
import pickle

import numpy as np
import pytest

import train
from ser.features import kinds
from ser.features.glam import FeatureSettings, extract, segment
from ser.features.registry import FeatureKind, register_feature_kind, unregister_feature_kind
from ser.runs import config, flags

TOY = "toy_rms"
BANDS, FRAME, HOP = 16, 400, 200  # 16 RMS values per 25 ms frame, every 12.5 ms


def rms_maps(segments: np.ndarray, sr: int, n_mfcc: int) -> np.ndarray:
    """Per segment, the RMS energy of BANDS consecutive slices of each frame: (S, BANDS, frames)."""
    frames = np.lib.stride_tricks.sliding_window_view(segments, FRAME, axis=-1)[:, ::HOP]
    slices = frames.reshape(*frames.shape[:2], BANDS, FRAME // BANDS)
    return np.sqrt(np.mean(slices.astype(np.float64) ** 2, axis=-1)).swapaxes(1, 2)


def rms_shape(samples: int, sr: int, n_mfcc: int) -> tuple[int, int]:
    return BANDS, 1 + (samples - FRAME) // HOP


@pytest.fixture
def toy_kind():
    register_feature_kind(FeatureKind(TOY, "glam", FeatureSettings, rms_shape, rms_maps,
                                      describe=lambda settings: {"steps": ["frames", "slice RMS"]},
                                      help="the toy's RMS energy map"))
    yield TOY
    unregister_feature_kind(TOY)


def test_a_registered_kind_is_a_choice_with_its_help(toy_kind):
    parser = flags.get_args_parser()
    action = next(a for a in parser._actions if a.dest == "features_to_use")
    assert toy_kind in action.choices and "--features" in action.option_strings
    assert "the toy's RMS energy map" in action.help


def test_the_choices_are_the_registry_s():
    parser = flags.get_args_parser()
    action = next(a for a in parser._actions if a.dest == "features_to_use")
    assert tuple(action.choices) == kinds.feature_kind_names() and TOY not in action.choices


def test_a_registered_kind_computes_pickles_and_keys_apart(toy_kind):
    wav = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32)
    maps = extract(wav, 16000, toy_kind, 1.8, 1.0)
    assert maps.shape == (2, *rms_shape(28800, 16000, 26)) and maps.dtype == np.float32
    np.testing.assert_array_equal(maps[1, 3], np.float32(rms_maps(segment(wav, 16000, 1.8, 1.0), 16000, 26)[1, 3]))
    settings = FeatureSettings(kind=toy_kind)
    assert pickle.loads(pickle.dumps(settings)) == settings  # what the cache's worker processes receive
    assert settings.key(1.6).startswith(f"{toy_kind}_L1.8_O1.6_") and settings.key(1.6) != FeatureSettings().key(1.6)
    assert kinds.settings_from_dict({"kind": toy_kind, "n_mfcc": 26}) == settings


def test_a_registered_kind_trains_through_train_py(toy_kind, tiny_corpus, tmp_path):
    summary = train.main(["--data", str(tiny_corpus), "--features", toy_kind, "-m", "CNN_GAP", "-e", "1",
                          "-b", "8", "--train_overlap", "0", "--test_overlap", "0", "-g", "-1", "--quiet",
                          "-d", str(tmp_path / "run"), "--cache_dir", str(tmp_path / "cache")])
    assert summary["args"]["features_to_use"] == toy_kind and np.isfinite(summary["epochs"][0]["loss"])
    assert [p.name.split("_L")[0] for p in (tmp_path / "cache").iterdir()] == [toy_kind]
    assert [p.name for p in tmp_path.rglob("*.metric")] == [f"CNN_GAP_{toy_kind}_impro.metric"]


def test_a_kind_without_torch_refuses_the_torch_backend(toy_kind, tiny_corpus):
    with pytest.raises(SystemExit, match=f"error: -f {toy_kind} has no torch computation"):
        train.main(["--data", str(tiny_corpus), "-f", toy_kind, "--feature_backend", "torch"])


def test_a_model_that_reads_other_inputs_is_refused_in_one_line(tiny_corpus):
    with pytest.raises(config.ConfigError, match="-m ssl_linear reads ssl inputs, which -f mfcc does not give"):
        config.resolve_args(["--data", str(tiny_corpus), "-m", "ssl_linear"])
