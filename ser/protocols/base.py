"""What a protocol is: the :class:`Split` it makes and the :class:`Protocol` entry that holds
every fact about it, registered by name.

A protocol's module builds its entry and calls :func:`register`; ``ser.protocols.registry``
imports those modules (one import line each) and answers the questions the rest of the package
asks: which protocols there are (``train.py --protocol``'s choices and help), whether one fits a
corpus (:class:`CorpusFacts`, known before any row is read), how many folds it has, its split,
the settings that make two of its splits differ, its results folder and result-file name, and
how the report titles and groups it. Splits return index lists and never touch features.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ser.corpora import Utterance
from ser.errors import UserError


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
    speaker_independent: bool = False  # no speaker is in two of train, validation and test
    report: dict | None = field(default=None, compare=False)  # what the split's source could not place (fold files)


@dataclass(frozen=True)
class CorpusFacts:
    """What a protocol may ask of the corpus before its rows are read (``fits``)."""
    name: str                 # the reader's name (ser.corpora.registry)
    title: str                # as its authors write it, for messages
    iemocap_speakers: bool    # speaker ids 1F..5M in five sessions (IEMOCAP; emoDB as seed 004 maps it)
    official_split: bool      # a train/validation/test partition of its own
    manifest_folds: bool      # a folder manifest's fold column
    speakers: bool = True     # speaker ids at all (a folder corpus may name none)


@dataclass(frozen=True)
class SplitInput:
    """Everything a split may use: the usable rows in the run's order and the run's split settings."""
    rows: Sequence[Utterance]
    rng: np.random.RandomState | None = None  # the run's generator straight after seeding
    fold: int | None = None
    folds: int | None = None      # --folds: the fold count of a protocol whose count it sets
    fold_seed: int = 0            # --fold_seed: the seed that deals speakers into folds
    split_rate: float = 0.8
    all_rows: Sequence[Utterance] = ()  # every row the reader found (empty: ``rows``), for fold files
    folds_from: str | None = None
    folds_from_sha256: str = ""
    label_map: Mapping[str, int] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        return [u.speaker for u in self.rows]


def _fits_any(facts: CorpusFacts) -> str | None:
    return None


@dataclass(frozen=True)
class Protocol:
    """Every fact about one protocol (``docs/design.md``, Adding a protocol)."""
    name: str
    summary: str              # one phrase for --help, after "<name>: "
    description: str          # the one line results.json and the report carry
    split: Callable[[SplitInput], Split]
    fits: Callable[[CorpusFacts], str | None] = _fits_any  # None, or why the corpus cannot have it
    fold_count: int | None = 1  # None: the corpus's rows (or --folds) decide
    folds_flag: bool = False    # --folds sets the fold count: named <name><K> in result files
    fold_numbers: Callable[[SplitInput], list[int]] | None = None  # default 1..count
    needs_flag: str = ""        # chosen only with this flag (and what fits lists it after)
    results_folder: str | None = None  # the sweep's folder under RESULTS_DIR (default: the name)
    in_result_names: bool = True       # False: its result files carry no protocol part (the paper's)
    speaker_independent: str | None = None  # the report's caption; None: per run (split.speaker_independent)
    paper_tables: bool = False  # the report sets its IEMOCAP runs beside the paper's tables
    identity_settings: tuple[str, ...] = ()  # the run settings that make two of its splits differ
    follows_corpus_parts: bool = False  # its split follows the rows' official_split/session (digested)

    @property
    def multi_fold(self) -> bool:
        return self.fold_count != 1

    @property
    def folder(self) -> str:
        return self.name if self.results_folder is None else self.results_folder

    def stem_part(self, folds: int | None) -> str:
        """The protocol's part of a result-file name ("" for none)."""
        if not self.in_result_names:
            return ""
        return f"{self.name}{folds}" if self.folds_flag else self.name

    def title(self, folds: int | None) -> str:
        """The report's name for its table."""
        return f"{self.name} (K = {folds})" if self.folds_flag else self.name

    def folds_of(self, given: SplitInput) -> list[int]:
        """Its fold numbers over ``given.rows`` in the order a run without ``--fold`` trains them."""
        if self.fold_numbers is not None:
            return self.fold_numbers(given)
        count = self.fold_count if self.fold_count is not None else given.folds
        if count is None:
            raise SplitError(f"{self.name} needs a fold count (--folds K)")
        return list(range(1, count + 1))


REGISTERED: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    """Add ``protocol`` (registering a name twice is a programming error)."""
    if protocol.name in REGISTERED:
        raise ValueError(f"protocol {protocol.name!r} is registered twice")
    REGISTERED[protocol.name] = protocol
    return protocol
