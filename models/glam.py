"""GLAM and its ablations: every model on the GLAM trunk (paper Tables 1-2).

Each builder is a declaration: which trunk variant, which head. Docstrings name the paper row
and the original class; layer names and sizes match that class for the given (F, T).
"""
from __future__ import annotations

from .heads import AreaAttentionHead, ConvAttentionHead, GmlpHead, LinearHead
from .layers import MultiConv, ResConv3, ResConv5, Shape, directional_stem
from .net import SerNet
from .registry import register_model
from .trunks import GlamTrunk


@register_model("GLAM", paper=True, stackable=True)
def glam(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Paper row "GLAM" (Tables 1-4; original ``GLAM``): 3×1/1×3 stem, ResMultiConv blocks,
    gMLP global-aware fusion."""
    return SerNet(GlamTrunk(), GmlpHead(), shape, num_classes)


@register_model("GLAM5", paper=True, stackable=True)
def glam5(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``GLAM5``: GLAM with a 5×1/1×5 stem (not in the paper's tables)."""
    return SerNet(GlamTrunk(stem=directional_stem((5,))), GmlpHead(), shape, num_classes)


@register_model("gMLPResConv3", paper=True, stackable=True)
def gmlp_res_conv3(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``gMLPResConv3`` ("GLAM - Multiscale"): single-scale 3×3 residual blocks."""
    return SerNet(GlamTrunk(block=ResConv3), GmlpHead(), shape, num_classes)


@register_model("gMLPResConv5", paper=True, stackable=True)
def gmlp_res_conv5(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``gMLPResConv5`` ("GLAM5 - Multiscale"): single-scale 5×5 residual blocks.
    The stem stays 3×1/1×3, as in the original."""
    return SerNet(GlamTrunk(block=ResConv5), GmlpHead(), shape, num_classes)


@register_model("gMLPMultiConv", paper=True, stackable=True)
def gmlp_multi_conv(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``gMLPMultiConv`` ("GLAM - Resnet"): multi-scale blocks without shortcuts."""
    return SerNet(GlamTrunk(block=MultiConv), GmlpHead(), shape, num_classes)


@register_model("ResMultiConv3", paper=True, stackable=True)
def res_multi_conv3(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Paper row "Multi-scale" (Table 2; original ``ResMultiConv3``, "GLAM - gMLP"): the GLAM
    trunk, flattened into a linear layer."""
    return SerNet(GlamTrunk(), LinearHead(), shape, num_classes)


@register_model("ResMultiConv5", paper=True, stackable=True)
def res_multi_conv5(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``ResMultiConv5`` ("GLAM5 - gMLP"): "Multi-scale" with a 5×1/1×5 stem."""
    return SerNet(GlamTrunk(stem=directional_stem((5,))), LinearHead(), shape, num_classes)


@register_model("MHResMultiConv3", aliases=("MAResMultiConv3",), paper=True, stackable=True)
def mh_res_multi_conv3(*, shape: Shape, num_classes: int = 4, num_heads: int = 4,
                       attn_hidden: int = 64) -> SerNet:
    """Paper row "Multi-scale + MHA" (Table 2; original ``MHResMultiConv3``, whose script is
    named ``MAResMultiConv3``): conv multi-head attention, heads stacked along frequency,
    flattened. ``num_heads``/``attn_hidden`` are the original ``--head``/``--attn_hidden``."""
    head = ConvAttentionHead(num_heads=num_heads, hidden=attn_hidden, pool="flatten")
    return SerNet(GlamTrunk(), head, shape, num_classes)


@register_model("AAResMultiConv3", paper=True, stackable=True)
def aa_res_multi_conv3(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Paper row "Multi-scale + AA" (Table 2; original ``AAResMultiConv3``): GLAM's area
    attention (runs of up to 3 positions, dropout 0.5) over the 128-dim positions."""
    return SerNet(GlamTrunk(), AreaAttentionHead(), shape, num_classes)


@register_model("aMLPResMultiConv3", paper=True, stackable=True)
def amlp_res_multi_conv3(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``aMLPResMultiConv3``: GLAM with aMLP (gMLP plus a 64-dim attention)."""
    return SerNet(GlamTrunk(), GmlpHead(attn_dim=64), shape, num_classes)


@register_model("gMLPgResMultiConv3", paper=True, stackable=True)
def gmlp_g_res_multi_conv3(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``gMLPgResMultiConv3``: GLAM with a spatial gating unit on the stem output,
    which halves the frequency axis (so the gMLP token dim is (F//4)·(T//4)). Its size is fixed
    by ``shape``: other input shapes fail, as in the original. The only model whose initial
    weights under a given seed differ from the original's: the original creates ``sgu`` after
    the head, we create it with the trunk."""
    return SerNet(GlamTrunk(gated_stem=True), GmlpHead(), shape, num_classes)


@register_model("gMLPResMultiConv35", paper=True, stackable=True)
def gmlp_res_multi_conv35(*, shape: Shape, num_classes: int = 4) -> SerNet:
    """Original ``gMLPResMultiConv35``: GLAM whose stem branches each run a 3- and a 5-long
    conv (8 channels each) side by side."""
    return SerNet(GlamTrunk(stem=directional_stem((3, 5))), GmlpHead(), shape, num_classes)
