"""From manifest rows to arrays: audio loading, the on-disk feature cache, train and test sets.

Features are computed once per utterance and feature setting, then reused by every seed,
model and protocol: a split only picks which cached utterances go where. Each cache entry
is one ``.npz`` per utterance and overlap, under a folder named by a hash of every parameter
that affects the numbers (feature kind, sample rate, MFCC count, segment length, overlap,
padding, code version). An entry also records the parameters' key, the source wav's path,
size and modification time, and is only used when all of them still match and its
features have the expected shape and are finite; zip CRCs catch damaged bytes. Anything
else (an edited wav, a changed parameter, a truncated, corrupt or foreign file) is
recomputed, never trusted.

Audio is read as librosa.load reads it (float32, channels averaged, soxr_hq resampling to
the run's rate, spec section 1), with checks the original lacks: a file that cannot be
decoded, has no samples, is silent (every sample zero) or holds NaN/Inf samples, and an
utterance whose features are not finite, is left out with a reason instead of crashing the
run or feeding NaN to the model. :class:`LoadReport` says what was left out, resampled
and down-mixed, for the run's summary.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from tqdm import tqdm

from ser import features
from ser.results import write_via_temporary

# Bump when a change to ser.features alters the numbers, so old cache entries are ignored.
FEATURE_CODE_VERSION = 1
# Bump when the fields of an entry change; entries of another format are rebuilt.
ENTRY_FORMAT = 2

# Why an utterance's audio was left out (stable strings, so summaries can group them).
R_UNDECODABLE = "audio cannot be decoded"
R_NO_SAMPLES = "audio has no samples"
R_SILENT = "silent audio (every sample is zero)"
R_NONFINITE_AUDIO = "audio holds NaN/Inf samples"
R_NONFINITE_FEATURES = "features are not finite"
R_CHANGED = "wav changed while its features were computed"


class CacheError(Exception):
    """The feature cache cannot be written; the message says where and what to do."""


class UnusableAudio(Exception):
    """One utterance cannot be used; ``reason`` is one of the ``R_*`` strings."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason, self.detail = reason, detail


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


@dataclass(frozen=True)
class Audio:
    """One utterance's signal, mono at the requested rate, and what it was on disk."""
    samples: np.ndarray  # (N,) float32
    source_rate: int
    channels: int


def load_audio(path: str | os.PathLike, sample_rate: int) -> Audio:
    """Mono float32 at ``sample_rate``, numerically what ``librosa.load(path, sr=sample_rate)``
    gives; raises :class:`UnusableAudio` for undecodable, empty, silent or NaN/Inf audio."""
    try:
        with sf.SoundFile(path) as f:
            source_rate, channels = f.samplerate, f.channels
            data = f.read(dtype="float32", always_2d=True)  # (N, C)
    except (sf.SoundFileError, RuntimeError, OSError) as error:
        raise UnusableAudio(R_UNDECODABLE, f"{type(error).__name__}: {error}") from None
    if data.size == 0:
        raise UnusableAudio(R_NO_SAMPLES)
    if not np.isfinite(data).all():
        raise UnusableAudio(R_NONFINITE_AUDIO)
    if not data.any():
        # Silence carries nothing of the label, and some feature kinds take its log (-inf).
        raise UnusableAudio(R_SILENT)
    # librosa.load's own steps: to_mono on (C, N), then soxr_hq resampling.
    wav = librosa.to_mono(data.T)
    if source_rate != sample_rate:
        wav = librosa.resample(wav, orig_sr=source_rate, target_sr=sample_rate, res_type="soxr_hq")
    return Audio(np.ascontiguousarray(wav, dtype=np.float32), source_rate, channels)


def _identity(path: Path) -> np.ndarray:
    stat = path.stat()
    return np.array([stat.st_size, stat.st_mtime_ns], dtype=np.int64)


def save_cache_entry(path: Path, **arrays) -> None:
    """One feature-cache entry (an ``.npz`` of ``arrays``), written atomically; CacheError
    when the cache folder cannot take it."""
    def savez(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a bare name
            np.savez(f, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_via_temporary(path, savez)
    except OSError as error:
        raise CacheError(f"cannot write the feature cache at {path.parent} ({error}); free some "
                         f"space or pass --cache_dir (env SER_CACHE_DIR) a writable folder") from None


@dataclass(frozen=True)
class _Job:
    wav_path: Path
    settings: FeatureSettings
    targets: tuple[tuple[float, Path], ...]  # (overlap, cache entry) still to compute


def _compute_entry(job: _Job) -> None:
    """Load one wav and write its features for each (overlap, cache file)."""
    identity = _identity(job.wav_path)
    audio = load_audio(job.wav_path, job.settings.sample_rate)
    s = job.settings
    computed = []
    for overlap, target in job.targets:
        with np.errstate(all="ignore"):  # non-finite results are caught just below
            feats = features.extract(audio.samples, s.sample_rate, s.kind, s.segment_length, overlap,
                                     n_mfcc=s.n_mfcc, padding=s.padding)
        if not np.isfinite(feats).all():
            raise UnusableAudio(R_NONFINITE_FEATURES, f"{s.kind}, overlap {overlap} s")
        computed.append((target, s.key(overlap), feats))
    for target, key, feats in computed:
        save_cache_entry(target, features=feats, identity=identity, format=np.int64(ENTRY_FORMAT),
                  key=np.str_(key), source=np.str_(str(job.wav_path.resolve())),
                  samples=np.int64(len(audio.samples)), source_rate=np.int64(audio.source_rate),
                  channels=np.int64(audio.channels))


def _compute_job(job: _Job) -> tuple[str, str] | None:
    """Process-pool entry point: None on success, else ``(reason, detail)`` of an unusable
    utterance. :class:`CacheError` propagates: no other entry could be written either."""
    try:
        _compute_entry(job)
        return None
    except UnusableAudio as error:
        return error.reason, error.detail
    except CacheError:
        raise
    except Exception as error:  # a file that breaks the decoder must not stop the other workers
        return R_UNDECODABLE, f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class AudioInfo:
    """What a cache entry remembers of its source audio."""
    samples: int       # after down-mixing and resampling
    source_rate: int
    channels: int


@dataclass
class LoadReport:
    """What :meth:`FeatureCache.load` met: per wav its :class:`AudioInfo` (None when left
    out), and ``(index, reason, detail)`` for every wav left out, in input order."""
    audio: list[AudioInfo | None]
    skipped: list[tuple[int, str, str]] = field(default_factory=list)

    def resampled(self, sample_rate: int) -> Counter:
        """Source rate -> number of wavs resampled from it."""
        return Counter(a.source_rate for a in self.audio if a is not None and a.source_rate != sample_rate)

    def downmixed(self) -> int:
        return sum(1 for a in self.audio if a is not None and a.channels > 1)


class FeatureCache:
    """Per-utterance features under ``root``, computed on demand by all CPU cores."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def entry_path(self, wav_path: Path, settings: FeatureSettings, overlap: float) -> Path:
        name = hashlib.sha1(str(wav_path.resolve()).encode()).hexdigest()
        return self.root / settings.key(overlap) / name[:2] / f"{name}.npz"

    @staticmethod
    def _read_valid(entry: Path, wav_path: Path, identity: np.ndarray, key: str,
                    shape: tuple[int, int]) -> tuple[np.ndarray, AudioInfo] | None:
        """The entry's features and audio info if it is intact and still describes this wav
        with these parameters; None (recompute) otherwise."""
        try:
            with np.load(entry) as data:
                if (int(data["format"]) != ENTRY_FORMAT or str(data["key"]) != key
                        or str(data["source"]) != str(wav_path.resolve())
                        or not np.array_equal(data["identity"], identity)):
                    return None
                feats = data["features"]  # reading to the end checks the zip CRC
                info = AudioInfo(int(data["samples"]), int(data["source_rate"]), int(data["channels"]))
        except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile):
            return None  # missing, truncated, damaged or not ours
        if feats.dtype != np.float32 or feats.ndim != 3 or feats.shape[1:] != shape \
                or not np.isfinite(feats).all():
            return None
        return feats, info

    def load(self, wav_paths: list[Path], settings: FeatureSettings, overlaps: tuple[float, ...],
             workers: int | None = None, progress: bool = True
             ) -> tuple[dict[float, list[np.ndarray | None]], LoadReport]:
        """Features of every wav for every overlap; ``None`` where a wav was left out.

        Returns ``({overlap: [array (S, F, T) or None per wav]}, report)``; entries are
        read, or computed and written, never trusted blindly (see the module doc). Raises
        :class:`CacheError` when entries cannot be written.
        """
        overlaps = tuple(dict.fromkeys(overlaps))
        shape = settings.shape()
        keys = {o: settings.key(o) for o in overlaps}
        result = {o: [None] * len(wav_paths) for o in overlaps}
        report = LoadReport(audio=[None] * len(wav_paths))

        def read(i: int, identity: np.ndarray) -> list[tuple[float, Path]]:
            """Fill wav i from the cache; return the (overlap, entry) pairs still missing."""
            todo = []
            for o in overlaps:
                entry = self.entry_path(wav_paths[i], settings, o)
                found = self._read_valid(entry, wav_paths[i], identity, keys[o], shape)
                if found is None:
                    todo.append((o, entry))
                else:
                    result[o][i], report.audio[i] = found
            return todo

        missing, vanished = [], {}
        for i, path in enumerate(wav_paths):
            try:
                todo = read(i, _identity(path))
            except OSError as error:  # deleted or unreadable since the corpus was scanned
                vanished[i] = (R_UNDECODABLE, f"{type(error).__name__}: {error}")
                continue
            if todo:
                missing.append((i, _Job(path, settings, tuple(todo))))

        failures = {**vanished, **self._compute(missing, workers, progress)}
        for i, _ in missing:
            if i in failures:
                continue
            try:
                changed = bool(read(i, _identity(wav_paths[i])))
            except OSError:
                changed = True
            if changed:
                failures[i] = (R_CHANGED, "")
        for i in sorted(failures):
            reason, detail = failures[i]
            report.skipped.append((i, reason, detail))
            report.audio[i] = None
            for o in overlaps:
                result[o][i] = None
        return result, report

    def _compute(self, missing: list[tuple[int, _Job]], workers: int | None,
                 progress: bool) -> dict[int, tuple[str, str]]:
        if not missing:
            return {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CacheError(f"cannot create the feature cache at {self.root} ({error}); pass "
                             f"--cache_dir (env SER_CACHE_DIR) a writable folder") from None
        workers = workers or os.cpu_count() or 1
        # Starting a worker costs seconds (imports, numba compilation) against ~25 ms per
        # utterance, so a pool only pays off for hundreds of files.
        workers = min(workers, max(1, len(missing) // 256))
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
                pool.shutdown(cancel_futures=True)
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
