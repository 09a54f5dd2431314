"""Every sweep recipe in scripts/ runs, resumes, and works when copied to the repository root."""
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import train
from ser import results

ROOT = Path(__file__).resolve().parents[1]
RECIPES = [line.split()[0] for line in (ROOT / "scripts" / "recipes.tsv").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
# One epoch and sparse segments keep each smoke run to seconds; flags after `--` win.
SMOKE_FLAGS = ["-e", "1", "--train_overlap", "1", "--test_overlap", "1", "-g", "-1", "--quiet"]
# Smoke runs, chosen to cover rather than repeat: every script is the same `sweep` file, and a
# row changes only the model, subset, results folder and train.py flags, whose planned command
# the dry run checks for every row. So every MFCC model trains once with its own row's flags
# (the defaults, --batch_size 128, the comparison rows' step/adam flags), every subset at least
# once, and the README's MACNN name (a link sharing MHCNN's folder) runs. One train.py process
# per row costs 10-30 s on 2 cores, so all 24 rows would add minutes; the spectrogram rows
# (attnpooling*: 400x197 maps) take over a minute per epoch even on the tiny corpus, so
# CNN_AttnPooling trains in tests/test_train_every_model.py (on MFCCs) and its rows are dry-run.
SMOKE_RECIPES = ["GLAM", "ResMultiConv3", "MACNN", "MHResMultiConv3_script", "AAResMultiConv3_script",
                 "AACNN_all"]
SPECTROGRAM_ONLY_MODELS = {"CNN_AttnPooling"}


@pytest.fixture(scope="module")
def workspace(tiny_corpus, tmp_path_factory):
    """A copy of the repository's code (not its data), using the project's virtual environment."""
    work = tmp_path_factory.mktemp("repo")
    for name in ("train.py", "path.py", "seeds.py", "requirements.txt", "requirements-test.txt"):
        shutil.copy(ROOT / name, work / name)
    for name in ("ser", "models", "scripts"):
        shutil.copytree(ROOT / name, work / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, SER_VENV=str(Path(sys.executable).parents[1]),
               SER_CACHE_DIR=str(work / "cache"), PYTHONUNBUFFERED="1")
    return work, env, tiny_corpus


def run_script(script, args, env, cwd):
    completed = subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                               timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    return completed


def recipe_row(name):
    for line in (ROOT / "scripts" / "recipes.tsv").read_text().splitlines():
        if line.split()[:1] == [name]:
            return line.split()


def test_every_recipe_builds_a_valid_train_command(workspace):
    """All rows, without training: each planned command parses and trains the row's model."""
    work, env, corpus = workspace
    completed = subprocess.run(
        [sys.executable, "-m", "ser.sweep", "--recipes-file", str(work / "scripts" / "recipes.tsv"),
         "--recipes", *RECIPES, "--next", "1", "--results-dir", str(work / "planned"), "--dry-run",
         "--", "--data", str(corpus)],
        cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    commands = {line.split(":")[0].split()[0]: shlex.split(line.split(": ", 1)[1])
                for line in completed.stdout.splitlines() if "train.py" in line}
    # MACNN* rows are the MHCNN* runs under the README's name (same folder): planned once.
    assert sorted(commands) == sorted(r for r in RECIPES if not r.startswith("MACNN"))
    assert all(recipe_row(r)[1:] == recipe_row(r.replace("MACNN", "MHCNN"))[1:] for r in RECIPES if r.startswith("MACNN"))
    for recipe, command in commands.items():
        _, model, subset, tag, alpha, *flags = recipe_row(recipe)
        args = train.resolve_args(command[command.index(next(c for c in command if c.endswith("train.py"))) + 1:])
        assert (args.model, args.impro_or_script, args.alpha) == (model, subset, float(alpha))
        assert args.features_to_use == (flags[flags.index("-f") + 1] if "-f" in flags else "mfcc")
        assert Path(args.datadir).parent == work / "planned" / tag.replace("{alpha}", alpha) / model


def test_smoke_runs_cover_every_model_and_subset():
    """A row added for a new model or subset must join SMOKE_RECIPES (or be explained above)."""
    rows = [recipe_row(r) for r in RECIPES]
    smoked = [recipe_row(r) for r in SMOKE_RECIPES]
    assert {row[1] for row in smoked} == {row[1] for row in rows} - SPECTROGRAM_ONLY_MODELS
    assert {row[2] for row in smoked} == {row[2] for row in rows}
    assert all("spectrogram" in row for row in rows if row[1] in SPECTROGRAM_ONLY_MODELS)


@pytest.mark.parametrize("recipe", SMOKE_RECIPES)
def test_recipe_trains_one_seed(recipe, workspace):
    work, env, corpus = workspace
    run_script(work / "scripts" / recipe, ["-1", "1", "--", "--data", str(corpus), *SMOKE_FLAGS], env, work)
    _, model, subset, tag, alpha, *flags = recipe_row(recipe)
    features = flags[flags.index("-f") + 1] if "-f" in flags else "mfcc"
    metric = work / "data" / tag.replace("{alpha}", alpha) / model / f"{model}_{features}_{subset}.metric"
    [line] = results.read_metric(metric)
    assert all(0 <= line[score] <= 100 for score in ("WA_UA_mean", "WA", "UA", "macro_f1", "weighted_f1"))
    summary = json.loads((metric.parent / str(line["seed"]) / "results.json").read_text())
    assert (summary["model"]["name"], summary["args"]["impro_or_script"]) == (model, subset)
    assert summary["args"]["alpha"] == float(alpha) and summary["args"]["epochs"] == 1
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


def test_unknown_recipe_lists_the_known_ones(workspace):
    work, env, _ = workspace
    completed = subprocess.run([str(work / "scripts" / "sweep"), "NoSuchRow"], cwd=work, env=env,
                               capture_output=True, text=True)
    assert completed.returncode == 2 and "GLAM_script" in completed.stderr
