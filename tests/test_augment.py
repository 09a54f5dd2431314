"""Seed 004's training options (ser/training/augment.py): min-max scaling, oversampling, per-sample mixup,
stability training, the fit loop (identical to ser.training.engine's when no option is on), and the
options through train.py with a GLAM-family model."""
from __future__ import annotations

import pickle
import re
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn as nn

import train
from ser.runs import data
from ser.synthetic import synth_emodb
from ser.training import augment, engine
from ser.training.augment import PairedSegments, TrainOptions
from ser.training.dataset import MinMaxScaler, TestUtterances, TrainSegments
from ser.training.engine import FitOptions


def test_minmax_is_per_bin_and_fitted_on_training_data_only():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (20, 3, 7)).astype(np.float32) * np.array([1, 10, 100], np.float32)[None, :, None]
    X[:, 2, :] = -5.0  # a constant bin
    scaler = MinMaxScaler().fit(X)
    scaled = scaler.transform(X)
    np.testing.assert_allclose(scaled[:, :2].min(axis=(0, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose(scaled[:, :2].max(axis=(0, 2)), 1.0, atol=1e-6)
    assert (scaled[:, 2] == 0).all()
    other = scaler.transform(X[:2] * 3)  # validation/test: the training fit, values may leave [0, 1]
    expected = (X[:2, 1] * 3 - X[:, 1].min()) / (X[:, 1].max() - X[:, 1].min())
    np.testing.assert_allclose(other[:, 1], expected, rtol=1e-5)
    assert other.max() > 1 or other.min() < 0


def test_oversampling_balances_every_class_reproducibly():
    labels = np.repeat([0, 1, 2, 3], [10, 5, 3, 2])
    index = augment.oversample_indices(labels, np.random.RandomState(7))
    assert Counter(labels[index].tolist()) == {0: 10, 1: 10, 2: 10, 3: 10}
    np.testing.assert_array_equal(index[:len(labels)], np.arange(len(labels)))  # originals first, once
    np.testing.assert_array_equal(index, augment.oversample_indices(labels, np.random.RandomState(7)))
    assert not np.array_equal(index, augment.oversample_indices(labels, np.random.RandomState(8)))


def test_seed004_oversampling_balances_only_the_two_smallest_classes():
    """Two 'minority' passes: the smallest class, then the next smallest, reach the majority."""
    labels = np.repeat([0, 1, 2, 3], [10, 5, 3, 2])
    index = augment.oversample_indices(labels, np.random.RandomState(7), "seed004")
    assert Counter(labels[index].tolist()) == {0: 10, 1: 5, 2: 10, 3: 10}
    # random_state 0 in both passes, whatever the run's seed
    np.testing.assert_array_equal(index, augment.oversample_indices(labels, np.random.RandomState(1), "seed004"))


def test_per_sample_lambdas_are_folded():
    lam = augment.sample_lambdas(np.random.RandomState(0), 0.4, 1000)
    assert lam.min() >= 0.5 and lam.max() <= 1.0 and lam.std() > 0.1
    np.testing.assert_array_equal(lam, augment.sample_lambdas(np.random.RandomState(0), 0.4, 1000))


class Linear(nn.Module):
    """A (B, 1, F, T) -> (B, C) model with no randomness of its own."""

    def __init__(self, shape=(3, 4), classes=3):
        super().__init__()
        self.fc = nn.Linear(shape[0] * shape[1], classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_seed004_mixup_loss_is_per_sample():
    torch.manual_seed(0)
    model, x, y = Linear(), torch.randn(6, 1, 3, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    criterion = nn.CrossEntropyLoss()
    torch.manual_seed(5)
    loss = augment.batch_loss(model, x, y, criterion, TrainOptions(alpha=0.4, mixup="seed004"),
                              np.random.RandomState(3))
    torch.manual_seed(5)
    partner = torch.randperm(6)  # the permutation is drawn first, then the λs
    lam = torch.tensor(augment.sample_lambdas(np.random.RandomState(3), 0.4, 6), dtype=torch.float32)
    out = model(lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x[partner])
    ce = nn.functional.cross_entropy
    expected = (lam * ce(out, y, reduction="none") + (1 - lam) * ce(out, y[partner], reduction="none")).mean()
    torch.testing.assert_close(loss, expected)


def test_stability_term():
    clean = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]], requires_grad=True)
    assert augment.stability_term(clean, clean.detach().clone(), "kl").item() == pytest.approx(0.0, abs=1e-7)
    noisy = torch.tensor([[0.0, 2.0, -1.0], [0.5, 0.5, 3.0]], requires_grad=True)
    kl = augment.stability_term(clean, noisy, "kl")
    p, log_p, log_q = clean.softmax(1), clean.log_softmax(1), noisy.log_softmax(1)
    torch.testing.assert_close(kl, (p * (log_p - log_q)).sum(1).mean())
    torch.testing.assert_close(augment.stability_term(clean, noisy, "ce"), -(p * log_q).sum(1).mean())
    kl.backward()
    assert clean.grad.abs().sum() > 0 and noisy.grad.abs().sum() > 0  # both branches train


def toy_data(n=48, shape=(3, 4), classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = (rng.normal(0, 1, (n, *shape)) + y[:, None, None]).astype(np.float32)
    test_X = (rng.normal(0, 1, (30, *shape)) + np.repeat(np.arange(classes), 10)[:, None, None]).astype(np.float32)
    test = TestUtterances(X=test_X, owner=np.repeat(np.arange(15), 2), y=np.repeat(np.arange(classes), 5),
                          names=[str(i) for i in range(15)])
    return TrainSegments(X=X, y=y.astype(np.int64)), test


def fit_with(loss, model, train_set, test, rng, fit_options=None, **options):
    """ser.training.engine.fit with GLAM's own batch loss (``loss="engine"``) or seed 004's options."""
    fit_options = fit_options or FitOptions(epochs=4, batch_size=8, lr=0.05)
    criterion = nn.CrossEntropyLoss()
    if loss == "engine":
        batch_loss = engine.mixup_loss(criterion, options.get("alpha", 0.5), rng)
    else:
        noisy = torch.from_numpy(train_set.noisy) if isinstance(train_set, PairedSegments) else None
        batch_loss = augment.options_loss(TrainOptions(**{"alpha": 0.5, **options}), criterion, rng, noisy)
    return engine.fit(model, train_set, test, torch.device("cpu"), fit_options, batch_loss, rng)


def run_fit(loss, train_set, test, seed=0, **options):
    rng = engine.seed_everything(seed)
    return fit_with(loss, Linear(), train_set, test, rng, **options)


def test_fit_equals_the_engines_when_no_option_is_on():
    train_set, test = toy_data()
    ours, theirs = run_fit("augment", train_set, test), run_fit("engine", train_set, test)
    assert [r.loss for r in ours.history] == [r.loss for r in theirs.history]
    assert [r.predictions.tolist() for r in ours.history] == [r.predictions.tolist() for r in theirs.history]
    assert ours.best.epoch == theirs.best.epoch


def test_identical_noisy_copies_add_no_stability_loss():
    train_set, test = toy_data()
    paired = PairedSegments(X=train_set.X, y=train_set.y, noisy=train_set.X.copy())
    plain = run_fit("augment", train_set, test)
    stable = run_fit("augment", paired, test, stability_weight=1.0)
    assert [r.loss for r in stable.history] == pytest.approx([r.loss for r in plain.history], rel=1e-5)
    gaussian = run_fit("augment", train_set, test, stability_weight=1.0, stability_sigma=0.5)
    assert gaussian.history[0].loss > plain.history[0].loss


def test_selection_on_wa_and_log_softmax_pooling():
    train_set, test = toy_data()
    rng = engine.seed_everything(0)
    model = Linear()
    result = fit_with("augment", model, train_set, test, rng,
                      FitOptions(epochs=4, batch_size=8, lr=0.05, optimizer="adamw", lr_schedule="constant",
                                 selection="WA", pooling="log_softmax"), alpha=0.0, mixup="seed004")
    was = [r.scores.WA for r in result.history]
    assert result.best.epoch == was.index(max(was))  # the first epoch with the best WA
    with torch.no_grad():
        log_p = model(torch.from_numpy(test.X).unsqueeze(1)).log_softmax(1)
    mean = torch.zeros(15, 3).index_add_(0, torch.from_numpy(test.owner), log_p) / 2
    assert result.history[-1].predictions.tolist() == mean.argmax(1).tolist()


@pytest.fixture(scope="module")
def emodb_corpus(tmp_path_factory):
    return synth_emodb.generate(tmp_path_factory.getbasetemp() / "emodb_tiny", scale=0.1, seed=0, progress=False)


def test_options_through_train_py_with_a_glam_family_model(emodb_corpus, tmp_path):
    # Tiny maps (3 channels of 4 mel bands) keep a GLAM-family model cheap on the CPU.
    summary = train.main(["-m", "CNN_AttnPooling", "-f", "logmeldeltaspec", "--nmel", "4", "--corpus", "emodb",
                          "--val_id", "3F", "--test_id", "3M", "-e", "1", "--mixup", "seed004", "--alpha", "0.4",
                          "--stability_weight", "0.1", "--stability_source", "white", "--oversample", "--minmax",
                          "--optimizer", "adamw", "--select_on", "WA", "--pooling", "log_softmax",
                          "--data", str(emodb_corpus), "--cache_dir", str(tmp_path / "cache"),
                          "-d", str(tmp_path / "run"), "--quiet", "-g", "-1"])
    assert summary["feature_shape"] == [12, 300]  # 3 channels of 4 bands, stacked
    before = [int(n) for _, n in re.findall(r"\((\d+), (\d+)\)", summary["split"]["info"]["train_seg"])]
    assert len(before) == 7 and len(set(before)) > 1
    assert summary["split"]["train_segments"] == 7 * max(before)  # every class oversampled to the largest
    assert summary["args"]["minmax"] is True and summary["protocol_name"] == "loso-speaker"


def test_options_apply_to_the_paper_protocols_features_file(tiny_corpus, tmp_path, monkeypatch):
    """--protocol paper with --featuresFileName: the file keeps the split's own features, and a run
    that loads it oversamples and scales them as a run on the corpus does."""
    prepared = []
    apply_options = data.apply_training_options

    def spy(*args):
        prepared.append(apply_options(*args))
        return prepared[-1]

    monkeypatch.setattr(data, "apply_training_options", spy)
    features = tmp_path / "features.pkl"
    flags = ["-m", "CNN_AttnPooling", "-f", "logmelspec", "--nmel", "12", "--data", str(tiny_corpus),
             "--featuresFileName", str(features), "--oversample", "--minmax", "-e", "1",
             "--cache_dir", str(tmp_path / "cache"), "--quiet", "-g", "-1"]
    computed = train.main([*flags, "--toSaveFeatures", "-d", str(tmp_path / "computed" / "run")])
    loaded = train.main([*flags, "-d", str(tmp_path / "loaded" / "run")])
    assert loaded["protocol"] == f"features loaded from {features}"
    saved = pickle.loads(features.read_bytes())
    assert saved["train_X"].min() < 0  # dB values: the split before scaling (and oversampling, below)
    for run, (train_set, _, _, scaler) in zip((computed, loaded), prepared):
        assert len(set(Counter(train_set.y.tolist()).values())) == 1  # every class oversampled to the largest
        assert scaler is not None and train_set.X.min() == 0 and train_set.X.max() == 1
        assert run["split"]["train_segments"] == len(train_set.y) > len(saved["train_y"])
    assert computed["split"]["train_segments"] == loaded["split"]["train_segments"]
    with pytest.raises(SystemExit, match="has no wavs"):
        train.main([*flags, "--stability_weight", "0.1", "--stability_source", "white", "--force",
                    "-d", str(tmp_path / "loaded" / "run")])
