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

    from ser.protocols.splits import make_split
    split = make_split("loso", [u.speaker for u in utterances], rng, fold=3)

The protocols above are IEMOCAP's. Any corpus (``ser.corpora.registry``) also has the protocols of
:data:`CORPUS_PROTOCOL_DESCRIPTIONS`, built by :func:`corpus_split` from its rows:

- ``speaker-kfold``: the corpus's speakers dealt into K folds in a seeded order, so fold
  sizes differ by at most one speaker; fold K tests its speakers and the speakers of fold
  K+1 (fold 1 after fold K) are the validation set; the rest train. With K = 2 there is no
  third fold, so the other fold is halved: the first half of its speakers (in the seeded
  order, rounded down) validates and the rest trains. The folds depend on ``seed`` only, not
  on the run's generator, so every run and every fold of a seed use the same speaker folds.
- ``leave-one-speaker-out``: one fold per speaker, in sorted id order; the next speaker in
  that order (the first after the last) validates, every other speaker trains.
- ``official``: the corpus's own train/validation/test partition (``Utterance.official_split``),
  refused for a corpus without one or without a validation part.
- ``manifest-folds``: the folds a folder manifest assigns (its ``fold`` column, read into
  ``Utterance.session``); fold K tests, the next fold number validates, the rest train.

Utterances whose speaker is unknown (id "") are left out of the speaker protocols, since
they could be anyone. :attr:`Split.speaker_independent` says whether the three parts share
no speaker: false for ``paper`` and ``811`` (random utterance splits), true for the speaker
protocols, computed from the rows for ``official`` and ``manifest-folds`` (false too where a
part holds an utterance of an unknown speaker, since then nobody can tell).

Each of these protocols registers its entry at the end of this module (``ser.protocols.base.Protocol``:
the split, its folds, the corpora it fits, how results name and the report captions it), which
``ser.protocols.registry`` reads; seed 004's speaker pairs are runs of no entry.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ser.corpora import Utterance
from ser.corpora.iemocap import SPEAKER_ID
from ser.protocols.base import CorpusFacts, Protocol, Split, SplitError, SplitInput, register

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
# Seed 004's --val_id/--test_id with two speakers that are not session partners (partners are
# a loso-speaker fold): a single split, named after its speakers (see pair_protocol).
PAIR_PROTOCOL = re.compile(rf"pair-val{SPEAKER_ID.pattern}-test{SPEAKER_ID.pattern}")
# (validation speaker, test speaker) of loso-speaker folds 1..10, in seed 004's order: each test
# speaker is validated on the other speaker of its session.
SPEAKER_FOLDS = tuple((f"{s}{v}", f"{s}{t}") for s in range(1, SESSION_COUNT + 1) for v, t in (("F", "M"), ("M", "F")))


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
                 protocol=f"{PROTOCOL_DESCRIPTIONS[protocol]} [{where}]", name=protocol, fold=fold,
                 speaker_independent=True)


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
    return Split(train=train, test=test, validation=validation, name="speaker-pair", speaker_independent=True,
                 protocol=(f"speaker pair: validation speaker {validation_speaker} selects the epoch, test speaker "
                           f"{test_speaker} scored once, the other speakers train (seed 004's train_ser.py)"))


# -- protocols for any corpus -------------------------------------------------------------------

CORPUS_PROTOCOL_DESCRIPTIONS = {
    "speaker-kfold": ("speaker-kfold: K folds of whole speakers (seeded order, sizes differ by at most one); "
                      "fold K tests its speakers, the speakers of the next fold (half of them with K = 2) are the "
                      "validation set that selects the best epoch, the rest train; test scored once"),
    "leave-one-speaker-out": ("leave-one-speaker-out: one fold per speaker in sorted id order; the next speaker "
                              "is the validation set that selects the best epoch, the rest train; test speaker "
                              "scored once"),
    "official": ("official: the corpus's own train/validation/test partition; best epoch selected on "
                 "validation, test scored once"),
    "manifest-folds": ("manifest-folds: the folds of the corpus manifest's fold column; fold K tests, the next "
                       "fold is the validation set that selects the best epoch, the rest train; test scored once"),
}
CORPUS_PROTOCOLS = tuple(CORPUS_PROTOCOL_DESCRIPTIONS)
DEFAULT_SPEAKER_FOLDS = 5  # speaker-kfold's K unless --folds says otherwise


def shared_speakers(speakers: Sequence[str], split: Split) -> list[str]:
    """Known speakers (id not "") that have utterances in more than one part of ``split``, sorted."""
    parts = [{speakers[i] for i in part} - {""} for part in (split.train, split.validation, split.test)]
    return sorted((parts[0] & parts[1]) | (parts[0] & parts[2]) | (parts[1] & parts[2]))


def speaker_independent(speakers: Sequence[str], split: Split) -> bool:
    """True if no speaker is in two parts of ``split``; false too when a part holds an
    utterance of an unknown speaker (id ""), since then it cannot be known."""
    used = [*split.train, *split.validation, *split.test]
    return not shared_speakers(speakers, split) and all(speakers[i] for i in used)


def _checked(name: str, fold: int | None, where: str, train: list[int], validation: list[int], test: list[int],
             speakers: Sequence[str], left_out: int, independent: bool | None = None) -> Split:
    """The Split, after refusing an empty part; the description says where it stands."""
    for part, members in (("test", test), ("validation", validation), ("training", train)):
        if not members:
            raise SplitError(f"{name}{f' fold {fold}' if fold else ''}: no {part} utterances ({where})")
    unknown = f"; {left_out} utterances of unknown speakers left out" if left_out else ""
    split = Split(train=train, test=sorted(test), validation=sorted(validation), name=name, fold=fold,
                  protocol=f"{CORPUS_PROTOCOL_DESCRIPTIONS[name]} [{where}{unknown}]")
    return replace(split, speaker_independent=speaker_independent(speakers, split) if independent is None
                   else independent)


def speaker_folds(speakers: Sequence[str], folds: int, seed: int = 0) -> list[list[str]]:
    """The known speakers (id not "") dealt into ``folds`` folds: sorted, permuted by
    ``np.random.RandomState(seed)``, then dealt round-robin, so fold sizes differ by at most one."""
    known = sorted(set(speakers) - {""})
    if len(known) < 2:
        raise SplitError(f"speaker-kfold deals whole speakers into folds and needs 2 or more speakers with known ids; "
                         f"these utterances have {len(known)}{f' ({known[0]})' if known else ''}: use --protocol "
                         "paper or 811 (random utterance splits)")
    if not 2 <= folds <= len(known):
        raise SplitError(f"--folds {folds}: speaker-kfold needs 2..{len(known)} folds for the {len(known)} speakers "
                         "with known ids in these utterances")
    order = [known[i] for i in np.random.RandomState(seed).permutation(len(known))]
    return [order[k::folds] for k in range(folds)]


def speaker_kfold_split(speakers: Sequence[str], folds: int, fold: int, seed: int = 0) -> Split:
    """Fold ``fold`` (from 1) of ``speaker-kfold`` with ``folds`` folds (see the module doc)."""
    groups = speaker_folds(speakers, folds, seed)
    if not 1 <= fold <= folds:
        raise SplitError(f"--fold {fold}: speaker-kfold with {folds} folds has folds 1..{folds}")
    test_speakers = set(groups[fold - 1])
    other = groups[fold % folds]
    validation_speakers = set(other if folds > 2 else other[:len(other) // 2])
    test = [i for i, s in enumerate(speakers) if s in test_speakers]
    validation = [i for i, s in enumerate(speakers) if s in validation_speakers]
    train = [i for i, s in enumerate(speakers) if s and s not in test_speakers | validation_speakers]
    where = (f"fold {fold} of {folds}, seed {seed}: test {len(test_speakers)} speakers, validation "
             f"{len(validation_speakers)} speakers")
    return _checked("speaker-kfold", fold, where, train, validation, test, speakers, speakers.count(""),
                    independent=True)


def leave_one_speaker_out_split(speakers: Sequence[str], fold: int) -> Split:
    """Fold ``fold`` (from 1) of ``leave-one-speaker-out``: the fold-th speaker in sorted id order tests."""
    known = sorted(set(speakers) - {""})
    if len(known) < 3:
        raise SplitError(f"leave-one-speaker-out needs 3 or more speakers with known ids, these utterances have "
                         f"{len(known)}")
    if not 1 <= fold <= len(known):
        raise SplitError(f"--fold {fold}: leave-one-speaker-out over {len(known)} speakers has folds 1..{len(known)}")
    test_speaker, validation_speaker = known[fold - 1], known[fold % len(known)]
    test = [i for i, s in enumerate(speakers) if s == test_speaker]
    validation = [i for i, s in enumerate(speakers) if s == validation_speaker]
    train = [i for i, s in enumerate(speakers) if s and s not in (test_speaker, validation_speaker)]
    where = f"fold {fold} of {len(known)}: test {test_speaker}, validation {validation_speaker}"
    return _checked("leave-one-speaker-out", fold, where, train, validation, test, speakers, speakers.count(""),
                    independent=True)


def official_split(official: Sequence[str], speakers: Sequence[str]) -> Split:
    """The corpus's own partition: one value of train/validation/test/"" per utterance
    (``Utterance.official_split``); utterances with "" are in no part."""
    if not any(official):
        raise SplitError("these utterances have no official split (the corpus defines none); use speaker-kfold "
                         "or leave-one-speaker-out")
    parts = {name: [i for i, part in enumerate(official) if part == name] for name in ("train", "validation", "test")}
    if not parts["validation"]:
        raise SplitError("the official split has no validation part to select the epoch on; use speaker-kfold")
    where = ", ".join(f"{name} {len(members)}" for name, members in parts.items())
    left = sum(not part for part in official)
    return _checked("official", None, where + (f", in no part {left}" if left else ""), parts["train"],
                    parts["validation"], parts["test"], speakers, 0)


def manifest_fold_split(fold_ids: Sequence[int], speakers: Sequence[str], fold: int) -> Split:
    """Fold ``fold`` of the folds given per utterance (``Utterance.session`` of a folder
    manifest with a fold column; 0 is in no fold): the fold after ``fold`` (in number
    order, the first after the last) validates."""
    numbers = sorted(set(fold_ids) - {0})
    if len(numbers) < 3:
        raise SplitError(f"manifest-folds needs 3 or more fold numbers in the manifest's fold column, found "
                         f"{len(numbers)}")
    if fold not in numbers:
        raise SplitError(f"--fold {fold}: the manifest's folds are {', '.join(map(str, numbers))}")
    next_fold = numbers[(numbers.index(fold) + 1) % len(numbers)]
    test = [i for i, f in enumerate(fold_ids) if f == fold]
    validation = [i for i, f in enumerate(fold_ids) if f == next_fold]
    train = [i for i, f in enumerate(fold_ids) if f not in (0, fold, next_fold)]
    unassigned = sum(f == 0 for f in fold_ids)
    where = (f"fold {fold} of {len(numbers)}: validation fold {next_fold}"
             + (f"; {unassigned} utterances in no fold left out" if unassigned else ""))
    return _checked("manifest-folds", fold, where, train, validation, test, speakers, 0)


def corpus_fold_count(protocol: str, rows: Sequence[Utterance], folds: int | None = None) -> int:
    """How many folds ``protocol`` of :data:`CORPUS_PROTOCOLS` has on ``rows``."""
    if protocol == "speaker-kfold":
        if folds is None:
            raise SplitError("speaker-kfold needs a fold count (--folds K)")
        return folds
    if protocol == "leave-one-speaker-out":
        return len({u.speaker for u in rows} - {""})
    if protocol == "manifest-folds":
        return len({u.session for u in rows} - {0})
    if protocol == "official":
        return 1
    raise SplitError(f"unknown protocol {protocol!r}; choose one of: {', '.join(CORPUS_PROTOCOLS)}")


def corpus_split(protocol: str, rows: Sequence[Utterance], fold: int | None = None, folds: int | None = None,
                 seed: int = 0) -> Split:
    """The split of ``protocol`` (one of :data:`CORPUS_PROTOCOLS`) over ``rows``; ``folds``
    and ``seed`` are speaker-kfold's fold count and fold seed. ``manifest-folds`` folds are
    the manifest's fold numbers."""
    speakers = [u.speaker for u in rows]
    if protocol == "official":
        return official_split([u.official_split for u in rows], speakers)
    corpus_fold_count(protocol, rows, folds)  # refuses an unknown protocol or a missing fold count
    if fold is None:
        raise SplitError(f"protocol {protocol!r} needs a fold (--fold K)")
    if protocol == "speaker-kfold":
        return speaker_kfold_split(speakers, folds, fold, seed)
    if protocol == "leave-one-speaker-out":
        return leave_one_speaker_out_split(speakers, fold)
    return manifest_fold_split([u.session for u in rows], speakers, fold)


# -- the entries (ser.protocols.base.Protocol) -----------------------------------------------------

RANDOM_SPLIT = "no (a random utterance split)"


def _iemocap_split(protocol: str):
    def split(given: SplitInput) -> Split:
        return make_split(protocol, given.speakers, given.rng, given.split_rate, given.fold)
    return split


def _corpus_split(protocol: str):
    def split(given: SplitInput) -> Split:
        return corpus_split(protocol, given.rows, given.fold, given.folds, given.fold_seed)
    return split


def _needs_iemocap_speakers(protocol: str):
    def fits(facts: CorpusFacts) -> str | None:
        return None if facts.iemocap_speakers else (f"{protocol} follows IEMOCAP's sessions and speakers "
                                                    "(iemocap, emodb)")
    return fits


def _needs_speakers(protocol: str):
    def fits(facts: CorpusFacts) -> str | None:
        return None if facts.speakers else (f"{protocol} needs speakers; this folder corpus names none (add a speaker "
                                            "column to its manifest)")
    return fits


def _needs_official_split(facts: CorpusFacts) -> str | None:
    return None if facts.official_split else ("official needs the corpus's own partition (ESD, MSP-Podcast, a folder "
                                              f"manifest's split column); {facts.title} has none")


def _needs_manifest_folds(facts: CorpusFacts) -> str | None:
    return None if facts.manifest_folds else "manifest-folds needs a folder manifest with a fold column"


register(Protocol("paper", "random 80/20 split, epoch chosen on test (the paper's tables; IEMOCAP's and emoDB's "
                  "default)", PAPER_PROTOCOL, _iemocap_split("paper"), results_folder="", in_result_names=False,
                  speaker_independent=RANDOM_SPLIT, paper_tables=True, identity_settings=("split_rate",)))
register(Protocol("811", "random 8:1:1 train/validation/test", PROTOCOL_DESCRIPTIONS["811"], _iemocap_split("811"),
                  results_folder="split811", speaker_independent=RANDOM_SPLIT, paper_tables=True,
                  identity_settings=("split_rate",)))
register(Protocol("loso", "leave one IEMOCAP session out (5 folds)", PROTOCOL_DESCRIPTIONS["loso"],
                  _iemocap_split("loso"), fits=_needs_iemocap_speakers("loso"), fold_count=FOLD_COUNTS["loso"],
                  speaker_independent="yes", paper_tables=True))
register(Protocol("loso-speaker", "leave one IEMOCAP speaker out (10 folds)", PROTOCOL_DESCRIPTIONS["loso-speaker"],
                  _iemocap_split("loso-speaker"), fits=_needs_iemocap_speakers("loso-speaker"),
                  fold_count=FOLD_COUNTS["loso-speaker"], speaker_independent="yes", paper_tables=True))
register(Protocol("speaker-kfold", "--folds K folds of whole speakers", CORPUS_PROTOCOL_DESCRIPTIONS["speaker-kfold"],
                  _corpus_split("speaker-kfold"), fits=_needs_speakers("speaker-kfold"), fold_count=None,
                  folds_flag=True, speaker_independent="yes", identity_settings=("folds", "fold_seed")))
register(Protocol("leave-one-speaker-out", "one fold per speaker",
                  CORPUS_PROTOCOL_DESCRIPTIONS["leave-one-speaker-out"], _corpus_split("leave-one-speaker-out"),
                  fits=_needs_speakers("leave-one-speaker-out"), fold_count=None,
                  fold_numbers=lambda given: list(range(1, corpus_fold_count("leave-one-speaker-out", given.rows) + 1)),
                  speaker_independent="yes"))
register(Protocol("official", "the corpus's own partition (ESD, MSP-Podcast, a manifest's split)",
                  CORPUS_PROTOCOL_DESCRIPTIONS["official"], _corpus_split("official"), fits=_needs_official_split,
                  follows_corpus_parts=True))
register(Protocol("manifest-folds", "a manifest's fold column", CORPUS_PROTOCOL_DESCRIPTIONS["manifest-folds"],
                  _corpus_split("manifest-folds"), fits=_needs_manifest_folds, fold_count=None,
                  fold_numbers=lambda given: sorted({u.session for u in given.rows} - {0}), follows_corpus_parts=True))
