"""The corpus readers (ser.corpora.ravdess, ser.corpora.cremad, ser.corpora.esd, ser.corpora.msppodcast,
ser.corpora.folder) on their synthetic trees (ser.synthetic.synth_corpora) and on damaged copies, and the
registry's detect()."""
from __future__ import annotations

import csv
import io
import shutil
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
from test_corpora import make_corpus

from ser import corpora
from ser.corpora import CorpusError, cremad, emodb, esd, folder, msppodcast, ravdess, registry

SR = 16000


def _copy(corpus_tree, name, tmp_path):
    return shutil.copytree(corpus_tree(name), tmp_path / name)


def _wav(path, seconds=0.2):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, 0.1 * np.sin(np.arange(int(seconds * SR)) / 5.0), SR)


def _no_frames(path):
    """A wav with a valid header and no samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(0), SR)


def _rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


# -- RAVDESS ----------------------------------------------------------------------------------

def test_ravdess_rows(corpus_tree):
    scan = ravdess.scan_ravdess(corpus_tree("ravdess"))
    assert not scan.skipped and scan.corpus == "ravdess"
    assert {u.speaker for u in scan.utterances} == {f"{a:02d}" for a in range(1, 7)}
    for u in scan.utterances:
        actor = u.path.split("/")[0]
        assert actor == f"Actor_{u.speaker}" and u.turn == u.path.split("/")[1][:-4]
        assert u.gender == ("M" if int(u.speaker) % 2 else "F") and u.session == int(u.speaker)
        assert u.label == ravdess.EMOTIONS[u.turn.split("-")[2]]
        assert u.dialog == f"statement{int(u.turn.split('-')[4])}" and u.kind == "script"
        assert u.official_split == "" and u.start == 0.0 and u.end == u.duration > 1.0
    per_actor = {(u.speaker, u.label) for u in scan.utterances}
    assert per_actor == {(f"{a:02d}", t) for a in range(1, 7) for t in ravdess.EMOTIONS.values()}
    assert [u.path for u in scan.utterances] == sorted(u.path for u in scan.utterances)


def test_ravdess_damaged_copy(corpus_tree, tmp_path):
    root = _copy(corpus_tree, "ravdess", tmp_path)
    good = sorted((root / "Actor_01").iterdir())[0]
    before = len(ravdess.scan_ravdess(root).utterances)
    shutil.copy(good, root / "Actor_01" / "03-02-05-01-01-01-01.wav")      # song
    shutil.copy(good, root / "Actor_01" / "03-01-09-01-01-01-01.wav")      # no emotion 09
    shutil.copy(good, root / "Actor_01" / "03-01-01-02-01-01-01.wav")      # no strong neutral
    shutil.copy(good, root / "Actor_01" / "03-01-05-01-01-01-02.wav")      # actor 02 in Actor_01
    shutil.copy(good, root / "Actor_01" / "notes.wav")                     # off the convention
    (root / "extra").mkdir()
    shutil.copy(good, root / "extra" / good.name)                          # a second copy
    (root / "Actor_02" / "03-01-05-02-02-02-02.wav").write_bytes(b"")      # unreadable
    _no_frames(root / "Actor_02" / "03-01-06-02-02-02-02.wav")             # no samples
    upper = sorted((root / "Actor_03").iterdir())[0]
    upper.rename(upper.with_suffix(".WAV"))
    scan = ravdess.scan_ravdess(root)
    assert dict(scan.skipped) == {
        "Actor_01/03-02-05-01-01-01-01.wav": ravdess.R_SONG,
        "Actor_01/03-01-09-01-01-01-01.wav": ravdess.R_UNKNOWN_CODE,
        "Actor_01/03-01-01-02-01-01-01.wav": ravdess.R_UNKNOWN_CODE,
        "Actor_01/03-01-05-01-01-01-02.wav": ravdess.R_ACTOR_MISMATCH,
        "Actor_01/notes.wav": ravdess.R_BAD_NAME,
        f"extra/{good.name}": ravdess.R_DUPLICATE,
        "Actor_02/03-01-05-02-02-02-02.wav": corpora.R_UNREADABLE,
        "Actor_02/03-01-06-02-02-02-02.wav": corpora.R_EMPTY,
    }
    assert len(scan.utterances) == before
    assert f"Actor_03/{upper.stem}.WAV" in {u.path for u in scan.utterances}
    assert (root / "Actor_01" / "notes.wav").exists()  # nothing was removed from the corpus


@pytest.mark.parametrize("make", ["missing", "empty", "parent"])
def test_ravdess_unusable_root(corpus_tree, tmp_path, make):
    root = tmp_path / "corpus"
    if make == "empty":
        root.mkdir()
    elif make == "parent":  # a folder of another name than the zip's: not read, but named
        (root / "speech").mkdir(parents=True)
        (root / "speech" / "Actor_01").symlink_to(corpus_tree("ravdess") / "Actor_01", target_is_directory=True)
    with pytest.raises(CorpusError) as error:
        ravdess.scan_ravdess(root)
    message = str(error.value)
    assert "Actor_01" in message and "--data" in message and "\n" not in message
    if make == "parent":
        assert "did you mean" in message and "speech" in message


# -- CREMA-D ----------------------------------------------------------------------------------

def test_cremad_rows(corpus_tree):
    root = corpus_tree("cremad")
    scan = cremad.scan_cremad(root)
    assert not scan.skipped and scan.corpus == "cremad"
    sexes = {r["ActorID"]: r["Sex"] for r in _rows_of((root / cremad.DEMOGRAPHICS).read_text())}
    assert {u.speaker for u in scan.utterances} == set(sexes) == {str(a) for a in range(1001, 1007)}
    assert set(sexes.values()) == {"Male", "Female"}
    for u in scan.utterances:
        actor, sentence, emotion, _ = u.turn.split("_")
        assert u.path == f"AudioWAV/{u.turn}.wav" and u.speaker == actor and u.session == int(actor)
        assert u.gender == {"Male": "M", "Female": "F"}[sexes[actor]]
        assert (u.dialog, u.label, u.kind, u.official_split) == (sentence, cremad.EMOTIONS[emotion], "script", "")
    assert {(u.speaker, u.label) for u in scan.utterances} == {
        (a, t) for a in sexes for t in cremad.EMOTIONS.values()}


def test_cremad_damaged_copy(corpus_tree, tmp_path):
    root = _copy(corpus_tree, "cremad", tmp_path)
    audio = root / "AudioWAV"
    good = sorted(audio.iterdir())[0]
    for name in ("0999_DFA_ANG_XX.wav", "1001_XYZ_ANG_XX.wav", "1001_DFA_BOR_XX.wav", "1001_DFA_ANG_QQ.wav"):
        shutil.copy(good, audio / name)
    shutil.copy(good, audio / "1001-DFA-ANG-XX.wav")
    (audio / "1002_WSI_SAD_XX.wav").write_bytes(b"RIFF")
    _no_frames(audio / "1003_WSI_SAD_XX.wav")
    upper = sorted(audio.iterdir())[-1]
    upper.rename(upper.with_suffix(".WAV"))
    scan = cremad.scan_cremad(root)
    assert dict(scan.skipped) == {
        "AudioWAV/0999_DFA_ANG_XX.wav": cremad.R_UNKNOWN_CODE, "AudioWAV/1001_XYZ_ANG_XX.wav": cremad.R_UNKNOWN_CODE,
        "AudioWAV/1001_DFA_BOR_XX.wav": cremad.R_UNKNOWN_CODE, "AudioWAV/1001_DFA_ANG_QQ.wav": cremad.R_UNKNOWN_CODE,
        "AudioWAV/1001-DFA-ANG-XX.wav": cremad.R_BAD_NAME, "AudioWAV/1002_WSI_SAD_XX.wav": corpora.R_UNREADABLE,
        "AudioWAV/1003_WSI_SAD_XX.wav": corpora.R_EMPTY}
    assert f"AudioWAV/{upper.stem}.WAV" in {u.path for u in scan.utterances}

    # An actor the demographics do not list keeps its utterances with an unknown gender;
    # without the file every gender is unknown and the file is reported.
    text = (root / cremad.DEMOGRAPHICS).read_text()
    kept = [line for line in text.splitlines() if not line.startswith("1001")]
    (root / cremad.DEMOGRAPHICS).write_text("\n".join(kept))
    genders = {u.speaker: u.gender for u in cremad.scan_cremad(root).utterances}
    assert genders["1001"] == "" and genders["1002"] in ("F", "M")
    (root / cremad.DEMOGRAPHICS).unlink()
    scan = cremad.scan_cremad(root)
    assert {u.gender for u in scan.utterances} == {""}
    assert (cremad.DEMOGRAPHICS, cremad.R_NO_DEMOGRAPHICS) in scan.skipped


def test_cremad_root_at_the_audio_folder_gets_a_hint(corpus_tree):
    with pytest.raises(CorpusError, match=r"no AudioWAV folder \(did you mean .*cremad\?\)"):
        cremad.scan_cremad(corpus_tree("cremad") / "AudioWAV")


# -- ESD --------------------------------------------------------------------------------------

def test_esd_rows_and_official_parts(corpus_tree):
    scan = esd.scan_esd(corpus_tree("esd"))
    assert not scan.skipped and scan.corpus == "esd"
    assert {u.speaker for u in scan.utterances} == {"0001", "0002", "0003", "0011", "0012", "0013"}
    parts = {"train": "train", "evaluation": "validation", "test": "test"}
    for u in scan.utterances:
        speaker, emotion, part, name = u.path.split("/")
        number = int(u.turn.split("_")[1])
        assert (u.speaker, u.session, u.gender) == (speaker, int(speaker), esd.GENDERS[speaker])
        assert u.label == esd.EMOTIONS[emotion] and u.official_split == parts[part]
        assert esd.part_of_number(number) == part and esd.emotion_of_number(number) == emotion
        assert u.dialog == f"{'zh' if int(speaker) <= 10 else 'en'}{(number - 1) % 350 + 1:03d}"
    # every speaker has every emotion in every part
    assert Counter((u.speaker, u.label, u.official_split) for u in scan.utterances).keys() == {
        (s, t, p) for s in {u.speaker for u in scan.utterances} for t in esd.EMOTIONS.values()
        for p in ("train", "validation", "test")}
    assert esd.GENDERS["0001"] == "F" and esd.GENDERS["0011"] == "M" and esd.language("0011") == "en"


@pytest.mark.parametrize("number, emotion, part", [
    # Paths of the real download: 0011/Neutral/evaluation/0011_000001.wav, .../test/0011_000021.wav,
    # Angry/evaluation/0011_000351, Angry/test/0011_000371, Happy/test/0011_000721,
    # Sad/evaluation/0011_001057, Sad/test/0011_001071, Surprise/evaluation/0011_001420,
    # Surprise/test/0011_001421; the last 300 of each emotion train.
    (1, "Neutral", "evaluation"), (20, "Neutral", "evaluation"), (21, "Neutral", "test"), (50, "Neutral", "test"),
    (51, "Neutral", "train"), (350, "Neutral", "train"), (351, "Angry", "evaluation"), (371, "Angry", "test"),
    (721, "Happy", "test"), (1057, "Sad", "evaluation"), (1071, "Sad", "test"), (1420, "Surprise", "evaluation"),
    (1421, "Surprise", "test"), (1750, "Surprise", "train")])
def test_esd_numbering_follows_the_real_partition(number, emotion, part):
    assert (esd.emotion_of_number(number), esd.part_of_number(number)) == (emotion, part)


def test_esd_copies_without_part_folders_take_the_part_from_the_number(corpus_tree, tmp_path):
    nested = esd.scan_esd(corpus_tree("esd")).utterances
    root = _copy(corpus_tree, "esd", tmp_path)
    for wav in sorted(root.glob("*/*/*/*.wav")):
        wav.rename(wav.parent.parent / wav.name)
    flat = esd.scan_esd(root).utterances
    assert [(u.turn, u.official_split, u.label) for u in sorted(flat, key=lambda u: u.turn)] == \
        [(u.turn, u.official_split, u.label) for u in sorted(nested, key=lambda u: u.turn)]
    assert all(u.path.count("/") == 2 for u in flat)


def test_esd_damaged_copy(corpus_tree, tmp_path):
    root = _copy(corpus_tree, "esd", tmp_path)
    good = sorted((root / "0001" / "Angry" / "train").iterdir())[0]
    shutil.copy(good, root / "0001" / good.name)                               # not in an emotion folder
    (root / "0021" / "Angry").mkdir(parents=True)
    shutil.copy(good, root / "0021" / "Angry" / "0021_000400.wav")            # no speaker 0021
    (root / "0001" / "Bored").mkdir()
    shutil.copy(good, root / "0001" / "Bored" / "0001_000400.wav")            # no such emotion
    shutil.copy(good, root / "0001" / "Angry" / "train" / "0002_000400.wav")  # another speaker's name
    shutil.copy(good, root / "0001" / "Angry" / "train" / "0001_000001.wav")  # a Neutral number
    shutil.copy(good, root / "0001" / "Angry" / "train" / "take1.wav")
    shutil.copy(good, root / "0001" / "Angry" / "test" / good.name)           # a copy, first in path order
    (root / "0001" / "Angry" / "train" / "0001_000690.wav").write_bytes(b"")
    upper = sorted((root / "0002" / "Sad" / "test").iterdir())[0]
    upper.rename(upper.with_suffix(".WAV"))
    scan = esd.scan_esd(root)
    train = "0001/Angry/train"
    assert dict(scan.skipped) == {
        f"0001/{good.name}": esd.R_BAD_PLACE, "0021/Angry/0021_000400.wav": esd.R_UNKNOWN_SPEAKER,
        "0001/Bored/0001_000400.wav": esd.R_UNKNOWN_EMOTION, f"{train}/0002_000400.wav": esd.R_MISMATCH,
        f"{train}/0001_000001.wav": esd.R_MISMATCH, f"{train}/take1.wav": esd.R_BAD_NAME,
        f"{train}/{good.name}": esd.R_DUPLICATE, f"{train}/0001_000690.wav": corpora.R_UNREADABLE}
    assert f"0002/Sad/test/{upper.stem}.WAV" in {u.path for u in scan.utterances}


def test_esd_folder_of_another_name_gets_a_hint(corpus_tree, tmp_path):
    (tmp_path / "ESD").mkdir()
    (tmp_path / "ESD" / "speakers").symlink_to(corpus_tree("esd"), target_is_directory=True)
    with pytest.raises(CorpusError, match="did you mean .*speakers"):
        esd.scan_esd(tmp_path / "ESD")


# -- MSP-Podcast ------------------------------------------------------------------------------

def test_msppodcast_rows_and_official_parts(corpus_tree):
    root = corpus_tree("msppodcast")
    rows = {r["FileName"][:-4]: r for r in _rows_of((root / msppodcast.LABELS).read_text())}
    scan = msppodcast.scan_msppodcast(root)
    assert not scan.skipped and len(scan.utterances) == len(rows)
    parts = {"Train": "train", "Development": "validation", "Test1": "test", "Test2": ""}
    for u in scan.utterances:
        row = rows[u.turn]
        assert u.path == f"Audios/{u.turn}.wav" and u.label == msppodcast.EMOTIONS[row["EmoClass"]]
        assert u.speaker == ("" if row["SpkrID"] == "Unknown" else row["SpkrID"])
        assert u.gender == {"Male": "M", "Female": "F", "Unknown": ""}[row["Gender"]]
        assert u.official_split == parts[row["Split_Set"]] and u.kind == "impro"
        assert u.dialog == u.turn.split("_")[1] and u.session == int(u.dialog)
    labels = {u.label for u in scan.utterances}
    assert labels == set(msppodcast.EMOTIONS.values())  # O and X rows are kept, as "oth" and "xxx"
    assert any(not u.speaker for u in scan.utterances)
    # The synthetic partition is speaker-disjoint, as the real one is.
    by_part = {p: {u.speaker for u in scan.utterances if rows[u.turn]["Split_Set"] == p} - {""} for p in parts}
    assert all(not by_part[a] & by_part[b] for a in parts for b in parts if a < b)
    second = msppodcast.scan_msppodcast(root, test_set="Test2")
    assert Counter(u.official_split for u in second.utterances)["test"] == \
        sum(r["Split_Set"] == "Test2" for r in rows.values())
    with pytest.raises(CorpusError, match="Test1, Test2"):
        msppodcast.scan_msppodcast(root, test_set="Test3")


def test_msppodcast_damaged_copy(corpus_tree, tmp_path):
    root = _copy(corpus_tree, "msppodcast", tmp_path)
    labels = root / msppodcast.LABELS
    lines = labels.read_text().splitlines()
    first = lines[1].split(",")
    extra = [
        "MSP-PODCAST_9999_0001.wav,N,4,4,4,77,Male,Train",       # no wav
        "MSP-PODCAST_9999_0002.wav,Z,4,4,4,77,Male,Train",       # unknown class
        "MSP-PODCAST_9999_0003.wav,N,4,4,4,77,Male,Test9",       # unknown part
        lines[1],                                                # a second row
        "MSP-PODCAST_9999_0004.wav,N,4",                         # short row
        "MSP-PODCAST_9999_0005.wav,N,4,4,4,77,Male,Train",       # empty wav
    ]
    labels.write_text("\n".join([*lines, *extra]) + "\n")
    audio = root / "Audios"
    shutil.copy(audio / first[0], audio / "MSP-PODCAST_9999_0009.wav")     # no row
    (audio / "zz").mkdir()
    shutil.copy(audio / first[0], audio / "zz" / first[0])                 # a second copy
    _no_frames(audio / "MSP-PODCAST_9999_0005.wav")
    (audio / first[0]).rename(audio / first[0].replace(".wav", ".WAV"))
    scan = msppodcast.scan_msppodcast(root)
    n = len(lines)
    where = "Labels/labels_consensus.csv"
    assert set(scan.skipped) == {
        ("MSP-PODCAST_9999_0001.wav", corpora.R_NO_WAV),
        (f"MSP-PODCAST_9999_0002.wav ({where}:{n + 2})", msppodcast.R_UNKNOWN_CLASS),
        (f"MSP-PODCAST_9999_0003.wav ({where}:{n + 3})", msppodcast.R_UNKNOWN_SPLIT),
        (f"{first[0]} ({where}:{n + 4})", msppodcast.R_DUPLICATE),
        (f"{where}:{n + 5}", msppodcast.R_SHORT_ROW),
        ("Audios/MSP-PODCAST_9999_0005.wav", corpora.R_EMPTY),
        ("Audios/MSP-PODCAST_9999_0009.wav", corpora.R_NO_LABEL),
        (f"Audios/zz/{first[0]}", msppodcast.R_DUPLICATE_WAV)}
    assert f"Audios/{first[0][:-4]}.WAV" in {u.path for u in scan.utterances}


def test_msppodcast_labels_file_problems_are_errors(corpus_tree, tmp_path):
    root = _copy(corpus_tree, "msppodcast", tmp_path)
    labels = root / msppodcast.LABELS
    text = labels.read_text()
    labels.write_text(text.replace("SpkrID,", "Speaker,", 1))
    with pytest.raises(CorpusError, match="lacks the column.* SpkrID"):
        msppodcast.scan_msppodcast(root)
    labels.write_text(text)
    (root / "Audios").rename(root / "Audio")  # older releases' folder name
    assert len(msppodcast.scan_msppodcast(root).utterances) == len(text.splitlines()) - 1
    (root / "Audio").rename(root / "Sound")
    with pytest.raises(CorpusError, match="no Audios or Audio folder"):
        msppodcast.scan_msppodcast(root)
    labels.unlink()
    with pytest.raises(CorpusError, match="not an MSP-Podcast tree: no Labels/labels_consensus.csv"):
        msppodcast.scan_msppodcast(root)


# -- folder -----------------------------------------------------------------------------------

def test_folder_with_a_manifest(corpus_tree):
    root = corpus_tree("folder")
    rows = {r["path"]: r for r in _rows_of((root / "manifest.csv").read_text())}
    scan = folder.scan_folder(root)
    assert not scan.skipped and {u.path for u in scan.utterances} == set(rows)
    tokens = {"Neutral": "neu", "sad": "sad", "Angry": "ang", "happy": "hap", "Surprised": "sur"}
    for u in scan.utterances:
        row = rows[u.path]
        assert (u.turn, u.label, u.speaker, u.official_split) == (u.path[:-4], tokens[row["label"]], row["speaker"],
                                                                  row["split"])
        assert u.gender == {"female": "F", "male": "M"}[row["gender"]] and u.session == 0


def test_folder_with_label_folders(corpus_tree):
    scan = folder.scan_folder(corpus_tree("folder-labels"))
    assert not scan.skipped
    assert Counter(u.label for u in scan.utterances) == {"ang": 3, "hap": 3, "neu": 3, "sad": 3}
    assert all(u.path.split("/")[0] in ("angry", "happy", "neutral", "sad") for u in scan.utterances)
    assert {(u.speaker, u.gender, u.official_split, u.session) for u in scan.utterances} == {("", "", "", 0)}


def test_folder_label_folders_other_names_upper_case_and_stray_wavs(tmp_path):
    _wav(tmp_path / "Positive" / "deep" / "a.WAV")
    _wav(tmp_path / "negative" / "b.wav")
    _wav(tmp_path / "stray.wav")
    (tmp_path / "negative" / "c.wav").write_bytes(b"")
    scan = folder.scan_folder(tmp_path)
    assert [(u.path, u.label) for u in scan.utterances] == [("Positive/deep/a.WAV", "positive"),
                                                            ("negative/b.wav", "negative")]
    assert set(scan.skipped) == {("stray.wav", folder.R_NO_LABEL_FOLDER), ("negative/c.wav", corpora.R_UNREADABLE)}


def test_folder_manifest_rows_with_problems(tmp_path):
    root = tmp_path / "corpus"
    for name in ("a", "b", "c", "d", "e"):
        _wav(root / "audio" / f"{name}.wav")
    _wav(tmp_path / "outside.wav")
    (root / "audio" / "notes.txt").write_text("not audio")
    (root / "manifest.csv").write_text("\n".join([
        "Path,Label,Speaker,Split,Comment",
        "audio/a.wav,angry,s1,train,ok",
        "audio/b.wav,Happy,s2,dev,ok",
        "audio/c.wav,,s3,test,no label",
        "audio/c.wav,sad,s3,test",                  # one field short
        "audio/missing.wav,sad,s3,test,x",
        "../outside.wav,sad,s3,test,x",
        "audio/notes.txt,sad,s3,test,x",
        "audio/d.wav,sad,s3,holdout,x",
        "audio/a.wav,angry,s1,train,again",
        "",
    ]) + "\n")
    scan = folder.scan_folder(root)
    assert [(u.path, u.label, u.speaker, u.official_split) for u in scan.utterances] == [
        ("audio/a.wav", "ang", "s1", "train"), ("audio/b.wav", "hap", "s2", "validation")]
    assert set(scan.skipped) == {
        ("manifest.csv:4", folder.R_EMPTY_FIELD), ("manifest.csv:5", folder.R_FIELD_COUNT),
        ("audio/missing.wav (manifest.csv:6)", folder.R_MISSING),
        ("../outside.wav (manifest.csv:7)", folder.R_OUTSIDE),
        ("audio/notes.txt (manifest.csv:8)", folder.R_NOT_WAV),
        ("audio/d.wav (manifest.csv:9)", folder.R_BAD_SPLIT),
        ("audio/a.wav (manifest.csv:10)", folder.R_DUPLICATE),
        ("audio/c.wav", folder.R_UNLISTED), ("audio/d.wav", folder.R_UNLISTED), ("audio/e.wav", folder.R_UNLISTED)}


def test_folder_tsv_manifest_with_folds_elsewhere(tmp_path):
    root = tmp_path / "corpus"
    _wav(root / "wavs" / "x.wav")
    _wav(root / "wavs" / "y.wav")
    _wav(root / "z.wav")
    lists = root / "lists"
    lists.mkdir()
    # Neither path is beside the manifest, so both are read relative to the root.
    (lists / "folds.tsv").write_text("path\tlabel\tfold\tgender\nwavs/x.wav\tsad\t2\tF\nz.wav\tsad\t1\tother\n"
                                     "wavs/y.wav\tsad\tx\tM\n")
    scan = folder.scan_folder(root, manifest=lists / "folds.tsv")
    assert [(u.path, u.session, u.gender) for u in scan.utterances] == [("wavs/x.wav", 2, "F"), ("z.wav", 1, "")]
    assert ("wavs/y.wav (folds.tsv:4)", folder.R_BAD_FOLD) in scan.skipped
    # a path relative to the manifest's own folder is found first
    _wav(lists / "near.wav")
    (lists / "near.tsv").write_text("path\tlabel\nnear.wav\tneu\n")
    assert [u.path for u in folder.scan_folder(root, manifest=lists / "near.tsv").utterances] == ["lists/near.wav"]


@pytest.mark.parametrize("text, message", [
    ("file,emotion\na.wav,sad\n", "lacks the column.*path, label"),
    ("path,label,split,fold\na.wav,sad,train,1\n", "both a split and a fold column"),
    ("path,label,Label\na.wav,sad,sad\n", "names a column twice"),
    ("", "lacks the column"),
])
def test_folder_bad_manifest_is_one_error(tmp_path, text, message):
    _wav(tmp_path / "a.wav")
    (tmp_path / "manifest.csv").write_text(text)
    with pytest.raises(CorpusError, match=message):
        folder.scan_folder(tmp_path)


def test_folder_unusable_trees(tmp_path):
    with pytest.raises(CorpusError, match="neither a manifest .* nor sub-folders of wavs"):
        folder.scan_folder(tmp_path)
    (tmp_path / "manifest.csv").write_text("path,label\n")
    (tmp_path / "manifest.tsv").write_text("path\tlabel\n")
    with pytest.raises(CorpusError, match="both manifest.csv and manifest.tsv"):
        folder.scan_folder(tmp_path)
    with pytest.raises(CorpusError, match="manifest .*nope.csv not found"):
        folder.scan_folder(tmp_path, manifest=tmp_path / "nope.csv")


# -- the registry -----------------------------------------------------------------------------

@pytest.mark.parametrize("tree, name", [("ravdess", "ravdess"), ("cremad", "cremad"), ("esd", "esd"),
                                        ("msppodcast", "msppodcast"), ("folder", "folder"),
                                        ("folder-labels", "folder")])
def test_detect_each_synthetic_tree(corpus_tree, tree, name):
    assert registry.detect(corpus_tree(tree)) == name
    scan = registry.scan(name, corpus_tree(tree))
    assert scan.corpus == name and scan.utterances


def test_detect_iemocap_and_emodb(tmp_path):
    assert registry.detect(make_corpus(tmp_path / "IEMOCAP_full_release")) == "iemocap"
    _wav(tmp_path / "emodb" / "wav" / "03a01Fa.wav")
    assert registry.detect(tmp_path / "emodb") == "emodb"
    assert registry.scan("emodb", tmp_path / "emodb", expected_files=0).utterances[0].gender == "M"


def test_detect_refuses_empty_ambiguous_and_parent_folders(corpus_tree, tmp_path):
    with pytest.raises(CorpusError) as error:
        registry.detect(tmp_path)
    assert "matches no known corpus layout" in str(error.value)
    assert all(layout in str(error.value) for layout in registry.LAYOUTS.values())
    both = tmp_path / "both"
    shutil.copytree(corpus_tree("cremad"), both)
    shutil.copytree(corpus_tree("msppodcast") / "Labels", both / "Labels")
    with pytest.raises(CorpusError, match=r"looks like several corpora \(cremad, msppodcast\)"):
        registry.detect(both)
    parent = tmp_path / "downloads"
    shutil.copytree(corpus_tree("esd"), parent / "ESD")
    with pytest.raises(CorpusError, match=r"did you mean .*ESD \(esd\)"):
        registry.detect(parent)
    # label folders named by unknown classes are a folder corpus only when asked for
    _wav(tmp_path / "labels" / "positive" / "a.wav")
    _wav(tmp_path / "labels" / "negative" / "b.wav")
    with pytest.raises(CorpusError, match="--corpus NAME"):
        registry.detect(tmp_path / "labels")
    assert len(registry.scan("folder", tmp_path / "labels").utterances) == 2
    with pytest.raises(CorpusError, match="unknown corpus 'timit'.*iemocap, emodb"):
        registry.scan("timit", tmp_path)
    with pytest.raises(CorpusError, match="no such folder"):
        registry.detect(tmp_path / "absent")


# -- symbolic links and the archives' own folders ------------------------------------------------

def _linked_copy(source, target, linked=()):
    """``target`` with a link to every entry of ``source``; the entries named in ``linked`` are
    folders moved elsewhere (a copy outside ``target``) and linked back, as a user short of disk does."""
    target.mkdir(parents=True)
    for entry in sorted(source.iterdir()):
        if entry.name in linked:
            moved = shutil.copytree(entry, target.parent / f"elsewhere-{entry.name}")
            (target / entry.name).symlink_to(moved, target_is_directory=True)
        else:
            (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return target


def test_a_speaker_folder_moved_and_linked_back_is_read_and_a_link_loop_is_not_followed(corpus_tree, tmp_path):
    whole = ravdess.scan_ravdess(corpus_tree("ravdess"))
    root = _linked_copy(corpus_tree("ravdess"), tmp_path / "RAVDESS", linked=("Actor_05",))
    (tmp_path / "elsewhere-Actor_05" / "loop").symlink_to(root, target_is_directory=True)  # back to the root
    scan = ravdess.scan_ravdess(root)
    assert [u.path for u in scan.utterances] == [u.path for u in whole.utterances]
    assert not scan.skipped and sum(u.speaker == "05" for u in scan.utterances) > 0


@pytest.mark.parametrize("name, linked", [("esd", "0011"), ("cremad", "AudioWAV"), ("msppodcast", "Audios"),
                                          ("folder", "audio"), ("folder-labels", "angry")])
def test_every_reader_reads_a_linked_folder(corpus_tree, tmp_path, name, linked):
    reader = {"folder-labels": "folder"}.get(name, name)
    whole = registry.scan(reader, corpus_tree(name))
    assert any(u.path.startswith(f"{linked}/") for u in whole.utterances)
    scan = registry.scan(reader, _linked_copy(corpus_tree(name), tmp_path / name, linked=(linked,)))
    assert [(u.path, u.label) for u in scan.utterances] == [(u.path, u.label) for u in whole.utterances]


def test_a_linked_folder_inside_a_label_folder_is_read(tmp_path):
    _wav(tmp_path / "store" / "take1.wav")
    _wav(tmp_path / "corpus" / "angry" / "a.wav")
    _wav(tmp_path / "corpus" / "sad" / "b.wav")
    (tmp_path / "corpus" / "angry" / "session2").symlink_to(tmp_path / "store", target_is_directory=True)
    scan = folder.scan_folder(tmp_path / "corpus")
    assert [(u.path, u.label) for u in scan.utterances] == [("angry/a.wav", "ang"), ("angry/session2/take1.wav",
                                                                                      "ang"), ("sad/b.wav", "sad")]


@pytest.mark.parametrize("name, archive", [("ravdess", "Audio_Speech_Actors_01-24"),
                                           ("ravdess", "audio_speech_actors_01-24"),
                                           ("cremad", "CREMA-D"), ("cremad", "CREMA-D-master"),
                                           ("esd", "Emotion Speech Dataset"),
                                           ("esd", "Emotional Speech Dataset (ESD)"),
                                           ("msppodcast", "MSP-PODCAST-Publish-1.11")])
def test_a_corpus_in_the_folder_its_archive_unpacks_to_is_found_and_read(corpus_tree, tmp_path, name, archive):
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / archive).symlink_to(corpus_tree(name), target_is_directory=True)
    assert registry.detect(tmp_path / "downloads") == registry.guess(tmp_path / "downloads") == name
    scan = registry.scan(name, tmp_path / "downloads")
    assert scan.root == tmp_path / "downloads" / archive
    assert [u.path for u in scan.utterances] == [u.path for u in registry.scan(name, corpus_tree(name)).utterances]


def test_ravdess_in_its_zip_folder_is_not_taken_for_iemocap(corpus_tree, tmp_path):
    from ser.runs.config import resolve_args
    from ser.runs.data import scan_corpus
    from ser.runs.request import data_request
    (tmp_path / "RAVDESS").mkdir()
    (tmp_path / "RAVDESS" / "Audio_Speech_Actors_01-24").symlink_to(corpus_tree("ravdess"), target_is_directory=True)
    config = resolve_args(["--data", str(tmp_path / "RAVDESS"), "-g", "-1"])
    assert config.corpus == "ravdess"
    scanned = scan_corpus(data_request(config))
    assert scanned.root == tmp_path / "RAVDESS" / "Audio_Speech_Actors_01-24" and len(scanned.chosen) == len(
        ravdess.scan_ravdess(corpus_tree("ravdess")).utterances)


def test_every_reader_is_registered_with_a_layout_and_signature():
    assert set(registry.CORPORA) == set(registry.LAYOUTS) == set(registry.SIGNATURES) == {
        "iemocap", "emodb", "ravdess", "cremad", "esd", "msppodcast", "folder"}
    assert registry.CORPORA["emodb"] is emodb.scan_emodb
