"""Tests for ser.corpora on tiny IEMOCAP-shaped trees built in tmp_path.

``make_corpus`` and ``tree_hash`` are also used by test_handleIEMOCAP.py.
"""
from __future__ import annotations

import hashlib
import os
import pathlib

import numpy as np
import pytest
import soundfile as sf

from ser import corpora
from ser.corpora import CorpusError, Utterance, iemocap

SR = 16000
VAD = "[2.5000, 2.5000, 2.5000]"
HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
ANNOTATORS = ["C-E2:\tNeutral;\t()", "C-E3:\tNeutral;\t()", "C-F1:\tNeutral;\t()",
              "A-E3:\tval 3; act 2; dom  2;\t()", "A-F1:\tval 2; act 2; dom  3;\t()"]


def _label(start: str, end: str, turn: str, emo: str) -> str:
    return f"[{start} - {end}]\t{turn}\t{emo}\t{VAD}"


def _block(start: str, end: str, turn: str, emo: str) -> list[str]:
    """One turn as the real files hold it: label line, annotator lines, blank line."""
    return [_label(start, end, turn, emo), *ANNOTATORS, ""]


def _eval_file(path: pathlib.Path, lines: list[str], *, crlf: bool = False,
               bom: bool = False) -> None:
    text = ("\r\n" if crlf else "\n").join([HEADER, "", *lines]) + ("\r\n" if crlf else "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())


def _wav(path: pathlib.Path, seconds: float = 0.25) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220 * t), SR)


def _wavs(root: pathlib.Path, session: int, dialog: str, suffixes: list[str]) -> None:
    for sfx in suffixes:
        _wav(root / f"Session{session}/sentences/wav/{dialog}/{dialog}_{sfx}.wav")


def eval_path(root: pathlib.Path, session: int, dialog: str) -> pathlib.Path:
    return root / f"Session{session}/dialog/EmoEvaluation/{dialog}.txt"


def make_corpus(root: pathlib.Path) -> pathlib.Path:
    """A 5-session tree with 14 usable turns and 7 per-item problems (see EXPECTED_*)."""
    # Session 1: CRLF + BOM file; a 4-part scripted dialog recorded on the M side with spaces
    # instead of tabs; the distractors the real corpus has beside the evaluation files.
    _eval_file(eval_path(root, 1, "Ses01F_impro01"),
               _block("6.2901", "8.2357", "Ses01F_impro01_F000", "neu")
               + _block("10.0100", "11.3925", "Ses01F_impro01_M000", "fru")
               + _block("14.8872", "18.0175", "Ses01F_impro01_F001", "exc"),
               crlf=True, bom=True)
    _eval_file(eval_path(root, 1, "Ses01M_script01_1"),
               ["[1.0 - 2.5]   Ses01M_script01_1_F000  sad   [2.0, 3.0, 3.5]", *ANNOTATORS, "",
                *_block("3.0000", "4.0000", "Ses01M_script01_1_M001", "dis")])
    ev1 = root / "Session1/dialog/EmoEvaluation"
    for sub in ("Attribute", "Categorical", "Self-evaluation"):
        _eval_file(ev1 / sub / "Ses01F_impro01_e2.txt",
                   ["Ses01F_impro01_F000 :Neutral state; ()",
                    _label("1.0", "2.0", "Ses01F_impro01_F099", "neu")])
    (ev1 / "._Ses01F_impro01.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00[")
    _wavs(root, 1, "Ses01F_impro01", ["F000", "M000", "F001"])
    _wavs(root, 1, "Ses01M_script01_1", ["F000", "M001"])
    (root / "Session1/sentences/wav/Ses01F_impro01/._Ses01F_impro01_F000.wav").write_bytes(b"x")

    # Session 2: every kind of bad label line, plus a wav nobody labelled.
    _eval_file(eval_path(root, 2, "Ses02F_impro02"),
               _block("0.5", "1.5", "Ses02F_impro02_F000", "ang")
               + _block("2.0", "3.0", "Ses02F_impro02_M000", "hap")
               + _block("4.0", "5.0", "Ses02F_impro02_F001", "xxx")       # no wav
               + ["[1.5 - ]\tSes02F_impro02_F002\tneu\t" + VAD, ""]       # malformed
               + _block("6.0", "7.0", "Ses02F_impro02_F000", "sad")       # duplicate
               + _block("8.0", "9.0", "Ses02F_bad", "neu"))               # bad turn name
    _wavs(root, 2, "Ses02F_impro02", ["F000", "M000", "M009"])

    # Session 3: 4-part names, the oth token and a token outside the known set.
    _eval_file(eval_path(root, 3, "Ses03M_script03_2"),
               _block("1.0", "2.0", "Ses03M_script03_2_F032", "neu")
               + _block("2.0", "3.0", "Ses03M_script03_2_M001", "oth")
               + _block("3.0", "4.0", "Ses03M_script03_2_F033", "zzz"))
    _wavs(root, 3, "Ses03M_script03_2", ["F032", "M001", "F033"])

    # Session 4: a zero-byte wav and one with a garbage header.
    _eval_file(eval_path(root, 4, "Ses04F_impro04"),
               _block("1.0", "2.0", "Ses04F_impro04_F000", "fea")
               + _block("2.0", "3.0", "Ses04F_impro04_M000", "sur")
               + _block("3.0", "4.0", "Ses04F_impro04_F001", "sad")
               + _block("4.0", "5.0", "Ses04F_impro04_M001", "ang"))
    _wavs(root, 4, "Ses04F_impro04", ["F000", "M000"])
    wav4 = root / "Session4/sentences/wav/Ses04F_impro04"
    (wav4 / "Ses04F_impro04_F001.wav").write_bytes(b"")
    (wav4 / "Ses04F_impro04_M001.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" * 4)

    _eval_file(eval_path(root, 5, "Ses05M_impro05"),
               _block("1.0", "2.0", "Ses05M_impro05_F000", "neu")
               + _block("2.0", "3.0", "Ses05M_impro05_M000", "exc"))
    _wavs(root, 5, "Ses05M_impro05", ["F000", "M000"])
    return root


EXPECTED_LABELS = {
    "Ses01F_impro01_F000": "neu", "Ses01F_impro01_M000": "fru", "Ses01F_impro01_F001": "exc",
    "Ses01M_script01_1_F000": "sad", "Ses01M_script01_1_M001": "dis",
    "Ses02F_impro02_F000": "ang", "Ses02F_impro02_M000": "hap",
    "Ses03M_script03_2_F032": "neu", "Ses03M_script03_2_M001": "oth",
    "Ses03M_script03_2_F033": "zzz",
    "Ses04F_impro04_F000": "fea", "Ses04F_impro04_M000": "sur",
    "Ses05M_impro05_F000": "neu", "Ses05M_impro05_M000": "exc",
}
EV2 = "Session2/dialog/EmoEvaluation/Ses02F_impro02.txt"
WAV4 = "Session4/sentences/wav/Ses04F_impro04"
EXPECTED_SKIPPED = {
    ("Ses02F_impro02_F001", corpora.R_NO_WAV),
    (f"{EV2}:24", iemocap.R_MALFORMED_LINE),
    (f"Ses02F_impro02_F000 ({EV2}:26)", iemocap.R_DUPLICATE),
    (f"Ses02F_bad ({EV2}:33)", iemocap.R_MALFORMED_TURN),
    ("Session2/sentences/wav/Ses02F_impro02/Ses02F_impro02_M009.wav", corpora.R_NO_LABEL),
    (f"{WAV4}/Ses04F_impro04_F001.wav", corpora.R_UNREADABLE),
    (f"{WAV4}/Ses04F_impro04_M001.wav", corpora.R_UNREADABLE),
}


def tree_hash(root: pathlib.Path) -> list[tuple[str, str]]:
    """Sorted (relpath, sha256) of every file: equal lists mean byte-identical trees."""
    return sorted((p.relative_to(root).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
                  for p in root.rglob("*") if p.is_file())


@pytest.fixture
def corpus(tmp_path: pathlib.Path) -> pathlib.Path:
    return make_corpus(tmp_path / "IEMOCAP_full_release")


def test_fields_of_each_utterance(corpus):
    scan = iemocap.scan_iemocap(corpus)
    by_turn = {u.turn: u for u in scan.utterances}
    assert {t: u.label for t, u in by_turn.items()} == EXPECTED_LABELS
    assert by_turn["Ses01F_impro01_F000"] == Utterance(
        path="Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav",
        turn="Ses01F_impro01_F000", session=1, speaker="1F", dialog="Ses01F_impro01",
        kind="impro", label="neu", start=6.2901, end=8.2357, duration=0.25, gender="F", official_split="")
    # The speaker is the turn suffix's letter, not the dialog's recording side.
    assert (by_turn["Ses01F_impro01_M000"].speaker, by_turn["Ses01F_impro01_M000"].gender) == ("1M", "M")
    script = by_turn["Ses03M_script03_2_F032"]
    assert (script.session, script.speaker, script.dialog, script.kind) == (
        3, "3F", "Ses03M_script03_2", "script")
    spaced = by_turn["Ses01M_script01_1_F000"]
    assert (spaced.start, spaced.end, spaced.speaker, spaced.kind) == (1.0, 2.5, "1F", "script")
    assert scan.root == corpus


def test_skipped_items_and_reasons(corpus):
    scan = iemocap.scan_iemocap(corpus)
    assert set(scan.skipped) == EXPECTED_SKIPPED
    assert len(scan.skipped) == len(EXPECTED_SKIPPED)
    # Annotator subfolders and "._*" files are never read.
    assert not any("Categorical" in item or "/._" in item for item, _ in scan.skipped)


def test_order_is_independent_of_renaming(corpus):
    scan = iemocap.scan_iemocap(corpus)
    assert [u.turn for u in scan.utterances if u.session == 1] == [
        # Ordered by the original tool's file names (emotion code before the turn suffix),
        # which is what its file list holds; a plain path sort would put F001 before M000.
        "Ses01F_impro01_F000", "Ses01F_impro01_M000", "Ses01F_impro01_F001",
        "Ses01M_script01_1_F000", "Ses01M_script01_1_M001"]
    assert scan.utterances == sorted(scan.utterances, key=iemocap.split_order_key)


def test_files_renamed_by_the_original_tool_are_found(corpus):
    before = iemocap.scan_iemocap(corpus).utterances
    renames = {
        "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav":
            "Session1/sentences/wav/Ses01F_impro01/Ses01F-impro01-01-01-F000.wav",
        "Session3/sentences/wav/Ses03M_script03_2/Ses03M_script03_2_F032.wav":
            "Session3/sentences/wav/Ses03M_script03_2/Ses03M-script03-01-01-2_F032.wav",
    }
    for old, new in renames.items():
        os.rename(corpus / old, corpus / new)
    scan = iemocap.scan_iemocap(corpus)
    assert [u.turn for u in scan.utterances] == [u.turn for u in before]
    paths = {u.path for u in scan.utterances}
    assert set(renames.values()) <= paths and not set(renames) & paths
    assert set(scan.skipped) == EXPECTED_SKIPPED


def test_renamed_twin_beside_original_is_reported(corpus):
    wav_dir = corpus / "Session1/sentences/wav/Ses01F_impro01"
    (wav_dir / "Ses01F-impro01-01-01-F000.wav").write_bytes(
        (wav_dir / "Ses01F_impro01_F000.wav").read_bytes())
    scan = iemocap.scan_iemocap(corpus)
    assert scan.utterances[0].path.endswith("/Ses01F_impro01_F000.wav")
    assert ("Session1/sentences/wav/Ses01F_impro01/Ses01F-impro01-01-01-F000.wav",
            iemocap.R_RENAMED_TWIN) in scan.skipped


def test_a_label_line_in_another_dialogs_file_never_labels_the_turn(corpus):
    """Session 1's files are read first: a stray line there for a Session 2 turn, in another
    dialog's file or in a same-named file of the wrong session, must not win over the real line."""
    ev1 = "Session1/dialog/EmoEvaluation"
    with open(corpus / ev1 / "Ses01F_impro01.txt", "a") as f:
        f.write("[1.0 - 5.0]\tSes02F_impro02_F000\tneu\t[3,3,3]\n")
    stray_file = corpus / ev1 / "Ses02F_impro02.txt"
    _eval_file(stray_file, _block("2.0", "3.0", "Ses02F_impro02_M000", "sad"))
    scan = iemocap.scan_iemocap(corpus)
    assert {u.turn: u.label for u in scan.utterances} == EXPECTED_LABELS  # ang and hap, as in Session 2
    foreign = {(f"Ses02F_impro02_F000 ({ev1}/Ses01F_impro01.txt:24)", iemocap.R_OTHER_DIALOG),
               (f"Ses02F_impro02_M000 ({ev1}/Ses02F_impro02.txt:3)", iemocap.R_OTHER_DIALOG)}
    # The real lines are not reported as duplicates; the real duplicate in Session 2 still is.
    assert set(scan.skipped) == EXPECTED_SKIPPED | foreign and len(scan.skipped) == len(EXPECTED_SKIPPED) + 2


def test_upper_case_wav_extensions_are_found(corpus):
    wav_dir = corpus / "Session1/sentences/wav/Ses01F_impro01"
    os.rename(wav_dir / "Ses01F_impro01_M000.wav", wav_dir / "Ses01F_impro01_M000.WAV")
    os.rename(wav_dir / "Ses01F_impro01_F001.wav", wav_dir / "Ses01F-impro01-07-01-F001.Wav")
    scan = iemocap.scan_iemocap(corpus)
    by_turn = {u.turn: u for u in scan.utterances}
    assert {t: u.label for t, u in by_turn.items()} == EXPECTED_LABELS
    assert by_turn["Ses01F_impro01_M000"].path.endswith("/Ses01F_impro01_M000.WAV")
    assert by_turn["Ses01F_impro01_F001"].path.endswith("/Ses01F-impro01-07-01-F001.Wav")
    assert set(scan.skipped) == EXPECTED_SKIPPED
    # the order does not depend on the extension's case either
    assert scan.utterances == sorted(scan.utterances, key=iemocap.split_order_key)
    assert [u.turn for u in scan.utterances] == [u.turn for u in iemocap.scan_iemocap(make_corpus(
        corpus.parent / "fresh" / "IEMOCAP_full_release")).utterances]


def test_two_wavs_of_one_turn_differing_in_case_are_reported(corpus):
    wav_dir = corpus / "Session1/sentences/wav/Ses01F_impro01"
    (wav_dir / "Ses01F_impro01_M000.WAV").write_bytes((wav_dir / "Ses01F_impro01_M000.wav").read_bytes())
    scan = iemocap.scan_iemocap(corpus)
    # Both carry the turn's original name; the first in name order (upper case sorts first) is used.
    used = next(u for u in scan.utterances if u.turn == "Ses01F_impro01_M000")
    assert used.path.endswith("/Ses01F_impro01_M000.WAV")
    assert set(scan.skipped) == EXPECTED_SKIPPED | {
        ("Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M000.wav", iemocap.R_SAME_TURN_WAV)}


def test_renamed_wav_name_matches_the_original_tool():
    assert iemocap.renamed_wav_name("Ses01F_impro01_F000", "neu") == \
        "Ses01F-impro01-01-01-F000.wav"
    assert iemocap.renamed_wav_name("Ses03M_script03_2_F032", "exc") == \
        "Ses03M-script03-07-01-2_F032.wav"
    assert iemocap.renamed_wav_name("Ses01F_impro01_F000", "dis") is None


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_unusable_root_names_the_fix(tmp_path, make):
    root = tmp_path / "corpus"
    if make == "empty":
        root.mkdir()
    elif make == "file":
        root.write_text("not a folder")
    with pytest.raises(CorpusError) as err:
        iemocap.scan_iemocap(root)
    msg = str(err.value)
    for needle in ("IEMOCAP_DIR", "--data", "path.py", "Session1", "EmoEvaluation",
                   "sentences/wav", str(root)):
        assert needle in msg
    assert "\n" not in msg


def test_the_folder_holding_the_unpacked_archive_is_read_another_parent_gets_a_hint(tmp_path):
    make_corpus(tmp_path / "downloads" / "IEMOCAP_full_release")  # as IEMOCAP_full_release.tar.gz unpacks
    assert iemocap.validate_root(tmp_path / "downloads") == tmp_path / "downloads" / "IEMOCAP_full_release"
    scan = iemocap.scan_iemocap(tmp_path / "downloads")
    assert scan.root == tmp_path / "downloads" / "IEMOCAP_full_release" and scan.utterances
    make_corpus(tmp_path / "mine" / "iemocap_copy")
    with pytest.raises(CorpusError, match="did you mean .*iemocap_copy"):
        iemocap.validate_root(tmp_path / "mine")


def test_incomplete_corpus_is_an_error_unless_allowed(corpus):
    for p in sorted((corpus / "Session3").rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    (corpus / "Session3").rmdir()
    for p in sorted((corpus / "Session4/sentences").rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    (corpus / "Session4/sentences").rmdir()
    with pytest.raises(CorpusError) as err:
        iemocap.scan_iemocap(corpus)
    assert "Session3" in str(err.value) and "Session4/sentences/wav" in str(err.value)
    assert "download" in str(err.value)

    scan = iemocap.scan_iemocap(corpus, allow_missing_sessions=True)
    assert ("Session3", "missing session folder") in scan.skipped
    assert ("Session4/sentences/wav", "missing folder") in scan.skipped
    assert ("Ses04F_impro04_F000", corpora.R_NO_WAV) in scan.skipped
    assert {u.session for u in scan.utterances} == {1, 2, 5}


def test_no_usable_utterance_is_an_error(tmp_path):
    for s in range(1, 6):
        (tmp_path / f"Session{s}/dialog/EmoEvaluation").mkdir(parents=True)
        (tmp_path / f"Session{s}/sentences/wav").mkdir(parents=True)
    with pytest.raises(CorpusError, match="no labelled utterance"):
        iemocap.scan_iemocap(tmp_path)


def test_select_subsets(corpus):
    utts = iemocap.scan_iemocap(corpus).utterances
    impro, script = iemocap.select(utts, "impro"), iemocap.select(utts, "script")
    assert len(impro) == 9 and len(script) == 5
    assert all("impro" in u.path for u in impro) and all("script" in u.path for u in script)
    assert iemocap.select(utts, "all") == utts
    assert [u for u in utts if u in impro] == impro  # order kept
    with pytest.raises(ValueError, match="impro, script, all"):
        iemocap.select(utts, "both")


def test_label_sets():
    assert corpora.LABEL_SETS["glam"] == {"neu": 0, "sad": 1, "ang": 2, "exc": 3}
    assert corpora.LABEL_SETS["merge"] == {"neu": 0, "sad": 1, "ang": 2, "exc": 3, "hap": 3}
    for name, mapping in corpora.LABEL_SETS.items():
        assert len(corpora.CLASS_NAMES[name]) == len(set(mapping.values()))


def test_summary_counts_and_groups_skips(corpus):
    text = iemocap.scan_iemocap(corpus).summary()
    assert "14 labelled utterances" in text and "impro 9, script 5" in text
    assert "labels: neu 3, fru 1, hap 1, sad 1, ang 1, fea 1, exc 2, sur 1, dis 1, oth 1, zzz 1" \
        in text
    assert "1: 5 (1F 3, 1M 2)" in text
    assert "4-class 'glam' set (neu/sad/ang/exc): all 7, impro 5, script 2" in text
    assert f"{corpora.R_UNREADABLE}: 2" in text and "skipped 7" in text


def test_manifest_round_trip_atomic_and_idempotent(corpus, tmp_path):
    scan = iemocap.scan_iemocap(corpus)
    out = tmp_path / "out" / "manifest.csv"
    assert corpora.write_manifest(scan, out) is True
    assert corpora.read_manifest(out) == scan.utterances
    assert out.read_text().splitlines()[0] == \
        "path,turn,session,speaker,dialog,kind,label,start,end,duration,gender,official_split"
    first = out.read_bytes()
    assert corpora.write_manifest(iemocap.scan_iemocap(corpus).utterances, out) is False
    assert out.read_bytes() == first
    assert [p.name for p in out.parent.iterdir()] == ["manifest.csv"]


def test_failed_manifest_write_leaves_old_file_and_no_temp(corpus, tmp_path, monkeypatch):
    scan = iemocap.scan_iemocap(corpus)
    out = tmp_path / "manifest.csv"
    corpora.write_manifest(scan.utterances[:3], out)
    old = out.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        corpora.write_manifest(scan, out)
    assert out.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IEMOCAP_full_release",
                                                          "manifest.csv"]


def test_read_manifest_errors(tmp_path):
    with pytest.raises(CorpusError, match="not found.*handleIEMOCAP.py"):
        corpora.read_manifest(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,turn\nx,y\n")
    with pytest.raises(CorpusError, match="header"):
        corpora.read_manifest(bad)
    bad.write_text(",".join(corpora.MANIFEST_FIELDS) + "\na,b,notanint,d,e,f,g,1,2,3\n")
    with pytest.raises(CorpusError, match="line 2"):
        corpora.read_manifest(bad)


def test_manifest_keeps_gender_and_official_split(tmp_path):
    rows = [Utterance("a.wav", "a", 1, "s1", "", "script", "ang", 0.0, 1.5, 1.5, gender="F", official_split="test"),
            Utterance("b.wav", "b", 0, "", "", "", "neu", 0.0, 0.5, 0.5)]
    path = tmp_path / "m.csv"
    corpora.write_manifest(rows, path)
    assert path.read_text().splitlines()[1] == "a.wav,a,1,s1,,script,ang,0.0,1.5,1.5,F,test"
    assert corpora.read_manifest(path) == rows


def test_manifest_with_the_old_header_is_still_read(corpus, tmp_path):
    old = tmp_path / "old.csv"
    old.write_text(",".join(corpora.LEGACY_MANIFEST_FIELDS) + "\n"
                   "Session1/x.wav,Ses01F_impro01_F000,1,1F,Ses01F_impro01,impro,neu,6.2901,8.2357,0.25\n")
    (row,) = corpora.read_manifest(old)
    assert (row.speaker, row.label, row.duration, row.gender, row.official_split) == ("1F", "neu", 0.25, "", "")
    # a row of the old width under the new header is an error, not a silent shift
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(corpora.MANIFEST_FIELDS) + "\n" + old.read_text().splitlines()[1] + "\n")
    with pytest.raises(CorpusError, match="line 2 is invalid \\(10 fields\\)"):
        corpora.read_manifest(bad)


@pytest.mark.parametrize("tail, message", [(",X,test", "gender 'X'"), (",F,holdout", "official split 'holdout'")])
def test_manifest_refuses_unknown_gender_or_split(tmp_path, tail, message):
    path = tmp_path / "m.csv"
    path.write_text(",".join(corpora.MANIFEST_FIELDS) + "\na.wav,a,1,s,,,neu,0.0,1.0,1.0" + tail + "\n")
    with pytest.raises(CorpusError, match=message):
        corpora.read_manifest(path)


def test_summary_of_another_corpus(tmp_path):
    rows = [Utterance("a.wav", "a", 1, "s1", "", "script", "ang", 0.0, 1.0, 1.0, gender="F", official_split="train"),
            Utterance("b.wav", "b", 1, "", "", "script", "neu", 0.0, 1.0, 1.0)]
    text = corpora.CorpusScan(tmp_path, rows, [("c.wav", corpora.R_EMPTY)], corpus="ravdess").summary()
    assert text.startswith(f"ravdess at {tmp_path}: 2 labelled utterances")
    assert "1 speakers (+1 utterances of unknown speakers)" in text and "F 1, M 0, unknown 1" in text
    assert "labels: ang 1, neu 1" in text and "official split: train 1, validation 0, test 0, in none 1" in text
    assert f"{corpora.R_EMPTY}: 1 (e.g. c.wav)" in text
