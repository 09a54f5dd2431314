"""Emotion predictions for new recordings from a trained checkpoint.

Each recording is scored the way the run scored a test utterance: read as mono at the
checkpoint's sample rate (resampled and down-mixed as a file is, see ``ser.features.audio``), cut into
segments with the checkpoint's test overlap (GLAM feature kinds) or into consecutive T-frame
segments (seed 004's spectrogram kinds), scaled with the run's training min-max fit if it
used one, every segment classified, the segment scores (logits, or log-softmax for
``--pooling log_softmax`` runs) averaged, and the class with the highest mean predicted.
Probabilities are the softmax of the mean, never the mean of the segments' softmax. A
recording shorter than one GLAM segment is tiled end to end until one segment fits (the
original's ``--padding`` rule) and flagged ``tiled`` rather than skipped; seed 004's features
pad their last segment, as in training.

Recordings of any length are scored in bounded memory: the audio is read block by block
(``ser.features.audio.AudioStream``, the whole-file read's samples), a GLAM kind's segments are cut as
the blocks arrive, their maps computed 32 at a time and scored ``batch_size`` at a time, and
only each segment's scores are kept (they make the timeline, ``ser.serving.timeline``). A GLAM map
depends on its segment's samples alone, so the segments and maps are those of the whole
recording; the scores were bitwise those of the whole-file path (all maps at once, passes of
256) on recordings of 2 to 642 segments, for MHCNN and GLAM on the CPU. Seed 004's kinds
take their dB scale from the whole recording's maximum: a recording longer than one block is
read twice (``ser.features.spectral_stream``), a shorter one, or one of the kinds that draw noise or
run a reverb through the signal, is read whole.
"""
from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ser.errors import UserError
from ser.features import spectral_stream
from ser.features.audio import (
    BLOCK_FRAMES,
    R_NONFINITE_FEATURES,
    AudioStream,
    UnusableAudio,
    array_stream,
    stream_audio,
)
from ser.features.glam import FeatureSettings, features_of_segments, segment_hop
from ser.features.spectral import pack
from ser.records import checkpoint as ckpt
from ser.training.dataset import TestUtterances
from ser.training.metrics import predict_utterances, scoring_batch_size

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
# GLAM segments whose maps are computed at once: the STFT of 32 segments takes 15 MB (of the 256
# segments predictions once took at a time, 120 MB), and a segment's map does not depend on the others.
FEATURE_SEGMENTS = 32
# A recording at least this long gets a progress bar of its own (predict_file(progress=True)).
PROGRESS_SECONDS = 60.0


class InferenceError(UserError):
    """A prediction or export cannot start as asked (device, output path); the message says what to change."""


def check_output_path(path: str | os.PathLike, flag: str = "-o") -> Path:
    """``path`` if a file can be written there, checked before any work whose result would be lost."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise InferenceError(f"{flag} {path} is a folder; give a file name inside it")
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise InferenceError(f"{flag} {path}: the folder {folder} {what}; create it or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InferenceError(f"{flag} {path}: the folder {folder} is not writable; choose another path")
    return path


def check_output_folder(path: str | os.PathLike, flag: str) -> Path:
    """``path`` as a writable folder, created (its parent must exist) before any work is done."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InferenceError(f"{flag} {path} is a file; give a folder")
    if not path.exists():
        if not path.parent.is_dir():
            raise InferenceError(f"{flag} {path}: the folder {path.parent} does not exist; create it or choose "
                                 "another path")
        try:
            path.mkdir()
        except OSError as error:
            raise InferenceError(f"{flag} {path}: cannot create it ({error.strerror or error})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InferenceError(f"{flag} {path} is not writable; choose another folder")
    return path


def inference_device(gpu: int) -> torch.device:
    """``-g K``: CUDA device K, checked against this machine; a negative K is the CPU."""
    if gpu < 0:
        return torch.device("cpu")
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if available == 0:
        raise InferenceError(f"-g {gpu}: this machine has no CUDA device; use -g -1 for the CPU")
    if gpu >= available:
        raise InferenceError(f"-g {gpu}: this machine has {available} CUDA device(s); use -g 0"
                             + (f"..{available - 1}" if available > 1 else "") + " or -g -1 for the CPU")
    return torch.device(f"cuda:{gpu}")


@dataclass
class SegmentScores:
    """What each segment of a recording scored, in order, and where it lies.

    ``starts`` are sample indices at ``sample_rate`` in the signal the segments were cut from,
    which is the recording tiled end to end when ``tiled``; each segment spans ``width``
    samples (seed 004's last segment is padded beyond the recording's ``samples``)."""
    logits: np.ndarray   # (S, C) float32: logits, or log-softmax for --pooling log_softmax checkpoints
    starts: np.ndarray   # (S,) int64
    width: int
    hop: int             # samples between segment starts
    sample_rate: int
    samples: int         # the recording's length at sample_rate
    tiled: bool


@dataclass
class Prediction:
    path: str
    label: str
    probabilities: dict[str, float]
    segments: int
    tiled: bool
    seconds: float
    scores: SegmentScores | None = field(default=None, repr=False, compare=False)

    def summary(self) -> dict:
        """The fields predict.py writes (everything but the segments' scores)."""
        return {"path": self.path, "label": self.label, "probabilities": self.probabilities,
                "segments": self.segments, "tiled": self.tiled, "seconds": self.seconds}


class _SegmentCutter:
    """``ser.features.glam.segment``'s cuts of a signal that arrives in blocks: segments start at 0,
    hop, 2·hop, ... while start + L·sr (a float, as there) fits in the samples seen; each is
    int(L·sr) samples. The tail shorter than a segment is dropped, as there."""

    def __init__(self, settings: FeatureSettings, overlap: float):
        self.length = settings.segment_length * settings.sample_rate
        self.width = int(self.length)
        self.hop = segment_hop(settings.segment_length, overlap, settings.sample_rate)
        self.kept = np.zeros(0, dtype=np.float32)  # the samples from `offset` on
        self.offset = self.next = self.seen = 0

    def add(self, block: np.ndarray) -> Iterator[np.ndarray]:
        """Each segment that ``block`` completes (the k-th starts at sample k·hop)."""
        self.kept = np.concatenate([self.kept, block])
        self.seen += len(block)
        while self.next + self.length <= self.seen:
            at = self.next - self.offset
            yield self.kept[at:at + self.width]
            self.next += self.hop
        drop = min(self.next, self.seen) - self.offset
        self.kept, self.offset = self.kept[drop:], self.offset + drop

    @property
    def whole(self) -> np.ndarray | None:
        """The whole signal while it is shorter than one segment (None once a segment was cut)."""
        return self.kept if self.next == 0 else None


def _regroup(chunks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Arrays regrouped along their first axis into arrays of ``size`` rows, in order (the last one fewer)."""
    rows, count = [], 0
    for chunk in chunks:
        rows.append(chunk)
        count += len(chunk)
        while count >= size:
            joined = np.concatenate(rows)
            yield joined[:size]
            rows, count = [joined[size:]], count - size
    if count:
        yield np.concatenate(rows)


class Predictor:
    """A checkpoint's model and feature settings, ready to score files and arrays."""

    def __init__(self, checkpoint_path: str | os.PathLike, device: torch.device | None = None,
                 batch_size: int | None = None, block_frames: int = BLOCK_FRAMES):
        """``batch_size``: segments per forward pass (default ``ser.training.metrics.scoring_batch_size``:
        32 on a CPU, 1024 on a GPU); ``block_frames``: source frames a file is read by at a time
        (the memory a recording takes does not grow with its length)."""
        if device is not None and device.type == "cuda":  # one error line, not torch's assertion
            inference_device(device.index or 0)
        self.checkpoint = ckpt.load(checkpoint_path)
        self.settings = ckpt.feature_settings(self.checkpoint)
        device = torch.device("cpu") if device is None else device
        # What computes a recording's inputs: the settings themselves, or an upstream loaded now on
        # the predictor's device (a missing or changed one is refused before any work) and run there.
        self.inputs = self.settings.on_device(device).check() if hasattr(self.settings, "on_device") else self.settings
        self.class_names = self.checkpoint["class_names"]
        self.model = ckpt.build_model(self.checkpoint).to(device)
        if self.checkpoint.get("pooling", "logits") == "log_softmax":
            self.model = torch.nn.Sequential(self.model, torch.nn.LogSoftmax(dim=1))
        self.device = device
        self.batch_size = scoring_batch_size(device) if batch_size is None else batch_size
        self.block_frames = block_frames

    @property
    def segment_samples(self) -> int:
        """Samples of one segment at the checkpoint's rate (GLAM: int(L·sr); seed 004: T frames)."""
        s = self.settings
        if isinstance(s, FeatureSettings):
            return int(s.segment_length * s.sample_rate)
        if getattr(s, "whole_utterance", False):  # an upstream's or eGeMAPS's one input per recording
            return 0
        return s.segment_size * s.hop_length

    def predict_wav(self, samples, sample_rate: int | None = None, name: str = "<array>") -> Prediction:
        """Score a recording held in an array, read as a file holding these samples is read.

        ``samples``: (frames,) mono or (frames, channels), the layout ``soundfile.read``
        returns (channels are averaged); integer samples are scaled as a file's PCM is
        (int16 / 32768, ...), float samples taken as they are. ``sample_rate``: the samples'
        rate in Hz, resampled to the checkpoint's as a file is; None means they are at the
        checkpoint's rate already. Raises ``ser.features.audio.UnusableAudio`` for empty, silent or
        NaN/Inf samples (as :meth:`predict_file` does for such a file) and
        ``ser.features.audio.AudioArrayError`` for an array no recording has (complex, 3-D, ...).
        """
        rate = self.settings.sample_rate if sample_rate is None else sample_rate
        array_stream(samples, rate, self.settings.sample_rate)  # a wrong array or rate is refused before any work
        return self._predict(lambda: array_stream(samples, rate, self.settings.sample_rate, self.block_frames), name)

    def predict_file(self, path: str | os.PathLike, progress: bool = False) -> Prediction:
        """Score the recording at ``path`` (any length, read block by block); ``progress``: a
        progress bar on stderr for a recording of a minute or more. Raises
        ``ser.features.audio.UnusableAudio`` for a missing, undecodable, empty, silent or NaN file."""
        seconds = stream_audio(path, self.settings.sample_rate).seconds or 0.0  # the header alone, for the bar
        shown = progress and seconds >= PROGRESS_SECONDS
        with tqdm(total=round(seconds), desc=Path(path).name, unit="s", leave=False, file=sys.stderr,
                  disable=not shown, bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s of audio [{elapsed}<{remaining}]"
                  ) as bar:
            return self._predict(lambda: stream_audio(path, self.settings.sample_rate, self.block_frames), str(path),
                                 bar)

    def _predict(self, open_stream: Callable[[], AudioStream], name: str, bar: tqdm | None = None) -> Prediction:
        """``open_stream()`` gives the recording afresh (seed 004's long recordings are read twice)."""
        s = self.settings
        if isinstance(s, FeatureSettings):
            scores = self._glam_scores(open_stream(), bar)
        else:
            stream = open_stream()
            one_block = stream.frames is not None and stream.frames <= self.block_frames
            if one_block or getattr(s, "whole_utterance", False) or not spectral_stream.supports(s):
                scores = self._whole_recording_scores(stream, name, bar)
            else:
                scores = self._spectral_scores(open_stream, bar)
        logits = torch.from_numpy(scores.logits).to(self.device)
        # The mean accumulated as predict_utterances accumulates an utterance's segment scores
        # (in its batches, in order), so a recording scores as a test utterance did, bit for bit.
        total = torch.zeros(1, logits.shape[1], device=self.device)
        for start in range(0, len(logits), self.batch_size):
            chunk = logits[start:start + self.batch_size]
            total.index_add_(0, torch.zeros(len(chunk), dtype=torch.long, device=self.device), chunk)
        mean = (total / len(logits))[0].cpu()
        probabilities = mean.softmax(dim=0).tolist()
        return Prediction(path=name, label=self.class_names[int(mean.argmax())],
                          probabilities=dict(zip(self.class_names, probabilities)), segments=len(logits),
                          tiled=scores.tiled, seconds=scores.samples / scores.sample_rate, scores=scores)

    def _segment_logits(self, maps: np.ndarray, first_start: float) -> np.ndarray:
        """(S, C) scores of segments' maps, each segment scored as an utterance of its own."""
        if not np.isfinite(maps).all():
            # as training leaves such an utterance out: the checkpoint never saw such a map
            raise UnusableAudio(R_NONFINITE_FEATURES, f"a segment from {first_start:.1f} s on")
        maps = ckpt.scale(self.checkpoint, maps)
        each = TestUtterances(X=maps, owner=np.arange(len(maps)), y=np.zeros(len(maps), dtype=np.int64),
                              names=[""] * len(maps))
        return predict_utterances(self.model, each, self.device, self.batch_size).cpu().numpy()

    def _scored(self, maps: Iterable[np.ndarray], seconds_per_segment: float) -> np.ndarray:
        """(S, C) scores of the segments whose maps come in chunks, ``batch_size`` segments a pass.

        They are written into one array that doubles when full: a small array kept per pass,
        each between the large temporary arrays of the features, would fragment the heap, and
        the memory a long recording takes would grow with its length (measured)."""
        scores, count = np.empty((1024, len(self.class_names)), dtype=np.float32), 0
        for batch in _regroup(maps, self.batch_size):
            logits = self._segment_logits(batch, count * seconds_per_segment)
            if count + len(logits) > len(scores):
                scores = np.concatenate([scores, np.empty_like(scores)])
            scores[count:count + len(logits)] = logits
            count += len(logits)
        return scores[:count]

    def _glam_scores(self, stream: AudioStream, bar: tqdm | None) -> SegmentScores:
        """A GLAM kind's segments cut and scored as the stream's blocks arrive."""
        s, overlap = self.settings, self.checkpoint["test_overlap"]
        cutter = _SegmentCutter(s, overlap)

        def segments() -> Iterator[np.ndarray]:
            for block in _shown(stream, bar):
                yield from (piece[None] for piece in cutter.add(block))

        def maps() -> Iterator[np.ndarray]:
            for pieces in _regroup(segments(), FEATURE_SEGMENTS):
                with np.errstate(all="ignore"):  # non-finite maps are refused by _segment_logits
                    yield features_of_segments(pieces, s.sample_rate, s.kind, s.n_mfcc)

        logits = self._scored(maps(), cutter.hop / s.sample_rate)
        tiled = cutter.whole is not None
        if tiled:  # shorter than one segment: tiled until one fits, as features.extract(padding=True) does
            with np.errstate(all="ignore"):
                logits = self._segment_logits(s.prediction_input(cutter.whole, overlap), 0.0)
        return SegmentScores(logits, cutter.hop * np.arange(len(logits)), cutter.width, cutter.hop, s.sample_rate,
                             stream.samples, tiled)

    def _spectral_scores(self, open_stream: Callable[[], AudioStream], bar: tqdm | None) -> SegmentScores:
        """Seed 004's long recordings, read twice (``ser.features.spectral_stream``): the dB reference first."""
        streams = []

        def blocks() -> Iterator[np.ndarray]:
            streams.append(open_stream())
            return _shown(streams[-1], bar)
        if bar is not None:
            bar.total *= 2  # both readings
        width = self.segment_samples
        logits = self._scored((pack(maps) for maps in spectral_stream.segments(blocks, self.settings)),
                              width / self.settings.sample_rate)
        return SegmentScores(logits, width * np.arange(len(logits)), width, width, self.settings.sample_rate,
                             streams[-1].samples, False)

    def _whole_recording_scores(self, stream: AudioStream, name: str, bar: tqdm | None) -> SegmentScores:
        """Seed 004's kinds read whole: a recording of one block, and the kinds that draw noise or
        run a reverb through it (lognrevspec's noise is drawn from a generator seeded by ``name``)."""
        s = self.settings
        wav = np.concatenate(list(_shown(stream, bar)))
        with np.errstate(all="ignore"):
            maps = self.inputs.prediction_input(wav, self.checkpoint["test_overlap"], name)
        width = self.segment_samples or len(wav)
        return SegmentScores(self._segment_logits(maps, 0.0), np.arange(len(maps), dtype=np.int64) * width, width,
                             width, s.sample_rate, len(wav), False)


def _shown(stream: AudioStream, bar: tqdm | None) -> Iterator[np.ndarray]:
    """The stream's blocks, each counted on the progress bar in seconds of audio."""
    for block in stream:
        yield block
        if bar is not None:
            bar.update(len(block) / stream.sample_rate)


@dataclass
class AudioSearch:
    """The files found in the inputs, the inputs that do not exist, and the files of the folders
    that were passed over for their extension."""
    found: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    def skipped_summary(self, listed: int = 10) -> str | None:
        """One line naming the skipped files (the first ``listed``) by extension, or None."""
        if not self.skipped:
            return None
        counts = Counter(p.suffix.lower() or "(none)" for p in self.skipped)
        kinds = ", ".join(f"{count} {suffix}" for suffix, count in sorted(counts.items()))
        names = ", ".join(str(p) for p in self.skipped[:listed])
        more = f" and {len(self.skipped) - listed} more" if len(self.skipped) > listed else ""
        return (f"skipped {len(self.skipped)} file(s) in the folders whose extension is not read ({kinds}): "
                f"{names}{more}; folders are searched for {', '.join(AUDIO_EXTENSIONS)} (name a file "
                "directly to try any other format)")


def audio_files(inputs: list[str | os.PathLike]) -> AudioSearch:
    """Expand folders (recursively, sorted) into audio files by extension, noting the files left
    out; a file named directly is kept whatever its extension (the decoder reads its header)."""
    search = AudioSearch()
    for item in map(Path, inputs):
        if item.is_dir():
            files = sorted(p for p in item.rglob("*") if p.is_file())
            search.found += [p for p in files if p.suffix.lower() in AUDIO_EXTENSIONS]
            # hidden files (.DS_Store, editors' and our own temporary files) are nobody's recordings
            search.skipped += [p for p in files if p.suffix.lower() not in AUDIO_EXTENSIONS
                               and not p.name.startswith(".")]
        elif item.is_file():
            search.found.append(item)
        else:
            search.missing.append(str(item))
    return search
