"""The MSP-Podcast reader: the MSP-Podcast corpus (Lotfian & Busso 2019) as
``ser.corpora.Utterance`` rows, with its official partition.

Layout read (the corpus's release)::

    ROOT/Audios/MSP-PODCAST_<podcast>_<segment>.wav     16 kHz segments (older releases: Audio/)
    ROOT/Labels/labels_consensus.csv                    one row per segment

ROOT may also be the folder holding one release folder as the corpus ships it
(``MSP-PODCAST-Publish-1.11/``, any version): that folder is then read.

``labels_consensus.csv`` has the columns FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID,
Gender and Split_Set; only FileName, EmoClass, SpkrID, Gender and Split_Set are read. The
consensus classes are A (angry), S (sad), H (happy), U (surprise), F (fear), D (disgust), C
(contempt), N (neutral), O (other) and X (no agreement among the raters). O and X rows are
kept with the tokens "oth" and "xxx", as IEMOCAP's are; no label set trains on them.

Rows: ``speaker`` the SpkrID ("" where the corpus says "Unknown": several unknown speakers
may be one person or many, so speaker-disjoint protocols leave them out); ``session`` and
``dialog`` the podcast number of the name; ``kind`` "impro" (spontaneous speech); ``gender``
from Gender ("Male"/"Female", else ""). ``official_split`` follows Split_Set: Train ->
train, Development -> validation, and one of the two test sets -> test. The corpus has two:
Test1 is the set most results are reported on, Test2 a second set of other speakers chosen
differently. ``test_set`` (default "Test1") names the one that is the test part; the other,
and the unlabelled challenge set Test3 should its rows appear, get "" (in no official part;
a speaker protocol still uses them).

Rows without a wav, wavs without a row, unknown EmoClass or Split_Set values, second rows for
a file and unreadable or empty wavs are listed as skipped; a labels file that is missing, or
lacks one of the five columns read, is a CorpusError.

    from ser import msppodcast
    scan = msppodcast.scan_msppodcast("/data/MSP-Podcast")
"""
from __future__ import annotations

import csv
import io
import os
import pathlib
import re

from ser.corpora.entry import Corpus, LabelSet, register
from ser.corpora.rows import (
    R_NO_LABEL,
    R_NO_WAV,
    CorpusError,
    CorpusScan,
    Utterance,
    corpus_folder,
    how_to_point,
    list_wavs,
    probe_wav,
    unpacked_folder,
)

EMOTIONS = {"A": "ang", "S": "sad", "H": "hap", "U": "sur", "F": "fea", "D": "dis", "C": "con", "N": "neu",
            "O": "oth", "X": "xxx"}
SPLITS = {"Train": "train", "Development": "validation"}
TEST_SETS = ("Test1", "Test2")
SPLIT_SETS = (*SPLITS, *TEST_SETS, "Test3")
AUDIO_DIRS = ("Audios", "Audio")
LABELS = pathlib.PurePosixPath("Labels/labels_consensus.csv")
COLUMNS = ("FileName", "EmoClass", "SpkrID", "Gender", "Split_Set")
SEXES = {"Male": "M", "Female": "F"}
UNKNOWN_SPEAKER = "Unknown"
# The folder a release ships in (MSP-PODCAST-Publish-1.11, ...).
ARCHIVE_FOLDERS = (r"MSP-PODCAST-Publish-[0-9.]+",)

_PODCAST = re.compile(r"MSP-PODCAST_(\d+)_\d+", re.IGNORECASE)

R_UNKNOWN_CLASS = "unknown EmoClass code"
R_UNKNOWN_SPLIT = "unknown Split_Set value"
R_DUPLICATE = "second labels row for this file (first kept)"
R_DUPLICATE_WAV = "second file with this name (first kept)"
R_SHORT_ROW = "labels row with missing fields"

_LAYOUT = ("an MSP-Podcast folder holding Audios/ (wavs named like MSP-PODCAST_0001_0008.wav) and "
           "Labels/labels_consensus.csv")


def looks_like_msppodcast(root: os.PathLike | str) -> bool:
    """True if ``root`` holds ``Labels/labels_consensus.csv``."""
    return (pathlib.Path(root) / LABELS).is_file()


def _audio_dir(path: pathlib.Path) -> pathlib.Path:
    for name in AUDIO_DIRS:
        if (path / name).is_dir():
            return path / name
    raise CorpusError(f"{path} has no {' or '.join(AUDIO_DIRS)} folder of wavs; expected {_LAYOUT}; "
                      f"{how_to_point('msppodcast')}")


def _read_rows(path: pathlib.Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of every labels row; CorpusError if the file is missing or lacks a column."""
    labels = path / LABELS
    try:
        text = labels.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        nested = sorted(p for p in path.iterdir() if p.is_dir() and looks_like_msppodcast(p))
        hint = f" (did you mean {nested[0]}?)" if nested else ""
        raise CorpusError(f"{path} is not an MSP-Podcast tree: no {LABELS}{hint}; expected {_LAYOUT}; "
                          f"{how_to_point('msppodcast')}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"{labels} cannot be read ({error}); expected {_LAYOUT}") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise CorpusError(f"{labels} lacks the column(s) {', '.join(missing)} (header: {reader.fieldnames}); "
                          f"expected a header with {', '.join(COLUMNS)}")
    return [(lineno, row) for lineno, row in enumerate(reader, 2)]


def scan_msppodcast(root: str | os.PathLike, test_set: str = "Test1") -> CorpusScan:
    """Every labelled MSP-Podcast segment with audio (sorted by path); never writes to the corpus.

    ``test_set`` ("Test1" or "Test2") is the test part of the official split.
    """
    if test_set not in TEST_SETS:
        raise CorpusError(f"test set {test_set!r} is not one of MSP-Podcast's {', '.join(TEST_SETS)}")
    path = unpacked_folder(corpus_folder(root, "msppodcast", "MSP-Podcast", _LAYOUT), ARCHIVE_FOLDERS,
                           looks_like_msppodcast)
    rows = _read_rows(path)
    audio = _audio_dir(path)
    skipped: list[tuple[str, str]] = []
    wavs: dict[str, pathlib.Path] = {}
    for wav in list_wavs(audio):
        if wav.name[:-4] in wavs:
            skipped.append((wav.relative_to(path).as_posix(), R_DUPLICATE_WAV))
        else:
            wavs[wav.name[:-4]] = wav
    utterances: list[Utterance] = []
    used: set[str] = set()
    for lineno, row in rows:
        where = f"{LABELS}:{lineno}"
        if any(row.get(c) is None for c in COLUMNS):
            skipped.append((where, R_SHORT_ROW))
            continue
        name = row["FileName"].strip()
        stem = name[:-4] if name.lower().endswith(".wav") else name
        if stem in used:
            skipped.append((f"{name} ({where})", R_DUPLICATE))
            continue
        code, part = row["EmoClass"].strip(), row["Split_Set"].strip()
        if code not in EMOTIONS:
            skipped.append((f"{name} ({where})", R_UNKNOWN_CLASS))
            continue
        if part not in SPLIT_SETS:
            skipped.append((f"{name} ({where})", R_UNKNOWN_SPLIT))
            continue
        used.add(stem)
        wav = wavs.get(stem)
        if wav is None:
            skipped.append((name, R_NO_WAV))
            continue
        rel = wav.relative_to(path).as_posix()
        duration = probe_wav(wav)
        if isinstance(duration, str):
            skipped.append((rel, duration))
            continue
        speaker = row["SpkrID"].strip()
        podcast = _PODCAST.fullmatch(stem)
        utterances.append(Utterance(
            rel, stem, int(podcast.group(1)) if podcast else 0, "" if speaker == UNKNOWN_SPEAKER else speaker,
            podcast.group(1) if podcast else "", "impro", EMOTIONS[code], 0.0, duration, duration,
            gender=SEXES.get(row["Gender"].strip(), ""),
            official_split=SPLITS.get(part, "test" if part == test_set else "")))
    skipped.extend((wav.relative_to(path).as_posix(), R_NO_LABEL) for stem, wav in sorted(wavs.items())
                   if stem not in used)
    utterances.sort(key=lambda u: u.path)
    if not utterances:
        raise CorpusError(f"no labelled MSP-Podcast segment with readable audio under {path} ({len(skipped)} "
                          f"items skipped); expected {_LAYOUT}")
    return CorpusScan(path, utterances, skipped, corpus="msppodcast")


CORPUS = register(Corpus(
    name="msppodcast", title="MSP-Podcast", layout="MSP-Podcast: Audios/ and Labels/labels_consensus.csv",
    scan=scan_msppodcast, looks_like=looks_like_msppodcast, label_sets=("msppodcast", "shared4"),
    own_label_sets={"msppodcast": LabelSet({"ang": 0, "sad": 1, "hap": 2, "sur": 3, "fea": 4, "dis": 5, "con": 6,
                                            "neu": 7},
                                           ("angry", "sad", "happy", "surprise", "fear", "disgust", "contempt",
                                            "neutral"))},
    default_protocol="official", archive_folders=ARCHIVE_FOLDERS, official_split=True,
    synthetic="ser.synthetic.synth_corpora:generate_msppodcast"))
