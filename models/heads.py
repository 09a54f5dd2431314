"""Heads: what turns a trunk's (B, C, H, W) map into logits.

* ``GmlpHead``: GLAM's global-aware fusion module: one gMLP layer that mixes the
  C channels, each channel's flattened H·W map being one token.
* ``LinearHead``: flatten + linear (the "Multi-scale" ablation, CNN_Area, CNN_GAP).
* ``ConvAttentionHead``: MACNN's multi-head attention with 1×1-conv queries, keys and values
  (MHCNN, MHResMultiConv3, the ``MHCNN_AreaConcat*`` variants).
* ``AreaAttentionHead``: GLAM's area attention over the H·W positions (AACNN, AAResMultiConv3).
* ``AttentionPoolingHead``: attention pooling of Li et al., Interspeech 2019 (APCNN).

Like the trunks, heads are parts (see ``models.layers``). ``build(in_shape, num_classes)``
sizes the layers from the trunk's output shape, which reproduces the original's hard-coded
formulas such as GLAM's ``128 * (F//2) * (T//4)``. Layers are created in the original's order
(``fc`` first), so a given torch seed gives the same initial weights as the original.
``features(net, x)`` is everything up to the classifier (what ``forward_features`` returns,
e.g. for t-SNE) and ``classify(net, z)`` the classifier itself; all heads but attention
pooling classify with a linear ``fc``.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
from g_mlp_pytorch import gMLP

from .area_attention import AreaAttention
from .layers import MapShape


class _LinearClassifier:
    """Shared by heads whose classifier is ``fc``: a linear layer on the features."""

    def classify(self, net: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return net.fc(z)


@dataclass(frozen=True)
class LinearHead(_LinearClassifier):
    """Flatten the map and classify it with ``fc``."""

    def build(self, in_shape: MapShape, num_classes: int) -> dict[str, nn.Module]:
        return {"fc": nn.Linear(prod(in_shape), num_classes)}

    def features(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)                                    # (B, C·H·W)


@dataclass(frozen=True)
class GmlpHead(_LinearClassifier):
    """Global-aware fusion: ``gmlp`` (g-mlp-pytorch, depth 1, tanh gate, tokens = the C
    channels, token dim = H·W), ReLU, flatten, ``fc``. ``attn_dim`` adds gMLP's tiny
    self-attention to the gate (aMLP, original ``aMLPResMultiConv3``)."""

    attn_dim: int | None = None

    def build(self, in_shape: MapShape, num_classes: int) -> dict[str, nn.Module]:
        channels, height, width = in_shape
        return {
            "fc": nn.Linear(prod(in_shape), num_classes),
            "gmlp": gMLP(dim=height * width, depth=1, seq_len=channels, attn_dim=self.attn_dim,
                         act=nn.Tanh()),
        }

    def features(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(net.gmlp(x.flatten(2)))                     # (B, C, H·W)
        return x.flatten(1)                                    # (B, C·H·W)


@dataclass(frozen=True)
class ConvAttentionHead(_LinearClassifier):
    """MACNN's multi-head attention, then ReLU, a pooling and ``fc``.

    Each head has 1×1 convs C -> ``hidden`` for Q, K and V (``attention_query``,
    ``attention_key``, ``attention_value``, one ModuleList entry per head) and computes
    softmax over channels of Q⊙K, times V. Head outputs are concatenated along height
    (``concat_dim=2``) or width (``concat_dim=3``). ``pool``:

    * "flatten": the whole (hidden, H', W') map;
    * "mean": global average per channel -> (hidden,);
    * "row_mean": average over channels and width -> one value per row (H',), which is what
      the original ``MHCNN_AreaConcat_gap1`` does by average-pooling a channels-last map.
    """

    num_heads: int = 4
    hidden: int = 64
    concat_dim: Literal[2, 3] = 2
    pool: Literal["flatten", "mean", "row_mean"] = "flatten"

    def build(self, in_shape: MapShape, num_classes: int) -> dict[str, nn.Module]:
        channels, height, width = in_shape
        if self.concat_dim == 2:
            height *= self.num_heads
        else:
            width *= self.num_heads
        num_features = {"flatten": self.hidden * height * width, "mean": self.hidden,
                        "row_mean": height}[self.pool]
        layers = {"fc": nn.Linear(num_features, num_classes)}
        # created head by head (q, k, v, then the next head), as the original does
        projections = [[nn.Conv2d(channels, self.hidden, 1) for _ in "qkv"]
                       for _ in range(self.num_heads)]
        for name, convs in zip(("attention_query", "attention_key", "attention_value"),
                               zip(*projections)):
            layers[name] = nn.ModuleList(convs)
        return layers

    def features(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        heads = []
        # in the original's order (Q, K, V, then the products), which decides the order in
        # which autograd sums the gradients that reach x, and so their last bits
        for query, key, value in zip(net.attention_query, net.attention_key, net.attention_value):
            q, k, v = query(x), key(x), value(x)
            heads.append((q * k).softmax(dim=1) * v)           # (B, hidden, H, W)
        x = F.relu(torch.cat(heads, dim=self.concat_dim))      # (B, hidden, H', W')
        if self.pool == "mean":
            return x.mean(dim=(2, 3))                          # (B, hidden)
        if self.pool == "row_mean":
            return x.mean(dim=(1, 3))                          # (B, H')
        return x.flatten(1)                                    # (B, hidden·H'·W')


@dataclass(frozen=True)
class AreaAttentionHead(_LinearClassifier):
    """GLAM's area attention (``area_attention``, parameter-free, see
    ``models.area_attention``) with the H·W positions as queries, keys and values (C-dim),
    then ReLU, flatten (position-major, as the original) and ``fc``.

    The original also asks for areas up to 3 items high, but its memory is a single row, so
    no area is ever more than one item high; only the width matters.
    """

    max_area_width: int = 3
    dropout: float = 0.5

    def build(self, in_shape: MapShape, num_classes: int) -> dict[str, nn.Module]:
        return {
            "area_attention": AreaAttention(max_area_width=self.max_area_width,
                                            dropout=self.dropout),
            "fc": nn.Linear(prod(in_shape), num_classes),
        }

    def features(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(2).transpose(1, 2)                       # (B, H·W, C)
        x = F.relu(net.area_attention(x, x, x))                # (B, H·W, C)
        return x.flatten(1)                                    # (B, H·W·C)


@dataclass(frozen=True)
class AttentionPoolingHead:
    """Attention pooling: ``top_down`` (1×1 conv C -> classes, softmax over classes) times
    ``bottom_up`` (1×1 conv C -> 1), averaged over the map. There is no linear layer, so the
    features are the trunk's map itself."""

    def build(self, in_shape: MapShape, num_classes: int) -> dict[str, nn.Module]:
        channels = in_shape[0]
        return {"top_down": nn.Conv2d(channels, num_classes, 1),
                "bottom_up": nn.Conv2d(channels, 1, 1)}

    def features(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return x                                               # (B, C, H, W)

    def classify(self, net: nn.Module, z: torch.Tensor) -> torch.Tensor:
        attention = net.top_down(z).softmax(dim=1)             # (B, classes, H, W)
        return (attention * net.bottom_up(z)).mean(dim=(2, 3))  # (B, classes)
