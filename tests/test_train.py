"""train.py end to end on a tiny synthetic corpus: the original's result files and ours."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import models
import train
from ser.corpora import iemocap
from ser.corpora.labels import LABEL_SETS
from ser.features.glam import FeatureSettings
from ser.io import Claim
from ser.records import checkpoint as ckpt
from ser.records import results
from ser.runs import pipeline
from ser.runs.config import resolve_args
from ser.runs.runlog import EPOCH_COLUMNS
from ser.training import engine

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def glam_run(micro_corpus, tmp_path_factory):
    """One faithful GLAM run (all defaults but one epoch) through the command line."""
    work = tmp_path_factory.mktemp("glam")
    run_dir = work / "data" / "mfccS1.8O1.6a0.5" / "GLAM" / "2602656884"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--model", "GLAM", "-e", "1", "--data", str(micro_corpus),
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
    assert "this is a synthetic corpus" in completed.stdout
    # the model summary is printed at the start of training, as the original does
    assert "Total params: 904,078" in completed.stdout


def test_paper_split_counts(glam_run, micro_corpus):
    """80/20 of the usable utterances, counted per class in results.json."""
    run_dir, _ = glam_run
    split = json.loads((run_dir / "results.json").read_text())["split"]
    train_counts = json.loads(split["info"]["train"])
    test_counts = json.loads(split["info"]["test"])
    n_train, n_test = sum(train_counts.values()), sum(test_counts.values())
    assert n_train == int((n_train + n_test) * 0.8)
    assert n_test == split["test_utterances"]


def test_the_split_is_the_seeds_first_draw_over_the_sorted_usable_turns(glam_run, micro_corpus):
    """Training = ``RandomState(seed).choice(n, int(0.8 n), replace=False)`` over the usable turns in
    split order, drawn straight after seeding as the original does: any draw before it moves the split."""
    run_dir, _ = glam_run
    summary = json.loads((run_dir / "results.json").read_text())
    seed, segment_length = summary["args"]["seed"], summary["args"]["segment_length"]
    scan = iemocap.scan_iemocap(micro_corpus)
    # usable: improvised, one of the four classes, at least one whole segment long (shorter ones leave)
    usable = [u.turn for u in sorted(scan.utterances, key=iemocap.split_order_key)
              if u.kind == "impro" and u.label in LABEL_SETS["glam"]
              and sf.info(str(micro_corpus / u.path)).frames >= segment_length * 16000]
    n = len(usable)
    assert n == summary["data"]["used"] and n > 10
    train_turns = {usable[i] for i in np.random.RandomState(seed).choice(n, int(n * 0.8), replace=False)}
    test_turns = summary["test_utterances"]["turns"]
    assert len(test_turns) == n - len(train_turns)
    assert set(test_turns) == set(usable) - train_turns


def test_second_seed_reuses_cached_features(glam_run, micro_corpus, tmp_path):
    run_dir, _ = glam_run
    cache = run_dir.parents[3] / "cache"
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    summary = train.main(["-m", "MHCNN", "-e", "1", "--data", str(micro_corpus), "--quiet", "-d", str(tmp_path / "run"),
                          "--cache_dir", str(cache), "--seed", "3431165269", "-g", "-1",
                          "--split_rate", "0.2"])  # a fifth of the utterances to train on: cheaper
    assert summary["feature_shape"] == [26, 57]
    after = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    assert after == before  # same feature settings: nothing recomputed


def test_bool_flags_accept_original_spellings():
    args = resolve_args(["--SaveModel", "False", "--padding", "--weight", "true"])
    assert args.SaveModel is False and args.padding is True and args.weight is True
    assert resolve_args(["--no-loadFeatures"]).loadFeatures is False
    assert resolve_args([]).SaveModel is False


def test_defaults_are_the_papers():
    args = resolve_args([])
    assert (args.model, args.features_to_use, args.impro_or_script, args.segment_length,
            args.train_overlap, args.test_overlap, args.epochs, args.batch_size, args.learning_rate,
            args.alpha, args.lr_schedule, args.optimizer, args.seed) == (
        "GLAM", "mfcc", "impro", 1.8, 1.6, 1.6, 50, 32, 0.001, 0.5, "exp", "adam", 987654)


def test_aliases_and_test_overlap_rule():
    args = resolve_args(["-m", "MACNN", "--segment_length", "2", "--test_overlap", "2"])
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


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One feature cache for this module's MHCNN runs: features are computed once."""
    return tmp_path_factory.mktemp("mhcnn_cache")


def mhcnn_args(corpus, run_dir, cache, *flags) -> list[str]:
    """A cheap MHCNN run on the tiny corpus (segments without overlap: few of them)."""
    return ["-m", "MHCNN", "--data", str(corpus), "--quiet", "-d", str(run_dir), "--cache_dir", str(cache),
            "-g", "-1", "--train_overlap", "0", "--test_overlap", "0", *flags]


def test_save_model_writes_a_self_describing_checkpoint(tiny_corpus, tmp_path, cache):
    summary = train.main(mhcnn_args(tiny_corpus, tmp_path / "a" / "1", cache, "-e", "2", "--SaveModel"))
    saved = ckpt.load(tmp_path / "a" / "1" / summary["checkpoint"])
    assert saved["model"] == "MHCNN" and saved["input_shape"] == [26, 57] and saved["seed"] == 987654
    assert saved["class_names"] == summary["class_names"] and saved["labels"] == "glam"
    assert ckpt.feature_settings(saved) == FeatureSettings(kind="mfcc", segment_length=1.8)
    assert (saved["train_overlap"], saved["test_overlap"], saved["scaler"]) == (0.0, 0.0, None)
    assert saved["epoch"] == summary["best_epoch"] and saved["scores"] == summary["best"]
    # the weights are the original class's (strict load into a freshly created model)
    models.create_model("MHCNN", shape=(26, 57)).load_state_dict(saved["state_dict"])
    with pytest.raises(ckpt.CheckpointError, match="MHCNN model, not GLAM"):
        ckpt.check_compatible(saved, model_name="GLAM")
    assert results.seeds_done(tmp_path / "a" / "MHCNN_mfcc_impro.metric") == {987654}


def interrupt_epochs(monkeypatch, at: set[int]) -> None:
    """Make the n-th training epoch (counting from 1 across calls) raise KeyboardInterrupt for n in ``at``."""
    calls = {"n": 0}
    original = engine.train_one_epoch

    def epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] in at:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "train_one_epoch", epoch)


def run_outputs(run_dir: Path, parent: Path) -> dict:
    """What a run leaves that must not depend on interruptions (timings left out)."""
    summary = json.loads((run_dir / "results.json").read_text())
    epochs = [{k: v for k, v in e.items() if k != "seconds"} for e in summary["epochs"]]
    rows = (run_dir / "MHCNN_mfcc_impro_epochs.csv").read_text().splitlines()
    columns = rows[0].split(",")
    csv_rows = [[v for c, v in zip(columns, row.split(",")) if c != "seconds"] for row in rows[1:]]
    weights = ckpt.load(run_dir / summary["checkpoint"])["state_dict"]
    return {"metric": (parent / "MHCNN_mfcc_impro.metric").read_text(),
            "loss": (parent / "MHCNN_mfcc_impro.loss").read_text(), "epochs": epochs, "csv": csv_rows,
            "best": summary["best"], "weights": {k: v.tolist() for k, v in weights.items()}}


def test_interrupted_then_resumed_run_equals_an_uninterrupted_one(tiny_corpus, tmp_path, monkeypatch, cache):
    """Two iterations of two epochs with mixup: interrupted inside the first iteration and at
    the start of the second, resumed each time; every output equals the straight run's."""
    flags = ["-e", "2", "--iter", "2", "--SaveModel"]
    train.main(mhcnn_args(tiny_corpus, tmp_path / "straight" / "1", cache, *flags))

    run_dir = tmp_path / "interrupted" / "1"
    interrupt_epochs(monkeypatch, at={2, 4})
    with pytest.raises(KeyboardInterrupt):
        train.main(mhcnn_args(tiny_corpus, run_dir, cache, *flags))
    resume_file = run_dir / "resume_MHCNN_mfcc_impro.pt"
    assert resume_file.is_file() and not (tmp_path / "interrupted" / "MHCNN_mfcc_impro.metric").exists()
    with pytest.raises(KeyboardInterrupt):
        train.main(mhcnn_args(tiny_corpus, run_dir, cache, *flags, "--resume"))
    train.main(mhcnn_args(tiny_corpus, run_dir, cache, *flags, "--resume"))

    assert not resume_file.exists()  # a finished run leaves no resume state
    assert run_outputs(run_dir, tmp_path / "interrupted") == run_outputs(tmp_path / "straight" / "1",
                                                                         tmp_path / "straight")
    assert (run_dir / "MHCNN_train.log").read_text().count("resumed from") == 2


def test_resume_refuses_other_arguments_and_a_plain_rerun_starts_afresh(tiny_corpus, tmp_path, monkeypatch, capsys,
                                                                        cache):
    run_dir = tmp_path / "run" / "1"
    interrupt_epochs(monkeypatch, at={2})
    with pytest.raises(KeyboardInterrupt):
        train.main(mhcnn_args(tiny_corpus, run_dir, cache, "-e", "2"))
    with pytest.raises(SystemExit, match=r"other arguments \(learning_rate: 0.001 then, 0.01 now\)"):
        train.main(mhcnn_args(tiny_corpus, run_dir, cache, "-e", "2", "-l", "0.01", "--resume"))
    capsys.readouterr()
    loud = [a for a in mhcnn_args(tiny_corpus, run_dir, cache, "-e", "2") if a != "--quiet"]
    summary = train.main(loud)
    assert "starting afresh" in capsys.readouterr().out
    assert len(summary["epochs"]) == 2 and not (run_dir / "resume_MHCNN_mfcc_impro.pt").exists()


def test_resume_of_a_finished_seed_trains_nothing_and_writes_nothing(tiny_corpus, tmp_path, monkeypatch, capsys,
                                                                      cache):
    """--resume continues an interrupted run; a finished seed is skipped as a plain rerun skips
    it: no epoch trained, no second .metric line, no file of the run rewritten."""
    run_dir = tmp_path / "run" / "1"
    train.main(mhcnn_args(tiny_corpus, run_dir, cache, "-e", "1"))
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in written}

    def no_epoch(*args, **kwargs):
        raise AssertionError("--resume trained a finished seed again")
    monkeypatch.setattr(engine, "train_one_epoch", no_epoch)
    capsys.readouterr()
    loud = [a for a in mhcnn_args(tiny_corpus, run_dir, cache, "-e", "1", "--resume") if a != "--quiet"]
    assert train.main(loud) is None
    assert "seed 987654 is already in" in capsys.readouterr().out
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == written
    assert {p: p.read_bytes() for p in written} == before
    assert results.seeds_done(tmp_path / "run" / "MHCNN_mfcc_impro.metric") == {987654}


def test_epoch_csv_and_tensorboard_log_every_epoch(tiny_corpus, tmp_path, cache):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run" / "1"
    summary = train.main(mhcnn_args(tiny_corpus, run_dir, cache, "-e", "2", "--tensorboard"))
    rows = (run_dir / "MHCNN_mfcc_impro_epochs.csv").read_text().splitlines()
    assert rows[0].split(",") == EPOCH_COLUMNS and len(rows) == 3
    for row, epoch in zip(rows[1:], summary["epochs"]):
        values = dict(zip(EPOCH_COLUMNS, row.split(",")))
        assert int(values["epoch"]) == epoch["epoch"] and float(values["loss"]) == pytest.approx(epoch["loss"])
        assert float(values["UA"]) == pytest.approx(epoch["UA"], abs=1e-4) and values["scored_on"] == "test"
    events = EventAccumulator(str(run_dir / "tensorboard" / "MHCNN_mfcc_impro_seed987654"))
    events.Reload()
    losses = events.Scalars("train/loss")
    assert [e.step for e in losses] == [0, 1]
    assert [e.value for e in losses] == pytest.approx([e["loss"] for e in summary["epochs"]], rel=1e-6)
    assert len(events.Scalars("selection_set/WA_UA_mean")) == 2


def test_seeds_at_once_equal_seeds_one_by_one(tiny_corpus, tmp_path, cache):
    """--seeds 2 trains the first two unfinished seeds of the file together in one process
    (ser.training.stacked), each writing what its solo run writes. A batched convolution sums in another
    order than a plain one, so the numbers agree within float tolerance, not bit for bit: the
    epoch's loss within 1e-4 relative, the predictions up to one test utterance."""
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("11\n22\n33\n")
    alone = train.main(mhcnn_args(tiny_corpus, tmp_path / "alone" / "MHCNN" / "22", cache, "-e", "1",
                                  "--seed", "22"))
    together = tmp_path / "together" / "MHCNN"
    summaries = train.main(mhcnn_args(tiny_corpus, together, cache, "-e", "1", "--seeds", "2",
                                      "--seeds_file", str(seeds_file)))
    assert sorted(summaries) == [11, 22] and summaries[11]["args"]["seed"] == 11
    assert summaries[22]["epochs"][0]["loss"] == pytest.approx(alone["epochs"][0]["loss"], rel=1e-4)
    ours, theirs = summaries[22]["test_utterances"], alone["test_utterances"]
    assert (ours["turns"], ours["labels"]) == (theirs["turns"], theirs["labels"])
    assert sum(a != b for a, b in zip(ours["predictions"], theirs["predictions"])) <= 1
    assert summaries[22]["split"] == alone["split"] and summaries[22]["identity"] == alone["identity"]
    lines = (together / "MHCNN_mfcc_impro.metric").read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == ["11", "22"]
    for seed in (11, 22):  # the files each seed writes alone
        for name in ("results.json", "last.json", "MHCNN_train.log", "MHCNN_mfcc_impro_epochs.csv"):
            assert (together / str(seed) / name).is_file()
    # the next call continues with the seeds not yet in the results file
    assert sorted(train.main(mhcnn_args(tiny_corpus, together, cache, "-e", "1", "--seeds", "2",
                                        "--seeds_file", str(seeds_file)))) == [33]


def test_seeds_in_turn_claim_their_seeds_before_they_start_and_train_as_alone(tiny_corpus, tmp_path, cache):
    """--seeds N where the stacked engine does not apply (--iter 2) takes the next seeds that no
    live run holds and trains them one after another in this process, each as it trains alone."""
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("11\n22\n33\n")
    folder = tmp_path / "MHCNN"
    with Claim(results.claim_path(folder / "MHCNN_mfcc_impro.metric", 11), "another run"):
        summaries = train.main(mhcnn_args(tiny_corpus, folder, cache, "-e", "1", "--iter", "2", "--seeds", "2",
                                          "--seeds_file", str(seeds_file)))
    assert sorted(summaries) == [22, 33] and summaries[22]["args"]["seed"] == 22
    assert results.seeds_done(folder / "MHCNN_mfcc_impro.metric") == {22, 33}
    alone = train.main(mhcnn_args(tiny_corpus, tmp_path / "alone" / "22", cache, "-e", "1", "--iter", "2",
                                  "--seed", "22"))
    assert [e["loss"] for e in alone["epochs"]] == [e["loss"] for e in summaries[22]["epochs"]]
    assert alone["best"] == summaries[22]["best"]


def test_seeds_together_resume_after_a_kill_exactly_as_their_uninterrupted_run(tiny_corpus, tmp_path, cache,
                                                                              monkeypatch):
    """A --seeds run killed after its first epoch continues with --resume to the results of
    the same --seeds run left alone: the same losses, predictions and result lines."""
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("5\n6\n")
    flags = ["-e", "2", "--seeds", "2", "--seeds_file", str(seeds_file)]
    straight = train.main(mhcnn_args(tiny_corpus, tmp_path / "straight" / "MHCNN", cache, *flags))
    real_save = pipeline.save_resume_state

    def killed_after_saving(path, state):
        real_save(path, state)
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "save_resume_state", killed_after_saving)
    with pytest.raises(KeyboardInterrupt):
        train.main(mhcnn_args(tiny_corpus, tmp_path / "killed" / "MHCNN", cache, *flags))
    monkeypatch.undo()
    assert not (tmp_path / "killed" / "MHCNN" / "MHCNN_mfcc_impro.metric").exists()
    resumed = train.main(mhcnn_args(tiny_corpus, tmp_path / "killed" / "MHCNN", cache, *flags, "--resume"))
    for seed in (5, 6):
        assert [e["loss"] for e in resumed[seed]["epochs"]] == [e["loss"] for e in straight[seed]["epochs"]]
        assert resumed[seed]["test_utterances"] == straight[seed]["test_utterances"]
    lines = {name: sorted((tmp_path / name / "MHCNN" / "MHCNN_mfcc_impro.metric").read_text().splitlines())
             for name in ("straight", "killed")}
    assert lines["straight"] == lines["killed"]
    assert not list((tmp_path / "killed" / "MHCNN").glob("resume_seeds_*.pt"))  # gone once finished
