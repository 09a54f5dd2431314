"""Corpora: from a corpus tree on disk to :class:`Utterance` rows, never writing to the tree.

Holds the rows every reader gives (``rows``: :class:`Utterance`, :class:`CorpusScan`, the
manifest), the label sets that map a corpus's emotion tokens to classes (``labels``), one
module per corpus layout (``iemocap``, ``emodb``, ``ravdess``, ``cremad``, ``esd``,
``msppodcast``, ``folder``), each declaring and registering its :class:`~ser.corpora.entry.Corpus`
entry (``entry``: every fact of a corpus), the functions that read the registry and find which
corpus a tree shows (``registry``), and IEMOCAP's manifest and rename tool (``prepare``). The
import line below registers the corpora; a new corpus adds its module to it. It may import only
``ser.errors`` and ``ser.io``: it is the first stage, and every later one reads its rows.
This module is the stage's interface: the rows, the manifest and the registry's functions.
"""
# Importing a corpus module registers its entry: one import per corpus, in registry order.
from ser.corpora import iemocap, emodb, ravdess, cremad, esd, msppodcast, folder  # noqa: F401, I001
from ser.corpora.labels import CLASS_NAMES, LABEL_SETS
from ser.corpora.registry import CORPORA, LAYOUTS, TITLES, detect, guess, scan
from ser.corpora.rows import (
    GENDERS,
    LEGACY_MANIFEST_FIELDS,
    MANIFEST_FIELDS,
    OFFICIAL_SPLITS,
    R_EMPTY,
    R_NO_LABEL,
    R_NO_WAV,
    R_UNREADABLE,
    CorpusError,
    CorpusScan,
    Utterance,
    corpus_folder,
    format_skipped,
    list_wavs,
    probe_wav,
    read_manifest,
    unpacked_folder,
    write_manifest,
)

__all__ = [
    "CLASS_NAMES", "CORPORA", "GENDERS", "LABEL_SETS", "LAYOUTS", "LEGACY_MANIFEST_FIELDS", "MANIFEST_FIELDS",
    "OFFICIAL_SPLITS", "R_EMPTY", "R_NO_LABEL", "R_NO_WAV", "R_UNREADABLE", "TITLES", "CorpusError", "CorpusScan",
    "Utterance", "corpus_folder", "detect", "format_skipped", "guess", "list_wavs", "probe_wav", "read_manifest",
    "scan", "unpacked_folder", "write_manifest",
]
