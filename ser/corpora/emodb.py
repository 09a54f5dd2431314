"""Seed 004's corpora beside GLAM's: the emoDB reader and seed 004's label sets.

emoDB (Berlin Database of Emotional Speech, Burkhardt et al. 2005)
is 535 wavs of 10 actors reading 10 German sentences in 7 emotions, all in one folder. A file
name ``SSTTTEV.wav`` (e.g. ``03a01Fa.wav``) says the speaker (``SS``), the text (``TTT``), the
emotion letter (index 5) and the version (``V``). Rows come out as the same
``ser.corpora.Utterance`` rows as IEMOCAP's, so features, splits, training and reports are
shared:

- ``speaker``: seed 004 maps the 10 speaker codes onto IEMOCAP-style ids (03→1M, 08→1F,
  09→2F, 10→2M, 11→3M, 12→4M, 13→3F, 14→4F, 15→5M, 16→5F), so ``--val_id/--test_id`` and
  the speaker cross-validation read the same on both corpora; ``session`` is the id's digit
  (a pair of speakers, not a recording session).
- ``dialog``: the text code; ``kind``: ``script`` (read sentences); ``label``: a token of
  :data:`EMOTION_LETTERS`; ``start`` 0 and ``end`` the duration.
- ``gender``: the id's letter (emoDB's five actresses are 08, 09, 13, 14 and 16);
  ``official_split``: "" (emoDB defines no split).

The seed walked the folder recursively but joined each name to the *last* directory walked,
so only a flat folder worked, and it asserted exactly 535 files. Here every ``*.wav``
below the root is found (sorted, ``.wav`` in any case; the usual download keeps them in
``wav/``), names that do not follow the convention are listed as skipped with the reason, and the file count is
checked against 535 unless the caller passes another count (``expected_files``; 0 skips the
check) or the folder is a synthetic corpus (``ser.synthetic.synth_emodb``), whose marker file gives its
own count.

The label sets of seed 004 (``emodb``, and ``seed004``/``seed004exc`` for IEMOCAP) are in
``ser.corpora.labels`` with every other set.

    from ser.corpora import emodb
    scan = emodb.scan_emodb("/data/emodb/wav")
"""
from __future__ import annotations

import os
import pathlib
import re

from ser.corpora.entry import Corpus, LabelSet, register
from ser.corpora.rows import CorpusError, CorpusScan, Utterance, list_wavs, probe_wav

EMODB_FILES = 535
MARKER_NAME = "SYNTHETIC_CORPUS.txt"  # as ser.synthetic.synth; ser.synthetic.synth_emodb writes ``files: N`` in it

EMOTION_LETTERS = {"W": "ang", "L": "bor", "E": "dis", "A": "fea", "F": "hap", "T": "sad", "N": "neu"}
SPEAKER_IDS = {"03": "1M", "08": "1F", "09": "2F", "10": "2M", "11": "3M",
               "12": "4M", "13": "3F", "14": "4F", "15": "5M", "16": "5F"}
TEXTS = ("a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10")

_NAME = re.compile(r"(\d\d)([a-z]\d\d)([A-Z])([a-z])\.wav")

R_BAD_NAME = "name does not follow emoDB's SSTTTEV.wav"
R_UNKNOWN_SPEAKER = "unknown speaker code"
R_UNKNOWN_EMOTION = "unknown emotion letter"
R_DUPLICATE = "second file with this name (first kept)"

_LAYOUT = "a folder holding emoDB's 535 wavs named like 03a01Fa.wav (directly or below it, e.g. in wav/)"


def expected_count(root: pathlib.Path) -> int:
    """535, or the file count a synthetic corpus's marker states."""
    marker = root / MARKER_NAME
    if marker.is_file():
        for line in marker.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(": ")
            if key == "files" and value.strip().isdigit():
                return int(value)
    return EMODB_FILES


def validate_root(root: str | os.PathLike | None) -> pathlib.Path:
    """``root`` as a Path if it is a folder, else CorpusError saying how to point at emoDB."""
    text = os.fspath(root) if root is not None else ""
    if not text.strip():
        raise CorpusError(f"no emoDB location given; pass --data PATH or set EMODB_DIR to {_LAYOUT}")
    path = pathlib.Path(text).expanduser()
    if not path.is_dir():
        raise CorpusError(f"emoDB not found at {path} ({'not a folder' if path.exists() else 'no such folder'}); "
                          f"expected {_LAYOUT}")
    return path


def looks_like_emodb(root: str | os.PathLike) -> bool:
    """True if ``root`` or its ``wav/`` holds a wav named by emoDB's convention (for hints; not
    recursive, so a wrong path to a large tree stays cheap)."""
    path = pathlib.Path(root)
    return any(folder.is_dir() and any(_NAME.fullmatch(_canonical(p.name)) for p in list_wavs(folder, recursive=False))
               for folder in (path, path / "wav"))


def _canonical(name: str) -> str:
    """The name with its suffix in lower case, as emoDB spells it (``.WAV`` copies exist)."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}{dot}{suffix.lower()}" if dot else name


def parse_name(name: str) -> tuple[str, str, str, str] | None:
    """(speaker id, text, label token, version) of ``03a01Fa.wav``-style names, else None."""
    m = _NAME.fullmatch(_canonical(name))
    if m is None or m.group(1) not in SPEAKER_IDS or m.group(3) not in EMOTION_LETTERS:
        return None
    code, text, letter, version = m.groups()
    return SPEAKER_IDS[code], text, EMOTION_LETTERS[letter], version


def scan_emodb(root: str | os.PathLike, expected_files: int | None = None) -> CorpusScan:
    """Every emoDB utterance under ``root`` (sorted by path); never writes to the corpus.

    ``expected_files`` (default: 535, or a synthetic corpus's own count) is checked against
    the number of wavs found, as the seed does; 0 turns the check off.
    """
    path = validate_root(root)
    wavs = list_wavs(path)
    expected = expected_count(path) if expected_files is None else expected_files
    if expected and len(wavs) != expected:
        raise CorpusError(f"found {len(wavs)} wavs under {path}, emoDB has {expected}; check the download "
                          f"(expected {_LAYOUT}), or pass --emodb_files {len(wavs)} (0: no check) to use a "
                          f"subset on purpose")
    skipped: list[tuple[str, str]] = []
    utterances: list[Utterance] = []
    seen: set[str] = set()
    for wav in wavs:
        rel = wav.relative_to(path).as_posix()
        name = _canonical(wav.name)
        m = _NAME.fullmatch(name)
        if m is None:
            skipped.append((rel, R_BAD_NAME))
            continue
        if m.group(1) not in SPEAKER_IDS:
            skipped.append((rel, R_UNKNOWN_SPEAKER))
            continue
        if m.group(3) not in EMOTION_LETTERS:
            skipped.append((rel, R_UNKNOWN_EMOTION))
            continue
        if name in seen:
            skipped.append((rel, R_DUPLICATE))
            continue
        seen.add(name)
        duration = probe_wav(wav)
        if isinstance(duration, str):
            skipped.append((rel, duration))
            continue
        speaker, text, label, _ = parse_name(name)
        utterances.append(Utterance(rel, name[:-4], int(speaker[0]), speaker, text, "script", label,
                                    0.0, duration, duration, gender=speaker[-1]))
    if not utterances:
        raise CorpusError(f"no emoDB utterance with readable audio under {path} ({len(skipped)} files skipped); "
                          f"expected {_LAYOUT}")
    return CorpusScan(path, utterances, skipped, corpus="emodb")


CORPUS = register(Corpus(
    name="emodb", title="emoDB", layout="emoDB's wavs named like 03a01Fa.wav, in the folder or its wav/",
    scan=scan_emodb, looks_like=looks_like_emodb, check_root=validate_root,
    label_sets=("emodb", "shared4"),
    own_label_sets={"emodb": LabelSet({"neu": 0, "hap": 1, "sad": 2, "ang": 3, "bor": 4, "fea": 5, "dis": 6},
                                      ("neutral", "happy", "sad", "angry", "bored", "fear", "disgust"))},
    default_protocol="paper", session_speakers=True, environment="EMODB_DIR",
    reader_flags={"expected_files": "emodb_files"}, synthetic="ser.synthetic.synth_emodb:generate"))
