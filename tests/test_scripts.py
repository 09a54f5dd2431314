"""Every sweep recipe in scripts/ runs, resumes, and works when copied to the repository root."""
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


# Both trunk families, three head kinds, every subset and the README's MACNN name; the other
# rows (and the spectrogram recipes, whose 400x197 maps cost minutes per epoch on 2 cores)
# are checked above.
@pytest.mark.parametrize("recipe", ["GLAM", "MHResMultiConv3_script", "AACNN_all", "MACNN"])
def test_representative_recipes_train_one_seed(recipe, workspace):
    work, env, corpus = workspace
    run_script(work / "scripts" / recipe, ["-1", "1", "--", "--data", str(corpus), *SMOKE_FLAGS], env, work)
    _, model, subset, tag, alpha, *flags = recipe_row(recipe)
    features = flags[flags.index("-f") + 1] if "-f" in flags else "mfcc"
    metric = work / "data" / tag.replace("{alpha}", alpha) / model / f"{model}_{features}_{subset}.metric"
    assert len(results.read_metric(metric)) == 1


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
