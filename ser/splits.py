"""Which utterances train, which select the epoch, and which test: the evaluation protocols.

``paper`` is the protocol of the GLAM paper's main tables: a random 80/20
utterance split drawn with numpy's legacy generator right after seeding it with the run
seed, over the utterances long enough for one segment, in sorted path order. Speakers appear
on both sides, and the reported epoch is chosen on the test set; results produced with it say
so. Splits return index lists and never touch features.

Beside it, three protocols choose the epoch on a validation set and score the test set once
(the original's test-set selection is optimistic):

- ``811``: the paper's last table, a random 8:1:1 train/validation/test utterance split. The
  paper never published its code; here the training part is exactly the ``paper`` split of
  the same seed and the remaining fifth is halved at random into validation and test, so the
  two protocols differ only in how the epoch is chosen and what is scored. Speakers still
  appear on all sides.
- ``loso``: leave one session out, 5 folds. Fold K tests on Session K. Validation is one
  speaker of the next session (Session K+1, Session 1 after Session 5), the female speaker
  for odd K and the male one for even K, so the held-out gender alternates over the folds;
  the other 7 speakers train. No speaker is in two parts.
- ``loso-speaker``: leave one speaker out, 10 folds in seed 004's order (1M, 1F, 2M, 2F, ...,
  5F). The test speaker's session partner is the validation set, the other 4 sessions train.

Seed 004's ``--val_id``/``--test_id`` may also name two speakers of different sessions: one
split (:func:`pair_split`) whose protocol is named ``pair-val<V>-test<T>``.

Folds are numbered from 1 (``train.py --fold K``). Speaker ids are ``<session><F|M>`` as in
``ser.corpora.Utterance.speaker``.

    from ser.splits import make_split
    split = make_split("loso", [u.speaker for u in utterances], rng, fold=3)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ser.errors import UserError

PAPER_PROTOCOL = ("paper: random utterance-level split (speakers shared between train and "
                  "test), best epoch selected on the test set, as in the GLAM paper")

PROTOCOL_DESCRIPTIONS = {
    "paper": PAPER_PROTOCOL,
    "811": ("811: random utterance-level 8:1:1 train/validation/test split (speakers shared), "
            "best epoch selected on validation, test scored once, as in the GLAM paper's last table"),
    "loso": ("loso: leave one session out (5 folds); validation = one speaker of the next session "
             "(female for odd folds, male for even), best epoch selected on validation, "
             "test session scored once"),
    "loso-speaker": ("loso-speaker: leave one speaker out (10 folds); validation = the other "
                     "speaker of the test speaker's session (as seed 004), best epoch selected on "
                     "validation, test speaker scored once"),
}
PROTOCOLS = tuple(PROTOCOL_DESCRIPTIONS)
SESSION_COUNT = 5
FOLD_COUNTS = {"paper": 1, "811": 1, "loso": SESSION_COUNT, "loso-speaker": 2 * SESSION_COUNT}
SPEAKER_ID = re.compile(r"[1-5][FM]")
# Seed 004's --val_id/--test_id with two speakers that are not session partners (partners are
# a loso-speaker fold): a single split, named after its speakers (see pair_protocol).
PAIR_PROTOCOL = re.compile(rf"pair-val{SPEAKER_ID.pattern}-test{SPEAKER_ID.pattern}")
# (validation speaker, test speaker) of loso-speaker folds 1..10, in seed 004's order: each test
# speaker is validated on the other speaker of its session.
SPEAKER_FOLDS = tuple((f"{s}{v}", f"{s}{t}") for s in range(1, SESSION_COUNT + 1) for v, t in (("F", "M"), ("M", "F")))


class SplitError(UserError, ValueError):
    """A protocol cannot be applied to these utterances; the message says why."""


@dataclass(frozen=True)
class Split:
    train: list[int]  # in the order the original builds its training array
    test: list[int]   # sorted
    protocol: str
    validation: list[int] = field(default_factory=list)  # sorted; empty: the epoch is chosen on test
    name: str = "paper"
    fold: int | None = None


def paper_split(n: int, rng: np.random.RandomState, split_rate: float = 0.8) -> Split:
    """``rng.choice(n, int(n * split_rate), replace=False)`` for training, the rest for testing.

    ``rng`` must be the run's legacy RandomState straight after seeding, as in the original,
    whose later mixup draws continue from the same stream.
    """
    train = [int(i) for i in rng.choice(n, int(n * split_rate), replace=False)]
    chosen = set(train)
    return Split(train=train, test=[i for i in range(n) if i not in chosen], protocol=PAPER_PROTOCOL)


def split_811(n: int, rng: np.random.RandomState, split_rate: float = 0.8) -> Split:
    """The ``paper`` training set of this seed; the rest halved at random into validation and test.

    With the default ``split_rate`` that is 8:1:1; validation gets the smaller half when the
    rest is odd.
    """
    paper = paper_split(n, rng, split_rate)
    order = rng.permutation(len(paper.test))
    cut = len(paper.test) // 2
    validation = sorted(paper.test[i] for i in order[:cut])
    test = sorted(paper.test[i] for i in order[cut:])
    return Split(train=paper.train, test=test, validation=validation,
                 protocol=PROTOCOL_DESCRIPTIONS["811"], name="811")


def fold_count(protocol: str) -> int:
    """How many folds ``protocol`` has (1 for the single-split protocols)."""
    if protocol not in FOLD_COUNTS:
        raise SplitError(f"unknown protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}")
    return FOLD_COUNTS[protocol]


def pair_protocol(validation_speaker: str, test_speaker: str) -> str:
    """The protocol name of a speaker pair that is no loso-speaker fold (matches PAIR_PROTOCOL)."""
    return f"pair-val{validation_speaker}-test{test_speaker}"


def fold_speakers(protocol: str, fold: int) -> tuple[list[str], str]:
    """(test speakers, validation speaker) of fold ``fold`` (from 1) of ``loso``/``loso-speaker``."""
    count = fold_count(protocol)
    if count == 1:
        raise SplitError(f"protocol {protocol!r} has no folds")
    if not 1 <= fold <= count:
        raise SplitError(f"--fold {fold}: protocol {protocol!r} has folds 1..{count}")
    if protocol == "loso":
        next_session = fold % SESSION_COUNT + 1
        return [f"{fold}F", f"{fold}M"], f"{next_session}{'F' if fold % 2 else 'M'}"
    session = (fold + 1) // 2
    test, partner = ("M", "F") if fold % 2 else ("F", "M")
    return [f"{session}{test}"], f"{session}{partner}"


def speaker_split(protocol: str, speakers: list[str], fold: int) -> Split:
    """Fold ``fold`` of a speaker-independent protocol over utterances spoken by ``speakers``."""
    test_speakers, validation_speaker = fold_speakers(protocol, fold)
    test = [i for i, s in enumerate(speakers) if s in test_speakers]
    validation = [i for i, s in enumerate(speakers) if s == validation_speaker]
    train = [i for i, s in enumerate(speakers) if s not in test_speakers and s != validation_speaker]
    for part, members in (("test", test), ("validation", validation), ("training", train)):
        if not members:
            raise SplitError(f"{protocol} fold {fold}: no {part} utterances (test speakers "
                             f"{'+'.join(test_speakers)}, validation speaker {validation_speaker}); "
                             "this protocol needs all 10 IEMOCAP speakers in the chosen subset")
    where = (f"fold {fold} of {fold_count(protocol)}: test {'+'.join(test_speakers)}, "
             f"validation {validation_speaker}")
    return Split(train=train, test=test, validation=validation,
                 protocol=f"{PROTOCOL_DESCRIPTIONS[protocol]} [{where}]", name=protocol, fold=fold)


def make_split(protocol: str, speakers: list[str], rng: np.random.RandomState,
               split_rate: float = 0.8, fold: int | None = None) -> Split:
    """The split of ``protocol`` over utterances spoken by ``speakers`` (one id per utterance).

    ``paper`` and ``811`` draw from ``rng`` (the run's generator straight after seeding);
    the speaker protocols draw nothing and need ``fold``.
    """
    if protocol == "paper":
        return paper_split(len(speakers), rng, split_rate)
    if protocol == "811":
        return split_811(len(speakers), rng, split_rate)
    if fold is None:
        raise SplitError(f"protocol {protocol!r} needs a fold (1..{fold_count(protocol)})")
    return speaker_split(protocol, speakers, fold)


def fold_of(validation_speaker: str, test_speaker: str) -> int | None:
    """The fold number (1-10) of a session-partner pair, None for any other pair."""
    pair = (validation_speaker, test_speaker)
    return SPEAKER_FOLDS.index(pair) + 1 if pair in SPEAKER_FOLDS else None


def pair_split(speakers: list[str], validation_speaker: str, test_speaker: str) -> Split:
    """Train on every speaker but the two, validate on one, test on the other (train_ser.py)."""
    if validation_speaker == test_speaker:
        raise SplitError(f"--val_id and --test_id are both {test_speaker}; choose two different speakers")
    test = [i for i, s in enumerate(speakers) if s == test_speaker]
    validation = [i for i, s in enumerate(speakers) if s == validation_speaker]
    train = [i for i, s in enumerate(speakers) if s not in (test_speaker, validation_speaker)]
    known = ", ".join(sorted(set(speakers)))
    for part, members, who in (("test", test, test_speaker), ("validation", validation, validation_speaker),
                               ("training", train, "the other speakers")):
        if not members:
            raise SplitError(f"no {part} utterances ({who}); speakers with usable utterances: {known}")
    return Split(train=train, test=test, validation=validation, name="speaker-pair",
                 protocol=(f"speaker pair: validation speaker {validation_speaker} selects the epoch, test speaker "
                           f"{test_speaker} scored once, the other speakers train (seed 004's train_ser.py)"))
