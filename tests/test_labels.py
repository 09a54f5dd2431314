"""Label sets (ser.corpora.labels): the shared token vocabulary, each corpus's own set, the shared
4-class set, the defaults per corpus, and every model trainable on any number of classes."""
from __future__ import annotations

import pytest
import torch

from models import MAPS, create_model, list_models
from ser.corpora import cremad, esd, msppodcast, ravdess, registry
from ser.corpora.labels import (
    CLASS_NAMES,
    CORPUS_LABEL_SETS,
    FOLDER_LABELS,
    LABEL_SETS,
    TOKENS,
    LabelError,
    default_label_set,
    keeps_apart,
    label_sets_for,
    normalise_token,
    tokens_label_set,
)


def test_the_existing_sets_are_unchanged():
    assert LABEL_SETS["glam"] == {"neu": 0, "sad": 1, "ang": 2, "exc": 3}
    assert LABEL_SETS["merge"] == {"neu": 0, "sad": 1, "ang": 2, "exc": 3, "hap": 3}
    assert LABEL_SETS["seed004"] == {"ang": 0, "sad": 1, "hap": 2, "neu": 3}
    assert LABEL_SETS["seed004exc"] == {"ang": 0, "sad": 1, "hap": 2, "exc": 2, "neu": 3}
    assert LABEL_SETS["emodb"] == {"neu": 0, "hap": 1, "sad": 2, "ang": 3, "bor": 4, "fea": 5, "dis": 6}


def test_every_set_is_consecutive_named_and_in_the_shared_vocabulary():
    assert set(LABEL_SETS) == set(CLASS_NAMES)
    for name, classes in LABEL_SETS.items():
        assert sorted(set(classes.values())) == list(range(len(CLASS_NAMES[name]))), name
        assert set(classes) <= set(TOKENS), name
        assert not {"oth", "xxx"} & set(classes), name


@pytest.mark.parametrize("corpus, codes", [("ravdess", ravdess.EMOTIONS), ("cremad", cremad.EMOTIONS),
                                           ("esd", esd.EMOTIONS), ("msppodcast", msppodcast.EMOTIONS)])
def test_each_corpus_set_holds_exactly_its_emotions(corpus, codes):
    emotions = set(codes.values()) - {"oth", "xxx"}
    assert set(LABEL_SETS[corpus]) == emotions and len(CLASS_NAMES[corpus]) == len(emotions)
    assert default_label_set(corpus) == corpus


def test_shared4_maps_every_corpus_the_same_way():
    shared = LABEL_SETS["shared4"]
    assert CLASS_NAMES["shared4"] == ["neutral", "sad", "angry", "happy(+excited)"]
    assert (shared["neu"], shared["sad"], shared["ang"], shared["hap"], shared["exc"]) == (0, 1, 2, 3, 3)
    for corpus, sets in CORPUS_LABEL_SETS.items():
        assert "shared4" in sets, corpus
    for codes in (ravdess.EMOTIONS, cremad.EMOTIONS, esd.EMOTIONS, msppodcast.EMOTIONS):
        assert {"neu", "sad", "ang", "hap"} <= set(codes.values())


def test_defaults_and_valid_sets_per_corpus():
    assert set(CORPUS_LABEL_SETS) == set(registry.CORPORA)
    assert default_label_set("iemocap") == "glam" and default_label_set("emodb") == "emodb"
    assert default_label_set("folder") == FOLDER_LABELS and "shared4" in label_sets_for("folder")
    assert label_sets_for("iemocap") == ("glam", "merge", "seed004", "seed004exc", "shared4")
    assert all(s in LABEL_SETS or s == FOLDER_LABELS for sets in CORPUS_LABEL_SETS.values() for s in sets)
    with pytest.raises(LabelError, match="unknown corpus 'timit'.*iemocap"):
        label_sets_for("timit")


@pytest.mark.parametrize("name, token", [("Angry", "ang"), ("ANG", "ang"), ("anger", "ang"), ("Fearful", "fea"),
                                         ("Surprised", "sur"), ("happiness", "hap"), ("No_Agreement", "xxx"),
                                         ("boredem", "bor"), (" Neutral ", "neu"), ("Positive", "positive")])
def test_normalise_token(name, token):
    assert normalise_token(name) == token


def test_a_label_set_from_the_tokens_a_tree_holds():
    classes, names = tokens_label_set(["sad", "zebra", "neu", "apple", "xxx", "sad", "oth"])
    assert classes == {"neu": 0, "sad": 1, "apple": 2, "zebra": 3}
    assert names == ["neutral", "sad", "apple", "zebra"]


@pytest.fixture
def one_thread():
    """Tiny models at batch 2 run fastest on one intra-op thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", list_models(reads=MAPS))
def test_every_model_trains_on_any_number_of_classes(name, one_thread):
    """Only the output shape depends on the class count, so the weights are left
    uninitialised: built on the meta device, then given CPU memory, which skips the costly
    initialisation of the large models (test_models checks values and gradients)."""
    x = torch.randn(2, 1, 26, 57, generator=torch.Generator().manual_seed(0))
    for classes in (2, 5, 6, 7, 8):
        with torch.device("meta"):
            model = create_model(name, num_classes=classes)
        model = model.to_empty(device="cpu").eval()
        with torch.no_grad():
            assert model(x).shape == (2, classes)


def test_a_set_keeps_labels_apart_when_each_has_a_class_of_its_own():
    assert keeps_apart(LABEL_SETS["merge"], ["neu", "hap", "sad", "ang"], exactly=True)
    assert not keeps_apart(LABEL_SETS["glam"], ["neu", "hap", "sad", "ang"])  # no class for hap
    assert not keeps_apart(LABEL_SETS["merge"], ["neu", "hap", "exc", "sad"])  # hap and exc merged
    assert keeps_apart(LABEL_SETS["ravdess"], ["neu", "sad"]) and not keeps_apart(LABEL_SETS["ravdess"], ["neu", "sad"],
                                                                                  exactly=True)
    assert tokens_label_set(["sad", "oth"], every=True) == ({"sad": 0, "oth": 1}, ["sad", "other"])
