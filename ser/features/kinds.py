"""Every feature kind, registered: import this module to look a kind up by name.

The entries live in ``ser.features.registry`` (:class:`~ser.features.registry.FeatureKind`:
family, settings, shape, computations, what export writes); the modules imported here register
them: GLAM's per-segment maps (``ser.features.glam``) and seed 004's spectrogram images
(``ser.features.spectral``), an upstream's hidden states (``ser.features.ssl_kind``), eGeMAPS
functionals (``ser.features.egemaps_kind``), and ``ser.features.torch_backend`` gives them their torch
computations. A new kind is a module that calls ``register_feature_kind``, and
its import line below. Everything downstream (the cache, the split, checkpoints, predictions)
talks to a kind's settings object through the same methods, so the families are told apart
here and nowhere else.
"""
from __future__ import annotations

from ser.features import egemaps_kind, glam, spectral, ssl_kind, torch_backend  # noqa: F401  (they register kinds)
from ser.features.egemaps_kind import EgemapsSettings
from ser.features.glam import FeatureSettings
from ser.features.registry import FeatureKind, feature_kind, feature_kind_names
from ser.features.spectral import SpectralSettings
from ser.features.ssl_kind import SslSettings

Settings = FeatureSettings | SpectralSettings | SslSettings | EgemapsSettings

__all__ = ["FeatureKind", "Settings", "feature_kind", "feature_kind_names", "is_spectral", "run_feature_name",
           "settings_from_dict"]


def is_spectral(kind: str) -> bool:
    """Whether ``kind`` is one of seed 004's whole-utterance spectrogram kinds."""
    return feature_kind(kind).family == spectral.FAMILY


def settings_from_dict(described: dict) -> Settings:
    """Feature settings saved with ``dataclasses.asdict`` (checkpoints, results.json)."""
    return feature_kind(described["kind"]).settings(**described)


def run_feature_name(flags) -> str:
    """The feature part of a run's name: the kind's name, or what its settings name a run by
    (``-f ssl``: the upstream's folder, layer choice and weights, ``ser.features.ssl_kind``)."""
    kind = feature_kind(flags.features_to_use)
    named = getattr(kind.settings, "run_name", None)
    return kind.name if named is None else named(flags)
