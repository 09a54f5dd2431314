"""Figures: confusion matrices from results.json, t-SNE of a saved model's hidden states."""
import json

import numpy as np
import pytest

import train
from ser.reporting import plots

CLASSES = ["neutral", "sad", "angry", "happy(excited)"]


def write_run(run_dir, counts, class_names=CLASSES, model="GLAM", subset="impro", synthetic=False, **extra):
    """A results.json with what the confusion figure reads (the fields train.py writes)."""
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(json.dumps(
        {"args": {"model": model, "impro_or_script": subset, "protocol": "paper", "seed": 1, "corpus": "iemocap"},
         "protocol_name": "paper", "fold": None, "labels": "glam", "model": {"name": model, "options": {}},
         "corpus": {"root": "somewhere", "synthetic": synthetic}, "class_names": class_names,
         "confusion_matrix": {"rows_true_columns_predicted": class_names, "counts": counts}, **extra}))
    return run_dir


def assert_images(paths, out):
    assert sorted(p.name for p in paths) == sorted([f"{out.name}.png", f"{out.name}.pdf"])
    png, pdf = sorted(paths, key=lambda p: p.suffix != ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000


def test_confusion_is_summed_over_runs_and_row_normalised(tmp_path):
    a = write_run(tmp_path / "a", [[5, 1, 0, 0], [0, 3, 1, 0], [0, 0, 2, 0], [1, 0, 0, 4]])
    b = write_run(tmp_path / "b", [[3, 1, 0, 0], [0, 4, 0, 0], [0, 0, 0, 0], [0, 1, 0, 1]])
    summed = plots.summed_confusion([a, b])
    assert summed.class_names == CLASSES and summed.trained == 2
    assert summed.counts.tolist() == [[8, 2, 0, 0], [0, 7, 1, 0], [0, 0, 2, 0], [1, 1, 0, 5]]
    percent = plots.row_normalised(np.array([[8, 2, 0, 0], [0, 0, 0, 0]]))
    assert percent.tolist() == [[80.0, 20.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]  # empty rows stay 0
    out = tmp_path / "figures" / "confusion"
    assert_images(plots.confusion_figure([plots.RunGroup(None, [a, b])], out, title="two runs"), out)


def panel_texts(ax):
    return [t.get_text() for t in ax.texts]


def test_confusion_panels_side_by_side_say_what_they_show(tmp_path):
    """AACNN beside GLAM, as the paper's figure: a) and b), each naming its runs, in % of the
    true class with each class's count in its row label; a synthetic run marks the figure."""
    aacnn = write_run(tmp_path / "aacnn", [[6, 2, 0, 0], [1, 3, 0, 0], [0, 0, 2, 0], [0, 0, 1, 3]], model="AACNN")
    glam = [write_run(tmp_path / f"glam{k}", [[4, 0, 0, 0], [0, 2, 0, 0], [0, 0, 1, 1], [1, 0, 0, 3]]) for k in (1, 2)]
    figure = plots.draw_confusion([plots.RunGroup("AACNN", [aacnn]), plots.RunGroup("GLAM", glam)])
    left, right = [ax for ax in figure.axes if ax.get_title()]
    assert left.get_title().splitlines() == ["a) AACNN", "improvised · paper protocol · IEMOCAP",
                                             "1 trained model, 18 test utterances"]
    assert right.get_title().splitlines() == ["b) GLAM", "improvised · paper protocol · IEMOCAP",
                                              "2 trained models, 24 test utterances"]
    assert [t.get_text() for t in left.get_yticklabels()] == ["neutral (n=8)", "sad (n=4)", "angry (n=2)",
                                                               "happy(excited) (n=4)"]
    assert panel_texts(left)[:4] == ["75.0", "25.0", "0.0", "0.0"]
    assert panel_texts(right)[8:12] == ["0.0", "0.0", "50.0", "50.0"]
    assert figure.get_suptitle() == ""

    synthetic = write_run(tmp_path / "synthetic", [[1, 0], [0, 1]], ["x", "y"], model="MHCNN", subset="script",
                          synthetic=True)
    figure = plots.draw_confusion([plots.RunGroup(None, [synthetic])], title="demo")
    (ax,) = [ax for ax in figure.axes if ax.get_title()]
    assert ax.get_title().splitlines()[:2] == ["MHCNN", "scripted · paper protocol · SYNTHETIC IEMOCAP"]
    assert figure.get_suptitle() == f"demo\n{plots.SYNTHETIC_WARNING}"


def test_confusion_command_line_groups(tmp_path, capsys):
    a = write_run(tmp_path / "a", [[1, 1], [0, 2]], ["x", "y"], model="AACNN")
    b = write_run(tmp_path / "b", [[2, 0], [1, 1]], ["x", "y"])
    out = tmp_path / "two"
    assert_images(plots.main(["confusion", "--group", "AACNN", str(a), "--group", "GLAM", str(b), str(b),
                              "-o", str(out)]), out)
    assert_images(plots.main(["confusion", str(a), str(b), "-o", str(tmp_path / "one")]), tmp_path / "one")
    for wrong, message in ((["confusion", str(a), "--group", "GLAM", str(b)], "not both"),
                           (["confusion", "--group", "GLAM"], "name the runs after the label"),
                           (["confusion"], "no run directories given")):
        with pytest.raises(SystemExit) as exit_info:
            plots.main([*wrong, "-o", str(tmp_path / "c")])
        assert str(exit_info.value).startswith("error: ") and message in str(exit_info.value)


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
    Z, labels, names, info, title = plots.hidden_states(saved_run)
    summary = json.loads((saved_run / "results.json").read_text())
    assert Z.shape[0] == len(summary["test_utterances"]["turns"]) == summary["split"]["test_utterances"]
    assert labels.tolist() == summary["test_utterances"]["labels"] and names == summary["class_names"]
    assert Z.ndim == 2 and np.isfinite(Z).all() and Z.std(axis=0).max() > 0
    assert title == "CNN_AttnPooling · scripted · paper protocol · SYNTHETIC IEMOCAP\n(seed 3)"
    assert info.synthetic and info.subset == "scripted"
    points = plots.tsne_map(Z, seed=0, iterations=250)
    assert points.shape == (len(Z), 2)
    np.testing.assert_allclose(plots.tsne_map(Z, seed=0, iterations=250), points)  # seeded


def test_tsne_figure_side_by_side(saved_run, tmp_path):
    out = tmp_path / "tsne"
    assert_images(plots.main(["tsne", str(saved_run), "-o", str(out), "--iterations", "250"]), out)
    figure = plots.draw_tsne([saved_run, saved_run], iterations=250)
    titles = [ax.get_title() for ax in figure.axes]
    assert [t.split(" ", 1)[0] for t in titles] == ["a)", "b)"] and all("SYNTHETIC IEMOCAP" in t for t in titles)
    assert figure.get_suptitle() == plots.SYNTHETIC_WARNING


def test_tsne_needs_a_saved_model(saved_run, tmp_path):
    summary = json.loads((saved_run / "results.json").read_text())
    summary["checkpoint"] = None
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "results.json").write_text(json.dumps(summary))
    with pytest.raises(plots.PlotError, match="--SaveModel"):
        plots.hidden_states(tmp_path / "r")


def write_epochs(run_dir, rows, best_epoch, reported_iteration=0):
    """A run folder with an epochs CSV of ``rows`` (iteration, epoch, loss, WA, UA) and its results.json."""
    header = "seed,iteration,epoch,lr,loss,seconds,scored_on,WA,UA,macro_f1,weighted_f1,WA_UA_mean,best_epoch_so_far\n"
    lines = [f"1,{i},{e},0.001,{loss},1.0,validation,{wa},{ua},0,0,0,0\n" for i, e, loss, wa, ua in rows]
    write_run(run_dir, [[1, 0], [0, 1]], ["x", "y"], epochs_csv="GLAM_mfcc_impro_epochs.csv", best_epoch=best_epoch,
              epochs=[{"epoch": e, "loss": loss} for i, e, loss, _, _ in rows if i == reported_iteration])
    (run_dir / "GLAM_mfcc_impro_epochs.csv").write_text(header + "".join(lines))
    return run_dir


def plotted(ax, label):
    (line,) = [line for line in ax.get_lines() if line.get_label() == label]
    return list(line.get_xdata()), list(line.get_ydata())


def test_curves_number_epochs_from_one_and_mark_the_reported_epoch(tmp_path):
    run = write_epochs(tmp_path / "run", [(0, 0, 1.5, 40.0, 30.0), (0, 1, 1.2, 55.0, 50.0), (0, 2, 1.1, 50.0, 45.0)],
                       best_epoch=1)
    figure = plots.draw_curves([run])
    loss_axis, score_axis = figure.axes
    assert plotted(loss_axis, "training loss") == ([1, 2, 3], [1.5, 1.2, 1.1])
    assert plotted(score_axis, "WA") == ([1, 2, 3], [40.0, 55.0, 50.0])
    assert plotted(score_axis, "UA") == ([1, 2, 3], [30.0, 50.0, 45.0])
    assert plotted(loss_axis, "reported epoch 2")[0] == [2, 2]
    assert score_axis.get_ylabel() == "WA, UA on the validation set (%)"
    assert loss_axis.get_title() == "a) GLAM · improvised · paper protocol · IEMOCAP\n(seed 1)"


def test_curves_of_several_iterations_mark_the_reported_one(tmp_path):
    rows = [(0, 0, 1.5, 60.0, 58.0), (0, 1, 1.4, 42.0, 31.0), (1, 0, 1.6, 45.0, 35.0), (1, 1, 1.3, 50.0, 48.0)]
    figure = plots.draw_curves([write_epochs(tmp_path / "run", rows, best_epoch=0, reported_iteration=0)])
    loss_axis, _ = figure.axes
    assert plotted(loss_axis, "training loss (iteration 2)") == ([1, 2], [1.6, 1.3])
    alphas = {line.get_label(): line.get_alpha() for line in loss_axis.get_lines()}
    assert alphas["training loss (iteration 1)"] == 1.0 and alphas["training loss (iteration 2)"] < 1.0
    assert plotted(loss_axis, "reported epoch 1")[0] == [1, 1]


def test_curves_of_a_trained_run_and_their_errors(saved_run, tmp_path):
    summary = json.loads((saved_run / "results.json").read_text())
    out = tmp_path / "curves"
    assert_images(plots.main(["curves", str(saved_run), str(saved_run), "-o", str(out)]), out)
    curves = plots.epoch_curves(saved_run)
    assert [p.epoch for p in curves.iterations[0]] == [e["epoch"] for e in summary["epochs"]]
    assert curves.best_epoch == summary["best_epoch"] and curves.scored_on == "test"
    sweep = write_run(tmp_path / "sweep", [[1, 0], [0, 1]], ["x", "y"], folds=[{"fold": 1}])
    with pytest.raises(SystemExit, match="fold sweep; pass its folds' run directories"):
        plots.main(["curves", str(sweep), "-o", str(out)])
    (saved_run / summary["epochs_csv"]).rename(tmp_path / "moved.csv")
    try:
        with pytest.raises(plots.PlotError, match="cannot read the epochs"):
            plots.epoch_curves(saved_run)
    finally:
        (tmp_path / "moved.csv").rename(saved_run / summary["epochs_csv"])
