"""The on-disk feature cache, one for every feature family.

Features are computed once per utterance and feature setting, then reused by every seed,
model and protocol: a split only picks which cached utterances go where. A feature setting
(``ser.features.glam.FeatureSettings`` for GLAM's kinds, ``ser.features.spectral.SpectralSettings`` for seed
004's) tells the cache what it needs through a few methods: ``key(overlap)`` names the folder
of its entries (a hash of every parameter that affects the numbers, code version included),
``entry_shape()`` the shape of one segment, ``compute(wav, overlap, name)`` the segments of
one utterance, and ``uses_name`` whether the utterance's name seeds random draws (seed 004's
noisy channel does, so its entries are keyed by name too). GLAM's kinds have one entry per
overlap; seed 004's cut the whole utterance's map and ignore the overlap, so their key does.
A setting that also offers ``compute_many(wavs, overlap, names)`` (``ser.features.torch_backend.
TorchFeatures``) gets its missing utterances in batches, in this process, instead of one at
a time in a pool of worker processes.

Each entry is one ``.npz`` per utterance (and overlap) under ``ROOT/<key>/``: the features, and
in one JSON member the parameters' key, the source wav's path, size and modification time,
the utterance name and a checksum of the features' values. It is only used when all of them
still match and its features have the expected shape and are finite; zip CRCs catch damaged
bytes, the checksum a valid-looking file with other values. Anything else (an edited wav, a
changed parameter, a truncated, corrupt or foreign file) is recomputed, never trusted.
Entries are written atomically; a batched setting's entries batch by batch (its
``batch_utterances``, default :data:`BATCH_UTTERANCES`), so an interrupted computation resumes
at the batch it stopped in, and its bar shows the real-time factor. A setting may keep its
entries in another type (``entry_dtype``: the upstreams' frames in float16).

Audio is read by ``ser.features.audio.load_audio``; an utterance that cannot be used is left out with
its reason (:class:`LoadReport`), as is one whose features are not finite.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import threadpoolctl
from tqdm import tqdm

from ser.errors import UserError
from ser.features.audio import R_CHANGED, R_NONFINITE_FEATURES, R_UNDECODABLE, Audio, UnusableAudio, load_audio
from ser.io import write_via_temporary

# Bump when the fields of an entry change; entries of another format are rebuilt. Format 4
# keeps every field but the features in one JSON member: each .npz member costs a header
# parse when read, and ten of them made reading an entry twice as slow.
ENTRY_FORMAT = 4
# Utterances per compute_many call of a batched setting: enough for a GPU to be busy, while
# their audio (a few seconds each) takes tens of MB.
BATCH_UTTERANCES = 256
# Utterances per worker from which worker processes pay off over threads: a process's start
# (imports, numba compilation) costs seconds, and threads share the GIL.
PROCESSES_FROM = 256


class CacheError(UserError):
    """The feature cache cannot be written; the message says where and what to do."""


class CachedFeatures(Protocol):
    """What the cache needs from a feature setting (see the module doc)."""
    kind: str
    sample_rate: int
    uses_name: bool

    def key(self, overlap: float | None) -> str: ...
    def entry_shape(self) -> tuple[int, ...]: ...
    def compute(self, wav: np.ndarray, overlap: float | None, name: str) -> np.ndarray: ...


@runtime_checkable
class BatchedFeatures(CachedFeatures, Protocol):
    """A feature setting that computes many utterances in one call (``ser.features.torch_backend``):
    the cache hands it :data:`BATCH_UTTERANCES` utterances at a time instead of one each."""

    def compute_many(self, wavs: list[np.ndarray], overlap: float | None,
                     names: list[str]) -> list[np.ndarray]: ...


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


def _library_threads() -> int:
    """The most threads a numeric library of this process (BLAS, OpenMP) runs one call on."""
    return max((library["num_threads"] for library in threadpoolctl.threadpool_info()), default=1)


def _identity(path: Path) -> np.ndarray:
    stat = path.stat()
    return np.array([stat.st_size, stat.st_mtime_ns], dtype=np.int64)


def checksum(values: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(values).tobytes(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class _Job:
    wav_path: Path
    name: str
    settings: CachedFeatures
    targets: tuple[tuple[float | None, Path], ...]  # (overlap, cache entry) still to compute


def _save(entry: Path, **arrays) -> None:
    def savez(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a bare name
            np.savez(f, **arrays)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        write_via_temporary(entry, savez)
    except OSError as error:
        raise CacheError(f"cannot write the feature cache at {entry.parent} ({error}); free some "
                         f"space or pass --cache_dir (env SER_CACHE_DIR) a writable folder") from None


def _checked(feats: np.ndarray, overlap: float | None) -> np.ndarray:
    if not np.isfinite(feats).all():
        raise UnusableAudio(R_NONFINITE_FEATURES, "" if overlap is None else f"overlap {overlap} s")
    return feats


def _write_entries(job: _Job, identity: np.ndarray, audio: Audio, computed: list[tuple[Path, str, np.ndarray]]) -> None:
    for entry, key, feats in computed:
        meta = {"format": ENTRY_FORMAT, "key": key, "source": str(job.wav_path.resolve()), "name": job.name,
                "identity": identity.tolist(), "checksum": checksum(feats), "samples": len(audio.samples),
                "source_rate": audio.source_rate, "channels": audio.channels}
        _save(entry, features=feats, meta=np.str_(json.dumps(meta)))


def _compute_entry(job: _Job) -> None:
    """Load one wav and write its features for each (overlap, cache entry)."""
    identity = _identity(job.wav_path)
    audio = load_audio(job.wav_path, job.settings.sample_rate)
    computed = []
    for overlap, entry in job.targets:
        with np.errstate(all="ignore"):  # non-finite results are caught just below
            feats = _checked(job.settings.compute(audio.samples, overlap, job.name), overlap)
        computed.append((entry, job.settings.key(overlap), feats))
    _write_entries(job, identity, audio, computed)


def _failure(work) -> tuple[str, str] | None:
    """None when ``work()`` succeeds, else ``(reason, detail)`` of an unusable utterance.
    :class:`CacheError` propagates: no other entry could be written either."""
    try:
        work()
        return None
    except UnusableAudio as error:
        return error.reason, error.detail
    except CacheError:
        raise
    except Exception as error:  # a file that breaks the decoder must not stop the others
        return R_UNDECODABLE, f"{type(error).__name__}: {error}"


def _compute_job(job: _Job) -> tuple[str, str] | None:
    """Process-pool entry point: the failure of one utterance, if any."""
    return _failure(lambda: _compute_entry(job))


@dataclass
class _Loaded:
    """One utterance of a batch, read, and its features by overlap as they are computed."""
    index: int
    job: _Job
    identity: np.ndarray
    audio: Audio
    computed: dict[float | None, np.ndarray] = field(default_factory=dict)

    def info(self) -> AudioInfo:
        return AudioInfo(len(self.audio.samples), self.audio.source_rate, self.audio.channels)


def _features_of(group: list[_Loaded], overlap: float | None, settings: BatchedFeatures) -> list[np.ndarray]:
    with np.errstate(all="ignore"):  # non-finite results are caught by the caller
        return settings.compute_many([item.audio.samples for item in group], overlap, [item.job.name for item in group])


def _compute_overlap(items: list[_Loaded], overlap: float | None, settings: BatchedFeatures,
                     failures: dict[int, tuple[str, str]]) -> None:
    """Add the entry at ``overlap`` to each item's ``computed``, or its failure to ``failures``.
    When the one call for all of them fails, they are computed one by one, so that only the
    utterance that breaks is left out."""
    try:
        values = _features_of(items, overlap, settings)
    except CacheError:
        raise
    except Exception:
        values = []
        for item in items:
            failure = _failure(lambda item=item: values.append(_features_of([item], overlap, settings)[0]))
            if failure is not None:
                failures[item.index] = failure
                values.append(None)
    for item, feats in zip(items, values):
        if feats is None:
            continue
        try:
            item.computed[overlap] = _checked(feats, overlap)
        except UnusableAudio as error:
            failures[item.index] = (error.reason, error.detail)


def _compute_batch(batch: list[tuple[int, _Job]], settings: BatchedFeatures
                   ) -> tuple[dict[int, tuple[str, str]], list[_Loaded]]:
    """Write the entries of a batch of utterances, each overlap's from one ``compute_many``
    call; return the failures as :func:`_compute_job` does (unreadable audio is left out
    before any features are computed) and the utterances written, with their features."""
    failures, loaded = {}, []
    for i, job in batch:
        def read(i=i, job=job) -> None:
            identity = _identity(job.wav_path)
            loaded.append(_Loaded(i, job, identity, load_audio(job.wav_path, settings.sample_rate)))
        failure = _failure(read)
        if failure is not None:
            failures[i] = failure
    for overlap in dict.fromkeys(o for item in loaded for o, _ in item.job.targets):
        items = [item for item in loaded if item.index not in failures and overlap in dict(item.job.targets)]
        if items:
            _compute_overlap(items, overlap, settings, failures)
    written = [item for item in loaded if item.index not in failures]
    for item in written:
        targets = dict(item.job.targets)
        _write_entries(item.job, item.identity, item.audio,
                       [(targets[o], settings.key(o), feats) for o, feats in item.computed.items()])
    return failures, written


class FeatureCache:
    """Per-utterance features under ``root``, computed on demand by all CPU cores."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def entry_path(self, wav_path: Path, settings: CachedFeatures, overlap: float | None = None,
                   name: str = "") -> Path:
        source = str(Path(wav_path).resolve())
        digest = hashlib.sha1((f"{source}|{name}" if settings.uses_name else source).encode()).hexdigest()
        return self.root / settings.key(overlap) / digest[:2] / f"{digest}.npz"

    @staticmethod
    def _read_valid(entry: Path, wav_path: Path, name: str, identity: np.ndarray, key: str,
                    shape: tuple[int, ...], dtype: type = np.float32) -> tuple[np.ndarray, AudioInfo] | None:
        """The entry's features and audio info if it is intact and still describes this wav
        with these parameters; None (recompute) otherwise."""
        try:
            with np.load(entry) as data:
                meta = json.loads(str(data["meta"]))
                if (meta["format"] != ENTRY_FORMAT or meta["key"] != key or meta["source"] != str(wav_path.resolve())
                        or meta["name"] != name or meta["identity"] != identity.tolist()):
                    return None
                feats = data["features"]  # reading to the end checks the zip CRC
                info = AudioInfo(int(meta["samples"]), int(meta["source_rate"]), int(meta["channels"]))
                stored_checksum = meta["checksum"]
        except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile):
            return None  # missing, truncated, damaged, of an older format or not ours
        if (feats.dtype != dtype or feats.shape[1:] != tuple(shape) or not np.isfinite(feats).all()
                or checksum(feats) != stored_checksum):
            return None
        return feats, info

    def load(self, wav_paths: list[Path], settings: CachedFeatures, overlaps: tuple[float | None, ...] = (None,),
             workers: int | None = None, progress: bool = True, names: list[str] | None = None
             ) -> tuple[dict[float | None, list[np.ndarray | None]], LoadReport]:
        """Features of every wav for every overlap; ``None`` where a wav was left out.

        Returns ``({overlap: [array (S, ...) or None per wav]}, report)``. ``names`` (default
        empty) are the utterances' stable names, which seed the draws of settings that
        ``uses_name``. Overlaps that the settings map to one key share one entry. Raises
        :class:`CacheError` when entries cannot be written.
        """
        names = [""] * len(wav_paths) if names is None else list(names)
        keys = {o: settings.key(o) for o in dict.fromkeys(overlaps)}
        distinct = tuple({key: o for o, key in reversed(keys.items())}.values())  # one overlap per key
        shape = settings.entry_shape()
        dtype = getattr(settings, "entry_dtype", np.float32)  # the upstreams' frames are kept in float16
        by_key = {keys[o]: [None] * len(wav_paths) for o in distinct}
        report = LoadReport(audio=[None] * len(wav_paths))

        def read(i: int) -> list[tuple[float | None, Path]]:
            """Fill wav i from the cache; return the (overlap, entry) pairs still missing."""
            identity, todo = _identity(wav_paths[i]), []
            for o in distinct:
                entry = self.entry_path(wav_paths[i], settings, o, names[i])
                found = self._read_valid(entry, wav_paths[i], names[i], identity, keys[o], shape, dtype)
                if found is None:
                    todo.append((o, entry))
                else:
                    by_key[keys[o]][i], report.audio[i] = found
            return todo

        missing, failures = [], {}
        for i, path in enumerate(wav_paths):
            try:
                todo = read(i)
            except OSError as error:  # deleted or unreadable since the corpus was scanned
                failures[i] = (R_UNDECODABLE, f"{type(error).__name__}: {error}")
                continue
            if todo:
                missing.append((i, _Job(Path(path), names[i], settings, tuple(todo))))
        computed, in_memory = self._compute(missing, workers, progress, settings)
        failures.update(computed)
        for i, job in missing:
            if i in failures:
                continue
            try:
                if i in in_memory:  # as written; the wav must still be the one they were computed from
                    item = in_memory[i]
                    changed = not np.array_equal(_identity(job.wav_path), item.identity)
                    for o, feats in item.computed.items():
                        by_key[keys[o]][i] = feats
                    report.audio[i] = item.info()
                else:  # written by worker processes: read back
                    changed = bool(read(i))
            except OSError:
                changed = True
            if changed:
                failures[i] = (R_CHANGED, "")
        for i in sorted(failures):
            reason, detail = failures[i]
            report.skipped.append((i, reason, detail))
            report.audio[i] = None
            for values in by_key.values():
                values[i] = None
        return {o: by_key[key] for o, key in keys.items()}, report

    def _compute(self, missing: list[tuple[int, _Job]], workers: int | None, progress: bool,
                 settings: CachedFeatures) -> tuple[dict[int, tuple[str, str]], dict[int, _Loaded]]:
        """Write the missing entries; return the failures by wav index, and the utterances
        whose features this process computed (by index; the worker pool's are only on disk)."""
        if not missing:
            return {}, {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CacheError(f"cannot create the feature cache at {self.root} ({error}); pass "
                             f"--cache_dir (env SER_CACHE_DIR) a writable folder") from None
        if isinstance(settings, BatchedFeatures):
            return self._compute_batched(missing, progress, settings)
        workers = min(workers or os.cpu_count() or 1, len(missing))
        processes = min(workers, len(missing) // PROCESSES_FROM)
        bar = tqdm(total=len(missing), desc=f"{settings.kind} features", unit="utt", disable=not progress)
        failures = {}
        pool = None
        try:
            if processes > 1:
                # spawn, not fork: the parent may already run torch's thread pools.
                pool = ProcessPoolExecutor(processes, mp_context=get_context("spawn"))
                outcomes = pool.map(_compute_job, (job for _, job in missing), chunksize=8)
            elif workers > 1 and _library_threads() == 1:
                # Starting a worker process costs seconds (imports, numba compilation) against
                # ~25 ms per utterance; threads start at once, and the FFTs, products and file
                # reads of an utterance release the GIL (1.4-1.6x one thread on two cores).
                # Each utterance is computed by the same calls either way, so bit for bit alike.
                pool = ThreadPoolExecutor(workers)
                outcomes = pool.map(_compute_job, (job for _, job in missing))
            else:
                # one after the other: the numeric libraries' own threads already use the cores
                # (and their thread count is not to be changed: it changes BLAS's rounding)
                outcomes = map(_compute_job, (job for _, job in missing))
            for (i, _), failure in zip(missing, outcomes):
                if failure is not None:
                    failures[i] = failure
                bar.update()
        finally:
            bar.close()
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return failures, {}

    @staticmethod
    def _compute_batched(missing: list[tuple[int, _Job]], progress: bool,
                         settings: BatchedFeatures) -> tuple[dict[int, tuple[str, str]], dict[int, _Loaded]]:
        """In this process, :data:`BATCH_UTTERANCES` at a time: the setting's own batches do
        the work of the worker pool (on the CPU's threads or on a GPU)."""
        failures, written = {}, {}
        size = getattr(settings, "batch_utterances", BATCH_UTTERANCES)
        audio_seconds, started = 0.0, time.perf_counter()
        with tqdm(total=len(missing), desc=f"{settings.kind} features", unit="utt", disable=not progress) as bar:
            for start in range(0, len(missing), size):
                batch = missing[start:start + size]
                batch_failures, batch_written = _compute_batch(batch, settings)
                failures.update(batch_failures)
                written.update((item.index, item) for item in batch_written)
                audio_seconds += sum(len(item.audio.samples) for item in batch_written) / settings.sample_rate
                if audio_seconds:  # the real-time factor: seconds of computing per second of audio
                    bar.set_postfix_str(f"RTF {(time.perf_counter() - started) / audio_seconds:.3f}", refresh=False)
                bar.update(len(batch))
        return failures, written
