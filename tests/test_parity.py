"""Parity of every registered model with the original GLAM code's class of the same name
(style guide rule 7): parameter counts and state_dict keys/shapes at the paper's 26×57 input.

``data/original_state_dicts.json`` maps each original class to its state_dict entries
``[key, shape]`` in the original's registration order. It is the state_dict of the original
classes themselves, built at 26×57 with g-mlp-pytorch 0.1.5 (``data/ORIGINAL_REFERENCE.md``
says how); the original classes also have exactly the parameter counts below. Our models
register layers in a different order (each conv next to its BatchNorm), so keys are compared
as a mapping. Outputs, one training step and strict loading of the original's checkpoint are
checked against recorded runs of the original in ``test_original_reference.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from models import create_model, list_models

SHAPE = (26, 57)
ORIGINAL_STATE_DICTS = json.loads(
    (Path(__file__).parent / "data" / "original_state_dicts.json").read_text())


PARAMETER_COUNTS = {
    # the seven models of the paper's tables
    "GLAM": 904_078,
    "ResMultiConv3": 686_820,
    "MHResMultiConv3": 879_076,
    "AAResMultiConv3": 686_820,
    "MHCNN": 155_636,
    "AACNN": 147_268,
    "CNN_AttnPooling": 93_573,
    # derived from the original constructors
    "GLAM5": 904_142,
    "gMLPResConv3": 818_062,
    "gMLPResConv5": 990_094,
    "gMLPMultiConv": 904_078,
    "ResMultiConv5": 686_884,
    "aMLPResMultiConv3": 962_682,
    "gMLPgResMultiConv3": 699_652,
    "gMLPResMultiConv35": 904_110,
    "CNN_Area": 147_268,
    "CNN_GAP": 120_052,
    "MHCNN_AreaConcat": 327_748,
    "MHCNN_AreaConcat_gap": 155_972,
    "MHCNN_AreaConcat_gap1": 124_660,
    "AACNN_HeadConcat": 120_052,
}


def test_every_original_class_is_registered():
    assert sorted(PARAMETER_COUNTS) == sorted(ORIGINAL_STATE_DICTS)
    assert set(ORIGINAL_STATE_DICTS) <= set(list_models())


@pytest.mark.parametrize("name", sorted(ORIGINAL_STATE_DICTS))
def test_parameter_count(name):
    model = create_model(name, shape=SHAPE)
    assert sum(p.numel() for p in model.parameters()) == PARAMETER_COUNTS[name]


@pytest.mark.parametrize("name", sorted(ORIGINAL_STATE_DICTS))
def test_state_dict_matches_original(name):
    expected = {key: shape for key, shape in ORIGINAL_STATE_DICTS[name]}
    assert len(expected) == len(ORIGINAL_STATE_DICTS[name])
    model = create_model(name, shape=SHAPE)
    ours = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert ours == expected
