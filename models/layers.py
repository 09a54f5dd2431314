"""Building blocks of the two trunks: conv-BN-ReLU units, the two-branch stems and the four
multi-scale blocks (the GLAM paper's multi-scale feature representation and its ablations).

Two kinds of piece live here.

*Blocks* (``ResMultiConv`` and its ablations) are ordinary modules; a trunk stores them as
``conv2``/``conv3``/``conv4``, so their parameters are named ``conv2.conv3.weight`` etc., as in
the original code.

*Parts* (``ConvBNReLU``, ``TwoBranchStem``, and the trunks and heads built from them) are
frozen dataclasses that describe layers the original kept directly on the model (``conv1a``,
``bn1a``, ``conv5``, ``bn5``, ``fc``...). ``part.build()`` returns those layers under their
original names, ``models.net.SerNet`` registers them on itself, and ``part(net, x)`` runs them
by looking them up on ``net`` at call time. So state_dict keys are the original ones, a part is
plain data that can be printed and compared, and swapping a layer on the model (``net.fc =
...``) changes what runs.

Every conv pads (k-1)//2 on each axis: "same" for the odd kernels, and exactly the original's
(4, 0) / (0, 3) for the MACNN stem's (10, 2) / (2, 8) kernels, which therefore shorten F and T
by one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

Shape = tuple[int, int]              # (F, T) of the input features
MapShape = tuple[int, int, int]      # (C, H, W) of a feature map
Kernel = tuple[int, int]


def conv2d(in_channels: int, out_channels: int, kernel_size: Kernel) -> nn.Conv2d:
    """Conv with bias and (k-1)//2 padding on each axis (see the module docstring)."""
    padding = ((kernel_size[0] - 1) // 2, (kernel_size[1] - 1) // 2)
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding)


def conv_size(size: tuple[int, int], kernel_size: Kernel) -> tuple[int, int]:
    """(H, W) after ``conv2d`` with this kernel: even kernel sides lose one step."""
    return size[0] - 1 + kernel_size[0] % 2, size[1] - 1 + kernel_size[1] % 2


@dataclass(frozen=True)
class ConvBNReLU:
    """Conv -> BatchNorm -> ReLU as layers ``conv{name}`` and ``bn{name}``.

    With several kernels, parallel convs ``conv{name}1``, ``conv{name}2``... share the output
    channels equally and are concatenated on channels before the BatchNorm (the 3+5 stem of
    gMLPResMultiConv35).
    """

    name: str
    in_channels: int
    out_channels: int
    kernels: tuple[Kernel, ...] = ((3, 3),)

    @property
    def conv_names(self) -> list[str]:
        if len(self.kernels) == 1:
            return [f"conv{self.name}"]
        return [f"conv{self.name}{i}" for i in range(1, len(self.kernels) + 1)]

    def build(self) -> dict[str, nn.Module]:
        width = self.out_channels // len(self.kernels)
        layers: dict[str, nn.Module] = {
            name: conv2d(self.in_channels, width, kernel)
            for name, kernel in zip(self.conv_names, self.kernels)
        }
        layers[f"bn{self.name}"] = nn.BatchNorm2d(self.out_channels)
        return layers

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        return conv_size(size, self.kernels[0])

    def __call__(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([getattr(net, name)(x) for name in self.conv_names], dim=1)
        return F.relu(getattr(net, f"bn{self.name}")(x))


@dataclass(frozen=True)
class TwoBranchStem:
    """Two conv-BN-ReLU branches on the 1-channel input (layers ``*1a``, ``*1b``), concatenated
    on channels (``merge="channel"``) or stacked along frequency (``merge="frequency"``)."""

    a: ConvBNReLU
    b: ConvBNReLU
    merge: Literal["channel", "frequency"]

    def build(self) -> dict[str, nn.Module]:
        return {**self.a.build(), **self.b.build()}

    def output_shape(self, shape: Shape) -> MapShape:
        """(C, H, W) of the merged map for an (F, T) input."""
        height, width = self.a.output_size(shape)           # branch b's is the same
        if self.merge == "channel":
            return self.a.out_channels + self.b.out_channels, height, width
        return self.a.out_channels, 2 * height, width

    def __call__(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        dim = 1 if self.merge == "channel" else 2
        return torch.cat((self.a(net, x), self.b(net, x)), dim=dim)


def directional_stem(kernel_sizes: tuple[int, ...] = (3,), channels: int = 16) -> TwoBranchStem:
    """GLAM's stem: (k, 1) convs along frequency and (1, k) convs along time, one per kernel
    size k, each branch ``channels`` wide, stacked along frequency:
    (B, 1, F, T) -> (B, channels, 2F, T)."""
    return TwoBranchStem(
        a=ConvBNReLU("1a", 1, channels, tuple((k, 1) for k in kernel_sizes)),
        b=ConvBNReLU("1b", 1, channels, tuple((1, k) for k in kernel_sizes)),
        merge="frequency",
    )


def macnn_stem(merge: Literal["channel", "frequency"]) -> TwoBranchStem:
    """MACNN's stem (Xu et al. 2020): a (10, 2) and a (2, 8) conv. The original uses 8 channels
    per branch when concatenating on channels and 16 when stacking along frequency, so the
    next conv always sees 16 channels: (B, 1, F, T) -> (B, 16, F-1, T-1) or (B, 16, 2(F-1), T-1)."""
    channels = 8 if merge == "channel" else 16
    return TwoBranchStem(
        a=ConvBNReLU("1a", 1, channels, ((10, 2),)),
        b=ConvBNReLU("1b", 1, channels, ((2, 8),)),
        merge=merge,
    )


class MultiConv(nn.Module):
    """Multi-scale block without shortcuts: a 3×3 and a 5×5 conv C -> C on the same input,
    concatenated (2C), BN, ReLU. Ablation "GLAM - Resnet" (original ``MultiConv``)."""

    residual = False

    def __init__(self, channels: int):
        super().__init__()
        self.conv3 = conv2d(channels, channels, (3, 3))
        self.conv5 = conv2d(channels, channels, (5, 5))
        self.bn = nn.BatchNorm2d(2 * channels)

    def forward(self, x):                                   # (B, C, H, W)
        # Each shortcut is added right after its conv, as in the original: the forward values
        # are the same either way, but autograd sums the four gradients that reach x in the
        # order their operations were recorded, so only this order gives the original's bits.
        x3 = self.conv3(x)
        if self.residual:
            x3 = x3 + x
        x5 = self.conv5(x)
        if self.residual:
            x5 = x5 + x
        return F.relu(self.bn(torch.cat((x3, x5), dim=1)))  # (B, 2C, H, W)


class ResMultiConv(MultiConv):
    """GLAM's multi-scale block: ``MultiConv`` with the input added to each
    conv's output before the concatenation."""

    residual = True


class ResConv(nn.Module):
    """Single-scale residual block: one k×k conv C -> 2C plus the input repeated twice on
    channels, BN, ReLU. The conv is named ``conv3`` / ``conv5`` after its kernel, as in the
    original ``ResConv3`` / ``ResConv5``."""

    kernel_size: int

    def __init__(self, channels: int):
        super().__init__()
        k = self.kernel_size
        self.add_module(f"conv{k}", conv2d(channels, 2 * channels, (k, k)))
        self.bn = nn.BatchNorm2d(2 * channels)

    def forward(self, x):                                   # (B, C, H, W)
        conv = getattr(self, f"conv{self.kernel_size}")
        return F.relu(self.bn(conv(x) + torch.cat((x, x), dim=1)))  # (B, 2C, H, W)


class ResConv3(ResConv):
    """Ablation "GLAM - Multiscale": the multi-scale block replaced by a 3×3 residual block."""

    kernel_size = 3


class ResConv5(ResConv):
    """Ablation "GLAM5 - Multiscale": the multi-scale block replaced by a 5×5 residual block."""

    kernel_size = 5
