"""Utterances of different lengths kept ragged: one upstream layer's frames (``--features ssl -m
ssl_mlp``, ``ser.features.ssl_kind``), padded per batch instead of to the corpus's longest.

:class:`FrameSequences` holds N utterances' frames one after the other, ``(sum of T_u, D)`` in
the cache's dtype (float16), with where each starts; it stands where the other feature kinds
have a dense ``(N, F, T)`` array (``TrainSegments.X``, ``TestUtterances.X``, ``SegmentPool.X``):
``len``, indexing by a slice, integer or boolean array (a subset, still ragged) and ``shape``
(that of :meth:`FrameSequences.padded`) behave as the dense array's. :class:`DeviceFrames` is
its copy on the training device, indexed as the engines index a dense tensor (``X[index]``,
``index`` of any shape): it gathers the selected utterances into ``(*index.shape, T_b, D + 1)``
float32, ``T_b`` the longest of them, each utterance's frames (``float32`` of the stored value,
as ``SslSettings.model_input`` gives them) then zero frames, and a last channel of 1 on real
frames and 0 on padding (``models.ssl.pack_frames``'s layout). ``ssl_mlp``'s masked mean ignores
padding, so a batch padded to its own longest utterance gives what one padded to the corpus's
longest gave, but for the rounding of sums over a different number of (zero) frames. What
draws random numbers by the input's shape (stability training's Gaussian copy,
``--stability_weight`` with ``--stability_source gaussian``) draws for the batch's shape, so
its noise is not the one corpus padding drew.

Memory: the frames themselves, (sum of T_u) × D × 2 bytes, once; a batch's padded copy only
while it is used. :func:`rows_on_device` and :func:`concatenate` let the data stage and the
engines treat dense arrays exactly as before and frames this way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch


@dataclass(frozen=True)
class FrameSequences:
    """N utterances' frames, ragged (see the module doc)."""
    frames: np.ndarray  # (sum of T_u, D): utterance u's frames are frames[starts[u]:starts[u + 1]]
    starts: np.ndarray  # (N + 1,) int64

    @classmethod
    def of(cls, utterances: Sequence[np.ndarray]) -> FrameSequences:
        """Utterances' ``(T_u, D)`` frames, kept in their dtype."""
        lengths = np.array([len(u) for u in utterances], dtype=np.int64)
        return cls(frames=np.concatenate(utterances), starts=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    @classmethod
    def concatenate(cls, parts: Sequence[FrameSequences]) -> FrameSequences:
        """The utterances of ``parts``, one part after the other (as ``np.concatenate`` stacks dense arrays)."""
        lengths = np.concatenate([p.lengths for p in parts])
        return cls(frames=np.concatenate([p.frames for p in parts]),
                   starts=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    def __len__(self) -> int:
        return len(self.starts) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    @property
    def longest(self) -> int:
        return int(self.lengths.max()) if len(self) else 0

    @property
    def width(self) -> int:
        """D + 1: the channels of a model input (the frames' and the mask)."""
        return self.frames.shape[1] + 1

    @property
    def shape(self) -> tuple[int, int, int]:
        """(N, longest, D + 1): the shape of :meth:`padded`, as a dense array of these inputs had."""
        return (len(self), self.longest, self.width)

    def __getitem__(self, index) -> FrameSequences:
        """The utterances at ``index`` (a slice, integer array with repeats, or boolean mask), ragged."""
        chosen = np.arange(len(self))[index]
        if chosen.ndim != 1:
            raise TypeError("FrameSequences takes a slice or a 1-D integer or boolean index")
        lengths = self.lengths[chosen]
        ends = np.cumsum(lengths)
        rows = np.repeat(self.starts[chosen] - (ends - lengths), lengths) + np.arange(ends[-1] if len(ends) else 0)
        return FrameSequences(frames=self.frames[rows], starts=np.concatenate([[0], ends]).astype(np.int64))

    def padded(self, length: int | None = None) -> np.ndarray:
        """``(N, length, D + 1)`` float32 (default length: the longest): each utterance's frames
        then zero frames, and the mask channel (1 on real frames)."""
        length = self.longest if length is None else length
        if length < self.longest:
            raise ValueError(f"padded: length {length} is shorter than an utterance of {self.longest} frames")
        out = np.zeros((len(self), length, self.width), np.float32)
        for row, start, end in zip(out, self.starts[:-1], self.starts[1:]):
            row[:end - start, :-1] = self.frames[start:end]
            row[:end - start, -1] = 1.0
        return out


class DeviceFrames:
    """:class:`FrameSequences` on ``device``, indexed as a dense ``(N, T, D + 1)`` tensor (see the module doc)."""

    def __init__(self, sequences: FrameSequences, device: torch.device | str):
        self.frames = torch.from_numpy(sequences.frames).to(device)
        self.starts = torch.from_numpy(sequences.starts[:-1].copy()).to(device)
        self.lengths = torch.from_numpy(sequences.lengths).to(device)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: torch.Tensor | slice) -> torch.Tensor:
        """``(*index.shape, T_b, D + 1)`` float32 for an integer index tensor of any shape (or a slice)."""
        if isinstance(index, slice):
            index = torch.arange(len(self), device=self.lengths.device)[index]
        lengths = self.lengths[index]
        longest = int(lengths.max()) if lengths.numel() else 0  # the one host sync of a batch
        within = torch.arange(longest, device=self.lengths.device)
        real = within < lengths.unsqueeze(-1)  # (*index.shape, T_b)
        # padding positions read frame 0 and are then replaced by zeros
        rows = torch.where(real, self.starts[index].unsqueeze(-1) + within, 0)
        values = torch.where(real.unsqueeze(-1), self.frames[rows].float(), 0.0)
        return torch.cat([values, real.unsqueeze(-1).float()], dim=-1)


def rows_on_device(X: np.ndarray | FrameSequences, device: torch.device | str) -> torch.Tensor | DeviceFrames:
    """What an engine indexes by rows: a dense float32 array as a tensor on ``device``, frames as
    :class:`DeviceFrames`."""
    if isinstance(X, FrameSequences):
        return DeviceFrames(X, device)
    return torch.from_numpy(np.asarray(X, dtype=np.float32)).to(device)


def concatenate(feats: Sequence[np.ndarray | FrameSequences], shape: tuple[int, ...]) -> np.ndarray | FrameSequences:
    """Utterances' inputs one after the other: dense arrays by ``np.concatenate`` (no utterance:
    ``(0, *shape)`` float32), frames ragged."""
    if len(feats) and isinstance(feats[0], FrameSequences):
        return FrameSequences.concatenate(feats)
    return np.concatenate(feats) if len(feats) else np.zeros((0, *shape), np.float32)
