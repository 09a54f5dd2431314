"""Figures: confusion matrices from results.json, t-SNE of a saved model's hidden states."""
import json

import numpy as np
import pytest

import train
from ser import plots

CLASSES = ["neutral", "sad", "angry", "happy(excited)"]


def write_run(run_dir, counts, class_names=CLASSES):
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(json.dumps(
        {"class_names": class_names, "confusion_matrix": {"rows_true_columns_predicted": class_names,
                                                          "counts": counts}}))
    return run_dir


def assert_images(paths, out):
    assert sorted(p.name for p in paths) == sorted([f"{out.name}.png", f"{out.name}.pdf"])
    png, pdf = sorted(paths, key=lambda p: p.suffix != ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000


def test_confusion_is_summed_over_runs_and_row_normalised(tmp_path):
    a = write_run(tmp_path / "a", [[5, 1, 0, 0], [0, 3, 1, 0], [0, 0, 2, 0], [1, 0, 0, 4]])
    b = write_run(tmp_path / "b", [[3, 1, 0, 0], [0, 4, 0, 0], [0, 0, 0, 0], [0, 1, 0, 1]])
    counts, names, trained = plots.summed_confusion([a, b])
    assert names == CLASSES and trained == 2
    assert counts.tolist() == [[8, 2, 0, 0], [0, 7, 1, 0], [0, 0, 2, 0], [1, 1, 0, 5]]
    percent = plots.row_normalised(np.array([[8, 2, 0, 0], [0, 0, 0, 0]]))
    assert percent.tolist() == [[80.0, 20.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]  # empty rows stay 0
    out = tmp_path / "figures" / "confusion"
    assert_images(plots.confusion_figure([a, b], out, title="two runs"), out)


def test_confusion_refuses_runs_with_other_classes(tmp_path):
    a = write_run(tmp_path / "a", [[1, 0], [0, 1]], ["x", "y"])
    b = write_run(tmp_path / "b", [[1, 0], [0, 1]], ["y", "x"])
    with pytest.raises(plots.PlotError, match="--labels"):
        plots.summed_confusion([a, b])
    with pytest.raises(SystemExit) as exit_info:
        plots.main(["confusion", str(tmp_path / "nowhere"), "-o", str(tmp_path / "c")])
    assert "results.json" in str(exit_info.value)


@pytest.fixture(scope="module")
def saved_run(tiny_corpus, tmp_path_factory):
    """CNN_AttnPooling, one epoch on a fifth of the scripted turns in short segments, weights saved."""
    work = tmp_path_factory.mktemp("tsne")
    run_dir = work / "runs" / "CNN_AttnPooling" / "3"
    train.main(["-m", "CNN_AttnPooling", "-e", "1", "-i", "script", "--split_rate", "0.2",
                "--segment_length", "1", "--train_overlap", "0", "--test_overlap", "0",
                "--data", str(tiny_corpus), "--quiet", "-g", "-1", "--seed", "3",
                "--cache_dir", str(work / "cache"), "-d", str(run_dir), "--SaveModel"])
    return run_dir


def test_hidden_states_are_one_point_per_test_utterance(saved_run):
    Z, labels, names, title = plots.hidden_states(saved_run)
    summary = json.loads((saved_run / "results.json").read_text())
    assert Z.shape[0] == len(summary["test_utterances"]["turns"]) == summary["split"]["test_utterances"]
    assert labels.tolist() == summary["test_utterances"]["labels"] and names == summary["class_names"]
    assert Z.ndim == 2 and np.isfinite(Z).all() and Z.std(axis=0).max() > 0
    assert "CNN_AttnPooling" in title
    points = plots.tsne_map(Z, seed=0, iterations=250)
    assert points.shape == (len(Z), 2)
    np.testing.assert_allclose(plots.tsne_map(Z, seed=0, iterations=250), points)  # seeded


def test_tsne_figure_side_by_side(saved_run, tmp_path):
    out = tmp_path / "tsne"
    assert_images(plots.main(["tsne", str(saved_run), str(saved_run), "-o", str(out), "--iterations", "250"]), out)


def test_tsne_needs_a_saved_model(saved_run, tmp_path):
    summary = json.loads((saved_run / "results.json").read_text())
    summary["checkpoint"] = None
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "results.json").write_text(json.dumps(summary))
    with pytest.raises(plots.PlotError, match="--SaveModel"):
        plots.hidden_states(tmp_path / "r")
