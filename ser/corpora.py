"""Read an IEMOCAP_full_release tree into manifest rows, without ever modifying it.

Layout read::

    ROOT/SessionN/sentences/wav/<dialog>/<turn>.wav         16 kHz mono audio (.wav in any case)
    ROOT/SessionN/dialog/EmoEvaluation/<dialog>.txt         one label line per turn of <dialog>

A label line reads ``[START - END]<TAB>TURN<TAB>EMO<TAB>[V, A, D]``; every other line of an
evaluation file (header, ``C-E1:``/``A-E3:``/``C-F1:`` annotator detail, blanks) is skipped.

Corpus-level problems (no corpus, no sessions, a session without its label or audio folder)
raise :class:`CorpusError` with one actionable message.  Problems with single items (a turn
without audio, audio without a label, a dialog without its evaluation file, an unreadable or
empty wav, a malformed line, a label line in another dialog's file) never raise:
they are listed in :attr:`CorpusScan.skipped` with a reason, and :meth:`CorpusScan.summary`
groups them.

Wavs that the original GLAM ``handleIEMOCAP.py`` already renamed in place
(``Ses01F-impro01-01-01-F000.wav``) are recognised and used where they lie.

The row type (:class:`Utterance`), the scan result, the manifest and the small file helpers
here are shared by every corpus reader (``ser.readers`` lists them), so features, splits,
training and reports work the same on each corpus.
"""
from __future__ import annotations

import csv
import io
import os
import pathlib
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import astuple, dataclass, field, fields

import soundfile as sf

from ser.errors import UserError
from ser.io import write_text
from ser.labels import CLASS_NAMES, LABEL_SETS  # re-exported: the label sets of every corpus

__all__ = [
    "CLASS_NAMES", "EMO_TOKENS", "GENDERS", "LABEL_SETS", "LEGACY_MANIFEST_FIELDS", "MANIFEST_FIELDS",
    "OFFICIAL_SPLITS", "RENAME_CODES", "SESSIONS", "CorpusError", "CorpusScan", "Utterance",
    "corpus_folder", "format_skipped", "how_to_point", "is_wav_name", "label_lines", "list_wavs",
    "parse_label_line", "probe_wav", "read_manifest", "SUBSETS", "renamed_wav_name", "scan_iemocap",
    "select", "split_order_key", "unpacked_folder", "validate_root", "write_manifest",
]

SESSIONS = tuple(f"Session{i}" for i in range(1, 6))
# The folder IEMOCAP's archive (IEMOCAP_full_release.tar.gz) unpacks to; --data may name the
# folder holding it.
ARCHIVE_FOLDERS = ("IEMOCAP_full_release",)
EVAL_DIR = ("dialog", "EmoEvaluation")
WAV_DIR = ("sentences", "wav")

# Label tokens of the real corpus, in the order the original tool numbers them (dis and oth
# have no number there). Summaries list tokens in this order.
EMO_TOKENS = ("neu", "fru", "hap", "sad", "ang", "fea", "exc", "sur", "xxx", "dis", "oth")

# Two-digit codes the original tool writes into renamed wav names; dis/oth are never renamed.
RENAME_CODES = {"neu": "01", "fru": "02", "hap": "03", "sad": "04", "ang": "05",
                "fea": "06", "exc": "07", "sur": "08", "xxx": "09"}

SUBSETS = ("impro", "script", "all")

# Manifests written before the rows had a gender and an official split lack the last two
# columns; read_manifest still reads them (both default to "").
LEGACY_MANIFEST_FIELDS = ("path", "turn", "session", "speaker", "dialog", "kind", "label",
                          "start", "end", "duration")
MANIFEST_FIELDS = (*LEGACY_MANIFEST_FIELDS, "gender", "official_split")

# Values of Utterance.gender and Utterance.official_split; "" means unknown / not in one.
GENDERS = ("F", "M", "")
OFFICIAL_SPLITS = ("train", "validation", "test")

_HOW_TO_SET = "set IEMOCAP_DIR, edit path.py, or pass --data PATH"
_LAYOUT = ("an IEMOCAP_full_release folder holding Session1..Session5, each with "
           "SessionN/sentences/wav/<dialog>/<turn>.wav and "
           "SessionN/dialog/EmoEvaluation/<dialog>.txt")

_NUM = r"(\d+(?:\.\d*)?|\.\d+)"
# The V/A/D bracket is optional: only time span, turn and token are needed.
_LABEL_LINE = re.compile(
    rf"\[\s*{_NUM}\s*-\s*{_NUM}\s*\]\s+(\S+)\s+(\S+)(?:\s+\[[^\]]*\])?\s*")
# 3 parts (Ses01F_impro01_F000) or 4 parts (Ses03M_script03_2_F032); the speaker's letter
# opens the last part.
_TURN = re.compile(r"Ses(\d\d)[FM]_[A-Za-z0-9]+(?:_[A-Za-z0-9]+)?_([FM])[A-Za-z0-9]*")
_CODE = re.compile(r"\d\d")

# Reasons recorded in CorpusScan.skipped (stable strings so summaries can group them).
R_NO_WAV = "labelled turn has no wav file"
R_NO_LABEL = "wav file has no label line"
R_NO_EVAL = "dialog has no EmoEvaluation file"
R_UNREADABLE = "unreadable wav header"
R_EMPTY = "wav has no samples"
R_MALFORMED_LINE = "malformed label line"
R_MALFORMED_TURN = "malformed turn name"
R_DUPLICATE = "duplicate label line (first kept)"
R_RENAMED_TWIN = "renamed copy beside the original-name wav (original used)"
R_SAME_TURN_WAV = "second wav of the same turn (first in name order used)"
R_OTHER_DIALOG = "label line in the evaluation file of another dialog or session"
R_BAD_EVAL = "unreadable evaluation file"


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

    ``corpus`` is the reader's registry name (``ser.readers.CORPORA``).
    """

    root: pathlib.Path
    utterances: list[Utterance]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    corpus: str = "iemocap"

    def summary(self, examples: int = 3) -> str:
        """Counts per label, speaker and part, then skipped items by reason.

        IEMOCAP's summary also counts its subsets, sessions and the paper's 4-class set.
        """
        lines = self._iemocap_lines() if self.corpus == "iemocap" else self._corpus_lines()
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

    def _iemocap_lines(self) -> list[str]:
        utts = self.utterances
        kinds = Counter(u.kind for u in utts)
        speakers = {u.speaker for u in utts}
        sessions = sorted({u.session for u in utts})
        hours = sum(u.duration for u in utts) / 3600
        lines = [
            f"IEMOCAP at {self.root}: {len(utts)} labelled utterances with audio "
            f"({hours:.2f} h), {len(sessions)} sessions, {len(speakers)} speakers; "
            f"impro {kinds['impro']}, script {kinds['script']}",
        ]
        labels = Counter(u.label for u in utts)
        order = [t for t in EMO_TOKENS if t in labels] + sorted(set(labels) - set(EMO_TOKENS))
        lines.append("  labels: " + ", ".join(f"{t} {labels[t]}" for t in order))
        per_session = []
        for s in sessions:
            spk = Counter(u.speaker for u in utts if u.session == s)
            inner = ", ".join(f"{k} {spk[k]}" for k in sorted(spk))
            per_session.append(f"{s}: {sum(spk.values())} ({inner})")
        lines.append("  sessions: " + " | ".join(per_session))
        glam = LABEL_SETS["glam"]
        in_set = [u for u in utts if u.label in glam]
        lines.append(
            f"  4-class 'glam' set ({'/'.join(glam)}): all {len(in_set)}, "
            + ", ".join(f"{k} {sum(u.kind == k for u in in_set)}" for k in ("impro", "script")))
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


def renamed_wav_name(turn: str, label: str) -> str | None:
    """File name the original GLAM tool gives a labelled turn's wav, or None if it keeps it.

    ``Ses01F_impro01_F000`` + neu -> ``Ses01F-impro01-01-01-F000.wav``;
    ``Ses03M_script03_2_F032`` + neu -> ``Ses03M-script03-01-01-2_F032.wav``.
    """
    code = RENAME_CODES.get(label)
    if code is None:
        return None
    first, second, *rest = turn.split("_")
    return f"{first}-{second}-{code}-01-{'_'.join(rest)}.wav"


def _turn_of_wav(stem: str) -> str:
    """Turn name of a wav stem, undoing the original tool's renaming when present."""
    parts = stem.split("-")
    if len(parts) == 5 and _CODE.fullmatch(parts[2]) and parts[3] == "01":
        return f"{parts[0]}_{parts[1]}_{parts[4]}"
    return stem


def split_order_key(u: Utterance) -> str:
    """Sort key that fixes the utterance order, hence the seeded 80/20 split.

    The original tool lists the renamed wavs; sorting that list is our documented
    deviation.  Keying on the name the original tool gives each file makes the order
    identical whether or not this corpus copy was actually renamed, and equal to the
    original code with a sorted file list.
    """
    name = renamed_wav_name(u.turn, u.label) or f"{u.turn}.wav"
    return f"{posixpath.dirname(u.path)}/{name}"


def validate_root(root: str | os.PathLike) -> pathlib.Path:
    """``root`` as a Path if it looks like IEMOCAP_full_release (or holds the
    ``IEMOCAP_full_release`` folder its archive unpacks to: that folder), else CorpusError."""
    text = os.fspath(root) if root is not None else ""
    if not text.strip():
        raise CorpusError(f"no IEMOCAP location given; expected {_LAYOUT}; {_HOW_TO_SET}")
    path = pathlib.Path(text).expanduser()
    if not path.is_dir():
        why = "not a folder" if path.exists() else "no such folder"
        raise CorpusError(f"IEMOCAP corpus not found at {path} ({why}); expected "
                          f"{_LAYOUT}; {_HOW_TO_SET}")
    path = unpacked_folder(path, ARCHIVE_FOLDERS, _has_sessions)
    if not _has_sessions(path):
        # A common slip is pointing at the folder that contains the corpus under another name.
        nested = sorted(p for p in path.iterdir() if p.is_dir() and _has_sessions(p))
        hint = f" (did you mean {nested[0]}?)" if nested else ""
        raise CorpusError(f"{path} is not an IEMOCAP tree: no Session1..Session5 folders"
                          f"{hint}; expected {_LAYOUT}; {_HOW_TO_SET}")
    return path


def _has_sessions(path: pathlib.Path) -> bool:
    return any((path / s).is_dir() for s in SESSIONS)


def _session_problems(root: pathlib.Path) -> list[tuple[str, str]]:
    problems = []
    for s in SESSIONS:
        if not (root / s).is_dir():
            problems.append((s, "missing session folder"))
            continue
        for parts in (EVAL_DIR, WAV_DIR):
            if not (root / s).joinpath(*parts).is_dir():
                problems.append((f"{s}/{'/'.join(parts)}", "missing folder"))
    return problems


def _index_wavs(root: pathlib.Path, skipped: list[tuple[str, str]]) -> dict[str, str]:
    """Map turn name -> wav relpath for every ``Ses*.wav`` (any case of ``.wav``) under
    SessionN/sentences/wav/*/."""
    found: dict[str, str] = {}
    twins: list[tuple[str, str]] = []
    for s in SESSIONS:
        wav_root = root.joinpath(s, *WAV_DIR)
        if not wav_root.is_dir():
            continue
        # Names starting with "Ses" exclude the "._*" AppleDouble files of some copies.
        dialogs = sorted(d.name for d in os.scandir(wav_root)
                         if d.name.startswith("Ses") and d.is_dir())
        for dialog in dialogs:
            names = sorted(e.name for e in os.scandir(wav_root / dialog)
                           if e.name.startswith("Ses") and is_wav_name(e.name) and e.is_file())
            for name in names:
                rel = f"{s}/{'/'.join(WAV_DIR)}/{dialog}/{name}"
                turn = _turn_of_wav(name[:-4])
                if turn not in found:
                    found[turn] = rel
                    continue
                original, kept_original = name[:-4] == turn, posixpath.basename(found[turn])[:-4] == turn
                if original and not kept_original:
                    # A renamed copy beside the untouched original: keep the original name.
                    found[turn], rel = rel, found[turn]
                # Two wavs of one kind (say X.WAV and X.wav): the first in name order is used.
                twins.append((rel, R_RENAMED_TWIN if original != kept_original else R_SAME_TURN_WAV))
    skipped.extend(twins)
    return found


@dataclass(frozen=True)
class _Label:
    turn: str
    label: str
    start: float
    end: float
    where: str  # "relpath:lineno", for messages
    file_session: int  # the session folder and dialog of the evaluation file holding the line
    file_dialog: str


def _read_labels(root: pathlib.Path, skipped: list[tuple[str, str]]) -> list[_Label]:
    """Label lines from the top-level ``Ses*.txt`` files of every EmoEvaluation folder."""
    labels: list[_Label] = []
    for session, s in enumerate(SESSIONS, 1):
        eval_root = root.joinpath(s, *EVAL_DIR)
        if not eval_root.is_dir():
            continue
        # Top level only: Attribute/, Categorical/, Self-evaluation/ hold per-annotator files.
        names = sorted(e.name for e in os.scandir(eval_root)
                       if e.name.startswith("Ses") and e.name.endswith(".txt") and e.is_file())
        for name in names:
            rel = f"{s}/{'/'.join(EVAL_DIR)}/{name}"
            try:
                # utf-8-sig drops a BOM; bad bytes only spoil a line.
                text = (eval_root / name).read_bytes().decode("utf-8-sig", errors="replace")
            except OSError:
                skipped.append((rel, R_BAD_EVAL))
                continue
            for lineno, parsed in label_lines(text):
                where = f"{rel}:{lineno}"
                if parsed is None:
                    skipped.append((where, R_MALFORMED_LINE))
                    continue
                start, end, turn, token = parsed
                labels.append(_Label(turn, token, start, end, where, session, name[:-4]))
    return labels


def parse_label_line(line: str) -> tuple[float, float, str, str] | None:
    """``(start, end, turn, token)`` of one ``[START - END] TURN EMO [V, A, D]`` line, with
    any spaces/tabs between the parts; None if malformed. The token is not checked."""
    m = _LABEL_LINE.fullmatch(line.strip())
    if m is None:
        return None
    start, end, turn, token = m.groups()
    return float(start), float(end), turn, token


def label_lines(text: str) -> Iterator[tuple[int, tuple[float, float, str, str] | None]]:
    """``(line number, parse_label_line(line))`` for every line of an evaluation file that
    opens with "[" (the rest is header and annotator detail); LF, CRLF and CR all end lines."""
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("["):
            yield lineno, parse_label_line(line)


def _parse_turn(turn: str) -> tuple[int, str, str, str] | None:
    """(session, speaker, dialog, kind) of a well-formed turn name, else None."""
    m = _TURN.fullmatch(turn)
    if m is None:
        return None
    dialog = turn.rsplit("_", 1)[0]
    kind = "impro" if "impro" in dialog else "script" if "script" in dialog else None
    if kind is None:
        return None
    session = int(m.group(1))
    return session, f"{session}{m.group(2)}", dialog, kind


def scan_iemocap(root: str | os.PathLike, *, allow_missing_sessions: bool = False) -> CorpusScan:
    """Read every labelled turn with audio under ``root``; never writes to the corpus.

    With ``allow_missing_sessions`` an incomplete corpus (missing session or its folders)
    is scanned anyway and the gaps are listed in ``skipped``; by default it is an error,
    because the paper's numbers need all five sessions.
    """
    path = validate_root(root)
    skipped: list[tuple[str, str]] = []
    problems = _session_problems(path)
    if problems and not allow_missing_sessions:
        listed = ", ".join(f"{item} ({why})" for item, why in problems)
        raise CorpusError(f"incomplete IEMOCAP tree at {path}: {listed}; the paper's protocol "
                          f"needs all five sessions, so check that the download/extraction is "
                          f"complete (expected {_LAYOUT})")
    skipped.extend(problems)

    wavs = _index_wavs(path, skipped)
    used: set[str] = set()
    utterances: list[Utterance] = []
    for lab in _read_labels(path, skipped):
        parsed = _parse_turn(lab.turn)
        if parsed is None:
            skipped.append((f"{lab.turn} ({lab.where})", R_MALFORMED_TURN))
            continue
        session, speaker, dialog, kind = parsed
        # A turn's label belongs in its own dialog's file; a stray copy elsewhere (an edited or
        # misplaced file) must neither label the turn nor shadow its real line, whatever the
        # order in which the files are read.
        if (session, dialog) != (lab.file_session, lab.file_dialog):
            skipped.append((f"{lab.turn} ({lab.where})", R_OTHER_DIALOG))
            continue
        if lab.turn in used:
            skipped.append((f"{lab.turn} ({lab.where})", R_DUPLICATE))
            continue
        used.add(lab.turn)
        rel = wavs.get(lab.turn)
        if rel is None:
            skipped.append((lab.turn, R_NO_WAV))
            continue
        try:
            info = sf.info(str(path / rel))
        except (sf.SoundFileError, RuntimeError, OSError):
            skipped.append((rel, R_UNREADABLE))
            continue
        if info.frames <= 0 or info.samplerate <= 0:
            skipped.append((rel, R_EMPTY))
            continue
        # IEMOCAP has no official split; its speaker id ends with the actor's gender letter.
        utterances.append(Utterance(rel, lab.turn, session, speaker, dialog, kind, lab.label,
                                    lab.start, lab.end, info.frames / info.samplerate,
                                    gender=speaker[-1]))
    for turn, rel in sorted(wavs.items(), key=lambda kv: kv[1]):
        if turn not in used:
            session, *_, dialog, _ = rel.split("/")
            has_eval = path.joinpath(session, *EVAL_DIR, f"{dialog}.txt").is_file()
            skipped.append((rel, R_NO_LABEL if has_eval else R_NO_EVAL))
    if not utterances:
        raise CorpusError(f"no labelled utterance with readable audio under {path} "
                          f"({len(skipped)} items skipped); expected {_LAYOUT}")
    utterances.sort(key=split_order_key)
    return CorpusScan(path, utterances, skipped)


def select(utterances: Iterable[Utterance], subset: str) -> list[Utterance]:
    """Keep one subset (``-i/--impro_or_script``): 'impro', 'script' or 'all'; order kept."""
    if subset not in SUBSETS:
        raise ValueError(f"unknown subset {subset!r}; choose one of: {', '.join(SUBSETS)}")
    return [u for u in utterances if subset == "all" or u.kind == subset]


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
