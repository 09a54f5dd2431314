"""The original GLAM code's order of operations, written out step by step for the bitwise tests.

Every function here runs the layers of one of our models (a ``models.SerNet``, whose layers
carry the original's names) in the order the original classes of ``models.py`` and
``area_attention.py`` run theirs: each operation the original records, in the order it records
it. The forward values of another order can be the same, but autograd sums the gradients that
reach a tensor used more than once in the order their operations were recorded, so only the
original's order gives the original's gradients to the last bit. The tests compare our models'
gradients with these on the same machine (``tests/test_original_order.py``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from models import heads, layers, trunks


def block(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The original ``MultiConv``, ``ResMultiConv``, ``ResConv3`` and ``ResConv5``."""
    if isinstance(module, layers.ResConv):
        conv = getattr(module, f"conv{module.kernel_size}")
        x = conv(x) + torch.cat((x, x), 1)
    elif isinstance(module, layers.ResMultiConv):
        x3 = module.conv3(x) + x
        x5 = module.conv5(x) + x
        x = torch.cat((x3, x5), 1)
    else:
        x3 = module.conv3(x)
        x5 = module.conv5(x)
        x = torch.cat((x3, x5), 1)
    x = module.bn(x)
    return F.relu(x)


def stem_branch(net: nn.Module, x: torch.Tensor, side: str) -> torch.Tensor:
    """``conv1a`` (or ``conv1a1`` and ``conv1a2`` side by side, gMLPResMultiConv35), ``bn1a``, ReLU."""
    if hasattr(net, f"conv1{side}"):
        y = getattr(net, f"conv1{side}")(x)
    else:
        first = getattr(net, f"conv1{side}1")(x)
        second = getattr(net, f"conv1{side}2")(x)
        y = torch.cat((first, second), 1)
    y = getattr(net, f"bn1{side}")(y)
    return F.relu(y)


def glam_trunk(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    xa = stem_branch(net, x, "a")
    xb = stem_branch(net, x, "b")
    x = torch.cat((xa, xb), 2)
    if hasattr(net, "sgu"):  # gMLPgResMultiConv3
        shape = x.shape
        x = x.view(*x.shape[:-2], -1)
        x = net.sgu(x)
        x = x.view(shape[0], shape[1], shape[2] // 2, shape[3])
    x = block(net.conv2, x)
    x = F.max_pool2d(x, 2)
    x = block(net.conv3, x)
    x = F.max_pool2d(x, 2)
    x = block(net.conv4, x)
    x = net.conv5(x)
    x = net.bn5(x)
    return F.relu(x)


def macnn_trunk(net: nn.Module, x: torch.Tensor, merge_dim: int) -> torch.Tensor:
    xa = stem_branch(net, x, "a")
    xb = stem_branch(net, x, "b")
    x = torch.cat((xa, xb), merge_dim)
    for stage in (2, 3, 4, 5):
        x = getattr(net, f"conv{stage}")(x)
        x = getattr(net, f"bn{stage}")(x)
        x = F.relu(x)
        if stage in (2, 3):
            x = F.max_pool2d(x, 2)
    return x


def area_attention(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """GLAM's ``AreaAttention(x, x, x)`` (mean keys, summed values, one-row memory, no
    temperature), with every step of its integral image, the unused ones included."""
    def sum_image(features):
        b, n, d = features.shape
        grid = features.reshape(b, 1, n, d)
        integral = grid.cumsum(dim=-2).cumsum(dim=-3)
        padded = F.pad(integral, [0, 0, 1, 0, 1, 0])
        dst, diag, horizontal, vertical, heights, widths = [], [], [], [], [], []
        ones = torch.ones_like(padded[:, :, :, 0], dtype=torch.int32)
        for h in range(module.max_area_height):
            for w in range(module.max_area_width):
                dst.append(padded[:, h + 1:, w + 1:, :].reshape(b, -1, d))
                diag.append(padded[:, :-h - 1, :-w - 1, :].reshape(b, -1, d))
                horizontal.append(padded[:, h + 1:, :-w - 1, :].reshape(b, -1, d))
                vertical.append(padded[:, :-h - 1, w + 1:, :].reshape(b, -1, d))
                heights.append((ones[:, h + 1:, w + 1:] * (h + 1)).reshape(b, -1))
                widths.append((ones[:, h + 1:, w + 1:] * (w + 1)).reshape(b, -1))
        sums = torch.sub(torch.cat(dst, dim=1) + torch.cat(diag, dim=1),
                         torch.cat(vertical, dim=1) + torch.cat(horizontal, dim=1))
        return sums, torch.cat(heights, dim=1).unsqueeze(2), torch.cat(widths, dim=1).unsqueeze(2)

    def area_features(features):
        area_sum, heights, widths = sum_image(features)
        squared_sum, _, _ = sum_image(features.square())
        size = (heights * widths).float()
        mean = area_sum / size
        variance = squared_sum / size - mean.square()
        (variance.abs() + 1e-6).sqrt()  # the area's deviation: computed and unused, as there
        return mean, area_sum

    keys, _ = area_features(x)
    _, values = area_features(x)
    logits = torch.matmul(x, keys.transpose(1, 2))
    weights = logits.softmax(dim=-1)
    weights = F.dropout(weights, module.dropout.p, module.training)
    return torch.matmul(weights, values)


def head(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The original's heads, from the trunk's (B, C, H, W) map to logits."""
    part = net.head
    if isinstance(part, heads.GmlpHead):
        x = x.view(*x.shape[:-2], -1)
        x = net.gmlp(x)
        x = F.relu(x)
        return net.fc(x.reshape(x.shape[0], -1))
    if isinstance(part, heads.LinearHead):
        return net.fc(x.reshape(x.shape[0], -1))
    if isinstance(part, heads.ConvAttentionHead):
        attn = None
        for i in range(part.num_heads):
            q = net.attention_query[i](x)
            k = net.attention_key[i](x)
            v = net.attention_value[i](x)
            attention = F.softmax(torch.mul(q, k), dim=1)
            attention = torch.mul(attention, v)
            attn = attention if attn is None else torch.cat((attn, attention), part.concat_dim)
        x = attn
        if part.pool == "row_mean":
            x = x.contiguous().permute(0, 2, 3, 1)
        x = F.relu(x)
        if part.pool != "flatten":
            x = F.adaptive_avg_pool2d(x, 1)
        return net.fc(x.reshape(x.shape[0], -1))
    if isinstance(part, heads.AreaAttentionHead):
        shape = x.shape
        x = x.contiguous().permute(0, 2, 3, 1).view(shape[0], shape[3] * shape[2], shape[1])
        x = area_attention(net.area_attention, x)
        x = F.relu(x)
        return net.fc(x.reshape(x.shape[0], -1))
    assert isinstance(part, heads.AttentionPoolingHead)
    x1 = net.top_down(x)
    x1 = F.softmax(x1, 1)
    x2 = net.bottom_up(x)
    x = x1 * x2
    return x.mean((2, 3))


def forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The original class's ``forward`` on our model's layers."""
    if isinstance(net.trunk, trunks.GlamTrunk):
        features = glam_trunk(net, x)
    else:
        features = macnn_trunk(net, x, 1 if net.trunk.stem.merge == "channel" else 2)
    return head(net, features)
