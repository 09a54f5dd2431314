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

Rows, scans and the manifest are ``ser.corpora.rows``'s, shared by every corpus reader.
"""
from __future__ import annotations

import os
import pathlib
import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import soundfile as sf

from ser.corpora.entry import Corpus, LabelSet, register
from ser.corpora.rows import (
    R_EMPTY,
    R_NO_LABEL,
    R_NO_WAV,
    R_UNREADABLE,
    CorpusError,
    CorpusScan,
    Utterance,
    is_wav_name,
    unpacked_folder,
)

SESSIONS = tuple(f"Session{i}" for i in range(1, 6))
# A speaker: the session's number and the actor's gender letter (1F, 1M, ..., 5M); emoDB's
# speakers are mapped onto these ids too (seed 004's convention, ser.corpora.emodb).
SPEAKER_ID = re.compile(r"[1-5][FM]")
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


# Values of Utterance.gender and Utterance.official_split; "" means unknown / not in one.

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
R_NO_EVAL = "dialog has no EmoEvaluation file"
R_MALFORMED_LINE = "malformed label line"
R_MALFORMED_TURN = "malformed turn name"
R_DUPLICATE = "duplicate label line (first kept)"
R_RENAMED_TWIN = "renamed copy beside the original-name wav (original used)"
R_SAME_TURN_WAV = "second wav of the same turn (first in name order used)"
R_OTHER_DIALOG = "label line in the evaluation file of another dialog or session"
R_BAD_EVAL = "unreadable evaluation file"


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
    return CorpusScan(path, utterances, skipped, describe=_summary_lines)


def _summary_lines(scan: CorpusScan) -> list[str]:
    """The first lines of an IEMOCAP scan's summary: subsets, labels, sessions, the 4-class set."""
    utts = scan.utterances
    kinds = Counter(u.kind for u in utts)
    speakers = {u.speaker for u in utts}
    sessions = sorted({u.session for u in utts})
    hours = sum(u.duration for u in utts) / 3600
    lines = [
        f"IEMOCAP at {scan.root}: {len(utts)} labelled utterances with audio "
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
    glam = OWN_LABEL_SETS["glam"].classes
    in_set = [u for u in utts if u.label in glam]
    lines.append(
        f"  4-class 'glam' set ({'/'.join(glam)}): all {len(in_set)}, "
        + ", ".join(f"{k} {sum(u.kind == k for u in in_set)}" for k in ("impro", "script")))
    return lines


def select(utterances: Iterable[Utterance], subset: str) -> list[Utterance]:
    """Keep one subset (``-i/--impro_or_script``): 'impro', 'script' or 'all'; order kept."""
    if subset not in SUBSETS:
        raise ValueError(f"unknown subset {subset!r}; choose one of: {', '.join(SUBSETS)}")
    return [u for u in utterances if subset == "all" or u.kind == subset]


def looks_like_iemocap(root: pathlib.Path) -> bool:
    """True if ``root`` holds a ``SessionN/sentences/wav`` folder (not recursive)."""
    return any((root / session / "sentences" / "wav").is_dir() for session in SESSIONS)


# The GLAM paper's label sets and seed 004's (ser.corpora.labels says what each keeps).
OWN_LABEL_SETS = {
    "glam": LabelSet({"neu": 0, "sad": 1, "ang": 2, "exc": 3}, ("neutral", "sad", "angry", "happy(excited)")),
    "merge": LabelSet({"neu": 0, "sad": 1, "ang": 2, "exc": 3, "hap": 3}, ("neutral", "sad", "angry", "happy+excited")),
    "seed004": LabelSet({"ang": 0, "sad": 1, "hap": 2, "neu": 3}, ("angry", "sad", "happy", "neutral")),
    "seed004exc": LabelSet({"ang": 0, "sad": 1, "hap": 2, "exc": 2, "neu": 3},
                           ("angry", "sad", "happy+excited", "neutral")),
}

CORPUS = register(Corpus(
    name="iemocap", title="IEMOCAP",
    layout="IEMOCAP_full_release with Session1..Session5 (sentences/wav, dialog/EmoEvaluation)",
    scan=scan_iemocap, looks_like=looks_like_iemocap, check_root=validate_root,
    label_sets=("glam", "merge", "seed004", "seed004exc", "shared4"), own_label_sets=OWN_LABEL_SETS,
    default_protocol="paper", archive_folders=ARCHIVE_FOLDERS, session_speakers=True,
    environment="IEMOCAP_DIR", path_setting="DEFAULT_IEMOCAP_DIR", subsets=SUBSETS,
    synthetic="ser.synthetic.synth:generate"))
