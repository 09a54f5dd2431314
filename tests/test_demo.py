"""The end of ./run's demo: scores beside the majority-class baseline, figures, next commands
that work as printed."""
import json
import shlex
from collections import Counter

import pytest

import predict
import train
from ser.reporting import demo
from ser.synthetic import synth, synth_voice


@pytest.fixture(scope="module")
def demo_results(micro_corpus, tmp_path_factory):
    """Two GLAM seeds of one epoch, saved, laid out as ./run lays out the demo's results."""
    results_dir = tmp_path_factory.mktemp("demo")
    row = results_dir / "mfccS1.8O1.6a0.5" / "GLAM"
    for seed in (11, 12):
        train.main(["-m", "GLAM", "-e", "1", "--data", str(micro_corpus), "--quiet", "-g", "-1", "--seed", str(seed),
                    "--train_overlap", "1.0", "-d", str(row / str(seed)), "--cache_dir", str(results_dir / "cache"),
                    "--SaveModel"])
    return results_dir, row / "GLAM_mfcc_impro.metric"


def test_the_majority_baseline_comes_from_the_training_counts_and_the_test_labels():
    summary = {"split": {"info": {"train": json.dumps({"0": 5, "1": 9, "2": 9, "3": 2})}},
               "test_utterances": {"labels": [1, 1, 0, 2, 3, 1, 0, 0]},
               "class_names": ["neutral", "sad", "angry", "happy"]}
    baseline = demo.majority_baseline(summary)
    # 1 and 2 tie on 9: the lower class index wins, as argmax would pick
    assert baseline == demo.Baseline("sad", 37.5, 25.0)
    summary["test_utterances"]["labels"] = [0, 0, 2]
    assert demo.majority_baseline(summary) == demo.Baseline("sad", 0.0, 0.0)  # not tested: it scores nothing


def test_the_demo_summary_lists_every_seed_and_its_commands_work(demo_results, micro_corpus, capsys, tmp_path):
    results_dir, metric_file = demo_results
    assert demo.main([str(metric_file), "--corpus", str(micro_corpus)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SYNTHETIC demo corpus")
    rows = [line for line in out.splitlines() if line.startswith("| 1")]
    assert [row.split(" | ")[0] for row in rows] == ["| 11", "| 12"]
    summary = json.loads((metric_file.parent / "12" / "results.json").read_text())
    labels = summary["test_utterances"]["labels"]
    majority = demo.majority_baseline(summary)
    assert rows[1] == (f"| 12 | {len(labels)} | {summary['best']['WA']:.2f} | {summary['best']['UA']:.2f} | "
                       f"{majority.class_name} | {majority.wa:.2f} | {majority.ua:.2f} |")
    figures = results_dir / "figures"
    assert {p.name for p in figures.iterdir()} >= {"curves.png", "curves.pdf", "confusion.png", "confusion.pdf"}
    commands = [line.strip().split("   #")[0] for line in out.split("next, from the repository root:")[1].splitlines()
                if line.strip()]
    assert [c.split()[1] for c in commands[:3]] == ["predict.py", "export.py", "report.py"]
    assert commands[-1] == "./run -1 4"
    # the first command, run as printed, scores the wav it names with the checkpoint it names
    argv = shlex.split(commands[0])[2:]
    assert predict.main([*argv, "--csv", "-o", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p.csv").read_text().count("\n") == 2  # header and the one file


def test_a_demo_without_results_says_what_to_do(tmp_path, capsys):
    assert demo.main([str(tmp_path / "GLAM_mfcc_impro.metric"), "--corpus", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "rerun ./run" in err and len(err.strip().splitlines()) == 1


def test_the_demo_corpus_plans_the_recipes_four_classes_in_turns_it_keeps():
    """./run's demo profile: its improvised turns are the four classes GLAM's recipe trains on
    (but the one turn each that labels missing elsewhere are forced onto), about a quarter
    each, none shorter than the 1.8 s segment; the default profile still plans IEMOCAP's mix."""
    impro = [turn for dialog in synth._plan_corpus(synth.DEMO_SCALE, 0, synth_voice.PROFILES["demo"])
             if "_impro" in dialog.name for turn in dialog.turns]
    counts = Counter(turn.label for turn in impro)
    kept = [counts[label] for label in ("neu", "sad", "ang", "exc")]
    assert sum(kept) >= len(impro) - len(synth.LABELS) and min(kept) > 0.2 * len(impro)
    assert min(turn.n_samples for turn in impro) >= 1.9 * synth_voice.SAMPLE_RATE
    default = [turn for dialog in synth._plan_corpus(synth.DEMO_SCALE, 0) if "_impro" in dialog.name
               for turn in dialog.turns]
    assert Counter(turn.label for turn in default)["xxx"] > 0.15 * len(default)


def test_a_corpus_of_another_profile_is_refused_not_reused(tmp_path):
    """The marker names the profile; a marker written before profiles existed is the default's."""
    corpus = tmp_path / "IEMOCAP_synthetic"
    corpus.mkdir()
    (corpus / synth.MARKER_NAME).write_text(f"generator: ser.synth\nversion: {synth.GENERATOR_VERSION}\n"
                                            f"scale: {synth.DEMO_SCALE!r}\nseed: 0\n")
    with pytest.raises(FileExistsError, match="profile iemocap"):
        synth.generate(corpus, synth.DEMO_SCALE, progress=False, profile="demo")
    assert synth.generate(corpus, synth.DEMO_SCALE, progress=False) == corpus  # the same corpus: kept as it is
    with pytest.raises(ValueError, match="profile must be one of iemocap, demo"):
        synth.generate(tmp_path / "other", synth.DEMO_SCALE, progress=False, profile="loud")

