"""The project's one way of writing files: whole files atomically, shared files by locked appends.

- :func:`write_via_temporary` (and :func:`write_text`, :func:`write_json`,
  :func:`write_pickle`, :func:`write_csv` over it): the content goes to a temporary name in
  the same folder and is renamed over the target, so a reader or a killed process sees the
  old file or the new one, never half of one. A failed write removes its temporary file.
- :func:`append_line` and :func:`read_shared`: files that concurrent runs share (``.metric``,
  ``.log``) get whole lines appended under an exclusive lock, and are read under a shared lock,
  so a reader never sees half an append.
- :class:`Claim` (and :class:`ClaimSet` for the processes a process starts): a name that one live
  process at a time holds, dying with it, so two runs never train the same seed at once.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

# The tokens of the claims this process works under: a process that claims names for the
# processes it starts (a sweep for its train.py runs, `train.py --seeds` for one process per
# seed) marks each claim with its token and hands the token down in this variable.
HANDED_DOWN = "SER_CLAIM_TOKENS"


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


@contextlib.contextmanager
def locked_for_append(path: str | os.PathLike):
    """An exclusive lock on ``path`` (created if missing) while the block appends to it, and
    to files that belong to it (a file's index): concurrent appenders wait for each other."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _append(path: str | os.PathLike, text: str) -> None:
    """Append ``text``, first ending a torn last line (a writer killed mid-line, a full disk)
    so that the torn line never swallows the new one; on disk before returning."""
    with open(path, "ab+") as f:
        if f.seek(0, os.SEEK_END) > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
        f.write(text.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def append_line(path: str | os.PathLike, text: str) -> None:
    """Append whole lines to a file shared by concurrent runs, under its exclusive lock."""
    with locked_for_append(path):
        _append(path, text)


def append_lines(lines: list[tuple[str | os.PathLike, str]], lock: str | os.PathLike) -> None:
    """Append each ``(path, text)`` in order while holding ``lock``'s exclusive lock: related
    files (a result line and its index entry) change together for every reader that takes it."""
    with locked_for_append(lock):
        for path, text in lines:
            _append(path, text)


def read_shared(path: str | os.PathLike) -> str:
    """Read a file that concurrent runs append to, under a shared lock: whole lines only.
    Bytes that are not UTF-8 (a damaged or foreign file) come back replaced, never raise."""
    with open(path, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        try:
            return f.read().decode("utf-8", errors="replace")
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Busy(Exception):
    """A claim is held by another live process; ``holder`` is what it wrote into the lock."""

    def __init__(self, path: Path, holder: str):
        super().__init__(f"{path} is held by {holder or 'another process'}")
        self.path, self.holder = path, holder


def _token_mark(token: str) -> str:
    return f"[claim token {token}]"


def _handed_down(holder: str) -> bool:
    """Whether ``holder`` (a claim's text) is a claim this process's parent holds for it."""
    return any(_token_mark(token) in holder for token in os.environ.get(HANDED_DOWN, "").split())


class Claim:
    """An exclusive, non-blocking claim on ``path`` that dies with its process (flock).

    The lock file is removed on release; whoever opened the old file before it went away
    finds the name pointing elsewhere after locking and tries again, so at most one live
    process ever holds a name. A claim taken with a ``token`` (see :class:`ClaimSet`) is the
    claim of the processes it was handed down to: their own claim of that name works under it
    (takes nothing, releases nothing) instead of finding it busy.
    """

    def __init__(self, path: str | os.PathLike, holder: str, token: str | None = None):
        self.path, self.fd = Path(path), None
        self.holder = holder if token is None else f"{holder} {_token_mark(token)}"

    def __enter__(self) -> Claim:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode("utf-8", errors="replace").strip()
                os.close(fd)
                if _handed_down(holder):
                    return self  # the parent holds it for this process
                raise Busy(self.path, holder) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # released and removed meanwhile: claim the new file
        os.ftruncate(fd, 0)
        os.pwrite(fd, self.holder.encode("utf-8"), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is None:  # a handed-down claim: its holder releases it
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None


class ClaimSet:
    """Claims a process takes for the processes it will start (a sweep's ``train.py`` runs):
    taken at once or refused, held until released or until the set closes. A process started
    with :meth:`env` works under them (its own :class:`Claim` of such a name succeeds), and
    with :meth:`fds` among its inherited descriptors it keeps them alive even if this process
    dies first."""

    def __init__(self, holder: str):
        self.holder, self.token = holder, secrets.token_hex(8)
        self.held: dict[Path, Claim] = {}

    def take(self, path: str | os.PathLike) -> bool:
        """Claim ``path`` (True), or find it held by another live process (False)."""
        path = Path(path)
        if path in self.held:
            return True
        claim = Claim(path, self.holder, self.token)
        try:
            claim.__enter__()
        except Busy:
            return False
        self.held[path] = claim
        return True

    def holds(self, path: str | os.PathLike) -> bool:
        return Path(path) in self.held

    def release(self, path: str | os.PathLike) -> None:
        claim = self.held.pop(Path(path), None)
        if claim is not None:
            claim.__exit__()

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with this set's token added to the handed-down ones."""
        return {**base, HANDED_DOWN: " ".join([*base.get(HANDED_DOWN, "").split(), self.token])}

    @contextlib.contextmanager
    def in_this_process(self) -> Iterator[None]:
        """Within the block this process's own :class:`Claim` of a name the set holds works under
        the set's claim, as a process started with :meth:`env` does."""
        before = os.environ.get(HANDED_DOWN)
        os.environ[HANDED_DOWN] = self.env(dict(os.environ))[HANDED_DOWN]
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(HANDED_DOWN, None)
            else:
                os.environ[HANDED_DOWN] = before

    def fds(self, paths: list[str | os.PathLike]) -> list[int]:
        """The descriptors that hold these paths' claims (none for a claim handed down here)."""
        return [self.held[Path(p)].fd for p in paths if Path(p) in self.held and self.held[Path(p)].fd is not None]

    def __enter__(self) -> ClaimSet:
        return self

    def __exit__(self, *exc) -> None:
        for path in list(self.held):
            self.release(path)


def is_claimed(path: str | os.PathLike) -> bool:
    """Whether a live process holds the claim on ``path`` (a leftover file of a dead one is not)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
