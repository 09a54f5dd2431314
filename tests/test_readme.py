"""Every command in the README works as written.

The README's shell blocks are read in order and run, one test each, in a copy of the
repository whose python commands go through a warm server (tests/trainserver.py). Commands
run with their placeholders filled in (/data/RAVDESS → a synthetic RAVDESS tree, [gpu] [n] →
-1 1, ...) and, where they train, with cheap flags appended after the README's own (the last
flag wins): one epoch, no overlap, batch 8, MHCNN where the command names no model. `./run`
runs its demo for one epoch on the smallest synthetic corpus, and the commands after it use
the paths it printed, as a reader would (so the tests run in the README's order). A few
commands are covered by another test instead (the suite itself, the benchmark, a Ray
cluster, seed 004's cross-validation); the rule names that test, which must exist. A README
command that no rule covers fails: a new command gets a rule or is not added.
"""
import doctest
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import trainserver
from test_corpus_runs import write_emobox  # the published-folds layout that test writes

from ser.corpora import registry
from ser.synthetic import synth_emodb

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CHEAP_TRAINING = ["-e", "1", "--train_overlap", "0", "--test_overlap", "0", "-b", "8", "--quiet", "-g", "-1"]
CHEAP_IMAGES = ["--image_size", "64"]  # seed 004's AlexNets: small images
CHEAP_MODEL = ["-m", "MHCNN"]  # where the command names no model: GLAM costs ten times more on a CPU


def readme_commands() -> list[str]:
    """The README's shell commands in order: continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


@dataclass(frozen=True)
class Rule:
    """How a README command is checked: ``pattern`` matches it (from its start); ``kind`` is
    train (cheap flags appended), dry-run (--dry-run appended: a test elsewhere trains it),
    run (as written), or covered (``covered_by`` names the test that runs it)."""
    pattern: str
    kind: str
    covered_by: str = ""


RULES = [
    Rule(r"\./run$", "demo"),
    Rule(r"\./test", "covered", ".ci/run"),  # this suite: CI runs it
    Rule(r"\./run \[gpu\] \[n\]", "train"),
    Rule(r"python (handleIEMOCAP|seeds)\.py", "run"),
    # the SSL and eGeMAPS baselines need an upstream folder and minutes of extraction on the corpus
    Rule(r"python train\.py .* -f ssl ", "covered",
         "tests/test_ssl_kind.py::test_ssl_linear_trains_two_seeds_and_names_the_upstream"),
    Rule(r"python train\.py .* -f egemaps ", "covered",
         "tests/test_ssl_kind.py::test_egemaps_trains_an_mlp_min_max_scaled_and_predicts"),
    Rule(r"python train\.py", "train"),
    Rule(r"python extract_features\.py", "run"),
    Rule(r"python (predict|export|report)\.py", "run"),
    Rule(r"RESULTS_DIR=data/demo scripts/AACNN", "train"),
    Rule(r"scripts/bench_gpu", "covered",
         "tests/test_bench.py::test_bench_gpu_script_runs_the_benchmark_and_the_cuda_tests_from_local_wheels"),
    Rule(r"(RESULTS_DIR=\S+ )?scripts/", "dry-run"),
    Rule(r"python -m ser\.reporting\.plots", "run"),
    Rule(r"N=\d+$", "run"),
    Rule(r"python -m ser\.runners\.sweep --backend ray", "covered",
         "tests/test_sweep.py::test_ray_sweep_lands_in_the_same_layout"),
    Rule(r"python -m ser\.runners\.sweep", "dry-run"),
    # a base-size upstream's extraction and training take minutes: their tests run them small
    Rule(r"python -m ser\.runners\.upstream_bench", "covered",
         "tests/test_upstream.py::test_extraction_benchmark_rows"),
    Rule(r"python -m ser\.runners\.downstream_bench", "covered",
         "tests/test_downstream_bench.py::test_the_downstreams_are_measured_alone_and_stacked"),
    Rule(r"python -m ser\.runners\.bench", "covered",
         "tests/test_bench.py::test_every_path_is_measured_with_its_ratio_to_the_original_style"),
    Rule(r"python -m ser\.runners\.crossval run", "covered",
         "tests/test_crossval.py::test_tiny_crossval_on_iemocap_layout"),
]


def rule_of(command: str) -> Rule:
    matching = [rule for rule in RULES if re.match(rule.pattern, command)]
    assert matching, f"no rule of tests/test_readme.py checks the README command {command!r}: add one"
    return matching[0]


COMMANDS = readme_commands()


def test_every_readme_command_has_a_rule_and_every_cover_exists():
    assert len(COMMANDS) > 30 and COMMANDS[0] == "./run"
    for command in COMMANDS:
        rule = rule_of(command)
        if rule.kind == "covered" and "::" in rule.covered_by:
            file, name = rule.covered_by.split("::")
            assert re.search(rf"^def {name}\(", (ROOT / file).read_text(), re.M), rule.covered_by
        elif rule.kind == "covered":
            assert command in (ROOT / rule.covered_by).read_text(), rule.covered_by
    assert rule_of("python train.py --data x").kind == "train"
    with pytest.raises(AssertionError, match="no rule"):
        rule_of("python something_new.py")


@pytest.fixture(scope="module")
def corpora_for_readme(tiny_corpus, corpus_tree, tmp_path_factory):
    """The README's placeholder paths and the synthetic trees that stand in for them."""
    base = tmp_path_factory.mktemp("readme_corpora")
    mine = shutil.copytree(corpus_tree("folder"), base / "mine")
    rows = (mine / "manifest.csv").read_text().splitlines()
    (mine / "labels.tsv").write_text("".join(line.replace(",", "\t") + "\n" for line in rows))
    (mine / "manifest.csv").unlink()
    emobox = write_emobox(base / "emobox", registry.scan("ravdess", corpus_tree("ravdess")).utterances)
    emodb = synth_emodb.generate(base / "emodb", scale=0.1, progress=False)
    return {"/data/IEMOCAP_full_release": tiny_corpus, "IEMOCAP_ROOT": tiny_corpus,
            "/data/emodb/wav": emodb, "EMODB_WAVS": emodb, "/data/RAVDESS": corpus_tree("ravdess"),
            "/data/CREMA-D": corpus_tree("cremad"), "/data/ESD": corpus_tree("esd"),
            "/data/MSP-Podcast": corpus_tree("msppodcast"), "/data/mine": mine, "EmoBox/data/ravdess": emobox,
            "[gpu] [n]": "-1 1", "$N": "1"}


@pytest.fixture(scope="module")
def workspace(tiny_corpus, tmp_path_factory):
    """A copy of the repository's code using the project's environment, and a warm server that
    runs its python commands (train.py, predict.py, python -m ser.reporting.plots, ...)."""
    work = tmp_path_factory.mktemp("readme_repo")
    for name in ("train.py", "path.py", "seeds.py", "handleIEMOCAP.py", "extract_features.py", "predict.py",
                 "export.py", "report.py", "run", "requirements.txt", "requirements-test.txt", "seeds.txt"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, work / name)
    for name in ("ser", "models", "scripts"):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, SER_VENV=str(Path(sys.executable).parents[1]), SER_CACHE_DIR=str(work / "cache"),
               PYTHONUNBUFFERED="1", IEMOCAP_DIR=str(tiny_corpus), MPLBACKEND="Agg")
    env.pop("RESULTS_DIR", None)
    with trainserver.serving(work, env) as run_command:
        python = shlex.join(run_command)
        env["SER_TRAIN_COMMAND"] = f"{python} {{train}}"
        yield work, env, python


def shell_line(command: str, rule: Rule, substitutions: dict, python: str) -> str:
    """The command as the test runs it (see the module doc)."""
    for placeholder, value in substitutions.items():
        command = command.replace(placeholder, str(value))
    if rule.kind in ("train", "demo"):
        # ./run and the recipe scripts name their model themselves; their train.py flags follow `--`
        script = command.startswith(("./run", "RESULTS_DIR", "scripts/"))
        names_a_model = script or re.search(r"(^|\s)(-m|--model|--ser_model) ", command)
        extra = shlex.join(CHEAP_TRAINING + CHEAP_IMAGES * ("alexnet" in command) + CHEAP_MODEL * (not names_a_model))
        command += f" -- {extra}" if script and " -- " not in command else f" {extra}"
    elif rule.kind == "dry-run":
        words = command.split(" -- ", 1)
        command = words[0] + " --dry-run" + (f" -- {words[1]}" if len(words) > 1 else "")
    return re.sub(r"(^|(?<=\s))python ", f"{python} ", command)


@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=[f"{i}:{c[:60]}" for i, c in enumerate(COMMANDS)])
def test_readme_command_runs(index, workspace, corpora_for_readme):
    work, env, python = workspace
    command = COMMANDS[index]
    rule = rule_of(command)
    if rule.kind == "covered":
        pytest.skip(f"run by {rule.covered_by}")
    if rule.kind == "demo":
        env = {k: v for k, v in env.items() if k != "IEMOCAP_DIR"}
        env.update(DEMO_EPOCHS="1", DEMO_SCALE="0.01")
    line = shell_line(command, rule, corpora_for_readme, python)
    completed = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, f"{line}\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    assert "Traceback" not in completed.stderr
    if rule.kind == "demo":
        check_demo_output(completed.stdout, work)


def check_demo_output(out: str, work: Path):
    """The demo marks its tables synthetic, names its run, and prints next commands that the
    README shows with the same paths."""
    assert "| GLAM_mfcc_impro (SYNTHETIC corpus) | 1 |" in out and "SYNTHETIC demo corpus" in out
    run_dir = "data/demo/mfccS1.8O1.6a0.5/GLAM/2602656884"
    assert f"results: {run_dir}; checkpoint: {run_dir}/model_GLAM_mfcc_impro.pth" in out
    summary = json.loads((work / run_dir / "results.json").read_text())
    assert summary["corpus"]["synthetic"] and summary["args"]["SaveModel"]
    printed = [line.strip().split("   #")[0] for line in out.split("next, from the repository root:")[1].splitlines()
               if line.strip()]
    shown = readme_commands()
    for command in printed[:2]:  # predict and export, as the README writes them after `python`
        program = command.split(" ", 1)[1]
        assert any(program.split()[:2] == c.split()[1:3] for c in shown), command


def masked(text: str) -> str:
    """Output with what training decides masked: numbers and which class names appear where."""
    text = re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", text)
    return re.sub(r"'(neutral|sad|angry|happy\(excited\))'", "'CLASS'", text)


# Runs each statement of a session as the interactive interpreter would: an expression's value
# is printed with repr, anything else prints nothing.
SESSION_RUNNER = """import json


def run(sources):
    scope, printed = {}, []
    for source in sources:
        try:
            code = compile(source, "README", "eval")
        except SyntaxError:
            exec(compile(source, "README", "exec"), scope)
            printed.append("")
            continue
        value = eval(code, scope)
        printed.append("" if value is None else repr(value) + "\\n")
    return printed


"""


def test_the_python_api_example_runs_as_shown(workspace):
    """The README's Python session, run after the demo: every statement works and prints what
    the README shows, up to the numbers and class names a one-epoch model decides."""
    work, env, python = workspace
    [session] = re.findall(r"```python\n(.*?)```", README, re.S)
    examples = doctest.DocTestParser().get_examples(session)
    assert len(examples) > 8
    script = work / "api_session.py"
    script.write_text(SESSION_RUNNER + f"print(json.dumps(run({[e.source for e in examples]!r})))\n")
    completed = subprocess.run(["bash", "-c", f"{python} {script.name}"], cwd=work, env=env, capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    printed = json.loads(completed.stdout.strip().splitlines()[-1])
    for example, got in zip(examples, printed):
        assert masked(got) == masked(example.want), (example.source, got, example.want)
