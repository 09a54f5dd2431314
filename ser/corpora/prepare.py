"""Preparing IEMOCAP: the label manifest, and the original tool's in-place renaming, reversibly.

The original GLAM ``handleIEMOCAP.py`` renamed every labelled wav in place
(``Ses01F_impro01_F000.wav`` -> ``Ses01F-impro01-01-01-F000.wav``, the two digits being the
emotion code) and cached the turn -> label map as ``pair.json`` in the corpus root. Here the
default only reads the corpus and writes a manifest outside it (:func:`make_manifest`);
:func:`rename` does what the original did, after writing a map of every rename to the corpus
root first, so :func:`undo` can always restore the tree.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import posixpath

from ser.corpora.iemocap import RENAME_CODES, renamed_wav_name, scan_iemocap, validate_root
from ser.corpora.rows import write_manifest
from ser.errors import UserError
from ser.io import write_text

DEFAULT_MANIFEST = os.path.join("data", "iemocap_manifest.csv")
MAP_NAME = "ser_rename_map.json"
PAIR_NAME = "pair.json"  # the original tool's turn -> label cache in the corpus root
MAP_FORMAT = "ser-rename-map/1"


class Refused(UserError):
    """An operation was refused (or stopped) for safety; the message says why and what to do."""


def corpus_root(data: str | None, default: str = "") -> pathlib.Path:
    """``--data``, else ``default`` (path.py's IEMOCAP_DIR), else the environment's IEMOCAP_DIR."""
    return validate_root(data if data is not None else default or os.environ.get("IEMOCAP_DIR", ""))


def _real(path: pathlib.Path) -> pathlib.Path:
    """``path`` with every symlink and ``..`` resolved (also where it does not exist yet)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop: RuntimeError or OSError, by Python version
        raise Refused(f"cannot follow the links in {path} ({e}); nothing written") from None


def make_manifest(root: pathlib.Path, output: str, allow_missing: bool) -> None:
    out = pathlib.Path(output)
    # Compared after resolving links on both sides: a link to the corpus (or a corpus given
    # through a link) must not let the manifest be written into the corpus itself.
    if _real(out).is_relative_to(_real(root)):
        raise Refused(f"refusing to write the manifest inside the corpus ({out} is in {_real(root)}); "
                      f"pick a path outside {root} with -o")
    scan = scan_iemocap(root, allow_missing_sessions=allow_missing)
    changed = write_manifest(scan, out)
    print(scan.summary())
    print(f"manifest: {out} ({len(scan.utterances)} utterances, "
          f"{'written' if changed else 'unchanged'})")


def _refuse_unless_writable(root: pathlib.Path, folders: set[pathlib.Path], undoing: bool) -> None:
    """Refuse before changing anything when a folder the renames would change cannot be written
    (a read-only copy or mount), instead of failing on the first file written."""
    blocked = sorted(f for f in folders if not os.access(f, os.W_OK))
    if blocked:
        done = "nothing was restored" if undoing else "nothing was renamed"
        raise Refused(f"the corpus at {root} is not writable ({len(blocked)} folders, e.g. {blocked[0]}); {done}; "
                      "make it writable or work on a writable copy (the default mode, the manifest, only reads it)")


def _planned_folders(root: pathlib.Path, rels: list[str]) -> set[pathlib.Path]:
    """The corpus root (its map and pair.json) and every folder holding a file to rename."""
    return {root} | {(root / rel).parent for rel in rels}


def rename(root: pathlib.Path, dry_run: bool, allow_missing: bool) -> None:
    map_path, pair_path = root / MAP_NAME, root / PAIR_NAME
    scan = scan_iemocap(root, allow_missing_sessions=allow_missing)
    plan = []
    for u in scan.utterances:
        new = renamed_wav_name(u.turn, u.label)
        # dis/oth have no code; a wav not under its original name (any case of .wav) was renamed already.
        if new is None or posixpath.splitext(posixpath.basename(u.path))[0] != u.turn:
            continue
        plan.append((u.path, f"{posixpath.dirname(u.path)}/{new}"))
    if not plan:
        print("nothing to rename: every labelled wav with an emotion code already has its "
              "GLAM name" + (f" (undo with --undo, map {map_path})" if map_path.exists() else ""))
        return
    if map_path.exists():
        raise Refused(f"{map_path} exists: this tool renamed the corpus before, yet {len(plan)} "
                      f"wavs still have their original names; run --undo first, then --rename")
    clashes = [new for _, new in plan if os.path.lexists(root / new)]
    if clashes:
        raise Refused(f"{len(clashes)} target names already exist (e.g. {clashes[0]}); "
                      f"nothing renamed")
    _refuse_unless_writable(root, _planned_folders(root, [old for old, _ in plan]), undoing=False)
    create_pair = not pair_path.exists()
    if dry_run:
        for old, new in plan:
            print(f"{old} -> {new}")
        print(f"dry run: would rename {len(plan)} wavs and write {map_path}"
              + (f" and {pair_path}" if create_pair else ""))
        return

    # The map is on disk before the first rename, so --undo can always restore the tree.
    def save_map(renames: list[tuple[str, str]]) -> None:
        write_text(map_path, json.dumps(
            {"format": MAP_FORMAT, "pair_json_created": create_pair, "renames": renames},
            indent=1) + "\n")

    try:
        save_map(plan)
        if create_pair:
            pair = {u.turn: u.label for u in sorted(scan.utterances, key=lambda u: u.turn)
                    if u.label in RENAME_CODES}
            write_text(pair_path, json.dumps(pair))
    except OSError as e:
        # Nothing is renamed yet: a map left behind would make the next --rename refuse.
        with contextlib.suppress(OSError):
            map_path.unlink(missing_ok=True)
        raise Refused(f"cannot write {map_path.name} or {pair_path.name} in the corpus at {root} "
                      f"({e.strerror or e}); nothing was renamed") from None
    done: list[tuple[str, str]] = []
    try:
        for old, new in plan:
            os.rename(root / old, root / new)
            done.append((old, new))
    except OSError as e:
        save_map(done)
        raise Refused(f"renaming stopped ({e}); {len(done)} wavs were renamed and are listed "
                      f"in {map_path}: run --undo to restore them") from None
    print(f"renamed {len(done)} wavs to their GLAM names; mapping in {map_path} "
          f"(restore with --undo)")


def _checked_rel(rel: object, map_path: pathlib.Path) -> str:
    """A map entry must stay inside the corpus: relative, no '..', posix separators."""
    p = posixpath.normpath(rel) if isinstance(rel, str) and rel else ""
    if not p or p.startswith("/") or p == ".." or p.startswith("../"):
        raise Refused(f"{map_path} lists {rel!r}, which is not a path inside the corpus; "
                      f"nothing changed")
    return p


def undo(root: pathlib.Path, dry_run: bool) -> None:
    map_path, pair_path = root / MAP_NAME, root / PAIR_NAME
    if not map_path.is_file():
        raise Refused(f"no rename map at {map_path}: nothing to undo (only renames made by "
                      f"handleIEMOCAP.py --rename can be undone)")
    try:
        data = json.loads(map_path.read_text(encoding="utf-8"))
        if data.get("format") != MAP_FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        created_pair = bool(data["pair_json_created"])
        renames = [(_checked_rel(a, map_path), _checked_rel(b, map_path))
                   for a, b in data["renames"]]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise Refused(f"{map_path} is not a rename map written by this tool ({e}); "
                      f"nothing changed") from None
    # All-or-nothing precheck: touch nothing unless every rename back can happen.
    missing = [new for _, new in renames if not (root / new).is_file()]
    occupied = [old for old, _ in renames if os.path.lexists(root / old)]
    if missing or occupied:
        problems = [f"{len(missing)} renamed wavs missing (e.g. {missing[0]})"] if missing else []
        if occupied:
            problems.append(f"{len(occupied)} original names already taken (e.g. {occupied[0]})")
        raise Refused(f"cannot undo from {map_path}: {'; '.join(problems)}; nothing changed")
    _refuse_unless_writable(root, _planned_folders(root, [new for _, new in renames]), undoing=True)
    if dry_run:
        for old, new in renames:
            print(f"{new} -> {old}")
        print(f"dry run: would rename {len(renames)} wavs back and remove {map_path}"
              + (f" and {pair_path}" if created_pair else ""))
        return
    for i, (old, new) in enumerate(renames):
        try:
            os.rename(root / new, root / old)
        except OSError as e:
            # Keep the map in step with the tree so a rerun of --undo finishes the job.
            write_text(map_path, json.dumps(
                {"format": MAP_FORMAT, "pair_json_created": created_pair,
                 "renames": renames[i:]}, indent=1) + "\n")
            raise Refused(f"undo stopped at {new} ({e}); {len(renames) - i} wavs left, "
                          f"rerun --undo") from None
    if created_pair:
        pair_path.unlink(missing_ok=True)
    map_path.unlink()
    print(f"restored {len(renames)} original wav names; removed {map_path}"
          + (f" and {pair_path}" if created_pair else ""))
