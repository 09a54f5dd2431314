"""ser.runners.sweep: grids from recipes, the .metric skip contract, local and Ray backends, retries.

Real train.py runs are few (two on the local backend, one on Ray, MHCNN on the tiny corpus for
one epoch); everything else uses a stand-in train command that writes the result line through
ser.records.results exactly where train.py would, and fails or dies when told to.
"""
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import trainserver

from ser.io import Claim
from ser.records import results
from ser.runners import sweep, sweep_backends, sweep_grid
from ser.seeds import paper_seeds

ROOT = Path(__file__).resolve().parents[1]
# One epoch on sparse segments keeps a real run to seconds (tests/test_scripts.py does the same).
SMOKE_FLAGS = ["-e", "1", "--train_overlap", "1", "--test_overlap", "1", "--quiet"]
FIRST_SEEDS = [2602656884, 3431165269, 3149797433]

# Stands in for train.py: the same result line in the same file, no training; it notes its -g
# in RUN_DIR/device. FAKE_KILL_ONCE=SEED makes that seed's first attempt die by SIGKILL;
# FAKE_FAIL=SEED makes every attempt fail.
FAKE_TRAIN = """
import argparse, os, signal, sys
sys.path.insert(0, {root!r})
from ser.records import results

parser = argparse.ArgumentParser()
for flag in ("-m", "-i", "-d", "--protocol", "-f", "-g"):
    parser.add_argument(flag)
parser.add_argument("--seed", type=int)
parser.add_argument("--fold", type=int)
args, _ = parser.parse_known_args()
run_dir, parent = results.run_location(args.d, args.fold)
run_dir.mkdir(parents=True, exist_ok=True)
(run_dir / "device").write_text(args.g)
if os.environ.get("FAKE_KILL_ONCE") == str(args.seed) and not (run_dir / "attempted").exists():
    (run_dir / "attempted").touch()
    os.kill(os.getpid(), signal.SIGKILL)
if os.environ.get("FAKE_FAIL") == str(args.seed):
    sys.exit("error: injected failure")
stem = results.result_stem(args.m, args.f or "mfcc", args.i, protocol=args.protocol or "paper", fold=args.fold)
results.append_line(parent / (stem + ".metric"), results.metric_line(args.seed, 50.0, 50.0, 50.0, 40.0, 40.0))
"""


@pytest.fixture
def fake(tmp_path):
    """(train command, results folder, seeds file) for sweeps with the stand-in trainer."""
    script = tmp_path / "fake_train.py"
    script.write_text(FAKE_TRAIN.format(root=str(ROOT)))
    return f"{{python}} {script}", tmp_path / "data", tmp_path / "seeds.txt"


def cli(*argv):
    return [str(a) for a in argv]


def run_sweep(*argv):
    """sweep.main's exit status and the summary it wrote."""
    status = sweep.main(cli(*argv))
    results_dir = Path(argv[list(argv).index("--results-dir") + 1])
    summary = results_dir / "sweep_summary.json"
    return status, json.loads(summary.read_text()) if summary.exists() else None


def test_recipes_are_the_rows_of_the_table():
    recipes = sweep_grid.read_recipes()
    glam, mhcnn, macnn = recipes["GLAM"], recipes["MHCNN"], recipes["MACNN"]
    assert (glam.model, glam.subset, glam.tag, glam.alpha, glam.flags) == \
        ("GLAM", "impro", "mfccS1.8O1.6a{alpha}", "0.5", ())
    assert mhcnn.flags[:2] == ("--batch_size", "32") and "--segment_length" in mhcnn.flags
    assert (macnn.model, macnn.tag, macnn.flags) == (mhcnn.model, mhcnn.tag, mhcnn.flags)


def test_grid_crosses_rows_protocols_alphas_and_folds(tmp_path):
    args = sweep.parse_args(cli("--recipes", "GLAM", "MHCNN", "MACNN", "--models", "NewNet", "--subsets", "all",
                                "--protocols", "paper", "loso", "--seeds", "2", "--results-dir", tmp_path / "data",
                                "--seeds-file", tmp_path / "seeds.txt"))
    tasks = sweep.plan(args)
    assert (tmp_path / "seeds.txt").read_text().split()[:3] == [str(s) for s in FIRST_SEEDS]
    # MACNN is MHCNN's row under another name: its runs are kept once.
    rows = {t.row.name for t in tasks}
    assert rows == {"GLAM", "MHCNN", "NewNet_all"}
    # per row and seed: the paper run, five loso folds and their mean
    assert len(tasks) == 3 * 2 * (1 + 5 + 1)
    new = [t for t in tasks if t.row.model == "NewNet" and t.protocol == "paper"]
    assert {t.datadir for t in new} == {str(tmp_path / "data" / "all_mfccS1.8O1.6a0.5" / "NewNet" / str(s))
                                        for s in FIRST_SEEDS[:2]}
    for task in tasks:
        parsed = results.parse_stem(Path(task.metric_file).stem)
        assert (parsed["model"], parsed["subset"], parsed["protocol"], parsed["fold"]) == \
            (task.row.model, task.row.subset, task.protocol, task.fold)
    fold3 = next(t for t in tasks if t.row.name == "MHCNN" and t.fold == 3)
    assert list(fold3.head[-4:]) == ["--protocol", "loso", "--fold", "3"]
    # protocols never share a run folder: loso's live under RESULTS_DIR/loso
    assert Path(fold3.metric_file) == tmp_path / "data" / "loso" / "comparison" / "MHCNN" / \
        "MHCNN_mfcc_impro_loso_fold3.metric"
    assert fold3.run_dir == tmp_path / "data" / "loso" / "comparison" / "MHCNN" / str(FIRST_SEEDS[0]) / "fold3"
    mean = next(t for t in tasks if t.row.name == "MHCNN" and t.is_fold_mean)
    assert "--fold" not in mean.head and Path(mean.metric_file).name == "MHCNN_mfcc_impro_loso.metric"
    # seed-major: every row's first seed comes before any second seed
    first = [t.seed for t in tasks if not t.is_fold_mean]
    assert first[:3 * 6] == [FIRST_SEEDS[0]] * 18


def test_result_files_are_named_as_train_py_names_them():
    iemocap = dict(corpus="iemocap", test_corpus=None, folds=5)
    assert sweep_grid.result_naming(["-f", "spectrogram", "--labels", "merge"]) == \
        dict(features="spectrogram", labels="merge", suffix=".metric", subset=None, **iemocap)
    # a config or a features file makes it .same, as in the original; only IEMOCAP has subsets
    assert sweep_grid.result_naming(["-c", "cfg.json"])["suffix"] == ".same"
    assert sweep_grid.result_naming(["--corpus", "emodb"]) == dict(features="mfcc", labels="emodb", suffix=".metric",
                                                                   subset="all", corpus="emodb", test_corpus=None,
                                                                   folds=5)
    ravdess = ["--corpus", "ravdess", "--data", "R", "--test_corpus", "cremad", "--folds", "3"]
    assert sweep_grid.result_naming(ravdess) == \
        dict(features="mfcc", labels="shared4", suffix=".metric", subset="all", corpus="ravdess",
             test_corpus="cremad", folds=3)
    with pytest.raises(sweep_grid.SweepError, match="--protocols loso-speaker"):
        sweep_grid.result_naming(["--val_id", "1F", "--test_id", "1M"])


def test_alphas_get_their_own_folders_or_are_refused(tmp_path):
    common = ["--seeds", "1", "--results-dir", tmp_path, "--seeds-file", tmp_path / "seeds.txt"]
    tasks = sweep.plan(sweep.parse_args(cli("--recipes", "GLAM", "--alphas", "0", "0.3", *common)))
    assert [Path(t.datadir).parts[-3] for t in tasks] == ["mfccS1.8O1.6a0", "mfccS1.8O1.6a0.3"]
    assert [t.train_args()[t.train_args().index("--alpha") + 1] for t in tasks] == ["0", "0.3"]
    # the comparison rows' folder has no {alpha}: two α would share one .metric file
    with pytest.raises(sweep_grid.SweepError, match="would write the same result line"):
        sweep.plan(sweep.parse_args(cli("--recipes", "MHCNN", "--alphas", "0", "0.5", *common)))


def test_grid_file_sits_under_the_command_line(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("recipes: [GLAM]\nalphas: [0, 0.3]\nseed_list: [7, 8]\nprotocols: paper\n"
                    "train_flags: -e 2 --data /corpus\n")
    args = sweep.parse_args(cli("--grid", grid, "--alphas", "1", "--results-dir", tmp_path, "--", "--quiet"))
    assert args.recipes == ["GLAM"] and args.alphas == ["1"] and args.seed_choice == ("list", [7, 8])
    assert args.train_flags == ["-e", "2", "--data", "/corpus", "--quiet"]
    json_grid = tmp_path / "grid.json"
    json_grid.write_text(json.dumps({"models": ["GLAM"], "subsets": ["script"], "seeds": 3, "nonsense": 1}))
    with pytest.raises(sweep_grid.SweepError, match="unknown key 'nonsense'"):
        sweep.parse_args(cli("--grid", json_grid))


def test_train_flags_naming_a_grid_cell_are_refused_or_lifted(tmp_path, capsys):
    base = cli("--recipes", "GLAM", "--results-dir", tmp_path, "--seeds-file", tmp_path / "seeds.txt", "--dry-run")
    assert sweep.main([*base, "--", "--seed", "3"]) == 2
    assert "--seed decides where a run's results go" in capsys.readouterr().err
    for spelling, named in (("--ser_model", "--model"), ("--save_label", "--save_label")):  # seed 004's flags
        assert sweep.main([*base, "--", spelling, "x"]) == 2
        assert f"{named} decides where a run's results go" in capsys.readouterr().err
    # train.py's own --protocol is the grid's protocol, its runs where RESULTS_DIR says
    assert sweep.main([*base, "--", "--protocol", "811", "-e", "1"]) == 0
    listed = capsys.readouterr().out
    assert listed.count("--protocol 811") == 1 and f"-d {tmp_path / 'mfccS1.8O1.6a0.5'}" in listed
    assert sweep.main([*base, "--recipes", "NoSuchRow"]) == 2
    assert "unknown recipe 'NoSuchRow'; recipes: GLAM" in capsys.readouterr().err


def test_next_takes_seeds_neither_finished_nor_being_trained(tmp_path):
    """--next skips finished seeds and seeds a live run holds; a seed whose run failed or was
    killed (a run folder, no line, no live claim) is the next call's again."""
    data = tmp_path / "data"
    folder = data / "mfccS1.8O1.6a0.5" / "GLAM"
    folder.mkdir(parents=True)
    metric = folder / "GLAM_mfcc_impro.metric"
    results.append_line(metric, results.metric_line(FIRST_SEEDS[0], 1, 1, 1, 1, 1))
    (folder / str(FIRST_SEEDS[2])).mkdir()  # a run that failed or was killed there
    args = sweep.parse_args(cli("--recipes", "GLAM", "--next", "2", "--results-dir", data,
                                "--seeds-file", tmp_path / "seeds.txt"))
    with Claim(results.claim_path(metric, FIRST_SEEDS[1]), "a live run"):
        seeds = [t.seed for t in sweep.plan(args)]
        assert [t.running() for t in sweep.plan(args)] == [False, False]
    assert seeds == [FIRST_SEEDS[2], paper_seeds()[3]]
    assert [t.seed for t in sweep.plan(args)] == FIRST_SEEDS[1:3]  # the claim died: its seed is free again
    # --seeds is a fixed set: the finished seed counts as done, the others are run
    args = sweep.parse_args(cli("--recipes", "GLAM", "--seeds", "3", "--results-dir", data,
                                "--seeds-file", tmp_path / "seeds.txt"))
    assert [t.finished() for t in sweep.plan(args)] == [True, False, False]


def test_a_seed_another_run_trains_is_left_to_it(fake):
    """A sweep claims its seeds before it starts any: a fixed seed that a live run holds is
    reported busy and not started (never trained twice, never reported as trained here)."""
    command, data, seeds = fake
    argv = ["--recipes", "MHCNN", "--seeds", 2, "--gpus", -1, "--train-command", command, "--no-warm-cache",
            "--results-dir", data, "--seeds-file", seeds]
    metric = data / "comparison" / "MHCNN" / "MHCNN_mfcc_impro.metric"
    with Claim(results.claim_path(metric, FIRST_SEEDS[0]), "a live run"):
        status, summary = run_sweep(*argv)
    assert status == 0 and summary["counts"] == {"done": 1, "skipped": 0, "busy": 1, "failed": 0}
    assert [(r["seed"], r["status"], r["attempts"]) for r in summary["runs"]] == [(FIRST_SEEDS[0], "busy", 0),
                                                                              (FIRST_SEEDS[1], "done", 1)]
    assert results.seeds_done(metric) == {FIRST_SEEDS[1]}
    assert not (metric.parent / str(FIRST_SEEDS[0])).exists()


def test_each_visible_gpu_gets_a_worker(fake, monkeypatch):
    command, data, seeds = fake
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert sweep.visible_gpus() == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert sweep.visible_gpus() == [0, 1]
    status, summary = run_sweep("--recipes", "MHCNN", "--seeds", 3, "--train-command", command, "--no-warm-cache",
                                "--results-dir", data, "--seeds-file", seeds)
    assert status == 0
    devices = [(Path(r["run_dir"]) / "device").read_text() for r in summary["runs"]]
    assert set(devices) == {"0", "1"}  # the first two runs start at once, one on each GPU
    assert [r["where"] for r in summary["runs"]] == [f"cuda:{d}" for d in devices]
    with pytest.raises(sweep_grid.SweepError, match="--gpus"):
        sweep.parse_gpus("0,x")


def test_train_command_comes_from_the_environment_unless_given(fake, monkeypatch):
    """SER_TRAIN_COMMAND reaches the sweeps that the recipe scripts start; the flag wins."""
    command, data, seeds = fake
    monkeypatch.setenv("SER_TRAIN_COMMAND", command)
    status, summary = run_sweep("--recipes", "MHCNN", "--seeds", 1, "--gpus", -1, "--no-warm-cache",
                                "--results-dir", data, "--seeds-file", seeds)
    assert status == 0 and (Path(summary["runs"][0]["run_dir"]) / "device").read_text() == "-1"
    assert "fake_train.py" in Path(summary["runs"][0]["log"]).read_text()
    monkeypatch.setenv("SER_TRAIN_COMMAND", "false")
    assert sweep.parse_args(cli("--recipes", "MHCNN", "--train-command", command)).train_command == command
    assert sweep.parse_args(cli("--recipes", "MHCNN")).train_command == "false"


def test_killed_task_is_retried_and_succeeds(fake, monkeypatch):
    command, data, seeds = fake
    monkeypatch.setenv("FAKE_KILL_ONCE", str(FIRST_SEEDS[1]))
    status, summary = run_sweep("--recipes", "MHCNN", "--seeds", 2, "--gpus", -1, "--workers", 2,
                                "--train-command", command, "--no-warm-cache", "--results-dir", data,
                                "--seeds-file", seeds)
    assert status == 0 and summary["counts"] == {"done": 2, "skipped": 0, "busy": 0, "failed": 0}
    killed = next(r for r in summary["runs"] if r["seed"] == FIRST_SEEDS[1])
    assert killed["attempts"] == 2 and killed["reasons"][0].startswith("killed by SIGKILL")
    assert results.seeds_done(killed["metric_file"]) == set(FIRST_SEEDS[:2])
    assert Path(killed["log"]).read_text().count("=== attempt") == 2


def test_failures_are_reported_and_a_rerun_completes_only_them(fake, monkeypatch, capsys):
    command, data, seeds = fake
    argv = ["--recipes", "MHCNN", "--seeds", 2, "--gpus", -1, "--retries", 1, "--train-command", command,
            "--results-dir", data, "--seeds-file", seeds]
    monkeypatch.setenv("FAKE_FAIL", str(FIRST_SEEDS[0]))
    status, summary = run_sweep(*argv)
    assert status == 1 and summary["counts"] == {"done": 1, "skipped": 0, "busy": 0, "failed": 1}
    failed = next(r for r in summary["runs"] if r["status"] == "failed")
    # train.py's own error line would come back the same on a retry: printed once, not retried
    assert failed["attempts"] == 1 and failed["reasons"] == ["exit status 1: error: injected failure"]
    assert "failed: MHCNN α=0 paper seed 2602656884 after 1 attempt(s)" in capsys.readouterr().out
    monkeypatch.delenv("FAKE_FAIL")
    status, summary = run_sweep(*argv)
    assert status == 0 and summary["counts"] == {"done": 1, "skipped": 1, "busy": 0, "failed": 0}
    assert [r["status"] for r in summary["runs"]] == ["done", "skipped"]


def test_fold_means_follow_their_folds(fake, monkeypatch):
    command, data, seeds = fake
    argv = ["--recipes", "GLAM", "--protocols", "loso", "--seed-list", 11, 12, "--gpus", -1, "--workers", 2,
            "--retries", 0, "--train-command", command, "--no-warm-cache", "--results-dir", data, "--seeds-file", seeds]
    monkeypatch.setenv("FAKE_FAIL", "12")
    status, summary = run_sweep(*argv)
    assert status == 1
    means = {r["seed"]: r for r in summary["runs"] if r["fold"] is None}
    assert means[11]["status"] == "done" and means[12]["status"] == "failed"
    assert means[12]["reasons"] == ["folds not finished: 1, 2, 3, 4, 5"]
    folder = data / "loso" / "mfccS1.8O1.6a0.5" / "GLAM"
    assert results.seeds_done(folder / "GLAM_mfcc_impro_loso.metric") == {11}
    assert results.seeds_done(folder / "GLAM_mfcc_impro_loso_fold4.metric") == {11}


def test_progress_is_one_live_line_with_eta():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    progress = sweep_backends.Progress(4, stream=screen)
    progress.event("done   a", finished=True)
    progress.event("retry  b", finished=False)
    progress.event("FAILED c", finished=True, failed=True)
    progress.close()
    last = screen.getvalue().split("\r")[-1]
    assert "2/4" in last and "<" in last and "failed 1" in last  # tqdm's elapsed<remaining


@pytest.fixture(scope="module")
def real_sweep(micro_corpus, tmp_path_factory):
    """Two seeds of the MHCNN row with the real train.py, two CPU workers at once."""
    work = tmp_path_factory.mktemp("sweep")
    argv = ["--recipes", "MHCNN", "--seeds", 2, "--gpus", -1, "--workers", 2, "--results-dir", work / "data",
            "--seeds-file", work / "seeds.txt", "--", "--data", micro_corpus, "--cache_dir", work / "cache",
            *SMOKE_FLAGS]
    status, summary = run_sweep(*argv)
    return work, argv, status, summary


def test_local_sweep_writes_what_the_scripts_write(real_sweep):
    work, _, status, summary = real_sweep
    assert status == 0, summary
    assert summary["counts"] == {"done": 2, "skipped": 0, "busy": 0, "failed": 0}
    assert len(summary["feature_caches_built"]) == 1  # once, before the two workers started
    folder = work / "data" / "comparison" / "MHCNN"
    assert results.seeds_done(folder / "MHCNN_mfcc_impro.metric") == set(FIRST_SEEDS[:2])
    for seed in FIRST_SEEDS[:2]:
        assert json.loads((folder / str(seed) / "results.json").read_text())["args"]["seed"] == seed


def test_rerun_of_a_finished_sweep_runs_nothing(real_sweep):
    work, argv, _, _ = real_sweep
    metric = work / "data" / "comparison" / "MHCNN" / "MHCNN_mfcc_impro.metric"
    before = metric.read_text()
    # `false` as the train command: anything started would fail the sweep
    status, summary = run_sweep(*argv[:argv.index("--")], "--train-command", "false", *argv[argv.index("--"):])
    assert status == 0 and summary["counts"] == {"done": 0, "skipped": 2, "busy": 0, "failed": 0}
    assert metric.read_text() == before


def test_sweeps_started_together_share_the_work(real_sweep, micro_corpus):
    """Two `--next 2` sweeps started at once into one results folder (two `./run -1 2`) train
    four different seeds: each claims its seeds before any train.py starts, and its train.py
    runs train under that claim. Each reports done exactly the seeds its own runs trained."""
    work, _, _, _ = real_sweep
    data = work / "together"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    with trainserver.serving(work, env) as server:  # train.py without its 3 s of imports per run
        argv = cli(sys.executable, "-m", "ser.runners.sweep", "--recipes", "MHCNN", "--next", 2, "--gpus", -1,
                   "--workers", 1, "--train-command", shlex.join(["{python}", *server[1:], "{train}"]),
                   "--results-dir", data, "--seeds-file", work / "seeds.txt", "--", "--data", micro_corpus,
                   "--cache_dir", work / "cache", *SMOKE_FLAGS)
        sweeps = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True) for _ in range(2)]
        outputs = [sweep_process.communicate(timeout=300)[0] for sweep_process in sweeps]
    assert [s.returncode for s in sweeps] == [0, 0], outputs
    # each names its own summary file: the second one started while the first wrote there
    summaries = [json.loads(Path(out.rsplit("summary: ", 1)[1].strip()).read_text()) for out in outputs]
    done = [{r["seed"] for r in summary["runs"] if r["status"] == "done"} for summary in summaries]
    assert [len(seeds) for seeds in done] == [2, 2] and done[0] | done[1] == set(paper_seeds()[:4]), outputs
    metric = data / "comparison" / "MHCNN" / "MHCNN_mfcc_impro.metric"
    assert sorted(row["seed"] for row in results.read_metric(metric)) == sorted(paper_seeds()[:4])  # once each
    for summary in summaries:
        for run in summary["runs"]:  # the run this sweep started trained it and printed its result
            assert f"MHCNN seed {run['seed']}: best epoch 1 of 1" in Path(run["log"]).read_text()


def test_seeds_per_process_trains_a_cells_seeds_in_one_process(real_sweep, micro_corpus):
    work, _, _, _ = real_sweep
    data = work / "grouped"
    status, summary = run_sweep("--recipes", "MHCNN", "--seeds", 2, "--gpus", -1, "--workers", 1,
                                "--seeds-per-process", 2, "--results-dir", data, "--seeds-file", work / "seeds.txt",
                                "--", "--data", micro_corpus, "--cache_dir", work / "cache", *SMOKE_FLAGS)
    assert status == 0, summary
    assert summary["counts"] == {"done": 2, "skipped": 0, "busy": 0, "failed": 0}
    folder = data / "comparison" / "MHCNN"
    logs = {run["log"] for run in summary["runs"]}
    assert logs == {str(folder / f"sweep_seeds_{FIRST_SEEDS[0]}.log")}  # one train.py for both seeds
    assert results.seeds_done(folder / "MHCNN_mfcc_impro.metric") == set(FIRST_SEEDS[:2])
    solo = work / "data" / "comparison" / "MHCNN"
    for seed in FIRST_SEEDS[:2]:  # each seed's run folder as the one-seed-per-process sweep wrote it
        mine, theirs = (json.loads((where / str(seed) / "results.json").read_text()) for where in (folder, solo))
        assert mine["args"]["seed"] == seed and sorted(mine) == sorted(theirs)
        assert len(mine["epochs"]) == len(theirs["epochs"]) == 1 and mine["split"] == theirs["split"]


# How ray.init says that the local instance's own processes could not start: its GCS server
# (a sandbox that forbids the sockets or processes it needs), or its raylet in time.
RAY_CANNOT_START = ("Failed to start GCS", "The current node timed out during startup")


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance on this machine, started here. The test is skipped only when Ray is not
    installed or its processes cannot start here; any other error of ray.init fails it."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-test.txt")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as error:
        if not any(sign in str(error) for sign in RAY_CANNOT_START):
            raise
        pytest.skip(f"Ray's local processes cannot start on this machine: {error}")
    yield ray
    ray.shutdown()


def test_ray_sweep_lands_in_the_same_layout(local_ray, real_sweep, micro_corpus):
    work, _, _, _ = real_sweep
    data = work / "ray_data"
    status, summary = run_sweep("--backend", "ray", "--recipes", "MHCNN", "--seed-list", FIRST_SEEDS[0],
                                "--results-dir", data, "--seeds-file", work / "seeds.txt", "--",
                                "--data", micro_corpus, "--cache_dir", work / "cache", *SMOKE_FLAGS)
    assert status == 0, summary
    assert summary["backend"] == "ray" and summary["runs"][0]["where"].startswith("ray node")
    assert local_ray.is_initialized()  # an instance the sweep did not start is left running

    def layout(root):
        """Files of the first seed's run and the shared result files, relative to ``root``."""
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                      and p.name != "sweep_summary.json" and str(FIRST_SEEDS[1]) not in str(p))

    assert layout(data) == layout(work / "data")
    run = data / "comparison" / "MHCNN" / str(FIRST_SEEDS[0])
    recorded = json.loads((run / "results.json").read_text())["args"]["datadir"]
    assert recorded == str(run)  # not the node's scratch folder
    assert results.seeds_done(data / "comparison" / "MHCNN" / "MHCNN_mfcc_impro.metric") == {FIRST_SEEDS[0]}
