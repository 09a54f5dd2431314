"""The CREMA-D reader: the Crowd-sourced Emotional Multimodal Actors Dataset (Cao et al.
2014) as ``ser.corpora.Utterance`` rows.

Layout read (the corpus's GitHub repository or its download)::

    ROOT/AudioWAV/AAAA_SSS_EEE_LL.wav     7442 files of 91 actors
    ROOT/VideoDemographics.csv            "ActorID","Age","Sex","Race","Ethnicity"

ROOT may also be the folder holding the repository as a clone names it (``CREMA-D/``) or as
GitHub's zip of it unpacks (``CREMA-D-master/``, ``CREMA-D-main/``): that folder is then read.

A name gives the actor (1001-1091), the sentence (one of :data:`SENTENCES`), the intended
emotion (ANG, DIS, FEA, HAP, NEU, SAD) and its level (LO, MD, HI, or XX unspecified). The
label is the intended emotion, as usual for this corpus (the crowd ratings are not read).

Rows: ``speaker`` is the actor id ("1001") and ``session`` its number; ``dialog`` the
sentence code; ``kind`` "script"; ``gender`` from the demographics file's Sex column
("Male"/"Female"; "" for an actor it does not list); ``official_split`` "" (CREMA-D defines
no split, so speaker-disjoint folds come from ``ser.protocols.splits``). A missing or unreadable
demographics file leaves every gender unknown and is listed in ``skipped``, as are names
off the convention, unknown codes, second copies of a name and unreadable or empty wavs.

    from ser import cremad
    scan = cremad.scan_cremad("/data/CREMA-D")
"""
from __future__ import annotations

import csv
import io
import os
import pathlib
import re

from ser.corpora.entry import Corpus, LabelSet, register
from ser.corpora.rows import (
    CorpusError,
    CorpusScan,
    Utterance,
    corpus_folder,
    how_to_point,
    list_wavs,
    probe_wav,
    unpacked_folder,
)

EMOTIONS = {"ANG": "ang", "DIS": "dis", "FEA": "fea", "HAP": "hap", "NEU": "neu", "SAD": "sad"}
SENTENCES = ("DFA", "IEO", "IOM", "ITH", "ITS", "IWL", "IWW", "MTI", "TAI", "TIE", "TSI", "WSI")
LEVELS = ("LO", "MD", "HI", "XX")
ACTOR_IDS = range(1001, 1092)
AUDIO_DIR = "AudioWAV"
DEMOGRAPHICS = "VideoDemographics.csv"
SEXES = {"Male": "M", "Female": "F"}
# The folder a clone of the repository, or GitHub's zip of it, puts the corpus in.
ARCHIVE_FOLDERS = (r"CREMA-D(?:-master|-main)?",)

_NAME = re.compile(r"(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.wav", re.IGNORECASE)

R_BAD_NAME = "name does not follow CREMA-D's AAAA_SSS_EEE_LL.wav"
R_UNKNOWN_CODE = "unknown CREMA-D actor, sentence, emotion or level code"
R_DUPLICATE = "second file with this name (first kept)"
R_NO_DEMOGRAPHICS = "no readable VideoDemographics.csv with ActorID and Sex columns (genders unknown)"

_LAYOUT = (f"a CREMA-D folder holding {AUDIO_DIR}/ with wavs named like 1001_DFA_ANG_XX.wav "
           f"and {DEMOGRAPHICS}")


def parse_name(name: str) -> tuple[str, str, str, str] | None:
    """(actor id, sentence, label token, level) of a CREMA-D wav name, None if off the convention
    or a code is unknown."""
    m = _NAME.fullmatch(name)
    if m is None:
        return None
    actor, sentence, emotion, level = (group.upper() for group in m.groups())
    if int(actor) not in ACTOR_IDS or sentence not in SENTENCES or emotion not in EMOTIONS or level not in LEVELS:
        return None
    return actor, sentence, EMOTIONS[emotion], level


def read_genders(path: pathlib.Path) -> dict[str, str] | None:
    """Actor id -> "F"/"M" from a demographics file, None if it is missing, unreadable or
    lacks the ActorID/Sex columns. Rows with another Sex value are left out."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    reader = csv.DictReader(io.StringIO(text))
    if not {"ActorID", "Sex"} <= set(reader.fieldnames or ()):
        return None
    return {row["ActorID"].strip(): SEXES[row["Sex"].strip()] for row in reader
            if row["ActorID"] and row["Sex"] and row["Sex"].strip() in SEXES}


def looks_like_cremad(root: os.PathLike | str) -> bool:
    """True if ``root`` has an ``AudioWAV`` folder holding a CREMA-D-named wav."""
    folder = pathlib.Path(root) / AUDIO_DIR
    return folder.is_dir() and any(_NAME.fullmatch(w.name) for w in list_wavs(folder, recursive=False))


def scan_cremad(root: str | os.PathLike) -> CorpusScan:
    """Every CREMA-D utterance under ``root``/AudioWAV (sorted by path); never writes to it."""
    path = unpacked_folder(corpus_folder(root, "cremad", "CREMA-D", _LAYOUT), ARCHIVE_FOLDERS, looks_like_cremad)
    audio = path / AUDIO_DIR
    if not audio.is_dir():
        hint = f" (did you mean {path.parent}?)" if path.name == AUDIO_DIR else ""
        raise CorpusError(f"{path} is not a CREMA-D tree: no {AUDIO_DIR} folder{hint}; expected {_LAYOUT}; "
                          f"{how_to_point('cremad')}")
    skipped: list[tuple[str, str]] = []
    genders = read_genders(path / DEMOGRAPHICS)
    if genders is None:
        skipped.append((DEMOGRAPHICS, R_NO_DEMOGRAPHICS))
        genders = {}
    utterances: list[Utterance] = []
    seen: set[str] = set()
    for wav in list_wavs(audio):
        rel = wav.relative_to(path).as_posix()
        if _NAME.fullmatch(wav.name) is None:
            skipped.append((rel, R_BAD_NAME))
            continue
        parsed = parse_name(wav.name)
        if parsed is None:
            skipped.append((rel, R_UNKNOWN_CODE))
            continue
        stem = wav.name[:-4]
        if stem in seen:
            skipped.append((rel, R_DUPLICATE))
            continue
        seen.add(stem)
        duration = probe_wav(wav)
        if isinstance(duration, str):
            skipped.append((rel, duration))
            continue
        actor, sentence, label, _ = parsed
        utterances.append(Utterance(rel, stem, int(actor), actor, sentence, "script", label,
                                    0.0, duration, duration, gender=genders.get(actor, "")))
    if not utterances:
        raise CorpusError(f"no CREMA-D utterance with readable audio under {audio} ({len(skipped)} items "
                          f"skipped); expected {_LAYOUT}")
    return CorpusScan(path, utterances, skipped, corpus="cremad")


CORPUS = register(Corpus(
    name="cremad", title="CREMA-D",
    layout="CREMA-D: AudioWAV/ of wavs named like 1001_DFA_ANG_XX.wav, and VideoDemographics.csv",
    scan=scan_cremad, looks_like=looks_like_cremad, label_sets=("cremad", "shared4"),
    own_label_sets={"cremad": LabelSet({"ang": 0, "dis": 1, "fea": 2, "hap": 3, "neu": 4, "sad": 5},
                                       ("angry", "disgust", "fear", "happy", "neutral", "sad"))},
    default_protocol="speaker-kfold", archive_folders=ARCHIVE_FOLDERS,
    synthetic="ser.synthetic.synth_corpora:generate_cremad"))
