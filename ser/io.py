"""The project's one way of writing files: whole files atomically, shared files by locked appends.

- :func:`write_via_temporary` (and :func:`write_text`, :func:`write_json`,
  :func:`write_pickle`, :func:`write_csv` over it): the content goes to a temporary name in
  the same folder and is renamed over the target, so a reader or a killed process sees the
  old file or the new one, never half of one. A failed write removes its temporary file.
- :func:`append_line` and :func:`read_shared`: files that concurrent runs share (``.metric``,
  ``.log``) get whole lines appended under an exclusive lock, and are read under a shared lock,
  so a reader never sees half an append.
"""
from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import pickle
import secrets
from pathlib import Path
from typing import Callable


def write_via_temporary(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary name beside ``path``, then rename it into place."""
    path = Path(path)
    # pid and a random token: two processes, or two threads of one, never share a temporary
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the folder itself may be what is broken
            tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a whole UTF-8 text file atomically (line endings written as given)."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    write_via_temporary(path, write)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=4, sort_keys=False) + "\n")


def write_pickle(path: str | os.PathLike, obj) -> None:
    def dump(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    write_via_temporary(path, dump)


def write_csv(path: str | os.PathLike, columns: list[str], rows: list[dict]) -> None:
    """The whole table, atomically (rewritten each time, so a resumed run never repeats a row)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def append_line(path: str | os.PathLike, text: str) -> None:
    """Append ``text`` to a file shared by concurrent runs, in one locked write."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_shared(path: str | os.PathLike) -> str:
    """Read a file that concurrent runs append to, under a shared lock: whole lines only."""
    with open(path) as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        try:
            return f.read()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
