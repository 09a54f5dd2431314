"""Area attention (Li et al., "Area Attention", ICML 2019), as the AA models of GLAM use it.

Instead of attending to single memory items, a query attends to *areas*: every rectangle of up
to ``max_area_height`` × ``max_area_width`` adjacent items when the N memory items are laid out
on a ``memory_height`` × ``memory_width`` grid. An area's key is the mean (or max) of its
items' keys, its value the sum (or mean, or max) of their values; logits are query·key divided
by ``temperature``, softmaxed over all areas, optionally cut to the ``top_k_areas`` best, and
dropout is applied to the weights. Area sums and means come from an integral image, computed
in the original's order of operations (see ``_area_sums``).

Two configurations matter:

* GLAM's (AACNN, AAResMultiConv3): the GLAM code ships a modified copy of the PyPI
  ``area-attention`` module that lays the memory out as **one row of N items**
  (``memory_width=None`` here), so areas are runs of up to ``max_area_width`` consecutive
  positions of the flattened feature map, crossing its row ends, never 2-D boxes; and it drops
  the 1/√d scaling (``temperature=1``). Mean keys, summed values, dropout 0.5.
* The standard one, equal to PyPI ``area_attention.AreaAttention`` (a test checks this):
  ``memory_height``/``memory_width`` given, ``temperature=key_query_size ** 0.5``.

The module has no parameters in either configuration, like the original (whose learned area
key embeddings exist only for key modes this project does not use), so state_dicts match.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

PoolMode = Literal["mean", "sum", "max"]


def _max_areas(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The maximum of every area of ``size`` in a (B, D, H, W) grid -> (B, D, #areas), row-major."""
    return F.max_pool2d(grid, size, stride=1).flatten(2)


def _area_sums(items: torch.Tensor, height: int, width: int, max_height: int, max_width: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sums of every area of up to ``max_height`` × ``max_width`` items of a height × width grid
    of the (B, N, D) items, and each area's item count: (B, A, D) and (A, 1).

    Through an integral image, as the original computes them: running sums along the width and
    then the height, a zero row and column padded in front, and each area's sum as
    (its end corner + the corner before its start) - (the two other corners). The order of
    these operations (and of the corners) is the original's, because it decides the last bits
    of the sums and of the gradients autograd accumulates from them.
    """
    b, n, d = items.shape
    integral = items.reshape(b, height, width, d).cumsum(dim=-2).cumsum(dim=-3)
    padded = F.pad(integral, [0, 0, 1, 0, 1, 0])                        # (B, H+1, W+1, D)
    ends, starts, columns, rows, counts = [], [], [], [], []
    for h in range(min(max_height, height)):
        for w in range(min(max_width, width)):
            ends.append(padded[:, h + 1:, w + 1:, :].reshape(b, -1, d))
            starts.append(padded[:, :-h - 1, :-w - 1, :].reshape(b, -1, d))
            rows.append(padded[:, h + 1:, :-w - 1, :].reshape(b, -1, d))
            columns.append(padded[:, :-h - 1, w + 1:, :].reshape(b, -1, d))
            counts += [(h + 1) * (w + 1)] * ((height - h) * (width - w))
    sums = torch.sub(torch.cat(ends, dim=1) + torch.cat(starts, dim=1),
                     torch.cat(columns, dim=1) + torch.cat(rows, dim=1))
    return sums, torch.tensor(counts, dtype=sums.dtype, device=sums.device)[:, None]


class AreaAttention(nn.Module):
    """Parameter-free area attention: (B, Nq, D) queries over (B, N, D) keys and (B, N, Dv)
    values -> (B, Nq, Dv).

    Args:
        max_area_height, max_area_width: largest area, in items; sizes larger than the memory
            grid are skipped.
        memory_height: rows of the memory grid.
        memory_width: columns; None means N // memory_height, GLAM's one-row layout when
            ``memory_height`` is 1.
        area_key_mode: "mean" or "max" of the items' keys.
        area_value_mode: "sum", "mean" or "max" of the items' values.
        temperature: logits are divided by it; 1 in GLAM (no division), √d in the standard
            formulation.
        dropout: dropout rate on the attention weights (0.5 in GLAM).
        top_k_areas: if > 0, weights below the k-th largest are zeroed and the rest renormalised.
    """

    def __init__(self, *, max_area_height: int = 1, max_area_width: int = 1,
                 memory_height: int = 1, memory_width: int | None = None,
                 area_key_mode: Literal["mean", "max"] = "mean",
                 area_value_mode: PoolMode = "sum", temperature: float = 1.0,
                 dropout: float = 0.0, top_k_areas: int = 0):
        super().__init__()
        if area_key_mode not in ("mean", "max") or area_value_mode not in ("mean", "sum", "max"):
            raise ValueError(f"unsupported area modes: keys {area_key_mode!r}, "
                             f"values {area_value_mode!r}")
        self.max_area_height = max_area_height
        self.max_area_width = max_area_width
        self.memory_height = memory_height
        self.memory_width = memory_width
        self.area_key_mode = area_key_mode
        self.area_value_mode = area_value_mode
        self.temperature = temperature
        self.top_k_areas = top_k_areas
        self.dropout = nn.Dropout(dropout)

    def area_features(self, items: torch.Tensor, mode: PoolMode) -> torch.Tensor:
        """(B, N, D) memory items -> (B, A, D) features of all A areas, by size (height-major,
        then width) and, within a size, row-major."""
        height = self.memory_height
        width = self.memory_width or items.shape[1] // height
        if mode == "max":
            grid = items.reshape(items.shape[0], height, width, -1).permute(0, 3, 1, 2)   # (B, D, H, W)
            return torch.cat([_max_areas(grid, (h, w))
                              for h in range(1, min(self.max_area_height, height) + 1)
                              for w in range(1, min(self.max_area_width, width) + 1)], dim=2).transpose(1, 2)
        sums, counts = _area_sums(items, height, width, self.max_area_height, self.max_area_width)
        return sums if mode == "sum" else sums / counts

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        keys = self.area_features(k, self.area_key_mode)                # (B, A, D)
        values = self.area_features(v, self.area_value_mode)            # (B, A, Dv)
        logits = q @ keys.transpose(1, 2)                               # (B, Nq, A)
        if self.temperature != 1:
            logits = logits / self.temperature
        weights = logits.softmax(dim=-1)
        if self.top_k_areas > 0:
            k_th = weights.topk(min(self.top_k_areas, weights.shape[-1]), dim=-1).values[..., -1:]
            weights = torch.where(weights >= k_th, weights, torch.zeros_like(weights))
            weights = weights / weights.sum(dim=-1, keepdim=True)
        return self.dropout(weights) @ values                           # (B, Nq, Dv)

    def extra_repr(self) -> str:
        memory = f"{self.memory_height}x{self.memory_width or 'N'}"
        return (f"max_area={self.max_area_height}x{self.max_area_width}, memory={memory}, "
                f"keys={self.area_key_mode}, values={self.area_value_mode}, "
                f"temperature={self.temperature:g}, top_k_areas={self.top_k_areas}")
