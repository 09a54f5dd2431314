"""The two convolutional trunks that all 21 models share.

* ``GlamTrunk``: GLAM's multi-scale trunk, used by GLAM, GLAM5, the ``gMLP*``,
  ``ResMultiConv*``, ``MHResMultiConv3`` and ``AAResMultiConv3`` models.
* ``MacnnTrunk``: the plain CNN of MACNN (Xu et al., 2020), used by the baselines MHCNN,
  AACNN, APCNN (``CNN_AttnPooling``) and their variants.

Both are parts (see ``models.layers``): ``build(shape)`` returns the layers under the original
code's names, ``output_shape(shape)`` gives the (C, H, W) of the map they produce, from which
the heads size their layers exactly as the original formulas did, and ``trunk(net, x)`` runs
them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F
from g_mlp_pytorch import SpatialGatingUnit

from .layers import ConvBNReLU, ResMultiConv, Shape, TwoBranchStem, directional_stem, macnn_stem


@dataclass(frozen=True)
class GlamTrunk:
    """Stem -> block(16) -> pool -> block(32) -> pool -> block(64) -> 5×5 conv-BN-ReLU.

    Layers: the stem's (``conv1a``, ``bn1a``, ``conv1b``, ``bn1b``), blocks ``conv2``,
    ``conv3``, ``conv4`` (each doubles the channels), then ``conv5``, ``bn5``.
    (B, 1, F, T) -> (B, 128, F/2, T/4), or (B, 128, F/4, T/4) with ``gated_stem``.

    Args:
        stem: a ``directional_stem``; its kernel sizes tell GLAM (3) from GLAM5 (5) and
            gMLPResMultiConv35 (3 and 5).
        block: the multi-scale block class (``ResMultiConv`` or an ablation from ``layers``).
        gated_stem: apply a spatial gating unit ``sgu`` (g-mlp-pytorch) across the 16 stem
            channels. It gates the upper half of the stacked map, the (k, 1) branch, by the
            lower half, the (1, k) branch, and so halves the frequency axis
            (gMLPgResMultiConv3). Its size depends on the input shape.
    """

    stem: TwoBranchStem = directional_stem()
    block: type[nn.Module] = ResMultiConv
    gated_stem: bool = False

    last_conv: ClassVar[ConvBNReLU] = ConvBNReLU("5", 128, 128, ((5, 5),))

    def build(self, shape: Shape) -> dict[str, nn.Module]:
        layers = self.stem.build()
        if self.gated_stem:
            channels, height, width = self.stem.output_shape(shape)
            layers["sgu"] = SpatialGatingUnit(dim=height * width, dim_seq=channels, act=nn.Tanh())
        layers.update(conv2=self.block(16), conv3=self.block(32), conv4=self.block(64))
        layers.update(self.last_conv.build())
        return layers

    def output_shape(self, shape: Shape) -> tuple[int, int, int]:
        _, height, width = self.stem.output_shape(shape)
        if self.gated_stem:
            height //= 2
        return 128, height // 4, width // 4

    def __call__(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(net, x)                                 # (B, 16, 2F, T)
        if self.gated_stem:
            b, c, h, w = x.shape
            x = net.sgu(x.flatten(2)).view(b, c, h // 2, w)   # (B, 16, F, T)
        x = F.max_pool2d(net.conv2(x), 2)                     # (B, 32, F, T/2)
        x = F.max_pool2d(net.conv3(x), 2)                     # (B, 64, F/2, T/4)
        x = net.conv4(x)                                      # (B, 128, F/2, T/4)
        return self.last_conv(net, x)                         # (B, 128, F/2, T/4)


@dataclass(frozen=True)
class MacnnTrunk:
    """MACNN stem -> conv-BN-ReLU 32 -> pool -> 48 -> pool -> 64 -> 80, all 3×3.

    Layers ``conv1a``, ``bn1a``, ``conv1b``, ``bn1b``, ``conv2``...``conv5``, ``bn2``...``bn5``.
    (B, 1, F, T) -> (B, 80, (F-1)/4, (T-1)/4) with the channel-merged stem (MHCNN, APCNN) or
    (B, 80, (F-1)/2, (T-1)/4) with the frequency-stacked one (AACNN, ``*AreaConcat*``).
    """

    stem: TwoBranchStem = macnn_stem("channel")

    stages: ClassVar[tuple[ConvBNReLU, ...]] = (
        ConvBNReLU("2", 16, 32), ConvBNReLU("3", 32, 48),
        ConvBNReLU("4", 48, 64), ConvBNReLU("5", 64, 80),
    )

    def build(self, shape: Shape) -> dict[str, nn.Module]:
        layers = self.stem.build()
        for stage in self.stages:
            layers.update(stage.build())
        return layers

    def output_shape(self, shape: Shape) -> tuple[int, int, int]:
        _, height, width = self.stem.output_shape(shape)
        return 80, height // 4, width // 4

    def __call__(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        conv2, conv3, conv4, conv5 = self.stages
        x = self.stem(net, x)                                 # (B, 16, H, T-1), H = F-1 or 2(F-1)
        x = F.max_pool2d(conv2(net, x), 2)                    # (B, 32, H/2, (T-1)/2)
        x = F.max_pool2d(conv3(net, x), 2)                    # (B, 48, H/4, (T-1)/4)
        return conv5(net, conv4(net, x))                      # (B, 80, H/4, (T-1)/4)
