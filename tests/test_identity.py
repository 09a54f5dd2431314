"""A result belongs to its settings and its corpus: exact skipping, seed claims, nothing
recorded by a run that never trained, reports that never pool unlike runs."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import train
from ser.io import Busy, Claim, append_line, is_claimed
from ser.records import results
from ser.reporting import report
from ser.synthetic import synth
from ser.training import engine

ROOT = Path(__file__).resolve().parents[1]
# One cheap epoch: few, unoverlapped segments, a small model.
CHEAP = ["-m", "MHCNN", "-e", "1", "-b", "8", "--train_overlap", "0", "--test_overlap", "0", "-g", "-1", "--quiet"]


def argv(corpus: Path, run_dir: Path, cache: Path, *flags: str) -> list[str]:
    return ["--data", str(corpus), "-d", str(run_dir), "--cache_dir", str(cache), "--seed", "7", *CHEAP, *flags]


def refusal(args: list[str]) -> str:
    with pytest.raises(SystemExit) as stop:
        train.main(args)
    assert isinstance(stop.value.code, str) and stop.value.code.startswith("error: ")
    return stop.value.code


@pytest.fixture(scope="module")
def other_corpus(tmp_path_factory):
    """Another tiny synthetic corpus: same layout, other recordings."""
    return synth.generate(tmp_path_factory.mktemp("other") / "IEMOCAP_full_release", scale=0.01, seed=1,
                          progress=False)


def test_a_changed_setting_or_corpus_is_refused_by_name_not_skipped(micro_corpus, other_corpus, tmp_path, capsys):
    run_dir, cache = tmp_path / "res" / "MHCNN" / "7", tmp_path / "cache"
    first = train.main(argv(micro_corpus, run_dir, cache))
    assert first["identity"]["settings"]["learning_rate"] == 0.001 and first["identity"]["corpus"]["synthetic"]
    capsys.readouterr()
    assert train.main(argv(micro_corpus, run_dir, cache)) is None  # the same run: skipped
    assert "skipped" in capsys.readouterr().out
    for flags, changed in ((["-l", "0.01"], "learning_rate: 0.001 → 0.01"), (["-e", "2"], "epochs: 1 → 2"),
                           (["--alpha", "0.3"], "alpha: 0.5 → 0.3"), (["--weight"], "weight: False → True")):
        message = refusal(argv(micro_corpus, run_dir, cache, *flags))
        assert changed in message and "--force" in message and "-d" in message, message
    message = refusal(argv(other_corpus, run_dir, cache))
    assert "corpus.manifest_sha256" in message and "corpus.root" in message
    metric = run_dir.parent / "MHCNN_mfcc_impro.metric"
    assert len(metric.read_text().splitlines()) == 1  # nothing trained, nothing appended
    # --force trains the other settings on purpose: a second line with its own identity
    forced = train.main(argv(micro_corpus, run_dir, cache, "-l", "0.01", "--force"))
    runs = results.finished_runs(metric)
    assert [r.seed for r in runs] == [7, 7] and forced["identity"]["settings"]["learning_rate"] == 0.01
    assert [r.identity["settings"]["learning_rate"] for r in runs] == [0.001, 0.01]
    assert all(r.results_json.is_file() for r in runs)


def test_the_original_codes_results_still_count_as_finished(micro_corpus, tmp_path, capsys):
    run_dir = tmp_path / "res" / "MHCNN" / "7"
    run_dir.parent.mkdir(parents=True)
    metric = run_dir.parent / "MHCNN_mfcc_impro.metric"
    metric.write_text(results.metric_line(7, 50.0, 51.0, 49.0, 48.0, 47.0))  # no index: the original's file
    assert train.main(argv(micro_corpus, run_dir, tmp_path / "cache", "-l", "0.01")) is None
    assert "skipped" in capsys.readouterr().out
    (run_found,) = results.finished_runs(metric)
    assert run_found.identity is None and run_found.scores["WA"] == 51.0


@pytest.mark.parametrize("flags", [["--data", "NOWHERE"], ["-g", "7"], ["-b", "100000"]])
def test_a_run_that_never_trained_writes_nothing(micro_corpus, tmp_path, flags):
    run_dir = tmp_path / "res" / "MHCNN" / "7"
    args = argv(micro_corpus, run_dir, tmp_path / "cache", *flags)
    if flags[0] == "--data":
        args = [str(tmp_path / a) if a == "NOWHERE" else a for a in args]
    refusal(args)
    # no run folder, no last.json, no claim: the next call trains the seed
    assert not run_dir.exists()
    assert not (run_dir.parent / ".claims").exists() or not list((run_dir.parent / ".claims").iterdir())


def test_a_folder_that_holds_many_runs_gives_each_its_own(micro_corpus, tmp_path):
    """-d naming a results folder (not a per-seed run folder): the run's own files go to
    DIR/<stem>/<seed>, the shared ones stay where the original puts them."""
    base, cache = tmp_path / "data", tmp_path / "cache"
    glam = train.main(argv(micro_corpus, base, cache, "-m", "CNN_GAP"))
    mhcnn = train.main(argv(micro_corpus, base, cache))
    assert glam and mhcnn
    assert json.loads((base / "CNN_GAP_mfcc_impro" / "7" / "results.json").read_text())["model"]["name"] == "CNN_GAP"
    assert json.loads((base / "MHCNN_mfcc_impro" / "7" / "results.json").read_text())["model"]["name"] == "MHCNN"
    # the results files where the original puts them: in the parent of -d
    assert (tmp_path / "CNN_GAP_mfcc_impro.metric").exists() and (tmp_path / "MHCNN_mfcc_impro.metric").exists()
    assert not (base / "results.json").exists() and not (base / "last.json").exists()


def test_results_and_caches_inside_the_corpus_are_refused(micro_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(micro_corpus, corpus)
    before = sorted(p.relative_to(corpus) for p in corpus.rglob("*"))
    message = refusal(argv(corpus, corpus / "results" / "MHCNN" / "1", tmp_path / "cache"))
    assert "inside the corpus" in message and "-d" in message
    message = refusal(argv(corpus, tmp_path / "res" / "1", corpus / "cache"))
    assert "inside the corpus" in message and "--cache_dir" in message
    link = tmp_path / "link"
    link.symlink_to(corpus)
    assert "inside the corpus" in refusal(argv(corpus, link / "results" / "1", tmp_path / "cache"))
    assert sorted(p.relative_to(corpus) for p in corpus.rglob("*")) == before


HOLDER = """
import sys, time
from ser.io import Claim
with Claim(sys.argv[1], "test holder"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_killed_runs_claim_dies_with_it(tmp_path):
    path = tmp_path / ".claims" / "X.metric.7.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert holder.stdout.readline().strip() == "held"
    assert is_claimed(path)
    with pytest.raises(Busy, match="test holder"):
        Claim(path, "second").__enter__()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert not is_claimed(path)  # the lock died with its process, though its file may remain
    with Claim(path, "after the kill"):
        assert is_claimed(path)
    assert not path.exists()


def test_two_runs_of_one_seed_at_once_give_one_line(micro_corpus, tmp_path):
    """Started together, one trains the seed; the other finds it claimed (and stops with one
    line) or, if it comes after, finished (and skips it): never a second line."""
    run_dir, cache = tmp_path / "res" / "MHCNN" / "7", tmp_path / "cache"
    train.main(argv(micro_corpus, tmp_path / "warm" / "1", cache))  # features cached: both start alike
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    command = [sys.executable, str(ROOT / "train.py"), *argv(micro_corpus, run_dir, cache, "-e", "3")]
    both = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [process.communicate(timeout=600) for process in both]
    trained = [out for out, _ in outputs if "best epoch" in out]
    others = [(process.returncode, out, err) for process, (out, err) in zip(both, outputs) if "best epoch" not in out]
    assert len(trained) == 1 and len(others) == 1, outputs
    code, out, err = others[0]
    assert (code == 1 and "being trained right now" in err.strip().splitlines()[-1]) or (
        code == 0 and "skipped" in out), (code, out, err)
    lines = (run_dir.parent / "MHCNN_mfcc_impro.metric").read_text().splitlines()
    assert len(lines) == 1 and lines[0].split()[0] == "7"


def test_a_second_run_of_a_claimed_seed_stops_with_one_line(micro_corpus, tmp_path):
    run_dir = tmp_path / "res" / "MHCNN" / "7"
    with Claim(results.claim_path(run_dir.parent / "MHCNN_mfcc_impro.metric", 7), "pid 1 on elsewhere"):
        message = refusal(argv(micro_corpus, run_dir, tmp_path / "cache"))
    assert "being trained right now" in message and "pid 1 on elsewhere" in message
    assert not run_dir.exists()


def test_a_diverging_run_stops_by_epoch_and_is_not_recorded(micro_corpus, tmp_path, monkeypatch):
    run_dir = tmp_path / "res" / "MHCNN" / "7"
    monkeypatch.setattr(engine, "train_one_epoch", lambda *args, **kwargs: float("nan"))
    message = refusal(argv(micro_corpus, run_dir, tmp_path / "cache"))
    assert "nan in epoch 1 of 1" in message and "not recorded" in message
    assert not (run_dir.parent / "MHCNN_mfcc_impro.metric").exists()


def test_a_full_disk_gives_one_line(micro_corpus, tmp_path, monkeypatch):
    """torch reports a full disk from its zip writer as a RuntimeError; the resume state's save
    turns it into one line, and the seed is not recorded as finished."""
    from ser.records import checkpoint

    def no_space(obj, target):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")
    monkeypatch.setattr(checkpoint.torch, "save", no_space)
    run_dir = tmp_path / "res" / "MHCNN" / "7"
    message = refusal(argv(micro_corpus, run_dir, tmp_path / "cache"))
    assert "disk full" in message and "--no-save_resume_state" in message
    assert not (run_dir.parent / "MHCNN_mfcc_impro.metric").exists()
    monkeypatch.undo()

    real = results.append_lines

    def enospc(lines, lock):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(results, "append_lines", enospc)
    message = refusal(argv(micro_corpus, run_dir, tmp_path / "cache"))
    assert "No space left" in message and "not recorded as finished" in message
    monkeypatch.setattr(results, "append_lines", real)
    assert not (run_dir.parent / "MHCNN_mfcc_impro.metric").exists()


def test_sigint_ends_with_one_line(micro_corpus, tmp_path):
    run_dir = tmp_path / "res" / "MHCNN" / "7"
    # A shell starts a background job (`./test &`, a CI step) with SIGINT ignored, a child
    # inherits that, and Python then leaves it ignored: train.py would never see the signal and
    # train its 50 epochs. Started with SIGINT's default disposition, as from a terminal.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen([sys.executable, str(ROOT / "train.py"),
                                    *argv(micro_corpus, run_dir, tmp_path / "cache", "-e", "50")],
                                   env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, inherited)
    deadline = time.monotonic() + 300
    while not (run_dir / "last.json").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted:")


def test_malformed_and_torn_result_lines_are_skipped_with_a_warning(tmp_path, capsys):
    metric = tmp_path / "M_mfcc_impro.metric"
    metric.write_bytes(b"  77\t26.13\t27.2")  # a writer stopped mid-line
    append_line(metric, results.metric_line(78, 26.1, 27.2, 25.0, 10.7, 11.6))
    append_line(metric, "not\ta\tresult\tline\tat\tall\n")
    with open(metric, "ab") as f:
        f.write(b"\xff\xfe binary \x00 garbage\n")
    assert [r["seed"] for r in results.read_metric(metric)] == [78]  # the torn line swallowed nothing
    warnings = capsys.readouterr().err
    assert f"{metric} line 1" in warnings and f"{metric} line 3" in warnings and f"{metric} line 4" in warnings
    tables = report.build_tables(report.find_runs([tmp_path]))
    assert sum(len(row.runs) for row in tables[-1].rows) == 1


def test_a_torn_line_at_the_end_is_reported(tmp_path, capsys):
    metric = tmp_path / "M_mfcc_impro.metric"
    metric.write_text(results.metric_line(1, 50, 50, 50, 50, 50) + "           2\t50.0\t50")
    assert [r["seed"] for r in results.read_metric(metric)] == [1]
    assert "torn" in capsys.readouterr().err


def fake_run(parent: Path, seed: int, epochs: int, root: str, synthetic: bool, wa: float) -> None:
    """A finished GLAM run as train.py records it, without training."""
    files = results.RunFiles.of(parent / str(seed), "GLAM", "mfcc", "impro")
    files.run_dir.mkdir(parents=True, exist_ok=True)
    identity = {"seed": seed, "settings": {"model": "GLAM", "epochs": epochs, "alpha": 0.5, "subset": "impro",
                                           "corpus": "iemocap", "fold": None},
                "corpus": {"root": root, "manifest_sha256": root[::-1], "utterances": 9, "synthetic": synthetic}}
    scores = {"WA": wa, "UA": wa - 1, "macro_f1": wa - 2, "weighted_f1": wa - 3, "WA_UA_mean": wa - 0.5}
    results.write_finished_run(files, {"args": {"seed": seed, "alpha": 0.5}}, seed, scores, identity)


def test_a_report_never_pools_unlike_runs(tmp_path):
    folder = tmp_path / "data" / "mfccS1.8O1.6a0.5" / "GLAM"
    for seed in (1, 2):
        fake_run(folder, seed, 4, "/corpora/IEMOCAP_full_release", False, 60.0 + seed)
    fake_run(folder, 3, 50, "/corpora/IEMOCAP_full_release", False, 70.0)
    fake_run(folder, 4, 4, "/work/data/demo/IEMOCAP_synthetic", True, 40.0)
    fake_run(tmp_path / "demo", 5, 4, "/work/data/demo/IEMOCAP_synthetic", True, 40.0)
    tables = {t.name: t for t in report.build_tables(report.find_runs([tmp_path / "data"]))}
    glam = [row for row in tables["comparison_paper"].rows if row.keys == {"Dataset": "Improvisation",
                                                                           "Model": "GLAM"}]
    assert sorted(len(row.runs) for row in glam) == [1, 2]
    assert {row.settings for row in glam} == {"epochs=4", "epochs=50"}
    assert all(not r.synthetic for row in glam for r in row.runs)
    assert all(row.paper for row in glam)  # real runs stand beside the paper's numbers
    synthetic = tables["comparison_paper_synthetic"]
    assert synthetic.title.startswith("SYNTHETIC") and "SYNTHETIC" in synthetic.caption
    assert not any(row.paper for row in synthetic.rows)  # never beside the paper's numbers
    assert [len(row.runs) for row in synthetic.rows if row.runs] == [1]
    markdown = report.to_markdown(tables["all_results"])
    assert "SYNTHETIC" in markdown and "epochs=50" in markdown
    assert len([row for row in tables["all_results"].rows if row.runs]) == 3
    note = results.summary_table([folder / "GLAM_mfcc_impro.metric"])
    assert "4 different settings" not in note and "3 different settings" in note
    assert "| GLAM_mfcc_impro (some runs on a SYNTHETIC corpus) | 4 |" in note
    demo_tables = [t.name for t in report.build_tables(report.find_runs([tmp_path / "demo"]))]
    assert demo_tables == ["comparison_paper_synthetic", "ablation_paper_synthetic", "alpha_paper_synthetic",
                           "all_results"]  # no paper table without a real run in it
    synthetic_only = results.summary_table([tmp_path / "demo" / "GLAM_mfcc_impro.metric"])
    assert "| GLAM_mfcc_impro (SYNTHETIC corpus) | 1 |" in synthetic_only
