"""Protocols for any corpus (ser.protocols.splits): speaker k-fold, leave-one-speaker-out, the official
split and manifest folds; every fold speaker-disjoint, and speaker_independent on every Split."""
from __future__ import annotations

import numpy as np
import pytest

from ser.corpora import Utterance, esd, folder, msppodcast
from ser.protocols.splits import (
    CORPUS_PROTOCOLS,
    FOLD_COUNTS,
    SplitError,
    corpus_fold_count,
    corpus_split,
    leave_one_speaker_out_split,
    make_split,
    manifest_fold_split,
    official_split,
    pair_split,
    shared_speakers,
    speaker_folds,
    speaker_independent,
    speaker_kfold_split,
)

SPEAKERS = [f"s{k:02d}" for k in range(13)]


def utterance_speakers(seed=0, unknown=4):
    """Several utterances per speaker in a shuffled order, plus some of unknown speakers."""
    rng = np.random.default_rng(seed)
    speakers = [s for s in SPEAKERS for _ in range(rng.integers(2, 6))] + [""] * unknown
    rng.shuffle(speakers)
    return speakers


def parts_of(split, speakers):
    return [{speakers[i] for i in part} for part in (split.train, split.validation, split.test)]


def check_disjoint(split, speakers):
    """Parts are disjoint, sorted where promised, and share no speaker."""
    train, validation, test = (set(p) for p in (split.train, split.validation, split.test))
    assert not train & validation and not train & test and not validation & test
    assert split.test == sorted(split.test) and split.validation == sorted(split.validation)
    a, b, c = parts_of(split, speakers)
    assert not a & b and not a & c and not b & c
    assert shared_speakers(speakers, split) == [] and split.speaker_independent


# -- speaker k-fold ---------------------------------------------------------------------------

@pytest.mark.parametrize("folds", [2, 3, 4, 5, 6, 13])
def test_speaker_kfold_every_fold_is_speaker_disjoint(folds):
    speakers = utterance_speakers()
    groups = speaker_folds(speakers, folds, seed=3)
    assert sorted(s for g in groups for s in g) == SPEAKERS
    assert max(map(len, groups)) - min(map(len, groups)) <= 1
    tested = []
    for fold in range(1, folds + 1):
        split = speaker_kfold_split(speakers, folds, fold, seed=3)
        check_disjoint(split, speakers)
        train, validation, test = parts_of(split, speakers)
        assert test == set(groups[fold - 1])
        other = groups[fold % folds]
        assert validation == set(other if folds > 2 else other[:len(other) // 2])
        assert train == set(SPEAKERS) - test - validation and "" not in train | validation | test
        assert (split.name, split.fold) == ("speaker-kfold", fold)
        assert f"fold {fold} of {folds}, seed 3" in split.protocol and "4 utterances of unknown speakers" in \
            split.protocol
        tested += split.test
    known = [i for i, s in enumerate(speakers) if s]
    assert sorted(tested) == known  # every utterance of a known speaker is tested exactly once


def test_speaker_folds_depend_on_the_seed_only():
    speakers = utterance_speakers()
    assert speaker_folds(speakers, 4, seed=1) == speaker_folds(list(reversed(speakers)), 4, seed=1)
    assert speaker_folds(speakers, 4, seed=1) != speaker_folds(speakers, 4, seed=2)


@pytest.mark.parametrize("folds", [1, 0, 14])
def test_speaker_kfold_refuses_too_few_or_too_many_folds(folds):
    with pytest.raises(SplitError, match=f"--folds {folds}: speaker-kfold needs 2..13 folds for the 13 speakers"):
        speaker_kfold_split(utterance_speakers(), folds, 1)


@pytest.mark.parametrize("speakers, count", [(["a", "a", "", "a"], "1 (a)"), (["", ""], "0")])
def test_speaker_kfold_over_fewer_than_two_speakers_says_so(speakers, count):
    with pytest.raises(SplitError) as error:
        speaker_kfold_split(speakers, 5, 1)
    message = str(error.value)
    assert f"needs 2 or more speakers with known ids; these utterances have {count}" in message
    assert "--protocol paper or 811" in message and "2..1" not in message and "2..0" not in message


def test_speaker_kfold_refuses_a_fold_out_of_range_and_an_empty_part():
    with pytest.raises(SplitError, match="--fold 4: speaker-kfold with 3 folds has folds 1..3"):
        speaker_kfold_split(utterance_speakers(), 3, 4)
    with pytest.raises(SplitError, match="no validation utterances"):
        speaker_kfold_split(["a", "a", "b"], 2, 1)  # the other fold has one speaker: nothing to halve


# -- leave one speaker out --------------------------------------------------------------------

def test_leave_one_speaker_out_validates_on_the_next_speaker():
    speakers = utterance_speakers(seed=2)
    order = []
    for fold in range(1, len(SPEAKERS) + 1):
        split = leave_one_speaker_out_split(speakers, fold)
        check_disjoint(split, speakers)
        train, validation, test = parts_of(split, speakers)
        assert validation == {SPEAKERS[fold % len(SPEAKERS)]} and len(train) == len(SPEAKERS) - 2
        (tested,) = test
        order.append(tested)
    assert order == SPEAKERS


def test_leave_one_speaker_out_refusals():
    with pytest.raises(SplitError, match="3 or more speakers"):
        leave_one_speaker_out_split(["a", "b", "", "b"], 1)
    with pytest.raises(SplitError, match="--fold 14: .* folds 1..13"):
        leave_one_speaker_out_split(utterance_speakers(), 14)


# -- official split ---------------------------------------------------------------------------

def test_official_split_of_esd_keeps_its_parts_and_is_not_speaker_independent(corpus_tree):
    rows = esd.scan_esd(corpus_tree("esd")).utterances
    split = corpus_split("official", rows)
    for name, part in (("train", split.train), ("validation", split.validation), ("test", split.test)):
        assert part and {rows[i].official_split for i in part} == {name}
    assert len(split.train) + len(split.validation) + len(split.test) == len(rows)
    assert not split.speaker_independent  # ESD's partition splits each speaker's sentences
    assert "train 30, validation 30, test 30" in split.protocol


def test_official_split_of_a_speaker_disjoint_manifest(corpus_tree):
    rows = folder.scan_folder(corpus_tree("folder")).utterances
    split = corpus_split("official", rows)
    check_disjoint(split, [u.speaker for u in rows])


def test_official_split_with_unknown_speakers_cannot_be_called_speaker_independent(corpus_tree):
    rows = msppodcast.scan_msppodcast(corpus_tree("msppodcast")).utterances
    split = corpus_split("official", rows)
    speakers = [u.speaker for u in rows]
    assert shared_speakers(speakers, split) == []  # known speakers are disjoint ...
    assert not split.speaker_independent           # ... but some Train utterances are of unknown speakers
    assert {rows[i].official_split for i in split.test} == {"test"}
    left = [i for i in range(len(rows)) if i not in {*split.train, *split.validation, *split.test}]
    assert left and {rows[i].official_split for i in left} == {""}  # Test2 is in no part


def test_official_split_refusals():
    with pytest.raises(SplitError, match="no official split"):
        official_split(["", ""], ["a", "b"])
    with pytest.raises(SplitError, match="no validation part"):
        official_split(["train", "test"], ["a", "b"])
    with pytest.raises(SplitError, match="no test utterances"):
        official_split(["train", "validation"], ["a", "b"])


# -- manifest folds ---------------------------------------------------------------------------

def test_manifest_folds_test_each_fold_and_validate_on_the_next():
    fold_ids = [1, 2, 3, 1, 2, 3, 0, 3]
    speakers = ["a", "b", "c", "a", "b", "c", "d", "c"]
    split = manifest_fold_split(fold_ids, speakers, 3)
    assert (split.test, split.validation, split.train) == ([2, 5, 7], [0, 3], [1, 4])
    assert split.speaker_independent and "1 utterances in no fold left out" in split.protocol
    assert not manifest_fold_split(fold_ids, ["a"] * 8, 1).speaker_independent
    with pytest.raises(SplitError, match="3 or more fold numbers"):
        manifest_fold_split([1, 2, 1], ["a", "b", "c"], 1)
    with pytest.raises(SplitError, match="--fold 4: the manifest's folds are 1, 2, 3"):
        manifest_fold_split(fold_ids, speakers, 4)


# -- dispatch and the existing protocols ------------------------------------------------------

def _rows(speakers):
    return [Utterance(f"{i}.wav", str(i), 0, s, "", "", "neu", 0.0, 1.0, 1.0) for i, s in enumerate(speakers)]


def test_corpus_split_dispatch_and_fold_counts():
    speakers = utterance_speakers()
    rows = _rows(speakers)
    assert corpus_split("speaker-kfold", rows, fold=2, folds=4, seed=1) == speaker_kfold_split(speakers, 4, 2, 1)
    assert corpus_split("leave-one-speaker-out", rows, fold=5) == leave_one_speaker_out_split(speakers, 5)
    assert corpus_fold_count("speaker-kfold", rows, folds=4) == 4
    assert corpus_fold_count("leave-one-speaker-out", rows) == len(SPEAKERS)
    assert corpus_fold_count("official", rows) == 1
    assert set(CORPUS_PROTOCOLS) == {"speaker-kfold", "leave-one-speaker-out", "official", "manifest-folds"}
    with pytest.raises(SplitError, match="needs a fold count"):
        corpus_split("speaker-kfold", rows, fold=1)
    with pytest.raises(SplitError, match="needs a fold"):
        corpus_split("leave-one-speaker-out", rows)
    with pytest.raises(SplitError, match="unknown protocol 'loso'"):
        corpus_split("loso", rows, fold=1)


def test_every_split_says_whether_it_is_speaker_independent():
    iemocap = [f"{s}{g}" for s in range(1, 6) for g in "FM" for _ in range(3)]
    rng = np.random.RandomState(0)
    assert not make_split("paper", iemocap, rng).speaker_independent
    assert not make_split("811", iemocap, np.random.RandomState(0)).speaker_independent
    for protocol in ("loso", "loso-speaker"):
        for fold in range(1, FOLD_COUNTS[protocol] + 1):
            split = make_split(protocol, iemocap, rng, fold=fold)
            assert split.speaker_independent and speaker_independent(iemocap, split)
    assert pair_split(iemocap, "1F", "3M").speaker_independent
    # the computed flag agrees with the random split being speaker-dependent
    paper = make_split("paper", iemocap, np.random.RandomState(0))
    assert shared_speakers(iemocap, paper) and not speaker_independent(iemocap, paper)
