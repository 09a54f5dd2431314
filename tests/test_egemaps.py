"""ser.features.egemaps: openSMILE's eGeMAPSv02 functionals through the opensmile package, and the
standardiser an MLP on them is fitted with."""
import numpy as np
import pytest

from ser.features import egemaps


def harmonic(f0: float, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))).astype(np.float32)


@pytest.fixture(scope="module")
def tone_vector():
    return egemaps.egemaps(harmonic(220.0))


def test_the_88_functionals_as_opensmile_computes_them(tone_vector):
    import opensmile
    smile = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)
    expected = smile.process_signal(harmonic(220.0), 16000)
    assert tone_vector.shape == (88,) and tone_vector.dtype == np.float32 and np.isfinite(tone_vector).all()
    np.testing.assert_array_equal(tone_vector, expected.to_numpy()[0])
    assert egemaps.feature_names() == list(expected.columns) and len(set(egemaps.feature_names())) == 88
    assert egemaps.identity() == {"feature_set": "eGeMAPSv02", "level": "functionals",
                                  "opensmile": opensmile.__version__}


def test_the_pitch_functionals_measure_the_pitch(tone_vector):
    """F0 in semitones above 27.5 Hz: a 220 Hz tone is 36 semitones, a 330 Hz one 7 more."""
    names = egemaps.feature_names()
    mean = names.index("F0semitoneFrom27.5Hz_sma3nz_amean")
    assert tone_vector[mean] == pytest.approx(36.0, abs=0.2)
    assert egemaps.egemaps(harmonic(330.0))[mean] == pytest.approx(36.0 + 12 * np.log2(1.5), abs=0.2)


def test_too_short_is_not_finite_and_a_stereo_array_is_refused():
    assert np.isnan(egemaps.egemaps(harmonic(220.0, seconds=0.05))).all()
    with pytest.raises(ValueError, match="one channel"):
        egemaps.egemaps(np.zeros((2, 16000), np.float32))


def test_standardiser_is_fitted_on_training_data_and_kept():
    rng = np.random.default_rng(0)
    train = rng.normal([5.0, -300.0, 0.01], [2.0, 50.0, 0.001], size=(200, 3)).astype(np.float32)
    train[:, 2] = 0.01  # a constant feature maps to 0, not to NaN
    scaler = egemaps.Standardiser().fit(train)
    scaled = scaler.transform(train)
    np.testing.assert_allclose(scaled[:, :2].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled[:, :2].std(0), 1, atol=1e-5)
    assert np.array_equal(scaled[:, 2], np.zeros(200, np.float32))
    test = rng.normal(size=(4, 1, 3)).astype(np.float32)  # the models' (N, 1, F) maps
    kept = egemaps.Standardiser.from_state(scaler.state())
    std = train.astype(np.float64).std(0)
    expected = (test - train.astype(np.float64).mean(0)) / np.where(std > 0, std, 1.0)
    np.testing.assert_allclose(kept.transform(test), expected, rtol=1e-5, atol=1e-5)
    assert all(v.dtype == np.float32 and v.shape == (3,) for v in scaler.state().values())
    with pytest.raises(RuntimeError, match="before fit"):
        egemaps.Standardiser().transform(test)
