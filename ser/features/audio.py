"""Reading one recording as the original reads it, and the reasons a recording is left out.

Audio is read as ``librosa.load`` reads it (float32, channels averaged, soxr_hq resampling to
the run's rate), with checks the original lacks: a file that does not exist or cannot be
decoded, has no samples, is silent (every sample zero) or holds NaN/Inf samples raises
:class:`UnusableAudio` with one of the stable ``R_*`` reasons, so a run leaves the utterance
out with that reason instead of crashing or feeding NaN to the model.

:class:`AudioStream` reads a recording block by block in bounded memory, for recordings of any
length. Its samples are bitwise those of the whole-file read: averaging channels is done per
sample, and soxr's streaming resampler gives the one-shot resampler's samples exactly (up to
the last sample, which ``librosa.resample`` pads with a zero to ``ceil(N * rate ratio)``;
measured for eight rates and block sizes from 7 samples to whole files). The one exception is
libsndfile's MP3 decoder, whose float samples depend on how many frames a read asks for: an MP3
longer than one block (2**20 frames) differs from a whole read by one float32 step (2.4e-7) in
some samples. :func:`load_audio` is the stream of one whole-file read, so it stays bitwise
``librosa.load``. An array in memory (the Python API) is read by the same stream
(:func:`array_stream`), each block scaled as a file's samples are scaled.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import librosa
import numpy as np
import soundfile as sf
import soxr

from ser.errors import UserError

# Why an utterance's audio was left out (stable strings, so summaries can group them).
R_NO_FILE = "no such file"
R_UNDECODABLE = "audio cannot be decoded"
R_NO_SAMPLES = "audio has no samples"
R_SILENT = "silent audio (every sample is zero)"
R_NONFINITE_AUDIO = "audio holds NaN/Inf samples"
R_NONFINITE_FEATURES = "features are not finite"
R_CHANGED = "wav changed while its features were computed"

# Source frames per block of a stream: 2**20 frames (24 s at 44.1 kHz) are 4 MiB per channel.
BLOCK_FRAMES = 1 << 20
# librosa.load's resampler, named as soxr and librosa name it.
RESAMPLER = "soxr_hq"


class UnusableAudio(UserError):
    """One recording cannot be used; ``reason`` is one of the ``R_*`` strings. A run leaves
    the utterance out with that reason; a prediction reports it as the user's error."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason, self.detail = reason, detail


class AudioArrayError(UserError):
    """An array passed as a recording has a type, shape or sample rate no recording has."""


@dataclass(frozen=True)
class Audio:
    """One utterance's signal, mono at the requested rate, and what it was on disk."""
    samples: np.ndarray  # (N,) float32
    source_rate: int
    channels: int


class AudioStream:
    """A recording as mono float32 blocks at ``sample_rate``, read in bounded memory.

    ``blocks`` are the source's (frames, channels) float32 blocks at ``source_rate``. Iterating
    yields the mono blocks in order and raises :class:`UnusableAudio` for NaN/Inf samples (at
    the block that holds them) and for a recording without samples or without a non-zero
    sample (at the end, after its last block). ``frames`` is the source's length when its
    header tells it (for a progress bar), ``samples`` the count of samples yielded so far.
    """

    def __init__(self, blocks: Iterable[np.ndarray], source_rate: int, channels: int, sample_rate: int,
                 frames: int | None = None):
        self._blocks = blocks
        self.source_rate, self.channels, self.sample_rate, self.frames = source_rate, channels, sample_rate, frames
        self.samples = 0

    @property
    def seconds(self) -> float | None:
        """The source's duration from its header, if known."""
        return None if self.frames is None else self.frames / self.source_rate

    def __iter__(self) -> Iterator[np.ndarray]:
        resampler = None
        if self.source_rate != self.sample_rate:
            resampler = soxr.ResampleStream(self.source_rate, self.sample_rate, 1, dtype="float32", quality=RESAMPLER)
        frames, heard = 0, False
        for block in self._blocks:
            if len(block) == 0:
                continue
            if not np.isfinite(block).all():
                raise UnusableAudio(R_NONFINITE_AUDIO)
            heard = heard or bool(block.any())
            frames += len(block)
            # librosa.load's own steps: to_mono on (C, N), then the resampler
            mono = np.ascontiguousarray(librosa.to_mono(block.T), dtype=np.float32)
            yield from self._counted(mono if resampler is None else resampler.resample_chunk(mono))
        if frames == 0:
            raise UnusableAudio(R_NO_SAMPLES)
        if not heard:
            # Silence carries nothing of the label, and some feature kinds take its log (-inf).
            raise UnusableAudio(R_SILENT)
        if resampler is not None:
            tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            # librosa.resample fixes the length at ceil(N * ratio), padding with zeros; the stream
            # ends at most one sample short of it and never beyond it (measured)
            length = int(np.ceil(frames * (float(self.sample_rate) / self.source_rate)))
            missing = max(0, length - self.samples - len(tail))
            yield from self._counted(np.concatenate([tail, np.zeros(missing, dtype=np.float32)]))

    def _counted(self, block: np.ndarray) -> Iterator[np.ndarray]:
        if len(block):
            self.samples += len(block)
            yield block


def _file_blocks(path: str | os.PathLike, block_frames: int | None) -> Iterator[np.ndarray]:
    """The file's (frames, channels) float32 blocks; ``block_frames`` None reads it in one block."""
    try:
        with sf.SoundFile(path) as f:
            while True:
                block = f.read(-1 if block_frames is None else block_frames, dtype="float32", always_2d=True)
                if len(block) == 0:
                    return
                yield block
    except (sf.SoundFileError, RuntimeError, OSError) as error:  # a file that stops decoding part-way
        raise UnusableAudio(R_UNDECODABLE, f"{type(error).__name__}: {error}") from None


def _header(path: str | os.PathLike) -> sf._SoundFileInfo:
    """The file's header, or UnusableAudio naming why there is none. The file is opened by
    Python first: libsndfile reports a missing or unreadable file as "System error"."""
    try:
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise UnusableAudio(R_NO_FILE, str(path)) from None
    except IsADirectoryError:
        raise UnusableAudio(R_UNDECODABLE, f"{path} is a folder, not an audio file") from None
    except OSError as error:
        raise UnusableAudio(R_UNDECODABLE, f"{path}: {error.strerror or error}") from None
    try:
        return sf.info(path)
    except (sf.SoundFileError, RuntimeError, OSError) as error:
        raise UnusableAudio(R_UNDECODABLE, f"{type(error).__name__}: {error}") from None


def stream_audio(path: str | os.PathLike, sample_rate: int, block_frames: int | None = BLOCK_FRAMES) -> AudioStream:
    """The recording at ``path`` as an :class:`AudioStream`, read as it is iterated, ``block_frames``
    source frames at a time (None: the whole file in one read)."""
    info = _header(path)
    # libsndfile counts -1 or 2**63 - 1 frames where the header does not tell the length
    frames = info.frames if 0 < info.frames < 2 ** 62 else None
    return AudioStream(_file_blocks(path, block_frames), info.samplerate, info.channels, sample_rate, frames)


def load_audio(path: str | os.PathLike, sample_rate: int) -> Audio:
    """Mono float32 at ``sample_rate``, numerically what ``librosa.load(path, sr=sample_rate)``
    gives; raises :class:`UnusableAudio` for missing, undecodable, empty, silent or NaN/Inf audio."""
    stream = stream_audio(path, sample_rate, block_frames=None)
    blocks = list(stream)
    return Audio(np.concatenate(blocks), stream.source_rate, stream.channels)


def frames_of_array(samples) -> np.ndarray:
    """A recording given as an array, checked, as a (frames, channels) view (not converted).

    A 1-D array is mono; a 2-D array holds one channel per column, (frames, channels), as
    ``soundfile.read`` returns it. An array with more columns than rows is refused (it is
    almost surely librosa's (channels, frames): pass its transpose), as are other shapes and
    types other than integers and floats.
    """
    array = np.asarray(samples)
    if array.dtype.kind not in "iuf":
        raise AudioArrayError(f"the samples are {array.dtype} values; a recording's samples are integers or floats")
    if array.ndim == 1:
        return array[:, None]
    if array.ndim != 2:
        raise AudioArrayError(f"the samples have shape {array.shape}; give (frames,) for mono or (frames, channels)")
    if array.shape[1] > array.shape[0]:
        raise AudioArrayError(f"the samples have shape {array.shape}: {array.shape[0]} frames of {array.shape[1]} "
                              "channels; channels go in the columns, (frames, channels), as soundfile.read returns "
                              "them; for librosa's (channels, frames) pass the transpose (.T)")
    return array


def scaled_as_read(frames: np.ndarray) -> np.ndarray:
    """float32 samples scaled as a file's samples are read: floats as they are; signed integers
    of b bits divided by 2**(b-1) and unsigned ones centred first ((x - 2**(b-1)) / 2**(b-1), as
    8-bit WAV is stored), which is what soundfile and librosa give for 8-, 16- and 32-bit PCM."""
    kind = frames.dtype.kind
    if kind == "f":
        return np.ascontiguousarray(frames, dtype=np.float32)
    half = 2.0 ** (8 * frames.dtype.itemsize - 1)
    centred = frames.astype(np.float64) - (half if kind == "u" else 0.0)
    # float64 holds every 32-bit sample exactly, so the float32 result is rounded once, as libsndfile's
    return np.ascontiguousarray(centred / half, dtype=np.float32)


def array_stream(samples, source_rate: int, sample_rate: int, block_frames: int = BLOCK_FRAMES) -> AudioStream:
    """An array in memory as an :class:`AudioStream`, read as a file of rate ``source_rate``
    holding these samples (see :func:`frames_of_array` and :func:`scaled_as_read`), one
    block at a time: a long integer array is never copied whole."""
    if isinstance(source_rate, bool) or not isinstance(source_rate, (int, np.integer)) or source_rate <= 0:
        raise AudioArrayError(f"sample_rate {source_rate!r}: give the samples' rate in Hz as a positive integer")
    frames = frames_of_array(samples)
    blocks = (scaled_as_read(frames[start:start + block_frames]) for start in range(0, len(frames), block_frames))
    return AudioStream(blocks, int(source_rate), frames.shape[1], sample_rate, len(frames))
