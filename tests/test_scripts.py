"""Every script in scripts/ trains end to end, resumes, and works when copied or moved to the repository root."""
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import trainserver

from ser.records import results
from ser.runs.config import resolve_args

ROOT = Path(__file__).resolve().parents[1]
RECIPES = [line.split()[0] for line in (ROOT / "scripts" / "recipes.tsv").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
TABLES = ["alpha_table", "split811_table"]
ALPHA_TABLE = ["0", "0.3", "0.5", "0.8", "1", "2", "3"]
SPLIT811_TABLE = [f"{row}{suffix}" for suffix in ("", "_script", "_all")
                  for row in ("attnpooling", "MHCNN", "AACNN", "GLAM")]
# One epoch of a smaller batch over unoverlapped segments keeps each run to about a second on the
# micro corpus (flags after `--` win over the row's); the row's own flags are what the dry run
# checks. The spectrogram rows' 400x197 maps cost 70 ms a segment to train on two cores, hence
# a corpus of every fifth dialog of the tiny one.
SMOKE_FLAGS = ["-e", "1", "--train_overlap", "0", "--test_overlap", "0", "-b", "8", "--quiet"]


@pytest.fixture(scope="module")
def workspace(micro_corpus, tmp_path_factory):
    """A copy of the repository's code (not its data), using the project's virtual environment,
    whose sweeps run train.py through a warm server (tests/trainserver.py) instead of a fresh
    interpreter per run."""
    work = tmp_path_factory.mktemp("repo")
    for name in ("train.py", "path.py", "seeds.py", "requirements.txt", "requirements-test.txt"):
        shutil.copy(ROOT / name, work / name)
    for name in ("ser", "models", "scripts"):
        shutil.copytree(ROOT / name, work / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, SER_VENV=str(Path(sys.executable).parents[1]),
               SER_CACHE_DIR=str(work / "cache"), PYTHONUNBUFFERED="1")
    env.pop("RESULTS_DIR", None)
    with trainserver.serving(work, env) as run_command:
        env["SER_TRAIN_COMMAND"] = shlex.join(["{python}", *run_command[1:], "{train}"])
        yield work, env, micro_corpus


def run_script(script, args, env, cwd):
    completed = subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                               timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    return completed


def recipe_row(name):
    for line in (ROOT / "scripts" / "recipes.tsv").read_text().splitlines():
        if line.split()[:1] == [name]:
            return line.split()


def expected_runs(script: str, results_dir: Path) -> dict[Path, tuple]:
    """The .metric file each run of ``script`` (one seed) must write: (model, subset, α, protocol)."""
    rows = {"alpha_table": [("GLAM", alpha) for alpha in ALPHA_TABLE],
            "split811_table": [(recipe, None) for recipe in SPLIT811_TABLE]}.get(script, [(script, None)])
    protocol = "811" if script == "split811_table" else "paper"
    where = results_dir / "split811" if protocol == "811" else results_dir
    runs = {}
    for recipe, alpha in rows:
        _, model, subset, tag, default_alpha, *flags = recipe_row(recipe)
        alpha = alpha or default_alpha
        features = flags[flags.index("-f") + 1] if "-f" in flags else "mfcc"
        stem = results.result_stem(model, features, subset, protocol=protocol)
        runs[where / tag.replace("{alpha}", alpha) / model / f"{stem}.metric"] = (model, subset, float(alpha), protocol)
    return runs


def test_every_recipe_builds_a_valid_train_command(workspace):
    """All rows, without training: each planned command parses and trains the row's model."""
    work, env, corpus = workspace
    completed = subprocess.run(
        [sys.executable, "-m", "ser.runners.sweep", "--recipes-file", str(work / "scripts" / "recipes.tsv"),
         "--recipes", *RECIPES, "--next", "1", "--results-dir", str(work / "planned"), "--dry-run",
         "--", "--data", str(corpus)],
        cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    commands = {line.split(":")[0].split()[0]: shlex.split(line.split(": ", 1)[1])
                for line in completed.stdout.splitlines() if "train.py" in line}
    # MACNN* rows are the MHCNN* runs under the README's name (same folder): planned once.
    assert sorted(commands) == sorted(r for r in RECIPES if not r.startswith("MACNN"))
    assert all(recipe_row(r)[1:] == recipe_row(r.replace("MACNN", "MHCNN"))[1:]
               for r in RECIPES if r.startswith("MACNN"))
    for recipe, command in commands.items():
        _, model, subset, tag, alpha, *flags = recipe_row(recipe)
        args = resolve_args(command[command.index(next(c for c in command if c.endswith("train.py"))) + 1:])
        assert (args.model, args.impro_or_script, args.alpha) == (model, subset, float(alpha))
        assert args.features_to_use == (flags[flags.index("-f") + 1] if "-f" in flags else "mfcc")
        assert Path(args.datadir).parent == work / "planned" / tag.replace("{alpha}", alpha) / model


def test_every_script_is_smoke_tested():
    """A new script in scripts/ must be a recipe row or join TABLES (and expected_runs); the
    one other, bench_gpu, is smoke tested by tests/test_bench.py."""
    scripts = {p.name for p in (ROOT / "scripts").iterdir() if p.is_file() and os.access(p, os.X_OK)}
    assert scripts == {"sweep", "bench_gpu", *RECIPES, *TABLES}
    # real files, not links (a moved link dangles), all one text that reads its recipe by its own name
    assert not any((ROOT / "scripts" / name).is_symlink() for name in scripts)
    assert len({(ROOT / "scripts" / name).read_text() for name in RECIPES}) == 1
    assert len(SPLIT811_TABLE) == 12 and all(recipe_row(r) for r in SPLIT811_TABLE)


# The recipe scripts are one text (test_every_script_is_smoke_tested), every row's command is
# checked by the dry run above and every model trains in tests/test_train_every_model.py; here
# training goes through the two tables (4 models x 3 subsets, 7 α), one recipe script and one
# row of the ablation family.
TRAINED_SCRIPTS = ["GLAM", "MHResMultiConv3_all", *TABLES]


@pytest.mark.parametrize("script", TRAINED_SCRIPTS)
def test_script_trains_each_of_its_runs(script, workspace):
    """`scripts/NAME -1 1 -- --data CORPUS -e 1 ...`: every run of the script trains one epoch
    and lands in its own .metric file, and nothing else is written."""
    work, env, corpus = workspace
    results_dir = work / "results" / script
    run_script(work / "scripts" / script, ["-1", "1", "--", "--data", str(corpus), *SMOKE_FLAGS],
               dict(env, RESULTS_DIR=str(results_dir)), work)
    runs = expected_runs(script, results_dir)
    assert sorted(results_dir.rglob("*.metric")) == sorted(runs)
    for metric, (model, subset, alpha, protocol) in runs.items():
        [line] = results.read_metric(metric)
        assert all(0 <= line[score] <= 100 for score in ("WA_UA_mean", "WA", "UA", "macro_f1", "weighted_f1"))
        summary = json.loads((metric.parent / str(line["seed"]) / "results.json").read_text())
        assert (summary["model"]["name"], summary["args"]["impro_or_script"]) == (model, subset)
        assert (summary["args"]["alpha"], summary["args"]["protocol"]) == (alpha, protocol)
        assert summary["args"]["epochs"] == 1 and summary["args"]["batch_size"] == 8
        assert len(summary["epochs"]) == 1 and math.isfinite(summary["epochs"][0]["loss"])


def test_rerun_resumes_at_the_next_seed_and_copy_to_root_works(workspace):
    work, env, corpus = workspace
    env = dict(env, RESULTS_DIR=str(work / "resumed"))
    args = ["-1", "1", "0.3", "--", "--data", str(corpus), *SMOKE_FLAGS]
    run_script(work / "scripts" / "MHCNN", args, env, work)
    shutil.copy(work / "scripts" / "MHCNN", work / "MHCNN")  # as the original README instructs
    run_script(work / "MHCNN", args, env, work)
    metric = work / "resumed" / "comparison" / "MHCNN" / "MHCNN_mfcc_impro.metric"
    assert [r["seed"] for r in results.read_metric(metric)] == [2602656884, 3431165269]


def test_a_script_moved_to_the_root_runs_its_dry_run(workspace, tmp_path):
    """`mv scripts/MHCNN ./`, in a copy of the repository: it still finds the sweep and its recipe."""
    work, env, corpus = workspace
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("train.py", "path.py", "seeds.py", "requirements.txt", "requirements-test.txt"):
        shutil.copy(work / name, copy / name)
    for name in ("ser", "models", "scripts"):  # links stay links, as in a clone
        shutil.copytree(work / name, copy / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "scripts" / "MHCNN").rename(copy / "MHCNN")
    completed = run_script(copy / "MHCNN", ["--dry-run", "-1", "1", "--", "--data", str(corpus)], env, copy)
    [planned] = [line for line in completed.stdout.splitlines() if "train.py" in line]
    assert planned.lstrip().startswith("MHCNN α=0 paper seed 2602656884:")
    assert "-m MHCNN -i impro" in planned and "-d data/comparison/MHCNN/2602656884" in planned
    assert not (copy / "data").exists()  # planned, not trained


@pytest.mark.parametrize("table", TABLES)
def test_table_scripts_work_when_copied_to_the_root(table, workspace):
    work, env, corpus = workspace
    shutil.copy(work / "scripts" / table, work / table)
    completed = run_script(work / table, ["-1", "0", "--", "--data", str(corpus)],
                           dict(env, RESULTS_DIR=str(work / "copied")), work)
    assert "0 runs in the grid" in completed.stdout


@pytest.mark.parametrize("rows", ["NoSuchRow", "GLAM,NoSuchRow"])
def test_unknown_recipe_lists_the_known_ones(rows, workspace):
    work, env, _ = workspace
    completed = subprocess.run([str(work / "scripts" / "sweep"), rows], cwd=work, env=env,
                               capture_output=True, text=True)
    assert completed.returncode == 2 and "NoSuchRow" in completed.stderr and "GLAM_script" in completed.stderr


@pytest.mark.parametrize("gpu, per_process, grouped", [("-1", None, False), ("-1", "3", True), ("0", None, True),
                                                        ("0", "1", False)])
def test_seeds_train_together_on_a_gpu_and_one_by_one_on_the_cpu(gpu, per_process, grouped, workspace):
    """On one GPU a script trains its n seeds in one process; on the CPU, where the stacked
    seeds are slower per sample, one after another; SER_SEEDS_PER_PROCESS decides either way."""
    work, env, corpus = workspace
    env = {k: v for k, v in env.items() if k != "SER_SEEDS_PER_PROCESS"}
    if per_process:
        env["SER_SEEDS_PER_PROCESS"] = per_process
    completed = run_script(work / "scripts" / "MHCNN", ["--dry-run", gpu, "3", "--", "--data", str(corpus)],
                           dict(env, RESULTS_DIR=str(work / "planned_together")), work)
    planned = [line for line in completed.stdout.splitlines() if "train.py" in line]
    assert len(planned) == (1 if grouped else 3)
    assert all(("--seeds 3" in line) == grouped for line in planned)
