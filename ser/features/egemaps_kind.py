"""``--features egemaps``: openSMILE's 88 eGeMAPSv02 functionals (``ser.features.egemaps``) as a
feature kind, one "segment" per utterance, for ``-m mlp`` and ``-m linear`` (``models.ssl``).

    python train.py --features egemaps -m mlp

An utterance's entry and model input is ``(1, 88, 1)``: 88 one-frame bins, so that the
pipeline's min-max scaling (``--minmax``, which the two heads' recipes set: fitted per bin on
the training part only and kept by the checkpoint) scales each functional on its own. This
module imports no torch: the cache's worker processes compute it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

from ser.features import egemaps
from ser.features.registry import FeatureKind, register_feature_kind

KIND = FAMILY = "egemaps"
CODE_VERSION = 1


@dataclass(frozen=True)
class EgemapsSettings:
    """The feature set and the rate the audio is read at (openSMILE takes any rate)."""
    kind: str = KIND
    feature_set: str = egemaps.FEATURE_SET
    level: str = egemaps.LEVEL
    sample_rate: int = egemaps.SAMPLE_RATE

    uses_name = False
    whole_utterance = True  # one input per utterance, scored whole (predict)
    SIZE_FLAGS = "(88 functionals, fixed)"

    @classmethod
    def from_flags(cls, kind: str, flags) -> EgemapsSettings:
        return cls(kind=kind, sample_rate=flags.sample_rate)

    def key(self, overlap: float | None = None) -> str:
        described = {**asdict(self), **egemaps.identity(), "code": CODE_VERSION}
        digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
        return f"egemaps_{self.sample_rate}_{digest}"

    def entry_shape(self) -> tuple[int, int]:
        return self.shape()

    def shape(self) -> tuple[int, int]:
        return egemaps.NUM_FEATURES, 1

    def compute(self, wav: np.ndarray, overlap: float | None = None, name: str = "") -> np.ndarray:
        """(1, 88, 1) float32 (NaN for a recording too short for openSMILE: left out as not finite)."""
        return egemaps.egemaps(wav, self.sample_rate).reshape(1, egemaps.NUM_FEATURES, 1)

    def model_input(self, entry: np.ndarray) -> np.ndarray:
        return entry

    def prediction_input(self, wav: np.ndarray, overlap: float | None = None, name: str = "") -> np.ndarray:
        return self.compute(wav, overlap, name)

    def is_tiled(self, samples: int) -> bool:
        return False

    def describe_segmentation(self, overlap: float | None = None) -> dict:
        return {"rule": "the whole recording is one input"}


def _describe(settings: EgemapsSettings) -> dict:
    return {"steps": ["openSMILE eGeMAPSv02 functionals of the whole recording (the opensmile package)",
                      "88 values in openSMILE's order as (1, 88, 1) float32, min-max scaled with the checkpoint's fit"],
            **egemaps.identity(), "feature_names": egemaps.feature_names()}


register_feature_kind(FeatureKind(
    KIND, FAMILY, EgemapsSettings, shape=EgemapsSettings.shape, compute=EgemapsSettings.compute, describe=_describe,
    help="openSMILE's 88 eGeMAPSv02 functionals per utterance, for -m mlp or -m linear", gives=KIND))
