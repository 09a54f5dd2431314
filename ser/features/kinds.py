"""The two feature families by kind: GLAM's per-segment maps and seed 004's spectrogram images.

A kind's name says which family it belongs to (``ser.features.glam.FEATURE_KINDS`` or
``ser.features.spectral.KINDS``); everything downstream (the cache, the split, checkpoints,
predictions) talks to the family's settings object through the same methods, so this is the
one place that tells the families apart.
"""
from __future__ import annotations

from ser.features import glam, spectral
from ser.features.glam import FeatureSettings
from ser.features.spectral import SpectralSettings

KINDS = glam.FEATURE_KINDS + spectral.KINDS
Settings = FeatureSettings | SpectralSettings


def is_spectral(kind: str) -> bool:
    """Whether ``kind`` is one of seed 004's whole-utterance spectrogram kinds."""
    return kind in spectral.KINDS


def settings_from_dict(described: dict) -> Settings:
    """Feature settings saved with ``dataclasses.asdict`` (checkpoints, results.json)."""
    if is_spectral(described["kind"]):
        return SpectralSettings(**described)
    return FeatureSettings(**described)
