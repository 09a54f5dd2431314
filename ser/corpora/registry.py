"""The corpus readers by name, and which one a tree calls for.

The registry itself is ``ser.corpora.entry`` (each corpus module registers its :class:`Corpus`
entry; ``ser.corpora`` imports them all); this module reads it. Every reader takes the corpus
root and returns a ``ser.corpora.CorpusScan`` of the same ``Utterance`` rows; :data:`LAYOUTS`
says in one line what each expects.

    from ser.corpora import registry
    name = registry.detect("/data/RAVDESS")          # "ravdess"
    scan = registry.scan(name, "/data/RAVDESS")

:func:`detect` only looks at a corpus's signature (a few names near the root, nothing is
read): IEMOCAP's Session folders, emoDB-named wavs in the root or ``wav/``, RAVDESS's
``Actor_XX`` folders, CREMA-D's ``AudioWAV``, ESD's speaker/emotion folders, MSP-Podcast's
``Labels/labels_consensus.csv``, and for "folder" a manifest or label folders all named by
known emotions (label folders with other names need ``--corpus folder``). A tree matching
no signature, or several, is a CorpusError that lists the layouts or the candidates.

A corpus is also found one folder down where its own archive puts it (:data:`ARCHIVE_FOLDERS`:
``IEMOCAP_full_release/``, RAVDESS's ``Audio_Speech_Actors_01-24/``, ``CREMA-D/``, ESD's
``Emotion Speech Dataset/``, ``MSP-PODCAST-Publish-<version>/``; emoDB's zip unpacks its
``wav/`` in the root, which its reader reads), and each reader then reads that folder.
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Mapping

from ser.corpora.entry import Corpus, FactView, corpus, entries, names, register, title
from ser.corpora.rows import CorpusError, CorpusScan, corpus_folder, unpacked_folder

__all__ = ["ARCHIVE_FOLDERS", "CORPORA", "LAYOUTS", "SIGNATURES", "TITLES", "Corpus", "corpus", "detect", "entries",
           "guess", "matches", "names", "register", "scan", "title"]

# Live views of the registered entries (ser.corpora.entry), for the callers that read one fact of
# every corpus: each follows a later register().
CORPORA: Mapping[str, Callable[..., CorpusScan]] = FactView(lambda c: c.scan)
# The corpora's names as their authors write them, for messages and tables.
TITLES: Mapping[str, str] = FactView(lambda c: c.title)
LAYOUTS: Mapping[str, str] = FactView(lambda c: c.layout)
SIGNATURES: Mapping[str, Callable[[pathlib.Path], bool]] = FactView(lambda c: c.looks_like)
# The folders (regular expressions, any letter case) each corpus's own archive unpacks to.
ARCHIVE_FOLDERS: Mapping[str, tuple[str, ...]] = FactView(lambda c: c.archive_folders)


def _layouts() -> str:
    return "; ".join(f"{name}: {layout}" for name, layout in LAYOUTS.items())


def matches(root: str | os.PathLike, unpacked: bool = False) -> list[str]:
    """Every corpus whose signature ``root`` shows, in registry order; with ``unpacked``, those
    it shows one folder down, in the folder the corpus's archive unpacks to, instead."""
    path = pathlib.Path(root)
    if not unpacked:
        return [c.name for c in entries() if c.looks_like(path)]
    return [c.name for c in entries()
            if c.archive_folders and not c.looks_like(path)
            and c.looks_like(unpacked_folder(path, c.archive_folders, c.looks_like))]


def guess(root: str | os.PathLike) -> str | None:
    """The corpus ``root`` shows, for a command line that names none: IEMOCAP whenever its
    signature is there, else the one layout it shows (in its archive's folder when it shows
    none itself); None when it shows none (or is no folder), so that the caller's default
    reader explains what it expected. Several layouts at once are a CorpusError that lists them."""
    path = pathlib.Path(root).expanduser()
    if not path.is_dir():
        return None
    found = matches(path) or matches(path, unpacked=True)
    if "iemocap" in found or not found:
        return "iemocap" if found else None
    if len(found) > 1:
        raise CorpusError(f"{path} looks like several corpora ({', '.join(found)}); choose one with --corpus NAME")
    return found[0]


def detect(root: str | os.PathLike) -> str:
    """The one corpus layout ``root`` shows; CorpusError when it shows none or several."""
    path = corpus_folder(root, "NAME", "corpus", f"one of: {_layouts()}")
    found = matches(path) or matches(path, unpacked=True)
    if len(found) == 1:
        return found[0]
    if found:
        raise CorpusError(f"{path} looks like several corpora ({', '.join(found)}); choose one with --corpus NAME")
    nested = sorted(f"{p} ({', '.join(m)})" for p in path.iterdir()
                    if p.is_dir() and not p.name.startswith(".") and (m := matches(p)))
    hint = f"; did you mean {nested[0]}?" if nested else ""
    raise CorpusError(f"{path} matches no known corpus layout{hint}; expected one of: {_layouts()}; "
                      "pass --corpus NAME if the layout is right but not recognised")


def scan(name: str, root: str | os.PathLike, **options) -> CorpusScan:
    """Read corpus ``name`` at ``root`` with its reader (``options`` go to the reader)."""
    return corpus(name).scan(root, **options)
