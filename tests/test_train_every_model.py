"""Every registered model trains one epoch through ``train.main`` (``train.py -m NAME -e 1``) on
the tiny synthetic corpus: a finite result line, a finite loss, a gradient reaching every
parameter and weights that moved. The README's old names (aliases) train the canonical model.
tests/test_models.py checks the models on their own; tests/test_train.py checks GLAM's files."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import models
import train
from ser.records import results
from ser.runs import pipeline

ALEXNETS = [name for name in models.list_models() if name.startswith("alexnet")]
GLAM_FAMILY = models.list_models(paper_only=True)
ALIASES = sorted(set(models.list_models(include_aliases=True)) - set(models.list_models()))
SEED = 2602656884  # seeds.txt's first seed
SCORES = ("WA_UA_mean", "WA", "UA", "macro_f1", "weighted_f1")
# One epoch on non-overlapping 1.8 s segments of the micro corpus: about 30 training segments,
# a few optimiser steps at batch 8, in a second or two per model.
CHEAP = ["-e", "1", "--train_overlap", "0", "--test_overlap", "0", "-b", "8", "-g", "-1", "--quiet",
         "--seed", str(SEED)]
# AlexNet reads spectrogram images (seed 004's features); a 64-pixel image instead of 256 keeps
# the 57M-parameter model's passes cheap (the parameters do not depend on the image size).
ALEXNET_FLAGS = ["-f", "logspec", "--image_size", "64"]


@dataclass
class WatchedRun:
    """One train.py run and what happened to its model's parameters."""
    summary: dict
    metric_file: Path
    initial: dict[str, torch.Tensor]  # the parameters train.py built, before any step
    trained: dict[str, torch.Tensor]  # the same parameters after the epoch
    gradients: dict[str, list[float]]  # per parameter: the largest |gradient| of each step


def train_and_watch(name: str, corpus: Path, workdir: Path) -> WatchedRun:
    """``train.main`` for model ``name`` with ``train.build_model`` wrapped to keep the weights
    the run starts from and to hook every parameter's gradient. (The real starting weights:
    a model rebuilt with the same seed matches them only if nothing draws random numbers
    before train.py builds its model.)"""
    watched = {}

    def build_and_watch(args, shape, num_classes):
        model = build(args, shape, num_classes)
        watched["model"] = model
        watched["initial"] = {key: p.detach().clone() for key, p in model.named_parameters()}
        watched["gradients"] = gradients = {key: [] for key in watched["initial"]}
        for key, parameter in model.named_parameters():
            # The autograd gradient, before the optimiser adds weight decay: Adam turns even a
            # weight-decay-only gradient into a full-size step, so moved weights alone prove little.
            parameter.register_hook(lambda grad, key=key: gradients[key].append(grad.abs().max().item()))
        return model

    build = pipeline.build_model
    run_dir = workdir / "runs" / name / str(SEED)
    flags = ALEXNET_FLAGS if models.resolve_name(name) in ALEXNETS else []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "build_model", build_and_watch)
        summary = train.main(["-m", name, "--data", str(corpus), "-d", str(run_dir),
                              "--cache_dir", str(workdir / "cache"), *CHEAP, *flags])
    args = summary["args"]
    stem = results.result_stem(args["model"], args["features_to_use"], args["impro_or_script"], args["labels"])
    trained = {key: p.detach().clone() for key, p in watched["model"].named_parameters()}
    return WatchedRun(summary, run_dir.parent / f"{stem}.metric", watched["initial"], trained, watched["gradients"])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Batches of 32 small maps gain little from a second thread, and on a shared 2-core machine
    its spinning costs a third more CPU time; restored after this module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained_once(micro_corpus, tmp_path_factory):
    """``trained_once(name)``: that model's run, trained on first use and then reused, so the
    alias tests compare with the canonical run instead of training it again. All runs share
    one feature cache: each feature kind is computed once."""
    workdir = tmp_path_factory.mktemp("every_model")
    done: dict[str, WatchedRun] = {}

    def get(name: str) -> WatchedRun:
        if name not in done:
            done[name] = train_and_watch(name, micro_corpus, workdir)
        return done[name]
    return get


def test_the_family_is_the_originals_twenty_one_and_seed_004s_two():
    assert len(GLAM_FAMILY) == 21 and ALEXNETS == ["alexnet", "alexnet_gap"]


@pytest.mark.parametrize("name", GLAM_FAMILY + ALEXNETS)
def test_one_epoch_writes_finite_results(name, trained_once):
    run = trained_once(name)
    summary = run.summary
    assert summary["model"]["name"] == name
    assert len(summary["epochs"]) == 1 and summary["best_epoch"] == 0
    assert math.isfinite(summary["epochs"][0]["loss"]) and summary["epochs"][0]["loss"] > 0
    [line] = results.read_metric(run.metric_file)  # the line that marks the seed finished
    assert line["seed"] == SEED
    assert all(0 <= line[score] <= 100 for score in SCORES), line  # False for NaN too
    counts = summary["confusion_matrix"]["counts"]
    assert sum(map(sum, counts)) == summary["split"]["test_utterances"] > 0  # every test turn scored


@pytest.mark.parametrize("name", GLAM_FAMILY + ALEXNETS)
def test_every_parameter_gets_a_gradient_and_moves(name, trained_once):
    """A detached branch, an unused layer or a frozen block would train "successfully" with
    finite numbers; here it shows as a parameter without gradient."""
    run = trained_once(name)
    assert run.gradients.keys() == run.initial.keys() and run.initial
    without = sorted(key for key, steps in run.gradients.items() if not steps or max(steps) == 0)
    assert without == [], f"{name}: no gradient reached {without}"
    non_finite = sorted(key for key, steps in run.gradients.items() if not all(map(math.isfinite, steps)))
    assert non_finite == [], f"{name}: NaN/Inf gradients in {non_finite}"
    unchanged = sorted(key for key in run.initial if torch.equal(run.initial[key], run.trained[key]))
    assert unchanged == [], f"{name}: the optimiser left {unchanged} as initialised"


@pytest.mark.parametrize("alias", ALIASES)
def test_alias_trains_the_canonical_model(alias, trained_once):
    canonical = models.resolve_name(alias)
    assert canonical != alias
    run, reference = trained_once(alias), trained_once(canonical)
    assert run.summary["model"]["name"] == canonical
    assert run.metric_file.name == reference.metric_file.name  # results filed under the canonical name
    assert len(results.read_metric(run.metric_file)) == 1
    # Same seed, data and class: the same initial weights and the same epoch.
    assert run.initial.keys() == reference.initial.keys()
    for key in run.initial:
        torch.testing.assert_close(run.initial[key], reference.initial[key], rtol=0, atol=0)
        torch.testing.assert_close(run.trained[key], reference.trained[key])
    assert run.summary["epochs"][0]["loss"] == pytest.approx(reference.summary["epochs"][0]["loss"])
