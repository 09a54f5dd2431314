"""Shared fixtures: one small synthetic IEMOCAP corpus per test session, a fifth of it for
tests that only need a run to finish, and the tiny synthetic trees of ser.synthetic.synth_corpora."""
import shutil
from pathlib import Path

import pytest

from ser.corpora import iemocap, labels
from ser.synthetic import synth, synth_corpora

# The smallest corpus the generator makes (two turns per dialog, ~300 turns in all).
TINY_SCALE = 0.01


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    return synth.generate(tmp_path_factory.mktemp("corpus") / "IEMOCAP_full_release",
                          scale=TINY_SCALE, seed=0, progress=False)


@pytest.fixture(scope="session")
def micro_corpus(tiny_corpus, tmp_path_factory):
    """Every fifth dialog of the tiny corpus (its labels and wavs), with every class in each
    subset: a run on it trains and scores in a few seconds."""
    dialogs = sorted(p.stem for p in Path(tiny_corpus).glob("Session*/dialog/EmoEvaluation/*.txt"))
    kept = set(dialogs[::5])

    def left_out(folder, names):
        return [n for n in names if Path(folder).name in ("EmoEvaluation", "wav") and Path(n).stem not in kept]

    micro = shutil.copytree(tiny_corpus, tmp_path_factory.mktemp("micro") / "IEMOCAP_full_release", ignore=left_out)
    utterances = iemocap.scan_iemocap(micro).utterances
    for subset in iemocap.SUBSETS:
        assert {u.label for u in iemocap.select(utterances, subset)} >= set(labels.LABEL_SETS["glam"])
    return micro


@pytest.fixture(scope="session")
def corpus_tree(tmp_path_factory):
    """``corpus_tree(name)``: the default-size synthetic tree ``name`` of ser.synthetic.synth_corpora,
    generated once per session. Tests that damage a tree copy it first."""
    base = tmp_path_factory.mktemp("synthetic_corpora")
    made = {}

    def tree(name):
        if name not in made:
            made[name] = synth_corpora.generate(name, base / name, progress=False)
        return made[name]
    return tree
