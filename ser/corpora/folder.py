"""The generic reader: any tree of wavs, labelled by a manifest or by one folder per label.

With a manifest (``ROOT/manifest.csv`` or ``ROOT/manifest.tsv``, or any file passed as
``manifest``), each row names one wav::

    path,label,speaker,split
    audio/s01/take1.wav,angry,s01,train

A header row is required. ``path`` and ``label`` must be there; ``speaker``, ``gender``
and either ``split`` (train / validation / test; valid, val, dev and development also
mean validation) or ``fold`` (a number from 1) may be; other columns are ignored. A path is
relative to the manifest's folder or, failing that, to the root, and must stay inside the
root. A ``.tsv`` manifest is tab-separated, any other comma-separated.

Without a manifest every sub-folder of the root is a label, and every wav below it (at any
depth) an utterance of that label::

    ROOT/angry/*.wav   ROOT/neutral/*.wav   ...

Labels are emotion names in any spelling: ``ser.corpora.labels.normalise_token`` turns "Angry",
"anger" or "ANG" into the shared token "ang" and keeps any other name as its own token.

Rows: ``path`` relative to the root, ``turn`` that path without ``.wav`` (unique), ``speaker``
from the manifest ("" unknown, always without a manifest), ``gender`` F/M from it (female,
male, f, m in any case; "" otherwise), ``official_split`` from ``split`` ("" without one),
``session`` the ``fold`` number (0 without one), ``dialog`` and ``kind`` "". Rows naming no
existing wav, a path outside the root, a bad ``split``/``fold`` value, a second row for a
file, rows with a missing field, wavs no row names, wavs outside any label folder, and
unreadable or empty wavs are listed as skipped. A manifest without a header, with a missing
column or with both split and fold is a CorpusError.

    from ser.corpora import folder
    scan = folder.scan_folder("/data/my_corpus")

:func:`describe` says what a tree offers before any wav is read (the labels it names, and
whether its manifest has speakers, a split or folds), so that a run can choose its classes
and protocol up front.
"""
from __future__ import annotations

import csv
import io
import os
import pathlib
from dataclasses import dataclass

from ser.corpora.entry import Corpus, register
from ser.corpora.labels import FOLDER_LABELS, TOKENS, normalise_token
from ser.corpora.rows import (
    CorpusError,
    CorpusScan,
    Utterance,
    corpus_folder,
    how_to_point,
    is_wav_name,
    list_wavs,
    probe_wav,
)

MANIFEST_NAMES = ("manifest.csv", "manifest.tsv")
REQUIRED = ("path", "label")
OPTIONAL = ("speaker", "gender", "split", "fold")
SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
               "val": "validation", "dev": "validation", "development": "validation", "test": "test", "": ""}
GENDER_NAMES = {"f": "F", "female": "F", "m": "M", "male": "M"}

R_FIELD_COUNT = "manifest row has another number of fields than the header"
R_EMPTY_FIELD = "manifest row without a path or a label"
R_OUTSIDE = "manifest path leads outside the corpus root"
R_MISSING = "manifest row names no existing file"
R_NOT_WAV = "manifest row names a file that is not a .wav"
R_BAD_SPLIT = "unknown split value (train, validation or test)"
R_BAD_FOLD = "fold is not a whole number from 1"
R_DUPLICATE = "second manifest row for this file (first kept)"
R_UNLISTED = "wav file not named in the manifest"
R_NO_LABEL_FOLDER = "wav outside a label folder"

_LAYOUT = ("a folder of wavs with a manifest.csv/manifest.tsv (header row with path and label, optionally "
           "speaker, gender, split or fold) or one sub-folder of wavs per label")


def find_manifest(root: pathlib.Path) -> pathlib.Path | None:
    """The root's manifest file, None without one; CorpusError if both a .csv and a .tsv exist."""
    found = [root / name for name in MANIFEST_NAMES if (root / name).is_file()]
    if len(found) > 1:
        raise CorpusError(f"{root} holds both {' and '.join(p.name for p in found)}; keep one manifest, or pass the "
                          "one to use")
    return found[0] if found else None


def label_folders(root: pathlib.Path) -> list[pathlib.Path]:
    """The root's non-hidden sub-folders that hold a wav at any depth, sorted."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and list_wavs(p))


def looks_like_folder(root: os.PathLike | str) -> bool:
    """True if ``root`` holds a manifest, or two or more label folders all named by a known emotion."""
    path = pathlib.Path(root)
    if not path.is_dir():
        return False
    if any((path / name).is_file() for name in MANIFEST_NAMES):
        return True
    folders = label_folders(path)
    return len(folders) >= 2 and all(normalise_token(p.name) in TOKENS for p in folders)


def _header(fields: list[str] | None, manifest: pathlib.Path) -> dict[str, int]:
    expected = (f"a header row with {' and '.join(REQUIRED)}, optionally {', '.join(OPTIONAL[:-1])} or "
                f"{OPTIONAL[-1]}")
    names = [f.strip().lower() for f in fields or ()]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise CorpusError(f"manifest {manifest} lacks the column(s) {', '.join(missing)} (first row: {fields}); "
                          f"expected {expected}")
    if len(set(names)) != len(names):
        raise CorpusError(f"manifest {manifest} names a column twice ({fields}); expected {expected}")
    if "split" in names and "fold" in names:
        raise CorpusError(f"manifest {manifest} has both a split and a fold column; keep one of them")
    return {name: i for i, name in enumerate(names)}


def _absolute(path: pathlib.Path) -> pathlib.Path:
    """``path`` made absolute with ``..`` resolved lexically (symbolic links are kept, so a
    tree of links to the audio stays usable)."""
    return pathlib.Path(os.path.normpath(path.absolute()))


def _resolve(text: str, manifest: pathlib.Path, root: pathlib.Path) -> pathlib.Path | str:
    """The file a manifest path names (inside the root, absolute), else the skip reason."""
    given = pathlib.PurePosixPath(text.replace("\\", "/"))
    top = _absolute(root)
    bases = list(dict.fromkeys([_absolute(manifest.parent), top]))
    inside = False
    for base in bases:
        candidate = _absolute(base / given)
        if candidate.is_relative_to(top):
            inside = True
            if candidate.is_file():
                return candidate
    return R_MISSING if inside else R_OUTSIDE


def _scan_manifest(root: pathlib.Path, manifest: pathlib.Path, skipped: list[tuple[str, str]]) -> list[Utterance]:
    rows = _manifest_rows(manifest)
    columns = _header(next(rows, None), manifest)
    utterances: list[Utterance] = []
    used: set[pathlib.Path] = set()
    for lineno, row in enumerate(rows, 2):
        where = f"{manifest.name}:{lineno}"
        if not any(field.strip() for field in row):
            continue  # blank line
        if len(row) != len(columns):
            skipped.append((where, R_FIELD_COUNT))
            continue
        value = {name: row[i].strip() for name, i in columns.items()}
        if not value["path"] or not value["label"]:
            skipped.append((where, R_EMPTY_FIELD))
            continue
        wav = _resolve(value["path"], manifest, root)
        if isinstance(wav, str):
            skipped.append((f"{value['path']} ({where})", wav))
            continue
        if not is_wav_name(wav.name):
            skipped.append((f"{value['path']} ({where})", R_NOT_WAV))
            continue
        split = SPLIT_NAMES.get(value.get("split", "").lower())
        if split is None:
            skipped.append((f"{value['path']} ({where})", R_BAD_SPLIT))
            continue
        fold_text = value.get("fold", "")
        if fold_text and not (fold_text.isdigit() and int(fold_text) >= 1):
            skipped.append((f"{value['path']} ({where})", R_BAD_FOLD))
            continue
        if wav in used:
            skipped.append((f"{value['path']} ({where})", R_DUPLICATE))
            continue
        used.add(wav)
        rel = wav.relative_to(_absolute(root)).as_posix()
        duration = probe_wav(wav)
        if isinstance(duration, str):
            skipped.append((rel, duration))
            continue
        utterances.append(Utterance(rel, rel[:-4], int(fold_text or 0), value.get("speaker", ""), "", "",
                                    normalise_token(value["label"]), 0.0, duration, duration,
                                    gender=GENDER_NAMES.get(value.get("gender", "").lower(), ""),
                                    official_split=split))
    skipped.extend((w.relative_to(root).as_posix(), R_UNLISTED) for w in list_wavs(root) if _absolute(w) not in used)
    return utterances


def _scan_label_folders(root: pathlib.Path, skipped: list[tuple[str, str]]) -> list[Utterance]:
    folders = label_folders(root)
    if not folders:
        raise CorpusError(f"{root} has neither a manifest ({' or '.join(MANIFEST_NAMES)}) nor sub-folders of wavs; "
                          f"expected {_LAYOUT}; {how_to_point('folder')}")
    skipped.extend((w.relative_to(root).as_posix(), R_NO_LABEL_FOLDER) for w in list_wavs(root, recursive=False))
    utterances = []
    for folder in folders:
        label = normalise_token(folder.name)
        for wav in list_wavs(folder):
            rel = wav.relative_to(root).as_posix()
            duration = probe_wav(wav)
            if isinstance(duration, str):
                skipped.append((rel, duration))
                continue
            utterances.append(Utterance(rel, rel[:-4], 0, "", "", "", label, 0.0, duration, duration))
    return utterances


@dataclass(frozen=True)
class FolderLayout:
    """What a folder corpus names before any wav is read (:func:`describe`)."""

    manifest: pathlib.Path | None   # None: one folder per label
    tokens: tuple[str, ...]         # the label tokens named, sorted (rows whose wav is missing included)
    speakers: bool                  # a speaker column with at least one value
    split: bool                     # a split column
    fold: bool                      # a fold column


def describe(root: str | os.PathLike, manifest: str | os.PathLike | None = None) -> FolderLayout:
    """The labels and columns of the folder corpus at ``root`` (its manifest, or ``manifest``,
    else its label folders), reading no audio; CorpusError as :func:`scan_folder` for an
    unusable tree or manifest."""
    path = corpus_folder(root, "folder", "audio folder", _LAYOUT)
    chosen = _chosen_manifest(path, manifest)
    if chosen is None:
        folders = label_folders(path)
        if not folders:
            raise CorpusError(f"{path} has neither a manifest ({' or '.join(MANIFEST_NAMES)}) nor sub-folders of "
                              f"wavs; expected {_LAYOUT}; {how_to_point('folder')}")
        return FolderLayout(None, tuple(sorted({normalise_token(p.name) for p in folders})), False, False, False)
    rows = _manifest_rows(chosen)
    columns = _header(next(rows, None), chosen)
    tokens, speakers = set(), False
    for row in rows:
        if len(row) != len(columns):
            continue
        value = {name: row[i].strip() for name, i in columns.items()}
        if value["path"] and value["label"]:
            tokens.add(normalise_token(value["label"]))
            speakers = speakers or bool(value.get("speaker"))
    return FolderLayout(chosen, tuple(sorted(tokens)), speakers, "split" in columns, "fold" in columns)


def _chosen_manifest(path: pathlib.Path, manifest: str | os.PathLike | None) -> pathlib.Path | None:
    if manifest is None:
        return find_manifest(path)
    chosen = pathlib.Path(manifest).expanduser()
    if not chosen.is_file():
        raise CorpusError(f"manifest {chosen} not found; expected a CSV/TSV file with {_LAYOUT}")
    return chosen


def _manifest_rows(manifest: pathlib.Path):
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"manifest {manifest} cannot be read ({error}); expected {_LAYOUT}") from None
    return csv.reader(io.StringIO(text), delimiter="\t" if manifest.suffix.lower() == ".tsv" else ",")


def scan_folder(root: str | os.PathLike, manifest: str | os.PathLike | None = None) -> CorpusScan:
    """Every labelled wav under ``root`` (sorted by path); never writes to the tree.

    ``manifest`` names the manifest file to use (default: the root's manifest.csv/.tsv, or
    label folders when there is none).
    """
    path = corpus_folder(root, "folder", "audio folder", _LAYOUT)
    skipped: list[tuple[str, str]] = []
    chosen = _chosen_manifest(path, manifest)
    utterances = _scan_manifest(path, chosen, skipped) if chosen else _scan_label_folders(path, skipped)
    if not utterances:
        raise CorpusError(f"no labelled wav with readable audio under {path} ({len(skipped)} items skipped); "
                          f"expected {_LAYOUT}")
    utterances.sort(key=lambda u: u.path)
    return CorpusScan(path, utterances, skipped, corpus="folder")


# Its default protocol follows its manifest (a split column, a fold column, speakers): the run's
# configuration decides it from describe(), so the entry names none.
CORPUS = register(Corpus(
    name="folder", title="a folder corpus",
    layout="any wavs with a manifest.csv/.tsv (path,label[,speaker][,split|fold]) or one folder per label",
    scan=scan_folder, looks_like=looks_like_folder, label_sets=(FOLDER_LABELS, "shared4"),
    reader_flags={"manifest": "manifest"}, synthetic="ser.synthetic.synth_corpora:generate_folder"))
