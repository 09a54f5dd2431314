"""Our area attention (models/area_attention.py) in its two configurations:

* standard: equal to the PyPI ``area-attention`` package (the test-only oracle; the models
  never import it) on random inputs, dropout off;
* GLAM's: one-row memory, mean keys, summed values, unscaled logits, checked against a
  hand computation and against the package with those settings forced.
"""
from __future__ import annotations

import ast
from pathlib import Path

import area_attention  # the PyPI package, a pinned test dependency
import pytest
import torch

from models.area_attention import AreaAttention


def _randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("keys, values, top_k", [
    ("mean", "sum", 0),    # the package's default modes
    ("mean", "mean", 0),
    ("max", "max", 0),
    ("mean", "sum", 5),
])
def test_standard_configuration_matches_package(keys, values, top_k):
    d, dv, height, width = 6, 5, 3, 4
    oracle = area_attention.AreaAttention(
        key_query_size=d, area_key_mode=keys, area_value_mode=values, max_area_height=2,
        max_area_width=3, memory_height=height, memory_width=width, top_k_areas=top_k)
    ours = AreaAttention(
        max_area_height=2, max_area_width=3, memory_height=height, memory_width=width,
        area_key_mode=keys, area_value_mode=values, temperature=d ** 0.5, top_k_areas=top_k)
    q = _randn(2, 7, d, seed=1)
    k, v = _randn(2, height * width, d, seed=2), _randn(2, height * width, dv, seed=3)
    torch.testing.assert_close(ours(q, k, v), oracle(q, k, v), rtol=1e-5, atol=1e-5)


def test_glam_configuration_is_package_without_scaling_on_one_row():
    """GLAM's copy = the package with memory 1×N and the 1/√d dropped (key size 1 makes the
    package's temperature 1). Its requested area height of 3 has no effect on one row."""
    n, d = 10, 4
    oracle = area_attention.AreaAttention(
        key_query_size=1, max_area_height=3, max_area_width=3, memory_height=1, memory_width=n)
    ours = AreaAttention(max_area_height=3, max_area_width=3)
    x = _randn(2, n, d, seed=4)
    torch.testing.assert_close(ours(x, x, x), oracle(x, x, x), rtol=1e-5, atol=1e-5)


def _glam_by_hand(q, k, v, max_width):
    """Every run of 1..max_width consecutive items is an area: key = mean, value = sum,
    weights = softmax(q·key) without scaling."""
    areas = [(s, s + w) for w in range(1, max_width + 1) for s in range(k.shape[0] - w + 1)]
    out = []
    for query in q:
        logits = torch.stack([query @ k[a:b].mean(0) for a, b in areas])
        weights = logits.softmax(0)
        out.append(sum(weight * v[a:b].sum(0) for weight, (a, b) in zip(weights, areas)))
    return torch.stack(out)


def test_glam_uniform_weights_average_the_area_sums():
    """Zero queries weigh the 4 + 3 + 2 areas of a 1×4 memory equally: the output is the mean
    of their sums, (1+2+3+4 + 3+5+7 + 6+9) / 9 = 40/9."""
    v = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])
    out = AreaAttention(max_area_width=3)(torch.zeros(1, 1, 1), torch.zeros(1, 4, 1), v)
    torch.testing.assert_close(out, torch.tensor([[[40 / 9]]]))


def test_glam_configuration_matches_hand_computation():
    k = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]])
    v = torch.tensor([[1.0, -1.0], [2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    q = torch.tensor([[2.0, 1.0], [-1.0, 3.0]])
    ours = AreaAttention(max_area_height=3, max_area_width=3)(q[None], k[None], v[None])[0]
    torch.testing.assert_close(ours, _glam_by_hand(q, k, v, 3))


def test_glam_areas_run_across_rows_of_the_map():
    """The flattened H·W map is one row, so areas may join the end of one map row and the
    start of the next: a 2×3 map is treated as 6 consecutive items, not as a 2-D grid."""
    x = _randn(6, 3, seed=5)
    ours = AreaAttention(max_area_width=3)(x[None], x[None], x[None])[0]
    torch.testing.assert_close(ours, _glam_by_hand(x, x, x, 3))
    grid = AreaAttention(max_area_height=1, max_area_width=3, memory_height=2, memory_width=3)
    assert not torch.allclose(grid(x[None], x[None], x[None])[0], ours)


def test_dropout_only_in_training_and_no_parameters():
    attention = AreaAttention(max_area_width=3, dropout=0.5)
    assert not list(attention.parameters()) and not attention.state_dict()
    x = _randn(2, 12, 4, seed=6)
    attention.eval()
    torch.testing.assert_close(attention(x, x, x), attention(x, x, x), rtol=0, atol=0)
    attention.train()
    torch.manual_seed(0)
    assert not torch.allclose(attention(x, x, x), attention.eval()(x, x, x))


def test_models_do_not_import_the_package():
    """Only relative imports (our own module) may name area_attention inside models/."""
    for path in (Path(__file__).resolve().parents[1] / "models").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("area_attention") for a in node.names), path
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert not (node.module or "").startswith("area_attention"), path
