"""Protocols: the paper's split unchanged, the honest ones speaker-disjoint, test never used to select."""
import json

import numpy as np
import pytest
import torch
import torch.nn as nn

import train
from ser.protocols.splits import (
    FOLD_COUNTS,
    PAPER_PROTOCOL,
    SplitError,
    fold_speakers,
    make_split,
    paper_split,
    split_811,
)
from ser.records import results
from ser.runs import pipeline
from ser.training import engine
from ser.training.dataset import TestUtterances, TrainSegments

SPEAKERS = [f"{session}{gender}" for session in range(1, 6) for gender in "FM"]


def corpus_speakers(seed=0, per_speaker=7):
    """One speaker id per utterance, every speaker several times, in a shuffled order."""
    speakers = [s for s in SPEAKERS for _ in range(per_speaker)]
    np.random.default_rng(seed).shuffle(speakers)
    return speakers


def check_partition(split, n):
    parts = [set(split.train), set(split.validation), set(split.test)]
    assert sum(map(len, parts)) == n == len(set().union(*parts))  # disjoint and covering
    assert split.test == sorted(split.test) and split.validation == sorted(split.validation)


# -- paper -------------------------------------------------------------------------------------

def test_paper_protocol_is_the_originals_draw():
    n = 123
    expected = np.random.RandomState(42).choice(n, int(n * 0.8), replace=False).tolist()
    rng = np.random.RandomState(42)
    split = make_split("paper", ["1F"] * n, rng)
    assert split.train == expected and split.validation == [] and split.fold is None
    assert split.test == sorted(set(range(n)) - set(expected))
    assert split.protocol == PAPER_PROTOCOL and split.protocol.startswith("paper")
    # the generator is left where the original leaves it, so mixup draws are unchanged
    reference = np.random.RandomState(42)
    reference.choice(n, int(n * 0.8), replace=False)
    assert rng.randint(1 << 30) == reference.randint(1 << 30)
    assert paper_split(n, np.random.RandomState(42)) == make_split("paper", ["1F"] * n, np.random.RandomState(42))


# -- 8:1:1 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [10, 57, 300])
def test_811_is_8_1_1_with_the_paper_training_set(n):
    split = split_811(n, np.random.RandomState(3))
    check_partition(split, n)
    assert split.train == paper_split(n, np.random.RandomState(3)).train
    rest = n - int(n * 0.8)
    assert len(split.validation) == rest // 2 and len(split.test) == rest - rest // 2
    assert split.name == "811" and "validation" in split.protocol


def test_811_depends_on_the_seed_only():
    assert split_811(200, np.random.RandomState(5)) == split_811(200, np.random.RandomState(5))
    assert split_811(200, np.random.RandomState(5)).test != split_811(200, np.random.RandomState(6)).test


# -- leave one session / speaker out ------------------------------------------------------------

def test_loso_folds_never_share_a_speaker():
    speakers = corpus_speakers()
    tested = []
    for fold in range(1, FOLD_COUNTS["loso"] + 1):
        split = make_split("loso", speakers, np.random.RandomState(0), fold=fold)
        check_partition(split, len(speakers))
        train_spk, val_spk, test_spk = ({speakers[i] for i in part}
                                        for part in (split.train, split.validation, split.test))
        assert test_spk == {f"{fold}F", f"{fold}M"}  # the whole test session
        assert len(val_spk) == 1 and not val_spk & train_spk and not val_spk & test_spk
        assert not train_spk & test_spk and len(train_spk) == 7
        (validation_speaker,) = val_spk
        assert int(validation_speaker[:-1]) == fold % 5 + 1  # from the next session
        assert validation_speaker[-1] == ("F" if fold % 2 else "M")
        tested += split.test
    assert sorted(tested) == list(range(len(speakers)))  # every utterance tested exactly once


def test_loso_speaker_validates_on_the_partner_speaker():
    speakers = corpus_speakers(seed=1)
    order = []
    for fold in range(1, FOLD_COUNTS["loso-speaker"] + 1):
        split = make_split("loso-speaker", speakers, np.random.RandomState(0), fold=fold)
        check_partition(split, len(speakers))
        (test_speaker,) = {speakers[i] for i in split.test}
        (validation_speaker,) = {speakers[i] for i in split.validation}
        train_spk = {speakers[i] for i in split.train}
        assert validation_speaker[:-1] == test_speaker[:-1] and validation_speaker != test_speaker
        assert not {s for s in train_spk if s[:-1] == test_speaker[:-1]}  # the test session is out
        assert len(train_spk) == 8
        order.append(test_speaker)
    # seed 004's fold order, and every speaker tested once
    assert order == [f"{s}{g}" for s in range(1, 6) for g in "MF"]


@pytest.mark.parametrize("protocol, fold", [("loso", 0), ("loso", 6), ("loso-speaker", 11)])
def test_out_of_range_fold_is_refused(protocol, fold):
    with pytest.raises(SplitError, match=f"--fold {fold}"):
        make_split(protocol, SPEAKERS, np.random.RandomState(0), fold=fold)


def test_missing_speaker_names_the_problem():
    speakers = [s for s in corpus_speakers() if s != "2F"]
    with pytest.raises(SplitError, match="2F"):
        make_split("loso-speaker", speakers, np.random.RandomState(0), fold=4)  # tests 2F
    assert fold_speakers("loso", 5) == (["5F", "5M"], "1F")


# -- the engine with a validation set ----------------------------------------------------------

class TinyNet(nn.Module):
    """A linear model on a 4×4 average of the input: learns something, costs next to nothing."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.fc(nn.functional.adaptive_avg_pool2d(x, 4).flatten(1))


def toy_sets(test_label_seed=0):
    rng = np.random.default_rng(1)

    def utterances(count, label_rng):
        feats = [rng.standard_normal((int(k), 6, 5)).astype(np.float32) for k in rng.integers(1, 4, count)]
        labels = label_rng.integers(0, 4, count)
        feats = [(f + 0.7 * label).astype(np.float32) for f, label in zip(feats, labels)]
        return TestUtterances.from_lists(feats, labels, [str(i) for i in range(count)], (6, 5))

    y = rng.integers(0, 4, 80)
    train = TrainSegments(X=(rng.standard_normal((80, 6, 5)) + 0.7 * y[:, None, None]).astype(np.float32), y=y)
    validation = utterances(15, np.random.default_rng(2))
    test = utterances(12, np.random.default_rng(100 + test_label_seed))
    return train, validation, test


def fit_with_validation(train, validation, test, epochs=5):
    rng = engine.seed_everything(11)
    model = TinyNet()
    options = engine.FitOptions(epochs=epochs, batch_size=16, lr=0.05, optimizer="sgd", lr_schedule="constant")
    outcome = engine.fit(model, train, test, torch.device("cpu"), options,
                         engine.mixup_loss(torch.nn.CrossEntropyLoss(), 0.0, rng), rng, validation=validation)
    return model, outcome


def test_811_never_looks_at_test_before_the_final_score(monkeypatch):
    train, validation, test = toy_sets()
    scored = []
    real_evaluate = engine.evaluate

    def spy(model, data, device, *options):
        scored.append("test" if data is test else "validation" if data is validation else "?")
        return real_evaluate(model, data, device, *options)

    monkeypatch.setattr(engine, "evaluate", spy)
    model, outcome = fit_with_validation(train, validation, test, epochs=5)
    assert scored == ["validation"] * 5 + ["test"]  # test once, after every selection decision
    selections = [r.scores.selection for r in outcome.history]
    assert outcome.best.epoch == int(np.argmax(selections))
    # the reported test scores are those of the selected epoch's weights, which the model keeps
    assert outcome.test.epoch == outcome.best.epoch
    assert outcome.test.scores == real_evaluate(model, test, torch.device("cpu"))[0]


def test_selection_does_not_depend_on_test_content():
    train, validation, test_a = toy_sets(test_label_seed=0)
    _, _, test_b = toy_sets(test_label_seed=1)
    assert not np.array_equal(test_a.y, test_b.y)
    _, a = fit_with_validation(train, validation, test_a)
    _, b = fit_with_validation(train, validation, test_b)
    assert a.best.epoch == b.best.epoch
    assert [r.scores for r in a.history] == [r.scores for r in b.history]
    assert a.test.scores != b.test.scores  # the test set was scored, just never used to choose


# -- train.py under each protocol (a tiny network stands in for the paper's models) ---------------

@pytest.fixture
def tiny_network(monkeypatch):
    monkeypatch.setattr(pipeline, "build_model", lambda args, shape, num_classes: TinyNet(num_classes))


@pytest.fixture(scope="module")
def feature_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def run_train(corpus, cache, run_dir, *flags):
    return train.main(["-m", "MHCNN", "-e", "2", "--train_overlap", "1", "--data", str(corpus), "--quiet",
                       "-g", "-1", "--cache_dir", str(cache), "-d", str(run_dir), "--seed", "5", *flags])


def test_loso_runs_every_fold_and_aggregates(tiny_corpus, feature_cache, tmp_path, tiny_network):
    run_dir = tmp_path / "loso" / "MHCNN" / "5"
    aggregate = run_train(tiny_corpus, feature_cache, run_dir, "--protocol", "loso")
    folds = []
    for fold in range(1, 6):
        summary = json.loads((run_dir / f"fold{fold}" / "results.json").read_text())
        assert (summary["protocol_name"], summary["fold"], summary["selected_on"]) == ("loso", fold, "validation")
        assert {turn[3:5] for turn in summary["test_utterances"]["turns"]} == {f"0{fold}"}  # session K only
        test_speakers = {f"{int(t[3:5])}{t.rsplit('_', 1)[1][0]}" for t in summary["test_utterances"]["turns"]}
        validation_speakers = {f"{int(t[3:5])}{t.rsplit('_', 1)[1][0]}" for t in summary["validation_turns"]}
        assert validation_speakers == {fold_speakers("loso", fold)[1]} and not validation_speakers & test_speakers
        metric = tmp_path / "loso" / "MHCNN" / f"MHCNN_mfcc_impro_loso_fold{fold}.metric"
        (line,) = results.read_metric(metric)
        assert line["seed"] == 5 and line["WA"] == pytest.approx(summary["best"]["WA"])
        folds.append(summary["best"])
    for metric in ("WA", "UA", "macro_f1", "weighted_f1"):
        values = [f[metric] for f in folds]
        assert aggregate["mean"][metric] == pytest.approx(sum(values) / 5)
        assert aggregate["std"][metric] == pytest.approx(np.std(values))
    (line,) = results.read_metric(tmp_path / "loso" / "MHCNN" / "MHCNN_mfcc_impro_loso.metric")
    assert line["UA"] == pytest.approx(aggregate["mean"]["UA"])
    assert not (tmp_path / "loso" / "MHCNN" / "MHCNN_mfcc_impro.metric").exists()  # never mixed with paper
    assert json.loads((run_dir / "results.json").read_text())["protocol_name"] == "loso"

    # one fold alone gives exactly that fold of the sweep
    alone = run_train(tiny_corpus, feature_cache, tmp_path / "alone" / "5", "--protocol", "loso", "--fold", "3")
    assert alone["best"] == folds[2]
    assert (tmp_path / "alone" / "5" / "fold3" / "results.json").exists()


def test_loso_speaker_fold_holds_out_the_partner(tiny_corpus, feature_cache, tmp_path, tiny_network):
    summary = run_train(tiny_corpus, feature_cache, tmp_path / "ls" / "5", "--protocol", "loso-speaker",
                        "--fold", "4")
    assert {t.rsplit("_", 1)[1][0] for t in summary["test_utterances"]["turns"]} == {"F"}
    assert {t.rsplit("_", 1)[1][0] for t in summary["validation_turns"]} == {"M"}
    assert {t[3:5] for t in summary["test_utterances"]["turns"] + summary["validation_turns"]} == {"02"}
    assert "test 2F, validation 2M" in summary["protocol"]
    assert results.seeds_done(tmp_path / "ls" / "MHCNN_mfcc_impro_loso-speaker_fold4.metric") == {5}


def test_811_with_class_weights_and_iterations(tiny_corpus, feature_cache, tmp_path, tiny_network):
    summary = run_train(tiny_corpus, feature_cache, tmp_path / "s811" / "5", "--protocol", "811",
                        "--weight", "--iter", "2")
    split = summary["split"]
    total = split["test_utterances"] + split["validation_utterances"] + sum(json.loads(split["info"]["train"]).values())
    assert sum(json.loads(split["info"]["train"]).values()) == int(total * 0.8)
    assert abs(split["test_utterances"] - split["validation_utterances"]) <= 1
    assert summary["selected_on"] == "validation" and summary["args"]["weight"] is True
    assert not set(summary["validation_turns"]) & set(summary["test_utterances"]["turns"])
    log = (tmp_path / "s811" / "5" / "MHCNN_train.log").read_text()
    assert log.count("epoch: 1,") == 2  # two iterations of two epochs
    assert results.seeds_done(tmp_path / "s811" / "MHCNN_mfcc_impro_811.metric") == {5}
    counts = summary["confusion_matrix"]["counts"]
    assert sum(map(sum, counts)) == split["test_utterances"]


@pytest.mark.parametrize("argv, message", [
    (["--fold", "2"], "--fold applies"),
    (["--protocol", "loso", "--fold", "6"], "folds 1..5"),
    (["--protocol", "811", "--toSaveFeatures"], "--protocol paper only"),
])
def test_bad_protocol_arguments_exit_with_one_clear_message(argv, message):
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert message in str(exit_info.value)
