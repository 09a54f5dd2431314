"""The feature kinds by name: one entry per kind holding every fact the pipeline needs of it.

A :class:`FeatureKind` says which family a kind belongs to (its settings class, whose fields
are the parameters the feature cache keys on), the shape of its maps, its faithful
computation (librosa or numpy, one segment at a time), its torch computation (or None), what
export writes to reproduce it, the channels it stacks, what kind of model input it gives and
its help line. GLAM's kinds register in ``ser.features.glam``, seed 004's in
``ser.features.spectral``; ``ser.features.torch_backend`` attaches their torch computations
when it is imported, so that the librosa path (and each worker process of the cache) never
imports torch. ``ser.features.kinds`` imports every module that registers kinds: a new kind
is one module that calls :func:`register_feature_kind`, plus its import line there.

This module imports nothing of the package: the families' modules import it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

# What the GLAM and seed 004 kinds give a model: (F, T) maps of segments (models.MAPS).
MAPS = "maps"


@dataclass(frozen=True)
class TorchComputation:
    """A kind computed by torch in batches (``ser.features.torch_backend``).

    For the GLAM family ``kernel(x, sr, n_mfcc)`` maps a chunk of segments with their zero
    margins ``(c, left + L + right)`` in the compute dtype to ``(c, F, T)``, and
    ``margins(sr, L)`` gives ``(left, right)``; seed 004's kinds are computed by the family's
    own batched path (kernel and margins None). ``dtype``: ``float32`` or ``float64``, the
    compute type the backend uses unless told otherwise."""
    kernel: Callable | None
    margins: Callable[[int, int], tuple[int, int]] | None
    dtype: str = "float32"


@dataclass(frozen=True)
class FeatureKind:
    """Every fact of one feature kind (see the module doc).

    ``settings`` is the family's settings class (``ser.features.glam.FeatureSettings`` or
    ``ser.features.spectral.SpectralSettings``): ``settings.from_flags(name, flags)`` builds it
    from a run's flags and its fields are what the cache key hashes. For the GLAM family
    ``shape(samples, sr, n_mfcc)`` is the ``(F, T)`` of one segment of ``samples`` samples and
    ``compute(segments, sr, n_mfcc)`` maps ``(S, L)`` float32 segments to ``(S, F, T)``, one
    segment at a time; seed 004's family computes its kinds itself (``compute`` is the family's
    map function, ``shape(settings)``). ``describe(settings)`` is the dict export writes
    (steps and parameters); ``check(settings)`` says what is wrong with settings the kind
    cannot take (None: nothing)."""
    name: str
    family: str
    settings: type
    shape: Callable
    compute: Callable
    describe: Callable[..., dict]
    help: str
    torch: TorchComputation | None = None
    channels: int = 1
    gives: str = MAPS
    check: Callable[..., str | None] | None = None


_KINDS: dict[str, FeatureKind] = {}


def register_feature_kind(kind: FeatureKind) -> FeatureKind:
    """Add ``kind``; its name must be new."""
    if kind.name in _KINDS:
        raise ValueError(f"feature kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister_feature_kind(name: str) -> None:
    """Remove kind ``name`` (a test's toy kind, once the test is done)."""
    del _KINDS[feature_kind(name).name]


def attach_torch(name: str, computation: TorchComputation) -> None:
    """Give the registered kind ``name`` its torch computation (``ser.features.torch_backend``
    does for the built-in kinds when it is imported)."""
    _KINDS[name] = replace(feature_kind(name), torch=computation)


def feature_kind_names(family: str | None = None) -> tuple[str, ...]:
    """The registered kinds in registration order (of ``family`` only, when given)."""
    return tuple(name for name, kind in _KINDS.items() if family is None or kind.family == family)


def feature_kind(name: str, family: str | None = None) -> FeatureKind:
    """The entry of kind ``name`` (of ``family``, when given); ValueError lists the known ones."""
    kind = _KINDS.get(name)
    if kind is None or (family is not None and kind.family != family):
        raise ValueError(f"unknown feature kind {name!r}; choose one of: {', '.join(feature_kind_names(family))}")
    return kind
