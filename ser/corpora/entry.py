"""What the toolkit knows about one corpus, in one :class:`Corpus` entry, and the registry of them.

Each corpus module (``iemocap``, ``emodb``, ``ravdess``, ...) declares its entry and calls
:func:`register` at import; ``ser.corpora`` imports every corpus module, so importing any part
of the package fills the registry. Everything else that depends on the corpus (the command
line's ``--corpus`` choices and help, layout detection, the label sets a corpus may use, its
default protocol, where its root comes from, its synthetic generator, the titles of reports)
asks the registry instead of keeping a table of its own; a new corpus is one module and one
import line (docs/design.md, "Adding a corpus").

This module imports nothing of the corpus modules, so the label sets (``ser.corpora.labels``)
and the readers can both import it.
"""
from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ser.corpora.rows import CorpusError, CorpusScan


@dataclass(frozen=True)
class LabelSet:
    """A map from label tokens to class indices, with the classes' names in index order."""
    classes: Mapping[str, int]
    names: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    """Every fact about one corpus layout (see docs/design.md, "Adding a corpus")."""
    name: str                                   # registry name: --corpus NAME, result-file names
    title: str                                  # as its authors write it, for messages and tables
    layout: str                                 # one line: what the reader expects under the root
    scan: Callable[..., CorpusScan]             # root (+ reader options) -> the Utterance rows
    looks_like: Callable[[pathlib.Path], bool]  # cheap signature check: a few names near the root
    label_sets: tuple[str, ...]                 # the label sets valid on it, its default first
    check_root: Callable[..., pathlib.Path] | None = None  # the root checked with its own message (None: a folder)
    own_label_sets: Mapping[str, LabelSet] = field(default_factory=dict)  # the sets it defines
    default_protocol: str | None = None         # --protocol when none is given (None: the tree decides)
    archive_folders: tuple[str, ...] = ()       # regexes of the folder its archive unpacks to
    official_split: bool = False                # it defines its own train/validation/test partition
    session_speakers: bool = False              # speakers are IEMOCAP's ids 1F..5M (loso, speaker pairs)
    environment: str | None = None              # environment variable holding its root when --data is absent
    path_setting: str | None = None             # the variable of the repository's path.py holding its root
    subsets: tuple[str, ...] = ()               # the subsets -i chooses from (IEMOCAP's impro/script/all)
    reader_flags: Mapping[str, str] = field(default_factory=dict)  # reader keyword -> RunConfig field
    synthetic: str | None = None                # "module:function" writing a synthetic tree of this layout


_REGISTRY: dict[str, Corpus] = {}


def register(entry: Corpus) -> Corpus:
    """Add ``entry`` to the registry (a second entry of the same name replaces the first)."""
    _REGISTRY[entry.name] = entry
    return entry


def names() -> tuple[str, ...]:
    """The registered corpora's names, in registration order."""
    return tuple(_REGISTRY)


def entries() -> tuple[Corpus, ...]:
    """The registered corpora, in registration order."""
    return tuple(_REGISTRY.values())


def corpus(name: str) -> Corpus:
    """The entry of corpus ``name``; CorpusError listing the registered ones when unknown."""
    if name not in _REGISTRY:
        raise CorpusError(f"unknown corpus {name!r}; choose one of: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def title(name: str | None) -> str:
    """The corpus's title, or ``name`` itself when it is not registered (an older result file's)."""
    return _REGISTRY[name].title if name in _REGISTRY else str(name)


class FactView(Mapping):
    """A live, read-only ``{corpus name: fact}`` view of the registry (``TITLES``, ``LAYOUTS``, ...):
    it follows every later :func:`register`, so no table of corpus facts is kept anywhere else."""

    def __init__(self, fact: Callable[[Corpus], object]):
        self._fact = fact

    def __getitem__(self, name: str):
        return self._fact(_REGISTRY[name])

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(_REGISTRY))

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return repr(dict(self))
