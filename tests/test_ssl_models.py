"""models.ssl: the SUPERB and EmoBox downstreams and the eGeMAPS heads, in the registry's input
convention; the same function as their sources' frame-level order, the mask respected, and a
few training steps that lower the loss."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models import registry

L, D, T, B = 5, 12, 9, 3
NAMES = ("ssl_linear", "ssl_mlp", "mlp", "linear")
SHAPES = {"ssl_linear": (L, D), "ssl_mlp": (T, D + 1), "mlp": (1, 88), "linear": (1, 88)}


@pytest.fixture(scope="module")
def ssl():
    """models.ssl, which models/__init__.py imports, so its models are registered."""
    import models.ssl as module
    return module


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def frames_batch(lengths, seed=0):
    """Random frames of the given lengths, packed with the mask channel, and the frames themselves."""
    from models.ssl import pack_frames
    rng = np.random.default_rng(seed)
    frames = [rng.standard_normal((n, D)).astype(np.float32) for n in lengths]
    return torch.from_numpy(pack_frames(frames))[:, None], frames


@pytest.mark.parametrize("name", NAMES)
def test_every_head_gives_one_row_of_logits_per_utterance(name, ssl):
    torch.manual_seed(0)
    model = registry.create_model(name, shape=SHAPES[name], num_classes=6).eval()
    x = torch.randn(B, 1, *SHAPES[name]) if name != "ssl_mlp" else frames_batch([T, 4, 7])[0]
    with torch.no_grad():
        out = model(x)
        assert out.shape == (B, 6) and torch.isfinite(out).all()
        torch.testing.assert_close(model.forward_head(model.forward_features(x)), out)
        torch.testing.assert_close(model.fc(model.forward_features(x)), out)
    with pytest.raises(ValueError, match=f"takes \\(B, 1, {SHAPES[name][0] if name != 'ssl_mlp' else 'T'}"):
        model(torch.zeros(B, 1, SHAPES[name][0] + 1, SHAPES[name][1] + 1))


def test_ssl_linear_on_means_is_superbs_frame_level_order(ssl):
    """s3prl: softmax-weighted sum of the hidden states per frame, projector per frame, mean over
    the frames, linear. Here: the same on the means, which is the same function."""
    torch.manual_seed(0)
    model = ssl.ssl_linear(shape=(L, D), num_classes=4).eval()
    with torch.no_grad():
        model.layer_weights.copy_(torch.randn(L))
        hidden = torch.randn(L, 40, D)  # one utterance: L hidden states of 40 frames
        mixed = (F.softmax(model.layer_weights, 0)[:, None, None] * hidden).sum(0)
        superb = model.fc(model.projector(mixed).mean(0))
        ours = model(hidden.mean(1)[None, None])[0]
    torch.testing.assert_close(ours, superb, atol=1e-5, rtol=0)


def test_ssl_mlp_pools_real_frames_only(ssl):
    torch.manual_seed(0)
    model = ssl.ssl_mlp(shape=(T, D + 1), num_classes=4).eval()
    x, frames = frames_batch([T, 4, 6])
    garbage = x.clone()
    for row, f in zip(garbage, frames):
        row[0, len(f):, :D] = 100 * torch.randn(T - len(f), D)  # padding frames' values change nothing
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(model(garbage), out, atol=0, rtol=0)
        for row, f in zip(out, frames):
            alone = torch.from_numpy(f)
            emobox = model.fc(F.relu(model.pre_net(alone)).mean(0))  # EmoBox: one utterance, no padding
            torch.testing.assert_close(row, emobox, atol=1e-5, rtol=0)
            unpadded = torch.from_numpy(ssl.pack_frames([f]))[:, None]
            torch.testing.assert_close(model(unpadded)[0], row, atol=1e-5, rtol=0)


def test_ssl_mlp_utterance_norm_is_emoboxs_layer_norm_over_the_utterance(ssl):
    torch.manual_seed(0)
    model = ssl.ssl_mlp(shape=(T, D + 1), num_classes=4, utterance_norm=True).eval()
    x, frames = frames_batch([T, 5])
    x[1, 0, 5:, :D] = 7.0  # padding is left out of the statistics too
    with torch.no_grad():
        out = model(x)
        for row, f in zip(out, frames):
            normed = F.layer_norm(torch.from_numpy(f), f.shape)
            torch.testing.assert_close(row, model.fc(F.relu(model.pre_net(normed)).mean(0)), atol=1e-5, rtol=0)


def test_the_egemaps_heads(ssl):
    mlp = registry.create_model("mlp", shape=(1, 88), num_classes=4)
    assert [m.out_features for m in mlp.modules() if isinstance(m, torch.nn.Linear)] == [64, 16, 4]
    linear = registry.create_model("linear", shape=(1, 88), num_classes=4)
    assert [(m.in_features, m.out_features) for m in linear.modules() if isinstance(m, torch.nn.Linear)] == [(88, 4)]
    with_dropout = registry.create_model("mlp", shape=(1, 88), hidden_dims=(8,), dropout=0.5)
    assert any(isinstance(m, torch.nn.Dropout) for m in with_dropout.modules())


def test_options_are_checked(ssl):
    assert registry.model_options("ssl_mlp") == ["hidden_dim", "utterance_norm"]
    for name, option, value in (("ssl_linear", "projector_dim", 0), ("ssl_mlp", "hidden_dim", 0),
                                ("mlp", "hidden_dims", (64, 0)), ("mlp", "dropout", 1.0)):
        with pytest.raises(registry.ModelOptionError, match=option):
            registry.check_options(name, **{option: value})
    with pytest.raises(registry.ModelOptionError, match="takes no option 'hidden_dim'"):
        registry.check_options("linear", hidden_dim=8)


@pytest.mark.parametrize("name", NAMES)
def test_a_few_steps_lower_the_loss(name, ssl):
    """Two classes told apart by the sign of the first feature (the frames' mean for ssl_mlp)."""
    torch.manual_seed(0)
    model = registry.create_model(name, shape=SHAPES[name], num_classes=2).train()
    if name == "ssl_mlp":
        x, _ = frames_batch([T, 3, 5, 8, 2, 9, 6, 4], seed=1)
        y = (x[:, 0, :, 0].sum(1) > 0).long()
    else:
        x = torch.randn(8, 1, *SHAPES[name])
        y = (x[:, 0, ..., 0].flatten(1).sum(1) > 0).long()
    recipe = ssl.RECIPES[name]
    optimizer = torch.optim.Adam(model.parameters(), lr=100 * recipe.lr)
    losses = []
    for _ in range(10):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_pack_frames(ssl):
    packed = ssl.pack_frames([np.ones((2, 3), np.float32), 2 * np.ones((4, 3), np.float32)], length=5)
    assert packed.shape == (2, 5, 4) and packed.dtype == np.float32
    assert packed[:, :, 3].tolist() == [[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]
    assert (packed[0, 2:] == 0).all() and (packed[1, :4, :3] == 2).all()
    with pytest.raises(ValueError, match="shorter than an utterance of 4 frames"):
        ssl.pack_frames([np.ones((4, 3), np.float32)], length=3)


def test_every_model_has_its_recipe(ssl):
    assert set(ssl.RECIPES) == set(NAMES) and set(NAMES) <= set(registry.list_models())
    for recipe in ssl.RECIPES.values():
        assert recipe.optimizer == "adam" and 0 < recipe.lr < 1e-2 and recipe.batch_size > 0 and recipe.epochs > 0
        assert not recipe.mixup and recipe.source
