"""The RAVDESS reader: the speech part of the Ryerson Audio-Visual Database of Emotional
Speech and Song (Livingstone & Russo 2018) as ``ser.corpora.Utterance`` rows.

Layout read (the Zenodo file ``Audio_Speech_Actors_01-24.zip``, extracted)::

    ROOT/Actor_01 .. Actor_24/MM-VV-EE-II-SS-RR-AA.wav     1440 files, 60 per actor

ROOT may also be the folder holding ``Audio_Speech_Actors_01-24/`` (any letter case), the
folder an extraction named after the zip makes: that folder is then read.

The seven two-digit fields of a name are modality (03 audio-only), vocal channel (01
speech, 02 song), emotion (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07
disgust, 08 surprised), intensity (01 normal, 02 strong; neutral has no strong one),
statement (01 "Kids are talking by the door", 02 "Dogs are sitting by the door"), repetition
(01, 02) and actor (01-24; odd actors are male, even ones female).

Rows: ``speaker`` is the actor's two digits ("01".."24") and ``session`` their number;
``dialog`` the statement ("statement1", "statement2"); ``kind`` "script" (acted, read
statements); ``label`` a shared token (:data:`EMOTIONS`); ``gender`` from the actor's
parity; ``official_split`` "" (RAVDESS defines none). Song recordings (channel 02, a separate
download) are listed as skipped, as are names off the convention, codes outside the lists
above, an actor code that disagrees with its ``Actor_XX`` folder, a second copy of a name,
and unreadable or empty wavs.

    from ser import ravdess
    scan = ravdess.scan_ravdess("/data/RAVDESS")
"""
from __future__ import annotations

import os
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

EMOTIONS = {"01": "neu", "02": "cal", "03": "hap", "04": "sad", "05": "ang", "06": "fea", "07": "dis", "08": "sur"}
ACTORS = 24
SPEECH_FILES = 1440

_NAME = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav", re.IGNORECASE)
_ACTOR_DIR = re.compile(r"Actor_(\d\d)")

R_BAD_NAME = "name does not follow RAVDESS's MM-VV-EE-II-SS-RR-AA.wav"
R_SONG = "song recording (only speech is read)"
R_UNKNOWN_CODE = "unknown RAVDESS code in the name"
R_ACTOR_MISMATCH = "actor code disagrees with its Actor_XX folder"
R_DUPLICATE = "second file with this name (first kept)"

# The folder the extracted zip sits in when an unzip tool names it after the archive.
ARCHIVE_FOLDERS = ("Audio_Speech_Actors_01-24",)

_LAYOUT = ("a RAVDESS speech folder holding Actor_01..Actor_24, each with wavs named like "
           "03-01-05-01-02-01-12.wav (the extracted Audio_Speech_Actors_01-24.zip)")


def parse_name(name: str) -> tuple[str, str, int, str] | str:
    """(actor id, label token, statement, intensity) of a speech file name, else the skip reason."""
    m = _NAME.fullmatch(name)
    if m is None:
        return R_BAD_NAME
    modality, channel, emotion, intensity, statement, repetition, actor = m.groups()
    if modality == "03" and channel == "02":
        return R_SONG
    known = (modality == "03" and channel == "01" and emotion in EMOTIONS and intensity in ("01", "02")
             and statement in ("01", "02") and repetition in ("01", "02") and 1 <= int(actor) <= ACTORS)
    if not known or (emotion == "01" and intensity == "02"):
        return R_UNKNOWN_CODE
    return actor, EMOTIONS[emotion], int(statement), intensity


def looks_like_ravdess(root: os.PathLike | str) -> bool:
    """True if ``root`` holds an ``Actor_XX`` folder with a RAVDESS-named wav (not recursive)."""
    folder = os.fspath(root)
    if not os.path.isdir(folder):
        return False
    actors = sorted(e.path for e in os.scandir(folder) if e.is_dir() and _ACTOR_DIR.fullmatch(e.name))
    return any(_NAME.fullmatch(w.name) for actor in actors for w in list_wavs(actor, recursive=False))


def scan_ravdess(root: str | os.PathLike) -> CorpusScan:
    """Every RAVDESS speech utterance under ``root`` (sorted by path); never writes to it."""
    path = unpacked_folder(corpus_folder(root, "ravdess", "RAVDESS", _LAYOUT), ARCHIVE_FOLDERS, looks_like_ravdess)
    if not looks_like_ravdess(path):
        nested = sorted(p for p in path.iterdir() if p.is_dir() and looks_like_ravdess(p))
        hint = f" (did you mean {nested[0]}?)" if nested else ""
        raise CorpusError(f"{path} is not a RAVDESS tree: no Actor_XX folder with RAVDESS wavs{hint}; "
                          f"expected {_LAYOUT}; {how_to_point('ravdess')}")
    skipped: list[tuple[str, str]] = []
    utterances: list[Utterance] = []
    seen: set[str] = set()
    for wav in list_wavs(path):
        rel = wav.relative_to(path).as_posix()
        parsed = parse_name(wav.name)
        if isinstance(parsed, str):
            skipped.append((rel, parsed))
            continue
        actor, label, statement, _ = parsed
        folder = _ACTOR_DIR.fullmatch(wav.parent.name)
        if folder is not None and folder.group(1) != actor:
            skipped.append((rel, R_ACTOR_MISMATCH))
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
        utterances.append(Utterance(rel, stem, int(actor), actor, f"statement{statement}", "script", label,
                                    0.0, duration, duration, gender="M" if int(actor) % 2 else "F"))
    if not utterances:
        raise CorpusError(f"no RAVDESS utterance with readable audio under {path} ({len(skipped)} files "
                          f"skipped); expected {_LAYOUT}")
    return CorpusScan(path, utterances, skipped, corpus="ravdess")


CORPUS = register(Corpus(
    name="ravdess", title="RAVDESS",
    layout="RAVDESS speech: Actor_01..Actor_24 folders of wavs named like 03-01-05-01-02-01-12.wav",
    scan=scan_ravdess, looks_like=looks_like_ravdess, label_sets=("ravdess", "shared4"),
    own_label_sets={"ravdess": LabelSet({"neu": 0, "cal": 1, "hap": 2, "sad": 3, "ang": 4, "fea": 5, "dis": 6,
                                         "sur": 7},
                                        ("neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise"))},
    default_protocol="speaker-kfold", archive_folders=ARCHIVE_FOLDERS,
    synthetic="ser.synthetic.synth_corpora:generate_ravdess"))
