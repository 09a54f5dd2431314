"""The baselines on the MACNN trunk (Xu et al., 2020): MHCNN, AACNN, APCNN and the variants
the original code also ships (paper Tables 1-2).

Each builder is a declaration: stem merge axis and head. Docstrings name the paper row and the
original class, and spell out where the original's behaviour differs from what its name says.
"""
from __future__ import annotations

from .heads import AreaAttentionHead, AttentionPoolingHead, ConvAttentionHead, LinearHead
from .layers import Shape, macnn_stem
from .net import SerNet
from .registry import register_model
from .trunks import MacnnTrunk


@register_model("CNN_Area", paper=True, stackable=True)
def cnn_area(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``CNN_Area``: frequency-stacked MACNN trunk, flatten, linear. Despite the name
    it has no area attention (the original's ``height``/``width`` arguments are unused)."""
    return SerNet(MacnnTrunk(macnn_stem("frequency")), LinearHead(), shape, num_classes)


@register_model("CNN_AttnPooling", aliases=("APCNN",), paper=True, stackable=True)
def cnn_attn_pooling(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Paper row "APCNN" (Tables 1, 4; original ``CNN_AttnPooling``): MACNN trunk with
    attention pooling, no linear layer. Input-size independent (spectrogram 400×197 in the
    paper's recipe)."""
    return SerNet(MacnnTrunk(), AttentionPoolingHead(), shape, num_classes)


@register_model("CNN_GAP", paper=True, stackable=True)
def cnn_gap(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``CNN_GAP``: MACNN trunk, flatten, linear. The original builds a global average
    pool but never calls it, so this model does not pool either."""
    return SerNet(MacnnTrunk(), LinearHead(), shape, num_classes)


@register_model("MHCNN", aliases=("MACNN",), paper=True, stackable=True)
def mhcnn(*, shape: Shape, num_classes: int = 4, num_heads: int = 4,
          attn_hidden: int = 64) -> SerNet:
    """Paper row "MHCNN" (Tables 1, 2, 4; the README's "MACNN"; original ``MHCNN``): conv
    multi-head attention, heads stacked along frequency, global average pool, linear."""
    head = ConvAttentionHead(num_heads=num_heads, hidden=attn_hidden, pool="mean")
    return SerNet(MacnnTrunk(), head, shape, num_classes)


@register_model("MHCNN_AreaConcat", paper=True, stackable=True)
def mhcnn_area_concat(*, shape: Shape, num_classes: int = 4, num_heads: int = 4,
                      attn_hidden: int = 64) -> SerNet:
    """Original ``MHCNN_AreaConcat``: frequency-stacked stem, conv multi-head attention with
    heads stacked along frequency, flattened into the linear layer."""
    head = ConvAttentionHead(num_heads=num_heads, hidden=attn_hidden, pool="flatten")
    return SerNet(MacnnTrunk(macnn_stem("frequency")), head, shape, num_classes)


@register_model("MHCNN_AreaConcat_gap", paper=True, stackable=True)
def mhcnn_area_concat_gap(*, shape: Shape, num_classes: int = 4, num_heads: int = 4,
                          attn_hidden: int = 64) -> SerNet:
    """Original ``MHCNN_AreaConcat_gap``: as ``MHCNN_AreaConcat`` but globally average-pooled."""
    head = ConvAttentionHead(num_heads=num_heads, hidden=attn_hidden, pool="mean")
    return SerNet(MacnnTrunk(macnn_stem("frequency")), head, shape, num_classes)


@register_model("MHCNN_AreaConcat_gap1", paper=True, stackable=True)
def mhcnn_area_concat_gap1(*, shape: Shape, num_classes: int = 4, num_heads: int = 4) -> SerNet:
    """Original ``MHCNN_AreaConcat_gap1``: frequency-stacked stem, conv multi-head attention
    with 32 hidden channels (the original overwrites its ``attn_hidden`` argument with 32, so
    there is no such option here), heads concatenated along time, then the map averaged over
    channels and time, leaving one value per frequency row ((F-1)//2 of them) for the linear."""
    head = ConvAttentionHead(num_heads=num_heads, hidden=32, concat_dim=3, pool="row_mean")
    return SerNet(MacnnTrunk(macnn_stem("frequency")), head, shape, num_classes)


@register_model("AACNN", paper=True, stackable=True)
def aacnn(*, shape: Shape, num_classes: int = 4, max_area_width: int = 3) -> SerNet:
    """Paper row "AACNN" (Tables 1, 2, 4; original ``AACNN``): frequency-stacked stem, GLAM's
    area attention (mean keys, summed values, no 1/√d, dropout 0.5) over the 80-dim
    positions, flatten, linear. ``max_area_width`` is the original's ``width``; its
    ``height`` has no effect on a one-row memory and is not offered."""
    head = AreaAttentionHead(max_area_width=max_area_width)
    return SerNet(MacnnTrunk(macnn_stem("frequency")), head, shape, num_classes)


@register_model("AACNN_HeadConcat", paper=True, stackable=True)
def aacnn_head_concat(*, shape: Shape, num_classes: int = 4, max_area_width: int = 3) -> SerNet:
    """Original ``AACNN_HeadConcat``: ``AACNN`` with the channel-concatenated 8+8 stem."""
    head = AreaAttentionHead(max_area_width=max_area_width)
    return SerNet(MacnnTrunk(), head, shape, num_classes)
