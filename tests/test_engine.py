"""The device-resident training loop equals the original's DataLoader loop, draw for draw;
resuming, compiling and bf16 autocast."""
import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from ser.training import engine
from ser.training.dataset import TestUtterances, TrainSegments
from ser.training.engine import (
    FitOptions,
    epoch_permutation,
    evaluate,
    fit,
    inverse_frequency_weights,
    mixup_loss,
    seed_everything,
)
from ser.training.metrics import predict_utterances, score

CPU = torch.device("cpu")


class Checkpoints:
    """An epoch observer that hands each resume state to ``on_checkpoint``."""

    def __init__(self, on_checkpoint):
        self.on_checkpoint = on_checkpoint

    def epoch_done(self, record, best):
        pass

    def checkpoint(self, state):
        self.on_checkpoint(state)


def train_fit(model, train, test, device, *, rng, alpha, on_checkpoint=None, resume=None, **options):
    """ser.training.engine.fit with GLAM's mixup loss and the options as FitOptions."""
    observer = None if on_checkpoint is None else Checkpoints(on_checkpoint)
    return fit(model, train, test, device, FitOptions(**options), mixup_loss(nn.CrossEntropyLoss(), alpha, rng), rng,
               observer=observer, resume=resume)


class TinyNet(nn.Module):
    def __init__(self, dropout=0.3):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(dropout)  # consumes torch's generator, like AACNN's attention dropout
        self.fc = nn.Linear(4 * 6 * 5, 4)

    def forward(self, x):
        x = self.drop(torch.relu(self.bn(self.conv(x))))
        return self.fc(x.flatten(1))


class OriginalDataSet(Dataset):
    """What the original data_loader.DataSet yields: a float map and a (1,) long label."""
    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i]).float(), torch.LongTensor([self.y[i]])


def toy_data(n=70, utterances=9):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 6, 5)).astype(np.float32)
    y = rng.integers(0, 4, n)
    X += y[:, None, None] * 0.5
    segs = rng.integers(1, 4, utterances)
    tX = rng.standard_normal((segs.sum(), 6, 5)).astype(np.float32)
    test = TestUtterances.from_lists(np.split(tX, np.cumsum(segs)[:-1]), rng.integers(0, 4, utterances),
                                     [str(i) for i in range(utterances)], (6, 5))
    return TrainSegments(X=X, y=y.astype(np.int64)), test


def reference_losses(seed, train, epochs, batch_size, alpha):
    """The original train.py's loop, written out: DataLoader shuffling, global numpy mixup."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = TinyNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, 0.95)
    criterion = nn.CrossEntropyLoss()
    loader = DataLoader(OriginalDataSet(train.X, train.y), batch_size=batch_size, shuffle=True)
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for x, y in loader:
            y = y.squeeze(1)
            if alpha > 0:
                lam = np.random.beta(alpha, alpha)
                index = torch.randperm(x.size()[0])
                mixed = lam * x + (1 - lam) * x[index, :]
                out = model(mixed.unsqueeze(1))
                loss = lam * criterion(out, y) + (1 - lam) * criterion(out, y[index])
            else:
                loss = criterion(model(x.unsqueeze(1)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * batch_size  # the original weighs a short last batch as a full one
        if optimizer.param_groups[0]["lr"] >= 1e-6:
            scheduler.step()
        losses.append(total / len(train.y))
    return losses, model.state_dict()


def test_epoch_permutation_is_the_dataloader_order():
    torch.manual_seed(5)
    loader = DataLoader(list(range(23)), batch_size=4, shuffle=True)
    expected = [int(i) for batch in loader for i in batch]
    after_loader = torch.rand(3)
    torch.manual_seed(5)
    assert epoch_permutation(23).tolist() == expected
    assert torch.equal(torch.rand(3), after_loader)  # same draws consumed


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_fit_equals_the_original_loop(alpha):
    train, test = toy_data()
    expected_losses, expected_state = reference_losses(123, train, epochs=3, batch_size=16, alpha=alpha)

    rng = seed_everything(123)
    model = TinyNet()
    result = train_fit(model, train, test, torch.device("cpu"), epochs=3, batch_size=16, lr=1e-3, lr_min=1e-6,
                       optimizer="adam", lr_schedule="exp", alpha=alpha, rng=rng)
    assert [r.loss for r in result.history] == expected_losses  # the same arithmetic: bit for bit
    # evaluation draws nothing, so the weights after 3 epochs agree too
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected_state[key]), key


def test_batched_scoring_equals_per_utterance_loop():
    train, test = toy_data()
    torch.manual_seed(0)
    model = TinyNet().eval()
    fast = predict_utterances(model, test, torch.device("cpu"), batch_size=4)
    with torch.no_grad():
        slow = torch.stack([model(torch.from_numpy(test.X[test.owner == u]).unsqueeze(1)).mean(0)
                            for u in range(len(test.y))])
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-6)
    scores, predictions = evaluate(model, test, torch.device("cpu"))
    assert predictions.tolist() == slow.argmax(1).tolist()
    assert scores.WA == pytest.approx(100 * np.mean(predictions == test.y))


def test_best_epoch_is_chosen_by_wa_ua_mean():
    train, test = toy_data()
    rng = seed_everything(7)
    result = train_fit(TinyNet(), train, test, torch.device("cpu"), epochs=4, batch_size=16, lr=1e-2, lr_min=1e-6,
                       optimizer="sgd", lr_schedule="step", alpha=0.0, rng=rng, keep_best_state=True)
    selections = [r.scores.selection for r in result.history]
    assert result.best.epoch == int(np.argmax(selections))  # first maximum wins ties
    assert result.best_state is not None


def test_a_tie_keeps_the_earlier_epoch(monkeypatch):
    """Epochs 1 and 3 score the same, best of all: epoch 1 is kept, as the original's strict `>`
    keeps it (the scores are forced, so the tie never depends on what the toy model learns)."""
    train, test = toy_data()
    wrong = (test.y + 1) % 4
    half = np.where(np.arange(len(test.y)) % 2 == 0, test.y, wrong)
    all_but_one = np.where(np.arange(len(test.y)) == 0, wrong, test.y)
    forced = iter([half, all_but_one, half, all_but_one])

    def scripted(model, utterances, device, amp=False):
        predictions = next(forced)
        return score(utterances.y, predictions), predictions
    monkeypatch.setattr(engine, "evaluate", scripted)
    rng = seed_everything(7)
    result = train_fit(TinyNet(), train, test, CPU, epochs=4, batch_size=16, lr=1e-2, lr_min=1e-6, optimizer="sgd",
                       lr_schedule="step", alpha=0.0, rng=rng, keep_best_state=True)
    selections = [r.scores.selection for r in result.history]
    assert selections[1] == selections[3] == max(selections) > selections[0] == selections[2]
    assert result.best is result.history[1] and result.best.epoch == 1


def test_inverse_frequency_weights():
    weights = inverse_frequency_weights(np.array([0, 0, 0, 1, 2, 2]), 4)
    # N / (C * n_c) for present classes, 0 for an absent one
    torch.testing.assert_close(weights, torch.tensor([6 / 12, 6 / 4, 6 / 8, 0.0]))


def fit_tiny(seed=11, dropout=0.3, **options):
    train, test = toy_data()
    rng = seed_everything(seed)
    model = TinyNet(dropout)
    settings = dict(epochs=4, batch_size=16, lr=1e-2, lr_min=1e-6, optimizer="adam", lr_schedule="exp", alpha=0.5)
    result = train_fit(model, train, test, CPU, rng=rng, **{**settings, **options})
    return model, result


def test_resumed_fit_continues_exactly():
    """A fit resumed from the state after epoch 2 ends as the uninterrupted fit does."""
    states = []
    straight_model, straight = fit_tiny(on_checkpoint=lambda state: states.append(copy.deepcopy(state)),
                                        keep_best_state=True)
    assert [state["next_epoch"] for state in states] == [1, 2, 3, 4]
    torch.manual_seed(999)  # the resumed fit must not depend on the streams' state before it
    np.random.seed(999)
    resumed_model, resumed = fit_tiny(seed=5, resume=states[1], keep_best_state=True)
    assert [r.loss for r in resumed.history] == [r.loss for r in straight.history]
    assert resumed.best.epoch == straight.best.epoch
    for key, value in straight_model.state_dict().items():
        assert torch.equal(resumed_model.state_dict()[key], value), key


def test_compiled_training_equals_eager():
    """--compile changes kernels, not the computation (no dropout: compiled dropout draws its own numbers)."""
    eager_model, eager = fit_tiny(dropout=0.0, epochs=2)
    compiled_model, compiled = fit_tiny(dropout=0.0, epochs=2, compile=True)
    np.testing.assert_allclose([r.loss for r in compiled.history], [r.loss for r in eager.history], rtol=1e-5)
    assert [r.predictions.tolist() for r in compiled.history] == [r.predictions.tolist() for r in eager.history]
    assert set(compiled_model.state_dict()) == set(eager_model.state_dict())  # no _orig_mod. prefix


def test_amp_runs_forward_passes_in_bf16():
    dtypes = []
    model, fp32 = fit_tiny(epochs=1)
    train, test = toy_data()
    rng = seed_everything(11)
    model = TinyNet()
    model.conv.register_forward_hook(lambda module, inputs, output: dtypes.append(output.dtype))
    amp = train_fit(model, train, test, CPU, epochs=1, batch_size=16, lr=1e-2, lr_min=1e-6, optimizer="adam",
                    lr_schedule="exp", alpha=0.5, rng=rng, amp=True)
    assert set(dtypes) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights and optimizer stay fp32
    assert amp.history[0].loss == pytest.approx(fp32.history[0].loss, rel=0.05)
