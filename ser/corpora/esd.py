"""The ESD reader: the Emotional Speech Dataset (Zhou et al. 2021) as ``ser.corpora.Utterance``
rows, with the corpus's own train/evaluation/test partition.

Layout read (the corpus's download, extracted)::

    ROOT/<speaker>/<Emotion>/<part>/<speaker>_<NNNNNN>.wav    part: train, evaluation, test
    ROOT/<speaker>/<speaker>.txt                              transcripts (not read)

ROOT may also be the folder holding ``Emotion Speech Dataset/`` (the folder the download's
zip unpacks to) or ``Emotional Speech Dataset (ESD)/`` (the zip's own name): that folder is
then read.

Speakers 0001-0010 speak Mandarin, 0011-0020 English; the emotions are Neutral, Angry,
Happy, Sad and Surprise. Each speaker reads 350 parallel sentences per emotion, numbered
in one run per speaker: Neutral 000001-000350, Angry 000351-000700, Happy 000701-001050,
Sad 001051-001400, Surprise 001401-001750. The partition is given by the ``<part>`` folder:
within each emotion's 350 the first 20 are ``evaluation``, the next 30 ``test`` and the
last 300 ``train``. Copies that dropped the part folders (``ROOT/<speaker>/<Emotion>/*.wav``)
are read too, the part then following from the number by that same rule.

Rows: ``speaker`` "0001".."0020", ``session`` its number; ``dialog`` the language and the
sentence's number within its emotion ("zh001".."zh350", "en001".."en350"; the same number is
the same text in every emotion); ``kind`` "script"; ``gender`` from the speaker table the
download's readme gives (:data:`GENDERS`); ``official_split`` train / validation (the
``evaluation`` part) / test. Wavs elsewhere in the tree, unknown speaker or emotion folders,
names off ``<speaker>_<NNNNNN>.wav``, a name whose speaker or number disagrees with its
folders, second copies and unreadable or empty wavs are listed as skipped.

    from ser import esd
    scan = esd.scan_esd("/data/ESD")
"""
from __future__ import annotations

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

EMOTIONS = {"Neutral": "neu", "Angry": "ang", "Happy": "hap", "Sad": "sad", "Surprise": "sur"}
SPEAKERS = tuple(f"{n:04d}" for n in range(1, 21))
GENDERS = {"0001": "F", "0002": "F", "0003": "F", "0004": "M", "0005": "M", "0006": "M", "0007": "F",
           "0008": "M", "0009": "F", "0010": "M", "0011": "M", "0012": "M", "0013": "M", "0014": "M",
           "0015": "F", "0016": "F", "0017": "F", "0018": "F", "0019": "F", "0020": "M"}
PER_EMOTION = 350
# The corpus's part folders and the official split each stands for.
PARTS = {"train": "train", "evaluation": "validation", "test": "test"}
# First and last position (1-350) of each part within an emotion's sentences.
PART_POSITIONS = {"evaluation": (1, 20), "test": (21, 50), "train": (51, 350)}

# The folder the download's zip unpacks to, and the zip's own name (an unzip tool's folder).
ARCHIVE_FOLDERS = (r"Emotion Speech Dataset", r"Emotional Speech Dataset \(ESD\)")

_NAME = re.compile(r"(\d{4})_(\d{6})\.wav", re.IGNORECASE)

R_BAD_PLACE = "wav not at <speaker>/<Emotion>/[train|evaluation|test]/"
R_UNKNOWN_SPEAKER = "unknown ESD speaker folder"
R_UNKNOWN_EMOTION = "unknown ESD emotion folder"
R_BAD_NAME = "name does not follow ESD's <speaker>_<NNNNNN>.wav"
R_MISMATCH = "speaker or number in the name disagrees with its folders"
R_DUPLICATE = "second file with this name (first kept)"

_LAYOUT = ("an ESD folder holding speaker folders 0001..0020, each with Neutral/Angry/Happy/Sad/Surprise "
           "folders of wavs named like 0011_000351.wav (in train/evaluation/test sub-folders or directly)")


def language(speaker: str) -> str:
    """"zh" for the Mandarin speakers 0001-0010, "en" for the English ones 0011-0020."""
    return "zh" if int(speaker) <= 10 else "en"


def emotion_of_number(number: int) -> str | None:
    """The emotion folder an utterance number (1-1750) belongs to, None outside the range."""
    if not 1 <= number <= PER_EMOTION * len(EMOTIONS):
        return None
    return list(EMOTIONS)[(number - 1) // PER_EMOTION]


def part_of_number(number: int) -> str:
    """The part folder (train, evaluation, test) an utterance number falls in."""
    position = (number - 1) % PER_EMOTION + 1
    return next(part for part, (first, last) in PART_POSITIONS.items() if first <= position <= last)


def looks_like_esd(root: os.PathLike | str) -> bool:
    """True if ``root`` holds an ESD speaker folder with an emotion folder (not recursive)."""
    path = pathlib.Path(root)
    return any((path / s / e).is_dir() for s in SPEAKERS for e in EMOTIONS)


def _place(parts: tuple[str, ...]) -> tuple[str, str, str | None] | str:
    """(speaker, emotion folder, part folder or None) of a wav's relative path, else the reason."""
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[2] not in PARTS):
        return R_BAD_PLACE
    if parts[0] not in SPEAKERS:
        return R_UNKNOWN_SPEAKER
    if parts[1] not in EMOTIONS:
        return R_UNKNOWN_EMOTION
    return parts[0], parts[1], parts[2] if len(parts) == 4 else None


def scan_esd(root: str | os.PathLike) -> CorpusScan:
    """Every ESD utterance under ``root`` (sorted by path) with its official part; never writes to it."""
    path = unpacked_folder(corpus_folder(root, "esd", "ESD", _LAYOUT), ARCHIVE_FOLDERS, looks_like_esd)
    if not looks_like_esd(path):
        nested = sorted(p for p in path.iterdir() if p.is_dir() and looks_like_esd(p))
        hint = f" (did you mean {nested[0]}?)" if nested else ""
        raise CorpusError(f"{path} is not an ESD tree: no speaker folder 0001..0020 with emotion folders{hint}; "
                          f"expected {_LAYOUT}; {how_to_point('esd')}")
    skipped: list[tuple[str, str]] = []
    utterances: list[Utterance] = []
    seen: set[str] = set()
    for wav in list_wavs(path):
        relpath = wav.relative_to(path)
        rel = relpath.as_posix()
        place = _place(relpath.parts)
        if isinstance(place, str):
            skipped.append((rel, place))
            continue
        speaker, emotion, part = place
        m = _NAME.fullmatch(wav.name)
        if m is None:
            skipped.append((rel, R_BAD_NAME))
            continue
        number = int(m.group(2))
        if m.group(1) != speaker or emotion_of_number(number) != emotion:
            skipped.append((rel, R_MISMATCH))
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
        text = f"{language(speaker)}{(number - 1) % PER_EMOTION + 1:03d}"
        split = PARTS[part or part_of_number(number)]
        utterances.append(Utterance(rel, stem, int(speaker), speaker, text, "script", EMOTIONS[emotion],
                                    0.0, duration, duration, gender=GENDERS[speaker], official_split=split))
    if not utterances:
        raise CorpusError(f"no ESD utterance with readable audio under {path} ({len(skipped)} files skipped); "
                          f"expected {_LAYOUT}")
    return CorpusScan(path, utterances, skipped, corpus="esd")


CORPUS = register(Corpus(
    name="esd", title="ESD", layout="ESD: speaker folders 0001..0020 with Neutral/Angry/Happy/Sad/Surprise folders",
    scan=scan_esd, looks_like=looks_like_esd, label_sets=("esd", "shared4"),
    own_label_sets={"esd": LabelSet({"neu": 0, "ang": 1, "hap": 2, "sad": 3, "sur": 4},
                                    ("neutral", "angry", "happy", "sad", "surprise"))},
    default_protocol="official", archive_folders=ARCHIVE_FOLDERS, official_split=True,
    synthetic="ser.synthetic.synth_corpora:generate_esd"))
