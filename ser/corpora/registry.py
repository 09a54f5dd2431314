"""The corpus readers by name, and which one a tree calls for.

Every reader takes the corpus root and returns a ``ser.corpora.CorpusScan`` of the same
``Utterance`` rows; :data:`LAYOUTS` says in one line what each expects.

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
from collections.abc import Callable

import ser.corpora.cremad as cremad
import ser.corpora.emodb as emodb
import ser.corpora.esd as esd
import ser.corpora.folder as folder
import ser.corpora.iemocap as iemocap
import ser.corpora.msppodcast as msppodcast
import ser.corpora.ravdess as ravdess
from ser.corpora.rows import CorpusError, CorpusScan, corpus_folder, unpacked_folder

CORPORA: dict[str, Callable[..., CorpusScan]] = {
    "iemocap": iemocap.scan_iemocap,
    "emodb": emodb.scan_emodb,
    "ravdess": ravdess.scan_ravdess,
    "cremad": cremad.scan_cremad,
    "esd": esd.scan_esd,
    "msppodcast": msppodcast.scan_msppodcast,
    "folder": folder.scan_folder,
}

# The corpora's names as their authors write them, for messages and tables.
TITLES = {"iemocap": "IEMOCAP", "emodb": "emoDB", "ravdess": "RAVDESS", "cremad": "CREMA-D", "esd": "ESD",
          "msppodcast": "MSP-Podcast", "folder": "a folder corpus"}

LAYOUTS = {
    "iemocap": "IEMOCAP_full_release with Session1..Session5 (sentences/wav, dialog/EmoEvaluation)",
    "emodb": "emoDB's wavs named like 03a01Fa.wav, in the folder or its wav/",
    "ravdess": "RAVDESS speech: Actor_01..Actor_24 folders of wavs named like 03-01-05-01-02-01-12.wav",
    "cremad": "CREMA-D: AudioWAV/ of wavs named like 1001_DFA_ANG_XX.wav, and VideoDemographics.csv",
    "esd": "ESD: speaker folders 0001..0020 with Neutral/Angry/Happy/Sad/Surprise folders",
    "msppodcast": "MSP-Podcast: Audios/ and Labels/labels_consensus.csv",
    "folder": "any wavs with a manifest.csv/.tsv (path,label[,speaker][,split|fold]) or one folder per label",
}


def _looks_like_iemocap(root: pathlib.Path) -> bool:
    return any((root / session / "sentences" / "wav").is_dir() for session in iemocap.SESSIONS)


SIGNATURES: dict[str, Callable[[pathlib.Path], bool]] = {
    "iemocap": _looks_like_iemocap,
    "emodb": emodb.looks_like_emodb,
    "ravdess": ravdess.looks_like_ravdess,
    "cremad": cremad.looks_like_cremad,
    "esd": esd.looks_like_esd,
    "msppodcast": msppodcast.looks_like_msppodcast,
    "folder": folder.looks_like_folder,
}


# The folders (regular expressions, any letter case) each corpus's own archive unpacks to.
ARCHIVE_FOLDERS: dict[str, tuple[str, ...]] = {
    "iemocap": iemocap.ARCHIVE_FOLDERS, "emodb": (), "ravdess": ravdess.ARCHIVE_FOLDERS,
    "cremad": cremad.ARCHIVE_FOLDERS, "esd": esd.ARCHIVE_FOLDERS, "msppodcast": msppodcast.ARCHIVE_FOLDERS,
    "folder": (),
}


def _layouts() -> str:
    return "; ".join(f"{name}: {layout}" for name, layout in LAYOUTS.items())


def matches(root: str | os.PathLike, unpacked: bool = False) -> list[str]:
    """Every corpus whose signature ``root`` shows, in registry order; with ``unpacked``, those
    it shows one folder down, in the folder the corpus's archive unpacks to, instead."""
    path = pathlib.Path(root)
    if not unpacked:
        return [name for name, looks in SIGNATURES.items() if looks(path)]
    return [name for name, looks in SIGNATURES.items()
            if ARCHIVE_FOLDERS[name] and not looks(path)
            and looks(unpacked_folder(path, ARCHIVE_FOLDERS[name], looks))]


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
    if name not in CORPORA:
        raise CorpusError(f"unknown corpus {name!r}; choose one of: {', '.join(CORPORA)}")
    return CORPORA[name](root, **options)
