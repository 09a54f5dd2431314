"""Shared fixtures: one small synthetic IEMOCAP corpus per test session."""
import pytest

from ser import synth

# The smallest corpus the generator makes (two turns per dialog, ~300 turns in all).
TINY_SCALE = 0.01


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    return synth.generate(tmp_path_factory.mktemp("corpus") / "IEMOCAP_full_release",
                          scale=TINY_SCALE, seed=0, progress=False)
