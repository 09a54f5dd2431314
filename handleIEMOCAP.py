#!/usr/bin/env python
"""Prepare IEMOCAP for training.

By default this only reads the corpus: it scans IEMOCAP_full_release, writes a label
manifest CSV outside the corpus and prints what it found (and what it skipped, and why)::

    python handleIEMOCAP.py [--data ROOT] [-o data/iemocap_manifest.csv]

The original GLAM tool instead renamed every labelled wav in place
(``Ses01F_impro01_F000.wav`` -> ``Ses01F-impro01-01-01-F000.wav``, the two digits being the
emotion code).  That stays available, reversibly::

    python handleIEMOCAP.py --rename [--dry-run]   # writes ROOT/ser_rename_map.json first
    python handleIEMOCAP.py --undo [--dry-run]     # renames back, removes what --rename added

The corpus root is ``--data`` if given, else ``IEMOCAP_DIR`` from path.py (the environment
variable ``IEMOCAP_DIR`` overrides the value in that file). The work is ``ser/corpora/prepare.py``.
"""
from __future__ import annotations

import argparse
import sys

import path as corpus_path
from ser.corpora import prepare
from ser.errors import UserError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Scan IEMOCAP into a label manifest (default), or rename its wavs the "
                    "way the original GLAM tool did (--rename, reversible with --undo).")
    p.add_argument("--data", metavar="PATH",
                   help="IEMOCAP_full_release folder (default: IEMOCAP_DIR from path.py or "
                        "the environment)")
    p.add_argument("-o", "--output", metavar="MANIFEST",
                   help=f"manifest CSV to write (default: {prepare.DEFAULT_MANIFEST}, relative to the "
                        f"current directory; never inside the corpus)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--rename", action="store_true",
                      help="rename labelled wavs in place to the original tool's names, after "
                           f"saving ROOT/{prepare.MAP_NAME} (and {prepare.PAIR_NAME})")
    mode.add_argument("--undo", action="store_true",
                      help=f"rename back using ROOT/{prepare.MAP_NAME}, then remove what --rename added")
    p.add_argument("--dry-run", action="store_true",
                   help="with --rename/--undo: print what would be renamed, change nothing")
    p.add_argument("--allow-missing-sessions", action="store_true",
                   help="scan an incomplete corpus, listing the missing parts as skipped")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0, or exits with a one-line 'error: ...' message."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.dry_run and not (args.rename or args.undo):
        parser.error("--dry-run only applies to --rename or --undo")
    if args.output and (args.rename or args.undo):
        parser.error("-o/--output only applies to the manifest (the default mode)")
    try:
        root = prepare.corpus_root(args.data, corpus_path.IEMOCAP_DIR)
        if args.rename:
            prepare.rename(root, args.dry_run, args.allow_missing_sessions)
        elif args.undo:
            prepare.undo(root, args.dry_run)
        else:
            prepare.make_manifest(root, args.output or prepare.DEFAULT_MANIFEST, args.allow_missing_sessions)
    except UserError as e:
        sys.exit(f"error: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
