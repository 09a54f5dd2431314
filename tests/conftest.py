"""Shared fixtures: one small synthetic IEMOCAP corpus per test session, and the tiny
synthetic trees of ser.synth_corpora."""
import pytest

from ser import synth, synth_corpora

# The smallest corpus the generator makes (two turns per dialog, ~300 turns in all).
TINY_SCALE = 0.01


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    return synth.generate(tmp_path_factory.mktemp("corpus") / "IEMOCAP_full_release",
                          scale=TINY_SCALE, seed=0, progress=False)


@pytest.fixture(scope="session")
def corpus_tree(tmp_path_factory):
    """``corpus_tree(name)``: the default-size synthetic tree ``name`` of ser.synth_corpora,
    generated once per session. Tests that damage a tree copy it first."""
    base = tmp_path_factory.mktemp("synthetic_corpora")
    made = {}

    def tree(name):
        if name not in made:
            made[name] = synth_corpora.generate(name, base / name, progress=False)
        return made[name]
    return tree
