"""``SerNet``: the one model class behind all registered names, a trunk plus a head.

The original code wrote 21 classes that each repeat their trunk; here a model is the pair
(trunk part, head part) from ``models.trunks`` and ``models.heads``. The model registers the
layers both parts build directly on itself, under the original attribute names, so
``state_dict()`` has exactly the original keys and shapes and checkpoints load either way.

Forward is split as in timm: ``forward_features`` (B, 1, F, T) -> the tensor the classifier
sees (for t-SNE plots of hidden states, as in the paper's figure), ``forward_head`` -> (B,
num_classes) logits.
"""
from __future__ import annotations

from typing import Protocol

import torch
import torch.nn as nn
from pytorch_model_summary import summary

from .layers import MapShape, Shape


class Trunk(Protocol):
    """What ``SerNet`` needs from a trunk part (``models.trunks``)."""

    def build(self, shape: Shape) -> dict[str, nn.Module]: ...
    def output_shape(self, shape: Shape) -> MapShape: ...
    def __call__(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor: ...


class Head(Protocol):
    """What ``SerNet`` needs from a head part (``models.heads``)."""

    def build(self, in_shape: MapShape, num_classes: int) -> dict[str, nn.Module]: ...
    def features(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor: ...
    def classify(self, net: nn.Module, z: torch.Tensor) -> torch.Tensor: ...


class SerNet(nn.Module):
    """A trunk and a head sharing one flat namespace of layers.

    Args:
        trunk: a trunk part (``GlamTrunk`` or ``MacnnTrunk``).
        head: a head part from ``models.heads``.
        shape: (F, T) of the inputs; layer sizes depend on it, as in the original.
        num_classes: number of logits (the original hard-codes 4).
    """

    def __init__(self, trunk: Trunk, head: Head, shape: Shape, num_classes: int = 4):
        super().__init__()
        # parts are plain frozen dataclasses, not modules: they hold no tensors
        self.trunk = trunk
        self.head = head
        self.shape = tuple(int(n) for n in shape)
        self.num_classes = num_classes
        trunk_layers = trunk.build(self.shape)
        head_layers = head.build(trunk.output_shape(self.shape), num_classes)
        if clash := trunk_layers.keys() & head_layers.keys():
            raise ValueError(f"trunk and head both define {sorted(clash)}")
        for name, layer in {**trunk_layers, **head_layers}.items():
            self.add_module(name, layer)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, F, T) -> the classifier's input (``fc``'s, or the map for attention pooling)."""
        return self.head.features(self, self.trunk(self, x))

    def forward_head(self, z: torch.Tensor) -> torch.Tensor:
        """Classifier: ``forward_features`` output -> (B, num_classes) logits."""
        return self.head.classify(self, z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def extra_repr(self) -> str:
        return f"trunk={self.trunk}, head={self.head}, shape={self.shape}"


def print_summary(model: nn.Module, shape: Shape) -> str:
    """Print (and return) the layer table of pytorch-model-summary for one (1, 1, F, T) input,
    as the original train.py does before training. It runs in eval mode and restores the mode."""
    device = next(model.parameters()).device
    table = summary(model, torch.zeros(1, 1, *shape, device=device))
    print(table)
    return table
