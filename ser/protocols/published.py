"""``fold-files``: the published folds of ``train.py --folds_from`` (EmoBox jsonl or s3prl
meta-data, read and matched by ``ser.protocols.foldfiles``) as a protocol of any corpus.

Fold K tests its test file's rows; validation comes from its valid file, or else from the
training rows the next fold tests; the rest of its train file trains. The split keeps the rows
this run can use and reports what the files could not place (:func:`fold_files_split`).
"""
from __future__ import annotations

from dataclasses import replace

from ser.protocols import foldfiles
from ser.protocols.base import Protocol, Split, SplitError, SplitInput, register
from ser.protocols.splits import speaker_independent

FOLD_FILES = "fold-files"
FOLD_FILES_DESCRIPTION = ("fold-files: the published folds of --folds_from (EmoBox jsonl or s3prl meta-data); "
                          "fold K tests its test file's rows, validation from its valid file or else the training "
                          "rows the next fold tests, the rest of its train file trains; test scored once")


def _read(given: SplitInput) -> foldfiles.FoldFiles:
    """The fold files matched against every row the reader found (not only the usable ones of
    the label set), so that an entry is "matches no row" only when the corpus lacks it."""
    return foldfiles.read_fold_files(given.folds_from, given.all_rows or given.rows)


def fold_files_split(given: SplitInput) -> Split:
    """Fold ``given.fold`` of the ``--folds_from`` files over the usable rows, with a report
    (``Split.report``): the files (resolved folder, digest), the parts' sizes as listed and as
    used, and what the files could not place: entries that match no row, entries on rows this
    run does not use (unusable audio, with --allow_missing_listed; across corpora, a label
    outside shared4), how many of the fold's entries name a file that is missing or unusable,
    usable rows in no part, and label disagreements."""
    files = _read(given)
    by_number = {f.split.fold: f for f in files.folds}
    if given.fold not in by_number:
        raise SplitError(f"--fold {given.fold}: the fold files at {given.folds_from} have folds "
                         f"{', '.join(map(str, by_number))}")
    chosen = by_number[given.fold]
    rows = given.all_rows or given.rows
    position = {u.path: i for i, u in enumerate(given.rows)}
    unused: list[int] = []

    def usable(part: list[int]) -> list[int]:
        kept = [position[rows[i].path] for i in part if rows[i].path in position]
        unused.extend(i for i in part if rows[i].path not in position)
        return sorted(kept)

    train, validation, test = (usable(p) for p in (chosen.split.train, chosen.split.validation, chosen.split.test))
    for part, members in (("training", train), ("test", test)):
        if not members:
            raise SplitError(f"fold {given.fold} of the fold files at {given.folds_from} leaves no usable {part} "
                             "utterance for this label set; check that the files are of this corpus")
    split = Split(train=train, test=test, validation=validation, protocol=chosen.split.protocol, name=FOLD_FILES,
                  fold=given.fold)
    split = replace(split, speaker_independent=speaker_independent(given.speakers, split))
    placed = set(train) | set(validation) | set(test)
    in_no_part = [u.path for i, u in enumerate(given.rows) if i not in placed]
    missing = (sum(reason == foldfiles.R_NO_ROW for _, reason in chosen.problems)
               + sum(files.labels.get(i) in given.label_map for i in unused))
    listed = chosen.split
    report = {"source": str(files.source.resolve()), "sha256": given.folds_from_sha256, "format": files.format,
              "folds": [f.split.fold for f in files.folds], "fold": given.fold,
              "listed": {"train": len(listed.train), "validation": len(listed.validation), "test": len(listed.test)},
              "used": {"train": len(train), "validation": len(validation), "test": len(test)},
              "missing_rows": missing, "entries_not_placed": [list(p) for p in chosen.problems],
              "entries_on_rows_not_used": len(unused), "rows_in_no_part": in_no_part,
              "label_disagreements": [list(p) for p in files.label_problems]}
    return replace(split, report=report)


register(Protocol(FOLD_FILES, "--folds_from", FOLD_FILES_DESCRIPTION, fold_files_split, fold_count=None,
                  fold_numbers=lambda given: [f.split.fold for f in _read(given).folds], needs_flag="--folds_from",
                  identity_settings=("folds_from_sha256",)))
