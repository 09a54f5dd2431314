"""Published fold files as ``ser.splits.Split`` folds over a corpus's manifest rows.

Two formats are read:

- EmoBox (``data/<dataset>/`` of the EmoBox benchmark): ``fold_<k>/`` folders, each with
  ``<dataset>_train_fold_<k>.jsonl`` and ``<dataset>_test_fold_<k>.jsonl`` (and, for a few
  datasets, ``<dataset>_valid_fold_<k>.jsonl``), plus ``label_map.json`` mapping each label
  the files use to the benchmark's class name. A line is a JSON object; its ``wav`` (a path
  ending in the corpus-relative path, e.g. ``downloads/iemocap/Session1/sentences/wav/...``)
  and ``emo`` (the corpus's own label, e.g. "neu", "Fearful", "ANG") are read. Some folders
  also hold copies named ``..._fold<k>.jsonl``; ``..._fold_<k>.jsonl`` is preferred. A whole
  ``data/<dataset>`` folder or one ``fold_<k>`` folder may be given.
- s3prl's emotion recipe (``downstream/emotion/meta_data/``): ``Session<k>/train_meta_data.json``
  and ``test_meta_data.json``, each ``{"labels": {token: index}, "meta_data": [{"path",
  "label", "speaker"}, ...]}`` with IEMOCAP-relative paths. Its ``speaker`` field names the
  dialog's recording side (``Ses01F``), not who speaks, so speakers always come from the rows
  (``ser.corpora`` takes them from the turn name's ``_F``/``_M``); its "hap" includes
  excited. The whole ``meta_data`` folder or one ``Session<k>`` folder may be given.

An entry is matched to a row by the longest tail of its path that is a row's corpus-relative
path, else by its file name without extension, which must equal exactly one row's turn name
or file stem. Entries that match no row (or several, or a row already placed in the fold)
and rows in no part of a fold are reported in :class:`FileFold`, never dropped silently.
Each entry's label is checked against its row's (through the label map where there is one;
two labels count as agreeing when the shared 4-class set puts them in one class, as
IEMOCAP's excited and happy).

Neither EmoBox's IEMOCAP, RAVDESS, CREMA-D, ESD and emoDB folds nor s3prl's have validation
files. With ``validation="next-fold"`` (the default) a fold without one validates on the
rows of its training part that the next fold tests (fold 1 after the last), which for
speaker-disjoint folds are the next fold's speakers; a set of fewer than 3 folds then has
no validation part, and neither has any fold with ``validation="none"``: its best epoch is
chosen on the test part, and the split's description says so. Whether a fold set is
speaker-independent is computed from the rows' speakers, whatever the files claim.

    from ser import foldfiles
    folds = foldfiles.read_fold_files("EmoBox/data/ravdess", scan.utterances)
    split = folds.folds[0].split
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import posixpath
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ser.corpora import CorpusError, Utterance, format_skipped
from ser.labels import LABEL_SETS, normalise_token
from ser.splits import Split, speaker_independent

VALIDATION_RULES = ("next-fold", "none")
PARTS = ("train", "valid", "test")

_EMOBOX_FOLD = re.compile(r"fold_(\d+)")
_S3PRL_FOLD = re.compile(r"Session(\d+)")
_S3PRL_FILES = {"train": "train_meta_data.json", "test": "test_meta_data.json"}

R_NO_ROW = "matches no row"
R_SEVERAL_ROWS = "file name matches several rows"
R_TWICE = "row already in this fold (first part kept)"
R_BAD_ENTRY = "not an entry with a path and a label"
R_LABEL_UNMAPPED = "label not in the fold files' label map"


class FoldFileError(CorpusError):
    """Fold files cannot be used; the message says what is wrong and what is expected."""


@dataclass(frozen=True)
class _Entry:
    where: str   # "file:line" or "file:#index", for reports
    path: str
    label: str


@dataclass(frozen=True)
class FileFold:
    """One fold: its split, entries that could not be placed (where, reason) and the rows
    (indices) it puts in no part."""

    split: Split
    problems: list[tuple[str, str]] = field(default_factory=list)
    left_out: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FoldFiles:
    """Every fold of a fold-file set, with the label disagreements found (where, what)."""

    source: pathlib.Path
    format: str
    folds: list[FileFold]
    label_problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def speaker_independent(self) -> bool:
        """True if no fold puts a known speaker into two of its parts."""
        return all(f.split.speaker_independent for f in self.folds)

    def summary(self, examples: int = 3) -> str:
        """Folds, part sizes, speaker independence, then the problems by reason."""
        lines = [f"{self.format} fold files at {self.source}: {len(self.folds)} folds, "
                 f"{'speaker-independent' if self.speaker_independent else 'NOT speaker-independent'}"]
        for f in self.folds:
            s = f.split
            lines.append(f"  fold {s.fold}: train {len(s.train)}, validation {len(s.validation)}, test {len(s.test)}, "
                         f"rows in no part {len(f.left_out)}, entries not placed {len(f.problems)}")
        problems = [p for f in self.folds for p in f.problems]
        if problems:
            lines.append(f"  entries not placed {len(problems)}:")
            lines.extend(format_skipped(problems, examples))
        if self.label_problems:
            lines.append(f"  label disagreements {len(self.label_problems)}:")
            lines.extend(format_skipped([(where, "label disagrees with the row's") for where, _ in
                                         self.label_problems], examples))
        return "\n".join(lines)


def _load_json(path: pathlib.Path):
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FoldFileError(f"{path} cannot be read as JSON ({error})") from None


def _emobox_entries(path: pathlib.Path, problems: list[tuple[str, str]]) -> list[_Entry]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise FoldFileError(f"{path} cannot be read ({error})") from None
    entries = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.parent.name}/{path.name}:{lineno}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            item = None
        if not (isinstance(item, dict) and isinstance(item.get("wav"), str) and isinstance(item.get("emo"), str)):
            problems.append((where, R_BAD_ENTRY))
            continue
        entries.append(_Entry(where, item["wav"], item["emo"]))
    return entries


def _s3prl_entries(path: pathlib.Path, problems: list[tuple[str, str]]) -> tuple[list[_Entry], dict[str, str]]:
    data = _load_json(path)
    if not (isinstance(data, dict) and isinstance(data.get("meta_data"), list)):
        raise FoldFileError(f"{path} is not an s3prl meta-data file: expected {{\"labels\": {{...}}, "
                            "\"meta_data\": [{\"path\", \"label\", \"speaker\"}, ...]}")
    entries = []
    for index, item in enumerate(data["meta_data"]):
        where = f"{path.parent.name}/{path.name}:#{index}"
        if not (isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("label"), str)):
            problems.append((where, R_BAD_ENTRY))
            continue
        entries.append(_Entry(where, item["path"], item["label"]))
    labels = data.get("labels")
    return entries, ({key: key for key in labels} if isinstance(labels, dict) else {})


def _emobox_part(folder: pathlib.Path, part: str, k: int) -> pathlib.Path | None:
    for pattern in (f"*_{part}_fold_{k}.jsonl", f"*_{part}_fold{k}.jsonl"):
        found = sorted(folder.glob(pattern))
        if len(found) > 1:
            raise FoldFileError(f"{folder} holds several {part} files for fold {k}: "
                                f"{', '.join(p.name for p in found)}")
        if found:
            return found[0]
    return None


def _numbered(folder: pathlib.Path, pattern: re.Pattern) -> list[tuple[int, pathlib.Path]]:
    return sorted((int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := pattern.fullmatch(p.name)))


def _fold_folders(source: pathlib.Path) -> tuple[str, list[tuple[int, pathlib.Path]]]:
    """(format, [(fold number, folder)]) of a fold-file location."""
    if not source.is_dir():
        why = "not a folder" if source.exists() else "no such folder"
        raise FoldFileError(f"fold files not found at {source} ({why}); expected an EmoBox data/<dataset> or "
                            "fold_<k> folder, or an s3prl meta_data or Session<k> folder")
    for fmt, pattern in (("emobox", _EMOBOX_FOLD), ("s3prl", _S3PRL_FOLD)):
        if pattern.fullmatch(source.name) and not _numbered(source, pattern):
            return fmt, [(int(pattern.fullmatch(source.name).group(1)), source)]
        if folders := _numbered(source, pattern):
            return fmt, folders
    raise FoldFileError(f"{source} holds no fold_<k> (EmoBox) or Session<k> (s3prl) folders; expected an EmoBox "
                        "data/<dataset> or fold_<k> folder, or an s3prl meta_data or Session<k> folder")


class _Rows:
    """Row lookup by corpus-relative path, then by turn name or file stem."""

    def __init__(self, rows: Sequence[Utterance]):
        self.by_path = {u.path: i for i, u in enumerate(rows)}
        self.by_name: dict[str, set[int]] = defaultdict(set)
        for i, u in enumerate(rows):
            self.by_name[u.turn].add(i)
            self.by_name[posixpath.splitext(posixpath.basename(u.path))[0]].add(i)

    def find(self, path: str) -> int | str:
        parts = [p for p in path.replace("\\", "/").split("/") if p]
        for start in range(len(parts)):
            index = self.by_path.get("/".join(parts[start:]))
            if index is not None:
                return index
        found = self.by_name.get(posixpath.splitext(parts[-1])[0] if parts else "", set())
        if len(found) == 1:
            return next(iter(found))
        return R_SEVERAL_ROWS if found else R_NO_ROW


def labels_agree(file_label: str, row_label: str, label_map: dict[str, str]) -> bool:
    """True if a fold file's label names the row's label, directly or through ``label_map``,
    or both fall in one class of the shared 4-class set."""
    tokens = {normalise_token(file_label)}
    if file_label in label_map:
        tokens.add(normalise_token(label_map[file_label]))
    shared = LABEL_SETS["shared4"]
    return row_label in tokens or any(t in shared and shared[t] == shared.get(row_label) for t in tokens)


def _description(fmt: str, source: pathlib.Path, k: int, count: int, validation: str) -> str:
    return (f"fold files: {fmt} folds at {source}; fold {k} of {count}: test from its test file, validation "
            f"{validation}, train the rest of its train file; test scored once")


def _label_map_file(source: pathlib.Path) -> pathlib.Path | None:
    return next((p for p in (source / "label_map.json", source.parent / "label_map.json") if p.is_file()), None)


def fold_files_identity(source: str | pathlib.Path) -> dict:
    """What makes two fold-file sets the same folds, without matching them to rows: their
    format, fold numbers and a SHA-256 of the content of every file they are read from (the
    label map included), so a copy elsewhere is the same set and an edited line is not."""
    source = pathlib.Path(source).expanduser()
    fmt, folders = _fold_folders(source)
    digest = hashlib.sha256()
    used = [] if fmt != "emobox" or _label_map_file(source) is None else [_label_map_file(source)]
    for k, folder in folders:
        if fmt == "emobox":
            used += [path for part in PARTS if (path := _emobox_part(folder, part, k)) is not None]
        else:
            used += [folder / name for name in _S3PRL_FILES.values() if (folder / name).is_file()]
    for path in used:
        try:
            content = path.read_bytes()
        except OSError as error:
            raise FoldFileError(f"{path} cannot be read ({error})") from None
        digest.update(f"{path.parent.name}/{path.name}\n{len(content)}\n".encode())
        digest.update(content)
    return {"format": fmt, "folds": [k for k, _ in folders], "sha256": digest.hexdigest()}


def read_fold_files(source: str | pathlib.Path, rows: Sequence[Utterance], validation: str = "next-fold") -> FoldFiles:
    """Every fold at ``source`` (see the module doc) as a Split over ``rows``."""
    if validation not in VALIDATION_RULES:
        raise FoldFileError(f"unknown validation rule {validation!r}; choose one of: {', '.join(VALIDATION_RULES)}")
    source = pathlib.Path(source).expanduser()
    fmt, folders = _fold_folders(source)
    label_map: dict[str, str] = {}
    if fmt == "emobox":
        map_file = _label_map_file(source)
        if map_file is not None:
            loaded = _load_json(map_file)
            if not isinstance(loaded, dict):
                raise FoldFileError(f"{map_file} is not a JSON object mapping labels to class names")
            label_map = {str(k): str(v) for k, v in loaded.items()}
    lookup = _Rows(rows)
    label_problems: list[tuple[str, str]] = []
    placed: list[tuple[int, dict[str, list[int]], list[tuple[str, str]]]] = []
    for k, folder in folders:
        problems: list[tuple[str, str]] = []
        files: dict[str, pathlib.Path | None] = {}
        if fmt == "emobox":
            files = {part: _emobox_part(folder, part, k) for part in PARTS}
        else:
            files = {part: folder / name if (folder / name).is_file() else None for part, name in _S3PRL_FILES.items()}
            files["valid"] = None
        for part in ("train", "test"):
            if files[part] is None:
                raise FoldFileError(f"{folder} has no {part} file for fold {k}")
        parts: dict[str, list[int]] = {part: [] for part in PARTS}
        where_of: dict[int, str] = {}
        for part, path in files.items():
            if path is None:
                continue
            if fmt == "emobox":
                entries, part_map = _emobox_entries(path, problems), label_map
            else:
                entries, part_map = _s3prl_entries(path, problems)
            for entry in entries:
                found = lookup.find(entry.path)
                if isinstance(found, str):
                    problems.append((entry.where, found))
                    continue
                if found in where_of:
                    problems.append((entry.where, R_TWICE))
                    continue
                where_of[found] = part
                parts[part].append(found)
                if part_map and entry.label not in part_map:
                    label_problems.append((entry.where, R_LABEL_UNMAPPED))
                elif not labels_agree(entry.label, rows[found].label, part_map):
                    label_problems.append((entry.where, f"file says {entry.label!r}, the row {rows[found].label!r}"))
        for part in ("train", "test"):
            if not parts[part]:
                raise FoldFileError(f"no row matched the {part} file of fold {k} ({files[part]}); are these fold "
                                    "files of this corpus, and the rows read from its whole tree?")
        placed.append((k, parts, problems))
    folds = []
    for position, (k, parts, problems) in enumerate(placed):
        train, valid = parts["train"], parts["valid"]
        if valid:
            rule = "from its valid file"
        elif validation == "next-fold" and len(placed) >= 3:
            tested_next = set(placed[(position + 1) % len(placed)][1]["test"])
            valid = [i for i in train if i in tested_next]
            train = [i for i in train if i not in tested_next]
            rule = "the training rows the next fold tests"
        else:
            rule = "none (no valid file): the best epoch is chosen on the test part"
        split = Split(train=sorted(train), test=sorted(parts["test"]), validation=sorted(valid), name="fold-files",
                      fold=k, protocol=_description(fmt, source, k, len(placed), rule))
        split = replace(split, speaker_independent=speaker_independent([u.speaker for u in rows], split))
        in_fold = set(split.train) | set(split.validation) | set(split.test)
        folds.append(FileFold(split=split,
                              problems=problems, left_out=[i for i in range(len(rows)) if i not in in_fold]))
    return FoldFiles(source=source, format=fmt, folds=folds, label_problems=label_problems)
