"""Seed 004's spectrogram segments of a long recording, computed block by block in bounded memory.

Seed 004's maps (``ser.features.spectral``) are in dB relative to the *whole* recording's maximum, so a
recording is read twice: the first pass finds that maximum, the second computes the maps in
blocks of frames with it and cuts them into the T-frame segments. Every frame of the
centred STFT depends on its own window of samples only (the reflect padding at both ends is
rebuilt from the recording's first and last samples), and the Savitzky-Golay deltas on
``CONTEXT`` frames either side, so the blocks give the whole-recording maps: the STFT and the
dB values exactly, the mel bands within the float rounding of a matrix product of another
width. Kinds that draw noise or run a reverb through the whole signal (``lognrevspec``, the
``perturbation`` settings) are not computed here; ``supports`` says which are.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator

import librosa
import numpy as np

from ser.features import spectral
from ser.features.spectral import SpectralSettings

# Frames either side of a block that its deltas see: a delta of a delta of width 5 reaches 4
# frames, a width-9 delta 4; 8 also leaves the last block the 9 frames a width-9 edge fit needs.
CONTEXT = 8
# Segments computed at once (16 x 300 frames: a 15 MB STFT).
BLOCK_SEGMENTS = 16
# (factor, amin) of each kind's dB step, as ser.features.spectral's logspec and logmelspec take them.
_DB_RULES = {"spec": (20.0, 1e-5), "mel": (10.0, 1e-10)}


def supports(settings: SpectralSettings) -> bool:
    """Whether the settings' maps are a function of the samples near each frame and of the
    recording's maximum only (no noise, no reverb)."""
    return settings.kind != "lognrevspec" and settings.perturbation is None


class _Frames:
    """The centred STFT magnitude of a pre-emphasised signal arriving in blocks, frame by frame.

    Frame f sees samples f·hop - n_fft/2 .. f·hop + n_fft/2 of the signal reflect-padded by
    n_fft/2 at both ends (librosa's ``center=True, pad_mode="reflect"``)."""

    def __init__(self, settings: SpectralSettings):
        self.s = settings
        self.pad = settings.n_fft // 2
        self.kept = np.zeros(0, dtype=np.float32)  # samples from `offset` on
        self.offset = self.seen = self.next = 0
        self.previous: np.float32 | None = None  # the last raw sample, for the pre-emphasis

    def _emphasised(self, block: np.ndarray) -> np.ndarray:
        """ser.features.spectral.preemphasize continued across blocks: y[0] = x[0], y[n] = x[n] - c·x[n-1]."""
        if self.previous is None:
            out = np.concatenate([block[:1], block[1:] - self.s.preemphasis * block[:-1]])
        else:
            before = np.concatenate([np.array([self.previous], dtype=block.dtype), block[:-1]])
            out = block - self.s.preemphasis * before
        self.previous = block[-1]
        return out

    def _magnitude(self, last: int, total: int | None) -> np.ndarray:
        """|STFT| of frames next..last-1; ``total``: the signal's length, once known, for the
        samples reflected at its end."""
        hop = self.s.hop_length
        wanted = np.arange(self.next * hop - self.pad, (last - 1) * hop + self.pad)
        index = np.abs(wanted)  # numpy's reflect padding: sample -i is sample i
        if total is not None:
            index = np.where(index >= total, 2 * (total - 1) - index, index)
        piece = self.kept[index - self.offset]
        magnitude = np.abs(librosa.stft(y=piece, n_fft=self.s.n_fft, hop_length=hop, win_length=self.s.win_length,
                                        window=self.s.window, center=False))
        self.next = last
        drop = max(0, self.next * hop - 2 * self.pad - self.offset)  # keeps all the next frames may reflect
        self.kept, self.offset = self.kept[drop:], self.offset + drop
        return magnitude

    def add(self, block: np.ndarray) -> Iterator[np.ndarray]:
        """|STFT| of the frames whose window ``block`` completes."""
        self.kept = np.concatenate([self.kept, self._emphasised(block)])
        self.seen += len(block)
        last = (self.seen - self.pad) // self.s.hop_length + 1  # frames inside the samples seen
        if last > self.next and self.seen > self.pad:
            yield self._magnitude(last, None)

    def finish(self) -> Iterator[np.ndarray]:
        """|STFT| of the last frames, which reflect the signal's end."""
        if self.count > self.next:
            yield self._magnitude(self.count, self.seen)

    @property
    def count(self) -> int:
        """Frames of the samples seen: 1 + N // hop, as a centred STFT has."""
        return 1 + self.seen // self.s.hop_length


def _frames_of(blocks: Iterable[np.ndarray], settings: SpectralSettings) -> Iterator[np.ndarray]:
    frames = _Frames(settings)
    for block in blocks:
        yield from frames.add(block)
    yield from frames.finish()


def _values(magnitude: np.ndarray, settings: SpectralSettings, bank: np.ndarray | None) -> np.ndarray:
    """What the dB step takes: |X| (linear kinds) or the mel bands' power."""
    return magnitude if bank is None else bank @ magnitude ** 2


def _rule(settings: SpectralSettings) -> tuple[float, float]:
    return _DB_RULES["mel" if settings.kind in ("logmelspec", "logmeldeltaspec") else "spec"]


def _channels(db: np.ndarray, settings: SpectralSettings) -> np.ndarray:
    """(C, F, frames) of a stretch of dB frames, as ser.features.spectral.spectral_maps builds them."""
    if settings.kind in ("logspec", "logmelspec"):
        maps = [db]
    elif settings.kind == "logmeldeltaspec":
        first = spectral.delta(db, 5)
        maps = [db, first, spectral.delta(first, 5)]
    else:  # logdeltaspec
        maps = [db, spectral.delta(db, 9, 1, "interp"), spectral.delta(db, 9, 2, "interp")]
    return np.stack(maps).astype(np.float32)


def segments(open_blocks: Callable[[], Iterable[np.ndarray]], settings: SpectralSettings) -> Iterator[np.ndarray]:
    """(S, C, F, T) maps of the recording's segments, in order, ``BLOCK_SEGMENTS`` at a time.

    ``open_blocks()`` gives the recording's mono blocks at the settings' rate afresh (it is
    called twice). The maps are ``settings.compute(wav)``'s (see the module doc)."""
    s = settings
    bank = None
    if s.kind in ("logmelspec", "logmeldeltaspec"):
        bank = librosa.filters.mel(sr=s.sample_rate, n_fft=s.n_fft, n_mels=s.n_mels, fmin=0.0,
                                   fmax=s.sample_rate / 2, htk=False, norm="slaney")
    maximum = max(float(_values(magnitude, s, bank).max()) for magnitude in _frames_of(open_blocks(), s))
    factor, amin = _rule(s)
    reference = factor * np.log10(max(amin, maximum))
    # the map's largest dB value, computed as ser.features.spectral._to_db computes the element that holds it
    top = factor * np.log10(np.maximum(amin, np.array([maximum], dtype=np.float32)))[0] - reference
    floor = top - spectral.TOP_DB

    size, pad = s.segment_size, spectral.pad_values(s)
    kept = np.zeros((s.n_freq if bank is None else s.n_mels, 0))  # dB frames from `offset` on
    offset = emitted = 0

    def cut(upto: int, total: int | None) -> np.ndarray:
        """Segments emitted..upto-1, from the dB frames kept; total: the frame count at the end."""
        nonlocal kept, offset, emitted
        begin, end = emitted * size, upto * size if total is None else total
        low, high = max(0, begin - CONTEXT), end if total is not None else end + CONTEXT
        maps = _channels(kept[:, low - offset:high - offset], s)[:, :, begin - low:end - low]
        out = np.empty((upto - emitted, *s.segment_shape()), dtype=np.float32)
        out[...] = pad[None, :, None, None]
        for k in range(upto - emitted):
            piece = maps[:, :, k * size:(k + 1) * size]
            out[k, :, :, :piece.shape[-1]] = piece
        emitted = upto
        drop = max(0, emitted * size - CONTEXT - offset)
        kept, offset = kept[:, drop:], offset + drop
        return out

    frames = _Frames(s)
    for block in itertools.chain(open_blocks(), [None]):
        for magnitude in frames.add(block) if block is not None else frames.finish():
            db = factor * np.log10(np.maximum(amin, _values(magnitude, s, bank))) - reference
            db = np.maximum(db, floor)
            kept = np.concatenate([kept, db if bank is not None else db[:s.n_freq]], axis=1)
        if block is None:
            break
        complete = (offset + kept.shape[1] - CONTEXT) // size  # segments whose deltas see all they need
        while complete - emitted >= BLOCK_SEGMENTS:
            yield cut(emitted + BLOCK_SEGMENTS, None)
    total = frames.count
    last = max(1, math.ceil(total / size))
    while emitted < last:
        upto = min(last, emitted + BLOCK_SEGMENTS)
        yield cut(upto, total if upto == last else None)
