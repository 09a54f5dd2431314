"""openSMILE's eGeMAPSv02 functionals: the 88 acoustic parameters of the Geneva Minimalistic
Acoustic Parameter Set (extended), one vector per utterance, the classic baseline of the field.

    vector = egemaps(wav)            # mono float32 at 16 kHz -> (88,) float32
    feature_names()                  # the 88 names, in the vector's order
    identity()                       # {"feature_set": "eGeMAPSv02", "level": "functionals", "opensmile": "2.6.0"}

Computed by the ``opensmile`` package (audEERING's Python wrapper, whose wheel ships the
SMILExtract library), with its own eGeMAPSv02 configuration: the same numbers as
``opensmile.Smile(FeatureSet.eGeMAPSv02, FeatureLevel.Functionals).process_signal``. A signal
shorter than openSMILE's 60 ms pitch window (under 1000 samples at 16 kHz) comes back as 88
NaNs, which the feature cache leaves out as features that are not finite.

:class:`Standardiser` is the z-scoring an MLP on these features needs (their scales range from
0.01 to thousands): mean and standard deviation of every feature over the training set only,
applied to everything else, and kept by a checkpoint as two float32 vectors (``state``), as
``ser.training.dataset.MinMaxScaler`` is for seed 004's maps. It scales along the last axis, so it takes
the vectors as they are, ``(N, 88)``, or as the models' maps ``(N, 1, 88)``.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

FEATURE_SET = "eGeMAPSv02"
LEVEL = "functionals"
NUM_FEATURES = 88
SAMPLE_RATE = 16000


@functools.lru_cache(maxsize=1)
def _smile():
    import opensmile
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


def feature_names() -> list[str]:
    """The 88 functionals' names (``F0semitoneFrom27.5Hz_sma3nz_amean``, ...), in vector order."""
    return list(_smile().feature_names)


def identity() -> dict:
    """What names these features in a cache key, a run and a checkpoint."""
    import opensmile
    return {"feature_set": FEATURE_SET, "level": LEVEL, "opensmile": opensmile.__version__}


def egemaps(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The 88 eGeMAPSv02 functionals of one mono recording, float32 (NaN if it is too short)."""
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"a recording must be one channel of samples, not an array of shape {wav.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openSMILE's "segment too short" comes back as NaN
        values = _smile().process_signal(wav, sample_rate).to_numpy()
    return values.reshape(NUM_FEATURES).astype(np.float32)


class Standardiser:
    """Per-feature z-scoring along the last axis, fitted on training data only (see the module doc)."""

    def __init__(self, mean: np.ndarray | None = None, scale: np.ndarray | None = None):
        self.mean, self.scale = mean, scale

    def fit(self, X: np.ndarray) -> Standardiser:
        """Each feature's mean and standard deviation over every other axis of ``X``; a constant
        feature gets scale 1 (it maps to 0), as scikit-learn's StandardScaler does."""
        flat = np.asarray(X, dtype=np.float64).reshape(-1, np.shape(X)[-1])
        if not len(flat):
            raise ValueError("Standardiser.fit needs at least one training vector")
        std = flat.std(axis=0)
        self.mean = flat.mean(axis=0).astype(np.float32)
        self.scale = np.where(std > 0, std, 1.0).astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.mean is None:
            raise RuntimeError("Standardiser.transform before fit")
        return ((np.asarray(X, dtype=np.float32) - self.mean) / self.scale).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        """What a checkpoint keeps: ``{"mean": (F,), "scale": (F,)}`` float32."""
        return {"mean": self.mean, "scale": self.scale}

    @classmethod
    def from_state(cls, state: dict) -> Standardiser:
        return cls(*(np.asarray(state[key], dtype=np.float32) for key in ("mean", "scale")))
