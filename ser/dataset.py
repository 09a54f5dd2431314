"""From manifest rows to arrays: audio loading, the on-disk feature cache, train and test sets.

Features are computed once per utterance and feature setting, then reused by every seed,
model and protocol: a split only picks which cached utterances go where. Each cache entry
is one ``.npz`` per utterance and overlap, under a folder named by a hash of every parameter
that affects the numbers (feature kind, sample rate, MFCC count, segment length, overlap,
padding, code version) and stamped with the source file's size and modification time, so an
edited wav or a changed parameter is recomputed and a corrupt entry is rebuilt, not trusted.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import librosa
import numpy as np
from tqdm import tqdm

from ser import features

# Bump when a change to ser.features alters the numbers, so old cache entries are ignored.
FEATURE_CODE_VERSION = 1


@dataclass(frozen=True)
class FeatureSettings:
    kind: str = "mfcc"
    sample_rate: int = features.SAMPLE_RATE
    n_mfcc: int = 26
    segment_length: float = 1.8
    padding: bool = False

    def key(self, overlap: float) -> str:
        described = dict(asdict(self), overlap=overlap, version=FEATURE_CODE_VERSION)
        digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
        return f"{self.kind}_L{self.segment_length}_O{overlap}_{digest}"

    def shape(self) -> tuple[int, int]:
        return features.feature_shape(self.kind, self.segment_length, self.sample_rate, self.n_mfcc)


def load_audio(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Mono float32 at ``sample_rate``, resampled and down-mixed as librosa.load does."""
    wav, _ = librosa.load(path, sr=sample_rate, mono=True)
    return wav


def _identity(path: Path) -> np.ndarray:
    stat = path.stat()
    return np.array([stat.st_size, stat.st_mtime_ns], dtype=np.int64)


def _save_npz(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)


def _compute_entry(wav_path: Path, settings: FeatureSettings, targets: list[tuple[float, Path]]) -> int:
    """Load one wav and write its features for each (overlap, cache file); returns its length."""
    identity = _identity(wav_path)
    wav = load_audio(wav_path, settings.sample_rate)
    for overlap, target in targets:
        feats = features.extract(wav, settings.sample_rate, settings.kind, settings.segment_length,
                                 overlap, n_mfcc=settings.n_mfcc, padding=settings.padding)
        _save_npz(target, features=feats, identity=identity, samples=np.int64(len(wav)))
    return len(wav)


def _compute_job(job) -> str | None:
    """Process-pool entry point: None on success, else why the file could not be used."""
    try:
        _compute_entry(*job)
        return None
    except Exception as error:  # an unreadable file must not stop the other workers
        return f"{type(error).__name__}: {error}"


class FeatureCache:
    """Per-utterance features under ``root``, computed on demand by all CPU cores."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def entry_path(self, wav_path: Path, settings: FeatureSettings, overlap: float) -> Path:
        name = hashlib.sha1(str(wav_path.resolve()).encode()).hexdigest()
        return self.root / settings.key(overlap) / name[:2] / f"{name}.npz"

    @staticmethod
    def _read_valid(entry: Path, identity: np.ndarray) -> np.ndarray | None:
        try:
            with np.load(entry) as data:
                if np.array_equal(data["identity"], identity):
                    return data["features"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # missing or corrupt: recompute
        return None

    def load(self, wav_paths: list[Path], settings: FeatureSettings, overlaps: tuple[float, ...],
             workers: int | None = None, progress: bool = True
             ) -> tuple[dict[float, list[np.ndarray | None]], list[tuple[str, str]]]:
        """Features of every wav for every overlap; ``None`` where a file could not be read.

        Returns ``({overlap: [array (S, F, T) or None per wav]}, [(path, reason), ...])``.
        """
        overlaps = tuple(dict.fromkeys(overlaps))
        identities = [_identity(p) for p in wav_paths]
        result = {o: [None] * len(wav_paths) for o in overlaps}
        missing = []
        for i, (path, identity) in enumerate(zip(wav_paths, identities)):
            targets = []
            for o in overlaps:
                entry = self.entry_path(path, settings, o)
                result[o][i] = self._read_valid(entry, identity)
                if result[o][i] is None:
                    targets.append((o, entry))
            if targets:
                missing.append((i, (path, settings, targets)))

        failures = self._compute(missing, workers, progress)
        skipped = []
        for i, job in missing:
            if i in failures:
                skipped.append((str(wav_paths[i]), failures[i]))
                continue
            for o, entry in job[2]:
                result[o][i] = self._read_valid(entry, _identity(wav_paths[i]))
        return result, skipped

    @staticmethod
    def _compute(missing: list, workers: int | None, progress: bool) -> dict[int, str]:
        if not missing:
            return {}
        workers = workers or os.cpu_count() or 1
        # A pool only pays off beyond a few dozen files (worker start-up imports librosa).
        workers = min(workers, max(1, len(missing) // 32))
        bar = tqdm(total=len(missing), desc="features", unit="utt", disable=not progress)
        failures = {}
        if workers == 1:
            outcomes = map(_compute_job, (job for _, job in missing))
        else:
            # spawn, not fork: the parent may already run torch's thread pools.
            pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
            outcomes = pool.map(_compute_job, (job for _, job in missing), chunksize=8)
        try:
            for (i, _), failure in zip(missing, outcomes):
                if failure is not None:
                    failures[i] = failure
                bar.update()
        finally:
            bar.close()
            if workers > 1:
                pool.shutdown()
        return failures


@dataclass
class TrainSegments:
    """Training samples: every segment is one example with its utterance's label."""
    X: np.ndarray  # (N, F, T) float32
    y: np.ndarray  # (N,) int64


@dataclass
class TestUtterances:
    """Test utterances with their segments packed together for batched scoring."""
    __test__ = False  # not a pytest class, despite the name
    X: np.ndarray        # (M, F, T) float32: all segments of all utterances
    owner: np.ndarray    # (M,) int64: index of the utterance each segment belongs to
    y: np.ndarray        # (U,) int64: utterance labels
    names: list[str]     # (U,) utterance identifiers (turn names)

    @classmethod
    def from_lists(cls, feats: list[np.ndarray], labels, names: list[str], shape: tuple[int, int]):
        counts = [len(f) for f in feats]
        X = np.concatenate(feats) if feats else np.zeros((0, *shape), np.float32)
        owner = np.repeat(np.arange(len(feats), dtype=np.int64), counts)
        return cls(X=X, owner=owner, y=np.asarray(labels, dtype=np.int64), names=list(names))


def stack_segments(feats: list[np.ndarray], labels, shape: tuple[int, int]) -> TrainSegments:
    """Concatenate utterances' segments in the given order (the order the original uses)."""
    counts = [len(f) for f in feats]
    X = np.concatenate(feats) if feats else np.zeros((0, *shape), np.float32)
    return TrainSegments(X=X, y=np.repeat(np.asarray(labels, dtype=np.int64), counts))
