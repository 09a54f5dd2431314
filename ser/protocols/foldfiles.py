"""Published fold files as ``ser.protocols.splits.Split`` folds over a corpus's manifest rows.

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
Each entry's label is checked against its row's (through the label map where there is one,
its keys matched in any letter case; two labels count as agreeing when the shared 4-class set
puts them in one class, as IEMOCAP's excited and happy).

A run on fold files uses exactly the rows they list, with the labels they give them
(:func:`file_token`: the label map's class name, else the label, as a shared token), so that
its parts and per-class counts are the files'. :func:`listed_rows` selects those rows from a
corpus scan and refuses, naming what to change, a listed file that is missing or unreadable
(it names the file) and a subset, label set or dropping of short clips that would leave out a
listed row; :func:`file_tokens` gives the labels the files use before any corpus is read,
which the run's label set follows.

Neither EmoBox's IEMOCAP, RAVDESS, CREMA-D, ESD and emoDB folds nor s3prl's have validation
files. With ``validation="next-fold"`` (the default) a fold without one validates on the
rows of its training part that the next fold tests (fold 1 after the last), which for
speaker-disjoint folds are the next fold's speakers; a set of fewer than 3 folds then has
no validation part, and neither has any fold with ``validation="none"``: its best epoch is
chosen on the test part, and the split's description says so. Whether a fold set is
speaker-independent is computed from the rows' speakers, whatever the files claim.

    from ser.protocols import foldfiles
    folds = foldfiles.read_fold_files("EmoBox/data/ravdess", scan.utterances)
    split = folds.folds[0].split
"""
from __future__ import annotations

import hashlib
import json
import math
import pathlib
import posixpath
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ser.corpora import CorpusError, CorpusScan, Utterance, format_skipped
from ser.corpora.iemocap import select
from ser.corpora.labels import LABEL_SETS, TOKENS, normalise_token
from ser.protocols.splits import Split, speaker_independent

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
    """Every fold of a fold-file set, with the label disagreements found (where, what), and
    the label (a shared token, :func:`file_token`) the files give each row they list, by row index."""

    source: pathlib.Path
    format: str
    folds: list[FileFold]
    label_problems: list[tuple[str, str]] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)
    unmatched: dict[str, str] = field(default_factory=dict)  # path of an entry matching no row -> its first "where"

    @property
    def speaker_independent(self) -> bool:
        """True if no fold puts a known speaker into two of its parts."""
        return all(f.split.speaker_independent for f in self.folds)

    def summary(self, examples: int = 3) -> str:
        """Folds, part sizes (rows of the corpus: the parts and the rows in none add up to all of
        them), speaker independence, then the problems by reason."""
        lines = [f"{self.format} fold files at {self.source}: {len(self.folds)} folds, "
                 f"{'speaker-independent' if self.speaker_independent else 'NOT speaker-independent'}"]
        for f in self.folds:
            s = f.split
            rows = len(s.train) + len(s.validation) + len(s.test) + len(f.left_out)
            lines.append(f"  fold {s.fold}, of the corpus's {rows} rows: train {len(s.train)}, validation "
                         f"{len(s.validation)}, test {len(s.test)}, in no part {len(f.left_out)}; entries not "
                         f"placed on a row {len(f.problems)}")
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


def _class_of(label: str, label_map: dict[str, str]) -> str | None:
    """The class ``label_map`` gives ``label``, its keys matched in any letter case (EmoBox's
    emoDB map says "Neutral" where its lines say "neutral"); None when it names none."""
    if label in label_map:
        return label_map[label]
    return next((value for key, value in label_map.items() if key.casefold() == label.casefold()), None)


def file_token(label: str, label_map: dict[str, str]) -> str:
    """The shared token of a fold file's label: of the class ``label_map`` gives it, else of the
    label itself ("Fearful" with EmoBox's map {"Fearful": "Fear"} -> "fea")."""
    mapped = _class_of(label, label_map)
    return normalise_token(label if mapped is None else mapped)


def labels_agree(file_label: str, row_label: str, label_map: dict[str, str]) -> bool:
    """True if a fold file's label names the row's label, directly or through ``label_map``,
    or both fall in one class of the shared 4-class set."""
    tokens = {normalise_token(file_label), file_token(file_label, label_map)}
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


@dataclass(frozen=True)
class _Part:
    file: pathlib.Path
    entries: list[_Entry]
    label_map: dict[str, str]  # the EmoBox set's label map, or an s3prl file's labels


def _read_folds(source: pathlib.Path) -> tuple[str, list[tuple[int, dict[str, _Part], list[tuple[str, str]]]]]:
    """(format, [(fold number, {part: its file's entries}, entries that are no entry)]) of the
    fold files at ``source``; FoldFileError when a fold lacks its train or test file."""
    fmt, folders = _fold_folders(source)
    label_map: dict[str, str] = {}
    if fmt == "emobox":
        map_file = _label_map_file(source)
        if map_file is not None:
            loaded = _load_json(map_file)
            if not isinstance(loaded, dict):
                raise FoldFileError(f"{map_file} is not a JSON object mapping labels to class names")
            label_map = {str(k): str(v) for k, v in loaded.items()}
    folds = []
    for k, folder in folders:
        problems: list[tuple[str, str]] = []
        if fmt == "emobox":
            files = {part: _emobox_part(folder, part, k) for part in PARTS}
        else:
            files = {part: folder / name if (folder / name).is_file() else None for part, name in _S3PRL_FILES.items()}
        for part in ("train", "test"):
            if files.get(part) is None:
                raise FoldFileError(f"{folder} has no {part} file for fold {k}")
        parts = {}
        for part, path in files.items():
            if path is not None:
                parts[part] = (_Part(path, _emobox_entries(path, problems), label_map) if fmt == "emobox"
                               else _Part(path, *_s3prl_entries(path, problems)))
        folds.append((k, parts, problems))
    return fmt, folds


def file_tokens(source: str | pathlib.Path) -> tuple[str, ...]:
    """The labels the fold files at ``source`` give their entries, as shared tokens
    (:func:`file_token`), in the vocabulary's order then alphabetically; no corpus is read."""
    _, folds = _read_folds(pathlib.Path(source).expanduser())
    found = {file_token(entry.label, part.label_map) for _, parts, _ in folds for part in parts.values()
             for entry in part.entries}
    return tuple([t for t in TOKENS if t in found] + sorted(found - set(TOKENS)))


def read_fold_files(source: str | pathlib.Path, rows: Sequence[Utterance], validation: str = "next-fold") -> FoldFiles:
    """Every fold at ``source`` (see the module doc) as a Split over ``rows``."""
    if validation not in VALIDATION_RULES:
        raise FoldFileError(f"unknown validation rule {validation!r}; choose one of: {', '.join(VALIDATION_RULES)}")
    source = pathlib.Path(source).expanduser()
    fmt, read = _read_folds(source)
    lookup = _Rows(rows)
    label_problems: list[tuple[str, str]] = []
    labels: dict[int, str] = {}
    unmatched: dict[str, str] = {}
    placed: list[tuple[int, dict[str, list[int]], list[tuple[str, str]]]] = []
    for k, files, problems in read:
        parts: dict[str, list[int]] = {part: [] for part in PARTS}
        where_of: dict[int, str] = {}
        for part, read_part in files.items():
            part_map = read_part.label_map
            for entry in read_part.entries:
                found = lookup.find(entry.path)
                if isinstance(found, str):
                    problems.append((entry.where, found))
                    if found == R_NO_ROW:
                        unmatched.setdefault(entry.path, entry.where)
                    continue
                if found in where_of:
                    problems.append((entry.where, R_TWICE))
                    continue
                where_of[found] = part
                parts[part].append(found)
                token = file_token(entry.label, part_map)
                first = labels.setdefault(found, token)  # a run keeps one label per row: the first entry's
                if part_map and _class_of(entry.label, part_map) is None:
                    label_problems.append((entry.where, R_LABEL_UNMAPPED))
                elif not labels_agree(entry.label, rows[found].label, part_map):
                    label_problems.append((entry.where, f"file says {entry.label!r}, the row {rows[found].label!r} "
                                                        f"(the run uses {first!r})"))
                elif first != token:
                    label_problems.append((entry.where, f"file says {entry.label!r}, an earlier entry of this row "
                                                        f"{first!r} (the run uses {first!r})"))
        for part in ("train", "test"):
            if not parts[part]:
                raise FoldFileError(f"no row matched the {part} file of fold {k} ({files[part].file}); are these "
                                    "fold files of this corpus, and the rows read from its whole tree?")
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
    return FoldFiles(source=source, format=fmt, folds=folds, label_problems=label_problems, labels=labels,
                     unmatched=unmatched)


@dataclass(frozen=True)
class Listed:
    """The rows a run on fold files keeps (every row a fold lists, with the label the files give
    it, in the scan's order) and the listed files it lacks, each "path (why)"."""

    rows: list[Utterance]
    missing: list[str]


def _where_missing(path: str, where: str, scan: CorpusScan) -> str:
    """Where the file an entry (at ``where``) lists that matches no row is, or would be, and why
    it is no row: "path (why; where)"."""
    parts = [p for p in path.replace("\\", "/").split("/") if p and p != "."]
    left_out = {item.split(" (")[0]: reason for item, reason in scan.skipped}
    tails = ["/".join(parts[start:]) for start in range(len(parts))]
    # the longest tail the reader left out, else the longest that lies in a folder of the corpus
    for tail in tails:
        if tail in left_out:
            return f"{scan.root / tail} ({left_out[tail]}; {where})"
    for tail in tails:
        if "/" in tail and (scan.root / tail).parent.is_dir():
            there = scan.root / tail
            return f"{there} ({'no such file' if not there.exists() else 'not read by the reader'}; {where})"
    return f"{path} (no such file under {scan.root}; {where})"


def _examples(items: Sequence[str], shown: int = 3) -> str:
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


def listed_rows(source: str | pathlib.Path, scan: CorpusScan, *, subset: str = "all",
                label_map: dict[str, int] | None = None, labels: str = "", shortest: float | None = None,
                allow_missing: bool = False) -> Listed:
    """The rows a run on the fold files at ``source`` uses, from the corpus ``scan``: every row a
    fold lists, with the files' label (see the module doc).

    FoldFileError, naming what to change, when a listed file is missing or unreadable (unless
    ``allow_missing``: it is then left out and listed in ``missing``), or when a listed row would
    be left out by the subset (``-i``), by the label set ``labels`` (``label_map``; None: not
    checked, as across corpora, where the caller keeps the rows of its set) or, when
    ``shortest`` is a segment length in seconds, as a clip shorter than one segment
    (``--padding false``)."""
    files = read_fold_files(source, scan.utterances)
    where = f"the fold files at {files.source}"
    no_row = sorted(_where_missing(path, first, scan) for path, first in files.unmatched.items())
    if no_row and not allow_missing:
        them = "them" if len(no_row) > 1 else "it"
        raise FoldFileError(f"{len(no_row)} file{'s' if len(no_row) > 1 else ''} {where} list "
                            f"{'are' if len(no_row) > 1 else 'is'} missing or unreadable: {_examples(no_row)}; "
                            f"restore {them} (a run without {them} tests on another set than the published fold), "
                            f"or pass --allow_missing_listed to run without {them} (results.json counts {them})")
    rows = [replace(u, label=files.labels[i]) for i, u in enumerate(scan.utterances) if i in files.labels]
    kept = select(rows, subset)
    if len(kept) < len(rows):
        outside = [u for u in rows if u not in kept]
        raise FoldFileError(f"-i/--impro_or_script {subset} leaves out {len(outside)} rows {where} list (e.g. "
                            f"{outside[0].path}, {outside[0].kind}); drop it (with --folds_from the whole corpus is "
                            "read) or pass -i all")
    if label_map is not None:
        unknown = sorted({u.label for u in rows} - set(label_map))
        if unknown:
            raise FoldFileError(f"--labels {labels} has no class for the label(s) {', '.join(unknown)} of rows {where} "
                                "list; drop --labels (the run then trains on the fold files' classes)")
    if shortest is not None:
        short = [u for u in rows if u.duration < shortest]
        if short:
            raise FoldFileError(f"--padding false drops the {len(short)} clips {where} list that are shorter than "
                                f"one segment ({shortest} s), e.g. {short[0].path} ({short[0].duration:.2f} s); drop "
                                "--padding false (with --folds_from short clips are tiled to one segment) or pass "
                                f"--segment_length {math.floor(min(u.duration for u in short) * 100) / 100} or less")
    return Listed(rows, no_row)


def refuse_unusable(source: str | pathlib.Path, unusable: Sequence[str], allow_missing: bool) -> None:
    """FoldFileError naming the listed files whose audio turned out unusable once read
    ("path (why)"), unless ``allow_missing``."""
    if unusable and not allow_missing:
        them = "them" if len(unusable) > 1 else "it"
        raise FoldFileError(f"{len(unusable)} file{'s' if len(unusable) > 1 else ''} the fold files at {source} list "
                            f"cannot be used: {_examples(list(unusable))}; fix {them} (a run without {them} tests on "
                            f"another set than the published fold), or pass --allow_missing_listed to run without "
                            f"{them} (results.json counts {them})")


def report_text(report: dict) -> str:
    """The fold files' part of a run's data summary, from the report ``ser.runs.data.fold_files_split``
    keeps in ``results.json`` (``data.fold_files``)."""
    listed, used = report["listed"], report["used"]
    lines = [f"Fold files ({report['format']}) at {report['source']}: fold {report['fold']} of folds "
             f"{', '.join(map(str, report['folds']))}; rows the fold lists: train {listed['train']}, validation "
             f"{listed['validation']}, test {listed['test']}; used: train {used['train']}, validation "
             f"{used['validation']}, test {used['test']}",
             f"  entries naming a file that is missing or unusable (--allow_missing_listed): {report['missing_rows']}"]
    for title, items in (("entries not placed on a row", report["entries_not_placed"]),
                         ("label disagreements", report["label_disagreements"])):
        lines.append(f"  {title}: {len(items)}" + (":" if items else ""))
        lines += format_skipped([tuple(item) for item in items])
    lines.append(f"  entries on rows this run does not use (unusable audio; across corpora, a label outside shared4): "
                 f"{report['entries_on_rows_not_used']}")
    lines.append(f"  usable rows in no part of this fold: {len(report['rows_in_no_part'])}")
    return "\n".join(lines)
