"""The rows every corpus reader gives, and the small file helpers the readers share.

A reader (one module of this package per corpus layout, listed by ``ser.corpora.registry``)
turns a corpus tree into a :class:`CorpusScan`: one :class:`Utterance` row per labelled
recording with audio, and every item it left out with the reason. Features, splits, training
and reports work on these rows alone, so they work the same on every corpus. A manifest
(:func:`write_manifest`, :func:`read_manifest`) is these rows as a CSV file.
"""
from __future__ import annotations

import csv
import io
import os
import pathlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass, field, fields

import soundfile as sf

from ser.errors import UserError
from ser.io import write_text

# Manifests written before the rows had a gender and an official split lack the last two
# columns; read_manifest still reads them (both default to "").
LEGACY_MANIFEST_FIELDS = ("path", "turn", "session", "speaker", "dialog", "kind", "label",
                          "start", "end", "duration")
MANIFEST_FIELDS = (*LEGACY_MANIFEST_FIELDS, "gender", "official_split")
GENDERS = ("F", "M", "")
OFFICIAL_SPLITS = ("train", "validation", "test")

# Why a reader leaves an item out, in any corpus.
R_NO_WAV = "labelled turn has no wav file"
R_NO_LABEL = "wav file has no label line"
R_UNREADABLE = "unreadable wav header"
R_EMPTY = "wav has no samples"


class CorpusError(UserError):
    """The tree cannot be used at all; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Utterance:
    """One labelled turn with audio; ``path`` is relative to the corpus root (posix).

    ``turn`` names the utterance uniquely within its corpus and ``speaker`` is a speaker id
    unique within it ("" when the corpus does not know who speaks). ``gender`` is "F", "M"
    or "" (unknown); ``official_split`` is the part the corpus itself assigns ("train",
    "validation", "test"), "" when it has no such split or leaves this utterance out of it.
    """

    path: str
    turn: str
    session: int
    speaker: str
    dialog: str
    kind: str
    label: str
    start: float
    end: float
    duration: float
    gender: str = ""
    official_split: str = ""


@dataclass
class CorpusScan:
    """Result of a corpus reader: usable utterances plus what was left out and why.

    ``corpus`` is the reader's registry name (``ser.corpora.registry``).
    """

    root: pathlib.Path
    utterances: list[Utterance]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    corpus: str = "iemocap"
    # the reader's own first lines of the summary (IEMOCAP counts its subsets, sessions and the
    # paper's 4-class set); None: counts per label, speaker, gender and part
    describe: Callable[[CorpusScan], list[str]] | None = field(default=None, repr=False, compare=False)

    def summary(self, examples: int = 3) -> str:
        """Counts per label, speaker and part (or the reader's own), then skipped items by reason."""
        lines = self.describe(self) if self.describe is not None else self._corpus_lines()
        if not self.skipped:
            lines.append("  skipped: none")
            return "\n".join(lines)
        lines.append(f"  skipped {len(self.skipped)}:")
        lines.extend(format_skipped(self.skipped, examples))
        return "\n".join(lines)

    def _corpus_lines(self) -> list[str]:
        utts = self.utterances
        speakers = {u.speaker for u in utts if u.speaker}
        genders = Counter(u.gender for u in utts)
        hours = sum(u.duration for u in utts) / 3600
        unknown = sum(not u.speaker for u in utts)
        lines = [f"{self.corpus} at {self.root}: {len(utts)} labelled utterances with audio ({hours:.2f} h), "
                 f"{len(speakers)} speakers" + (f" (+{unknown} utterances of unknown speakers)" if unknown else "")
                 + f"; utterances by gender F {genders['F']}, M {genders['M']}, unknown {genders['']}"]
        labels = Counter(u.label for u in utts)
        lines.append("  labels: " + ", ".join(f"{t} {labels[t]}" for t in sorted(labels)))
        parts = Counter(u.official_split for u in utts)
        if set(parts) == {""}:
            lines.append("  official split: none")
        else:
            lines.append("  official split: " + ", ".join(f"{p} {parts[p]}" for p in OFFICIAL_SPLITS)
                         + f", in none {parts['']}")
        return lines

def format_skipped(skipped: Iterable[tuple[str, str]], examples: int = 3,
                   indent: str = "    ") -> list[str]:
    """One line per reason, most frequent first: ``reason: count (e.g. item, item, ...)``."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for item, reason in skipped:
        by_reason[reason].append(item)
    lines = []
    for reason, items in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(items[:examples]) + (", ..." if len(items) > examples else "")
        lines.append(f"{indent}{reason}: {len(items)} (e.g. {shown})")
    return lines


def is_wav_name(name: str) -> bool:
    """True for ``x.wav`` in any letter case, false for hidden files (``._x.wav`` copies)."""
    return name.lower().endswith(".wav") and not name.startswith(".")


def list_wavs(folder: pathlib.Path, recursive: bool = True) -> list[pathlib.Path]:
    """Every wav (any case of ``.wav``) in ``folder``, below it too if ``recursive``, in sorted
    path order; hidden files and folders are left out.

    Symbolic links to folders are followed (a speaker's folder moved to another disk and linked
    back is part of the corpus), each real folder is listed once, so a link back to a folder
    above it cannot loop. Paths keep the names they are reached by."""
    found = []
    listed: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in listed:
            dirnames[:] = []
            continue
        listed.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        found.extend(pathlib.Path(dirpath, n) for n in filenames if is_wav_name(n))
    return sorted(found)


def unpacked_folder(path: pathlib.Path, archive_folders: Iterable[str],
                    looks: Callable[[pathlib.Path], bool]) -> pathlib.Path:
    """``path`` if it shows a corpus's layout (``looks``), else the one sub-folder named as the
    corpus's own archive unpacks it (``archive_folders``: regular expressions, any letter case)
    that shows it, else ``path`` (whose reader then says what it expected)."""
    if looks(path) or not path.is_dir():
        return path
    patterns = [re.compile(name, re.IGNORECASE) for name in archive_folders]
    found = sorted(p for p in path.iterdir()
                   if p.is_dir() and any(pattern.fullmatch(p.name) for pattern in patterns) and looks(p))
    return found[0] if len(found) == 1 else path


def probe_wav(path: pathlib.Path) -> float | str:
    """The duration in seconds of a readable wav with samples, else the skip reason
    (:data:`R_UNREADABLE` or :data:`R_EMPTY`)."""
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError):
        return R_UNREADABLE
    if info.frames <= 0 or info.samplerate <= 0:
        return R_EMPTY
    return info.frames / info.samplerate


def how_to_point(corpus: str) -> str:
    """The remedy every corpus error ends with, for registry name ``corpus``."""
    return f"pass --data PATH (with --corpus {corpus} where the layout is not detected)"


def corpus_folder(root: str | os.PathLike | None, corpus: str, title: str, layout: str) -> pathlib.Path:
    """``root`` as a Path if it is a folder, else CorpusError naming the corpus (``title``),
    what is wrong, the ``layout`` expected and how to point at it (registry name ``corpus``)."""
    text = os.fspath(root) if root is not None else ""
    if not text.strip():
        raise CorpusError(f"no {title} location given; expected {layout}; {how_to_point(corpus)}")
    path = pathlib.Path(text).expanduser()
    if not path.is_dir():
        why = "not a folder" if path.exists() else "no such folder"
        raise CorpusError(f"{title} not found at {path} ({why}); expected {layout}; {how_to_point(corpus)}")
    return path


def write_manifest(scan_or_utterances: CorpusScan | Iterable[Utterance],
                   path: str | os.PathLike) -> bool:
    """Write the manifest CSV (header row + one row per utterance, in the given order).

    The file is only replaced when its content changes, so a rerun leaves it byte- and
    mtime-identical. Returns True if the file was written.
    """
    utts = (scan_or_utterances.utterances if isinstance(scan_or_utterances, CorpusScan)
            else list(scan_or_utterances))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_FIELDS)
    # repr() of a float round-trips exactly, so read_manifest gives back equal objects.
    writer.writerows([repr(v) if isinstance(v, float) else v for v in astuple(u)] for u in utts)
    text = buf.getvalue()
    path = pathlib.Path(path)
    if path.is_file() and path.read_bytes() == text.encode("utf-8"):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    return True


def read_manifest(path: str | os.PathLike) -> list[Utterance]:
    """Read a manifest written by :func:`write_manifest`; CorpusError if missing or invalid.

    A manifest with the older header (:data:`LEGACY_MANIFEST_FIELDS`) is read too; its rows
    get an unknown gender and no official split.
    """
    path = pathlib.Path(path)
    remedy = "create it with: python handleIEMOCAP.py --data PATH -o MANIFEST"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CorpusError(f"manifest {path} not found; {remedy}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(f"manifest {path} cannot be read ({e}); {remedy}") from None
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None or tuple(header) not in (MANIFEST_FIELDS, LEGACY_MANIFEST_FIELDS):
        raise CorpusError(f"manifest {path} has header {header}, expected "
                          f"{','.join(MANIFEST_FIELDS)}; {remedy}")
    types = [f.type for f in fields(Utterance)][:len(header)]
    convert = {"str": str, "int": int, "float": float}
    out = []
    for lineno, row in enumerate(rows, 2):
        try:
            if len(row) != len(header):
                raise ValueError(f"{len(row)} fields")
            u = Utterance(*(convert[t](v) for t, v in zip(types, row)))
            if u.gender not in GENDERS:
                raise ValueError(f"gender {u.gender!r} is none of F, M or empty")
            if u.official_split not in (*OFFICIAL_SPLITS, ""):
                raise ValueError(f"official split {u.official_split!r} is none of {', '.join(OFFICIAL_SPLITS)} "
                                 "or empty")
            out.append(u)
        except ValueError as e:
            raise CorpusError(f"manifest {path} line {lineno} is invalid ({e}); "
                              f"{remedy}") from None
    return out
