"""train.py end to end on a tiny synthetic corpus: the original's result files and ours."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import train
from ser import results

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def glam_run(tiny_corpus, tmp_path_factory):
    """One faithful GLAM run (all defaults but one epoch) through the command line."""
    work = tmp_path_factory.mktemp("glam")
    run_dir = work / "data" / "mfccS1.8O1.6a0.5" / "GLAM" / "2602656884"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--model", "GLAM", "-e", "1", "--data", str(tiny_corpus),
         "-d", str(run_dir), "--seed", "2602656884", "--cache_dir", str(work / "cache"), "-g", "-1"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return run_dir, completed


def test_metric_line_is_the_originals_format(glam_run):
    run_dir, _ = glam_run
    metric = run_dir.parent / "GLAM_mfcc_impro.metric"
    lines = metric.read_text().splitlines()
    assert len(lines) == 1
    fields = lines[0].split("\t")
    assert fields[0] == "      2602656884" and len(fields) == 6
    assert len(fields[1].split(".")[1]) == 4  # (WA+UA)/2 with 4 decimals
    summary = json.loads((run_dir / "results.json").read_text())
    best = summary["best"]
    assert float(fields[1]) == pytest.approx((best["WA"] + best["UA"]) / 2, abs=1e-4)
    assert [float(f) for f in fields[2:]] == pytest.approx([best["WA"], best["UA"], best["macro_f1"],
                                                            best["weighted_f1"]])


def test_results_json_and_run_files(glam_run):
    run_dir, completed = glam_run
    summary = json.loads((run_dir / "results.json").read_text())
    assert summary["class_names"] == ["neutral", "sad", "angry", "happy(excited)"]
    assert summary["protocol"].startswith("paper")
    assert summary["feature_shape"] == [26, 57]
    assert summary["corpus"]["synthetic"] is True
    assert len(summary["epochs"]) == 1 and summary["best_epoch"] == 0
    counts = summary["confusion_matrix"]["counts"]
    assert len(counts) == 4 and sum(map(sum, counts)) == summary["split"]["test_utterances"]
    correct = sum(counts[i][i] for i in range(4))
    assert 100 * correct / summary["split"]["test_utterances"] == pytest.approx(summary["best"]["WA"])
    last = json.loads((run_dir / "last.json").read_text())
    assert last["model"] == "GLAM" and last["epochs"] == 1 and last["alpha"] == 0.5
    assert "epoch: 0, lr:" in (run_dir / "GLAM_train.log").read_text()
    log = (run_dir.parent / "GLAM_mfcc_impro.log").read_text()
    assert "2602656884" in log and "neutral" in log
    assert "synthetic demo corpus" in completed.stdout
    # the model summary is printed at the start of training, as the original does
    assert "Total params: 904,078" in completed.stdout


def test_paper_split_counts(glam_run, tiny_corpus):
    """80/20 of the usable utterances; every training segment comes from a training utterance."""
    run_dir, _ = glam_run
    split = json.loads((run_dir / "results.json").read_text())["split"]
    train_counts = json.loads(split["info"]["train"])
    test_counts = json.loads(split["info"]["test"])
    n_train, n_test = sum(train_counts.values()), sum(test_counts.values())
    assert n_train == int((n_train + n_test) * 0.8)
    assert n_test == split["test_utterances"]


def test_second_seed_reuses_cached_features(glam_run, tiny_corpus, tmp_path):
    run_dir, _ = glam_run
    cache = run_dir.parents[3] / "cache"
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    summary = train.main(["-m", "MHCNN", "-e", "1", "--data", str(tiny_corpus), "--quiet", "-d", str(tmp_path / "run"),
                          "--cache_dir", str(cache), "--seed", "3431165269", "-g", "-1"])
    assert summary["feature_shape"] == [26, 57]
    after = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    assert after == before  # same feature settings: nothing recomputed


def test_bool_flags_accept_original_spellings():
    args = train.resolve_args(["--SaveModel", "False", "--padding", "--weight", "true"])
    assert args.SaveModel is False and args.padding is True and args.weight is True
    assert train.resolve_args(["--no-loadFeatures"]).loadFeatures is False
    assert train.resolve_args([]).SaveModel is False


def test_defaults_are_the_papers():
    args = train.resolve_args([])
    assert (args.model, args.features_to_use, args.impro_or_script, args.segment_length,
            args.train_overlap, args.test_overlap, args.epochs, args.batch_size, args.learning_rate,
            args.alpha, args.lr_schedule, args.optimizer, args.seed) == (
        "GLAM", "mfcc", "impro", 1.8, 1.6, 1.6, 50, 32, 0.001, 0.5, "exp", "adam", 987654)


def test_aliases_and_test_overlap_rule():
    args = train.resolve_args(["-m", "MACNN", "--segment_length", "2", "--test_overlap", "2"])
    assert args.model == "MHCNN" and args.test_overlap == 1.0


@pytest.mark.parametrize("argv, message", [
    (["-m", "NoSuchNet"], "GLAM"),
    (["--train_overlap", "1.8"], "--train_overlap"),
    (["-g", "3"], "CUDA device"),
])
def test_bad_arguments_exit_with_one_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert message in str(exit_info.value)


def test_missing_corpus_says_how_to_set_it(tmp_path, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--data", str(tmp_path / "nowhere"), "-d", str(tmp_path / "run"), "--quiet"])
    text = str(exit_info.value)
    assert "IEMOCAP_DIR" in text and "--data" in text and "Session1" in text


def test_save_model_writes_best_weights(tiny_corpus, tmp_path):
    import torch
    import models

    train.main(["-m", "MHCNN", "-e", "1", "--data", str(tiny_corpus), "--quiet", "-d", str(tmp_path / "a" / "1"),
                "--cache_dir", str(tmp_path / "cache"), "--SaveModel", "-g", "-1", "--train_overlap", "1"])
    weights = torch.load(tmp_path / "a" / "1" / "model_MHCNN_mfcc_impro.pth")
    model = models.create_model("MHCNN", shape=(26, 57))
    model.load_state_dict(weights)  # strict: every key of the model, nothing else
    assert results.seeds_done(tmp_path / "a" / "MHCNN_mfcc_impro.metric") == {987654}
