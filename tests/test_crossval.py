"""Speaker cross-validation (ser/runners/crossval.py): folds, seeds, the speaker-pair split, the
get_crossval_result-style aggregation, and tiny 1-epoch runs on both corpus layouts."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import report as report_entry
from ser.protocols.splits import SplitError, fold_of, fold_speakers, pair_split
from ser.runners import crossval
from ser.runs.config import resolve_args
from ser.synthetic import synth_emodb


def test_folds_are_the_seeds_pairs_and_loso_speaker_folds():
    assert crossval.FOLDS[:3] == (("1F", "1M"), ("1M", "1F"), ("2F", "2M"))
    for fold, (validation, test) in enumerate(crossval.FOLDS, 1):
        assert fold_speakers("loso-speaker", fold) == ([test], validation)
        assert fold_of(validation, test) == fold
    assert fold_of("2F", "1M") is None


def test_seed_sequences():
    assert crossval.seed_sequence(5) == [111, 211, 411, 711, 1111]  # the seed's running sum
    assert crossval.seed_sequence(5, "intended") == [111, 211, 311, 411, 511]


def test_pair_split_partitions_the_speakers():
    speakers = ["1M", "1F", "2M", "2F", "1M", "3F"]
    split = pair_split(speakers, "2F", "1M")
    assert (split.test, split.validation, split.train) == ([0, 4], [3], [1, 2, 5])
    with pytest.raises(SplitError, match="no test utterances \\(4M\\)"):
        pair_split(speakers, "2F", "4M")
    with pytest.raises(SplitError, match="different"):
        pair_split(speakers, "2F", "2F")


@pytest.mark.parametrize("flags, protocol, fold", [
    (["--val_id", "1F", "--test_id", "1M"], "loso-speaker", 1),
    (["--val_id", "5M", "--test_id", "5F"], "loso-speaker", 10),
    (["--val_id", "2F", "--test_id", "1M"], "pair-val2F-test1M", None)])
def test_val_and_test_ids_choose_the_split(flags, protocol, fold):
    args = resolve_args(["-m", "alexnet_gap", "-f", "logspec", *flags])
    assert (args.protocol, args.fold) == (protocol, fold)


def fake_fold(seed, fold, labels, predictions, classes=4):
    counts = np.zeros((classes, classes), dtype=int)
    for t, p in zip(labels, predictions):
        counts[t, p] += 1
    return {"args": {"seed": seed, "features_to_use": "logspec"}, "fold": fold, "labels": "seed004",
            "model": {"name": "alexnet_gap"}, "class_names": ["angry", "sad", "happy", "neutral"], "best_epoch": 0,
            "test_utterances": {"labels": labels, "predictions": predictions},
            "confusion_matrix": {"counts": counts.tolist()}}


def test_aggregate_pools_folds_and_runs():
    runs = {111: {1: fake_fold(111, 1, [0, 0, 1, 1], [0, 0, 1, 0]), 2: fake_fold(111, 2, [2, 3], [2, 1])},
            211: {1: fake_fold(211, 1, [0, 1], [0, 1]), 2: fake_fold(211, 2, [3, 3, 3, 2], [3, 3, 0, 0])}}
    result = crossval.aggregate(runs)
    first = result["per_run"][0]
    assert [f["WA"] for f in first["folds"]] == [75.0, 50.0]
    assert [f["UA"] for f in first["folds"]] == [75.0, 50.0]  # over the classes in the truth only
    assert [f["UA"] for f in result["per_run"][1]["folds"]] == [100.0, pytest.approx(100 / 3)]
    assert first["WA_mean"] == 62.5 and first["WA_std"] == 12.5  # population std
    was = [75.0, 50.0, 100.0, 50.0]
    assert result["pooled"]["WA"] == {"avg": np.mean(was), "std": np.std(was), "min": 50.0, "max": 100.0}
    counts = np.array(result["confusion_matrix"]["counts"])
    assert counts.sum() == 12 and counts[3].tolist() == [1, 1, 0, 2]
    assert result["confusion_matrix"]["row_percent"][3] == [25.0, 25.0, 0.0, 50.0]
    text = crossval.format_report(result)
    assert "10-fold Cross Validation x 2 runs (folds present: 1, 2)" in text
    assert "| [0] WA (seed 111) | [75.0, 50.0] | [] |" in text


@pytest.mark.parametrize("five_fold, tested", [("seed004", ["1M", "2F", "3F", "4F", "5F"]),
                                               ("intended", ["1M", "2F", "3M", "4F", "5F"])])
def test_five_fold_keeps_the_seeds_indices(five_fold, tested):
    runs = {111: {k: fake_fold(111, k, [0, 1], [0, 1]) for k in range(1, 11)}}
    result = crossval.aggregate(runs, kfold=5, five_fold=five_fold)
    assert [f["test"] for f in result["per_run"][0]["folds"]] == tested


@pytest.fixture(scope="module")
def emodb_corpus(tmp_path_factory):
    return synth_emodb.generate(tmp_path_factory.getbasetemp() / "emodb_tiny", scale=0.1, seed=0, progress=False)


def run_cv(datadir, corpus, *flags) -> dict:
    """One repeat of folds 1 and 2 (session 1's speakers), 1 epoch, small images."""
    assert crossval.main(["run", str(datadir), "--data", str(corpus), "--repeats", "1", "--folds", "1,2", *flags,
                          "--", "-e", "1", "--image_size", "64", "--cache_dir", str(datadir.parent / "cache"),
                          "--quiet", "-g", "-1"]) == 0
    return json.loads((datadir / "crossval.json").read_text())


def test_tiny_crossval_on_iemocap_layout(tiny_corpus, tmp_path):
    result = run_cv(tmp_path / "cv", tiny_corpus)
    assert result["model"] == "alexnet_gap" and result["features"] == "logspec" and result["labels"] == "seed004"
    assert [(f["validation"], f["test"]) for f in result["per_run"][0]["folds"]] == [("1F", "1M"), ("1M", "1F")]
    fold = json.loads((tmp_path / "cv" / "111" / "fold1" / "results.json").read_text())
    args = fold["args"]
    assert (args["optimizer"], args["learning_rate"], args["mixup"], args["alpha"], args["select_on"],
            args["pooling"], args["batch_size"]) == ("adamw", 1e-4, "seed004", 0.4, "WA", "log_softmax", 64)
    assert fold["selected_on"] == "validation" and fold["feature_shape"] == [200, 300]
    assert (tmp_path / "cv" / "alexnet_gap_logspec_impro_seed004_loso-speaker_fold2.metric").is_file()
    assert "Sess.1 [M,F]" in (tmp_path / "cv" / "crossval.md").read_text()
    # crossval_SER.py's file for get_crossval_result.py: one tuple of train_ser.main per fold
    folds = pickle.loads((tmp_path / "cv" / "allstat_iemocap_alexnet_gap_logspec_0.pkl").read_bytes())
    assert len(folds) == 2 and all(len(fold_tuple) == 10 for fold_tuple in folds)
    train_losses, train_wa, train_ua, val_losses, val_wa, val_ua, test_loss, test_wa, test_ua, matrix = folds[0]
    assert len(train_losses) == len(val_wa) == len(val_ua) == 1 and train_wa == train_ua == val_losses == []
    first = result["per_run"][0]["folds"][0]
    assert (test_loss, test_wa, test_ua) == ("nan", f"{first['WA']:.2f}", f"{first['UA']:.2f}")
    assert val_wa == [f"{fold['epochs'][0]['WA']:.2f}"] and matrix.shape == (4, 4)
    # report.py reads the seed-004 runs' result files too
    report_entry.main([str(tmp_path / "cv"), "-o", str(tmp_path / "tables")])
    assert ("| loso-speaker | seed004 | Improvisation | alexnet_gap | logspec | 0.4 | 2 |"
            in (tmp_path / "tables" / "report.md").read_text())


def test_tiny_crossval_on_emodb_layout(emodb_corpus, tmp_path):
    result = run_cv(tmp_path / "cv", emodb_corpus, "--corpus", "emodb", "--kfold", "5")
    assert result["labels"] == "emodb" and len(result["class_names"]) == 7
    assert result["runs"] == 1 and len(result["per_run"][0]["folds"]) == 2  # fewer than 10 folds: all kept
    assert np.array(result["confusion_matrix"]["counts"]).shape == (7, 7)
    assert "pair1 [M,F]" in (tmp_path / "cv" / "crossval.md").read_text()
    broken = tmp_path / "cv" / "999" / "fold3" / "results.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{")  # e.g. a copy cut short: listed, not silently skipped
    assert crossval.main(["report", str(tmp_path / "cv")]) == 0
    assert json.loads((tmp_path / "cv" / "crossval.json").read_text())["unreadable"] == [f"{broken} (JSONDecodeError)"]
    assert crossval.main(["report", str(tmp_path / "empty")]) == 1
