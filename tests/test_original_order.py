"""Our models compute what the original computes in the original's order: one backward pass
gives bitwise the gradients of the original's order of operations (``tests/original_order.py``),
for the input and every parameter, on whatever machine the test runs.

The forward values alone would not show it: another order of the same operations usually gives
the same forward bits, but autograd adds up the gradients that reach a tensor used several
times (a block's input, feeding two convs and two shortcuts) in the order their operations were
recorded. A different order changes last bits, and training amplifies them (a conv bias that
feeds a BatchNorm has a true gradient of zero, so Adam's first step moves it by ±lr in the
sign the rounding left).
"""
from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import original_order
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import train
from models import create_model, layers, list_models
from models.area_attention import AreaAttention
from ser.runs.config import resolve_args
from ser.runs.data import load_corpus
from ser.runs.request import data_request
from ser.training import engine

MFCC_SHAPE = (26, 57)
# APCNN's recipe feeds it the spectrogram, but its layers do not depend on the input size.
SHAPES = {"CNN_AttnPooling": (40, 57)}
GLAM_MODELS = list_models(paper_only=True)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _gradients(module: nn.Module, forward, x: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """The gradients of one backward pass through ``forward(x)``: the input's and every parameter's."""
    module.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    torch.manual_seed(seed)  # the area attention's dropout draws the same mask on both sides
    out = forward(x)
    targets = torch.arange(len(out)) % out.shape[1] if out.dim() == 2 else None
    loss = F.cross_entropy(out, targets) if targets is not None else (out * torch.linspace(-1, 1, out.numel())
                                                                      .view_as(out)).sum()
    loss.backward()
    grads = {"input": x.grad}
    grads.update({name: p.grad.clone() for name, p in module.named_parameters()})
    return grads


def _assert_bitwise_equal(ours: dict[str, torch.Tensor], original: dict[str, torch.Tensor]) -> None:
    assert ours.keys() == original.keys()
    different = [name for name in ours if not torch.equal(ours[name], original[name])]
    assert not different, f"gradients that differ from the original order's: {different}"


@pytest.mark.parametrize("block", [layers.MultiConv, layers.ResMultiConv, layers.ResConv3, layers.ResConv5])
def test_every_block_backpropagates_the_originals_bits(block):
    torch.manual_seed(0)
    module = block(16)
    x = torch.randn(3, 16, 12, 14)
    _assert_bitwise_equal(_gradients(module, module, x, seed=1),
                          _gradients(module, lambda t: original_order.block(module, t), x, seed=1))


def test_area_attention_backpropagates_the_originals_bits():
    module = AreaAttention(max_area_height=3, max_area_width=3, dropout=0.5).train()
    x = torch.randn(3, 42, 16)
    _assert_bitwise_equal(_gradients(module, lambda t: module(t, t, t), x, seed=2),
                          _gradients(module, lambda t: original_order.area_attention(module, t), x, seed=2))


@pytest.mark.parametrize("name", GLAM_MODELS)
def test_every_model_backpropagates_the_originals_bits(name):
    torch.manual_seed(1234)
    model = create_model(name, shape=SHAPES.get(name, MFCC_SHAPE)).train()
    x = torch.randn(4, 1, *model.shape)
    _assert_bitwise_equal(_gradients(model, model, x, seed=4321),
                          _gradients(model, lambda t: original_order.forward(model, t), x, seed=4321))


SEED = 2602656884  # the first seed of the paper's seeds.txt
STEPS = 20


def _original_style_losses(utterances: list[tuple[Path, int]], batch_size: int) -> list[float]:
    """The first ``STEPS`` batch losses of the original ``train.py`` with its defaults (GLAM, MFCC
    segments of 1.8 s every 0.2 s, 80/20 split, Adam, mixup α = 0.5), written out as it runs:
    seeds, split, per-segment librosa MFCCs, a shuffling DataLoader of single items, its mixup,
    and the model's forward in the original's order (``original_order``)."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    wavs = [librosa.load(path, sr=16000)[0] for path, _ in utterances]
    train = list(np.random.choice(range(len(wavs)), int(len(wavs) * 0.8), replace=False))
    train_X, train_y = [], []
    for i in train:
        segments, index = [], 0
        while index + 1.8 * 16000 <= len(wavs[i]):
            segments.append(wavs[i][int(index):int(index + 1.8 * 16000)])
            index += int((1.8 - 1.6) * 16000)
        train_X.append(np.apply_along_axis(lambda x: librosa.feature.mfcc(y=x, sr=16000, n_mfcc=26), 1,
                                           np.array(segments)))
        train_y += len(segments) * [utterances[i][1]]
    train_X = np.vstack(train_X)

    class Items(torch.utils.data.Dataset):
        def __len__(self):
            return len(train_X)

        def __getitem__(self, i):
            return torch.from_numpy(train_X[i]).float(), torch.LongTensor([train_y[i]])

    loader = torch.utils.data.DataLoader(Items(), batch_size=batch_size, shuffle=True)
    model = create_model("GLAM", shape=train_X.shape[1:]).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for x, y in loader:
        lam = np.random.beta(0.5, 0.5)
        index = torch.randperm(x.size()[0])
        mixed = lam * x + (1 - lam) * x[index, :]
        out = original_order.forward(model, mixed.unsqueeze(1))
        loss = lam * criterion(out, y.squeeze(1)) + (1 - lam) * criterion(out, y[index].squeeze(1))
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if len(losses) == STEPS:
            return losses
    raise AssertionError(f"the corpus gives fewer than {STEPS} batches")


class _EnoughSteps(Exception):
    """Raised from inside train.py's loop once the steps compared are recorded."""


def test_train_py_takes_the_originals_first_steps_to_the_last_bit(micro_corpus, tmp_path, monkeypatch):
    """``train.py`` with the paper's defaults and the original-style loop above give the same
    loss at every one of the first 20 steps, bit for bit: features, split, initial weights,
    batches, mixup and every gradient are the original's. (Batches of 4: 20 steps on the micro
    corpus.)"""
    losses, batch_loss = [], engine.mixup_loss

    def recorded(*args):
        loss_of = batch_loss(*args)

        def loss(*batch):
            if len(losses) == STEPS:
                raise _EnoughSteps
            value = loss_of(*batch)
            losses.append(value.item())
            return value
        return loss

    monkeypatch.setattr(engine, "mixup_loss", recorded)
    cache = str(tmp_path / "cache")
    with pytest.raises(_EnoughSteps):
        train.main(["--data", str(micro_corpus), "-d", str(tmp_path / "GLAM" / "1"), "--cache_dir", cache,
                    "--seed", str(SEED), "-b", "4", "-g", "-1", "--feature_backend", "librosa", "--quiet"])
    usable = load_corpus(data_request(resolve_args(["--data", str(micro_corpus), "--cache_dir", cache, "--quiet"])),
                         lambda *_: None)
    utterances = [(usable.root / row.path, int(label)) for row, label in zip(usable.utterances, usable.labels)]
    assert losses == _original_style_losses(utterances, batch_size=4)
