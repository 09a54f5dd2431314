"""Registry-driven checks of every model (style guide rule 15, after timm's test_models.py):
shapes, finiteness, gradients reaching every parameter, the forward_features/forward_head
split, and the registry's behaviour (unknown names, aliases, None kwargs)."""
from __future__ import annotations

import pytest
import torch

import models
from models import MAPS, create_model, list_models, model_options, resolve_name
from models.registry import register_model

BATCH = 2
SHAPES = [(26, 57), (26, 63)]  # MFCC of 1.8 s segments (GLAM's recipe) and of 2 s (MHCNN's)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These models are tiny at batch 2: one intra-op thread is fastest, and avoids OpenMP
    threads spinning against each other on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _input(shape, seed=0):
    return torch.randn(BATCH, 1, *shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list_models(reads=MAPS))
def test_forward_shape(name, shape):
    model = create_model(name, shape=shape)
    out = model(_input(shape))
    assert out.shape == (BATCH, 4)
    assert torch.isfinite(out).all()


def test_attention_pooling_on_spectrogram():
    """APCNN's recipe feeds 400×197 spectrograms (2 s segments)."""
    model = create_model("CNN_AttnPooling", shape=(400, 197)).eval()
    with torch.no_grad():
        out = model(_input((400, 197)))
    assert out.shape == (BATCH, 4)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list_models(reads=MAPS))
def test_backward_reaches_every_parameter(name):
    """num_classes=7 replaces the original's hard-coded 4; a parameter without a gradient
    would be a layer that is built but never used."""
    torch.manual_seed(0)
    model = create_model(name, shape=SHAPES[0], num_classes=7).train()
    out = model(_input(SHAPES[0]))
    assert out.shape == (BATCH, 7)
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 6])).backward()
    missing = [key for key, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", list_models(reads=MAPS))
def test_forward_is_head_of_features(name):
    model = create_model(name, shape=SHAPES[0]).eval()
    x = _input(SHAPES[0])
    with torch.no_grad():
        features = model.forward_features(x)
        logits = model(x)
        assert isinstance(features, torch.Tensor) and features.shape[0] == BATCH
        torch.testing.assert_close(model.forward_head(features), logits)
        if hasattr(model, "fc"):  # every model but attention pooling ends in a linear layer
            assert features.shape == (BATCH, model.fc.in_features)
            torch.testing.assert_close(model.fc(features), logits)


def test_swapped_classifier_is_used():
    """Layers are looked up on the model at call time, so replacing ``fc`` takes effect."""
    model = create_model("GLAM", shape=SHAPES[0])
    model.fc = torch.nn.Linear(model.fc.in_features, 3)
    assert model(_input(SHAPES[0])).shape == (BATCH, 3)


def test_eval_is_deterministic():
    model = create_model("AACNN", shape=SHAPES[1]).eval()
    x = _input(SHAPES[1])
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as error:
        create_model("GLAMM")
    message = str(error.value)
    assert "GLAMM" in message
    assert all(name in message for name in list_models())


@pytest.mark.parametrize("alias, name", [("MAResMultiConv3", "MHResMultiConv3"),
                                         ("MACNN", "MHCNN"), ("APCNN", "CNN_AttnPooling")])
def test_aliases(alias, name):
    assert resolve_name(alias) == name
    assert alias not in list_models()
    assert alias in list_models(include_aliases=True)
    built, canonical = create_model(alias), create_model(name)
    assert (built.trunk, built.head) == (canonical.trunk, canonical.head)


def test_the_originals_twenty_one_models_are_registered():
    glam_family = list_models(paper_only=True)
    assert len(glam_family) == 21


def test_none_kwargs_are_dropped_and_unknown_ones_raise():
    model = create_model("MHCNN", shape=SHAPES[1], num_heads=None, attn_hidden=None)
    assert len(model.attention_query) == 4 and model.fc.in_features == 64
    model = create_model("MHCNN", shape=SHAPES[1], num_heads=2, attn_hidden=16)
    assert len(model.attention_query) == 2 and model.fc.in_features == 16
    with pytest.raises(TypeError):
        create_model("GLAM", num_heads=4)


def test_model_options():
    assert model_options("GLAM") == []
    assert model_options("MACNN") == ["num_heads", "attn_hidden"]
    assert model_options("MHCNN_AreaConcat_gap1") == ["num_heads"]
    assert model_options("AACNN") == ["max_area_width"]


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_model("GLAM")(lambda **kwargs: None)
    with pytest.raises(ValueError, match="already registered"):
        register_model("SomethingNew", aliases=("APCNN",))(lambda **kwargs: None)
    assert "SomethingNew" not in list_models()


def test_print_summary(capsys):
    model = create_model("GLAM", shape=(26, 57)).train()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    table = models.print_summary(model, (26, 57))
    assert "Total params: 904,078" in table
    assert table in capsys.readouterr().out
    assert model.training
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
