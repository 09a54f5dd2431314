"""Fold files (ser.protocols.foldfiles): EmoBox jsonl folds and s3prl meta-data folders, written here in
their real formats for the synthetic trees, read back as speaker-checked Splits."""
from __future__ import annotations

import json
import random
import shutil

import pytest

from ser.corpora import CorpusError, Utterance, folder, iemocap, ravdess
from ser.protocols import foldfiles
from ser.protocols.foldfiles import FoldFileError, read_fold_files

# The labels EmoBox's RAVDESS files use, and its label map (label -> benchmark class).
EMOBOX_RAVDESS = {"neu": "Neutral", "cal": "Calm", "hap": "Happy", "sad": "Sad", "ang": "Angry", "fea": "Fearful",
                  "dis": "Disgust", "sur": "Surprised"}
EMOBOX_RAVDESS_MAP = {"Angry": "Angry", "Surprised": "Surprise", "Sad": "Sad", "Disgust": "Disgust",
                      "Happy": "Happy", "Calm": "Calm", "Neutral": "Neutral", "Fearful": "Fear"}


def emobox_line(u: Utterance, label: str | None = None) -> str:
    return json.dumps({"key": f"ravdess-{u.turn}", "dataset": "ravdess",
                       "wav": f"downloads/ravdess/audio/Audio_Speech_Actors_01-24/{u.path}", "type": "raw",
                       "sample_rate": 16000, "num_frame": u.duration * 16000, "task": "category",
                       "length": u.duration, "emo": label or EMOBOX_RAVDESS[u.label], "channel": 1})


def write_emobox(base, rows, test_groups, dataset="ravdess", valid_groups=None):
    """``base/<dataset>/fold_k/<dataset>_{train,test[,valid]}_fold_k.jsonl``: fold k tests the
    rows whose speaker is in test_groups[k-1] (validates on valid_groups[k-1]), trains on the rest."""
    data = base / dataset
    for k, group in enumerate(test_groups, 1):
        folder_k = data / f"fold_{k}"
        folder_k.mkdir(parents=True)
        valid = set(valid_groups[k - 1]) if valid_groups else set()
        parts = {"test": [u for u in rows if u.speaker in group],
                 "valid": [u for u in rows if u.speaker in valid],
                 "train": [u for u in rows if u.speaker not in set(group) | valid]}
        for part, members in parts.items():
            if part != "valid" or valid_groups:
                text = "".join(emobox_line(u) + "\n" for u in members)
                (folder_k / f"{dataset}_{part}_fold_{k}.jsonl").write_text(text)
    (data / "label_map.json").write_text(json.dumps(EMOBOX_RAVDESS_MAP, indent=4))
    return data


@pytest.fixture
def ravdess_rows(corpus_tree):
    return ravdess.scan_ravdess(corpus_tree("ravdess")).utterances


GROUPS = [("01", "02"), ("03", "04"), ("05", "06")]


def speakers_of(split, rows):
    return [{rows[i].speaker for i in part} for part in (split.train, split.validation, split.test)]


def test_emobox_speaker_folds_validate_on_the_next_fold(ravdess_rows, tmp_path):
    data = write_emobox(tmp_path, ravdess_rows, GROUPS)
    folds = read_fold_files(data, ravdess_rows)
    assert folds.format == "emobox" and len(folds.folds) == 3 and folds.speaker_independent
    assert not folds.label_problems
    for k, fold in enumerate(folds.folds, 1):
        train, validation, test = speakers_of(fold.split, ravdess_rows)
        assert test == set(GROUPS[k - 1]) and validation == set(GROUPS[k % 3]) and train == set(GROUPS[(k + 1) % 3])
        assert fold.split.speaker_independent and fold.split.fold == k and fold.split.name == "fold-files"
        assert not fold.problems and not fold.left_out
        assert "the training rows the next fold tests" in fold.split.protocol
    assert "3 folds, speaker-independent" in folds.summary()


def test_emobox_problems_are_reported_not_dropped(ravdess_rows, tmp_path):
    data = write_emobox(tmp_path, ravdess_rows, GROUPS)
    train1 = data / "fold_1" / "ravdess_train_fold_1.jsonl"
    test1 = data / "fold_1" / "ravdess_test_fold_1.jsonl"
    dropped = next(i for i, u in enumerate(ravdess_rows) if u.speaker == "05")
    kept = [line for line in train1.read_text().splitlines() if ravdess_rows[dropped].turn not in line]
    stranger = Utterance("Actor_99/03-01-05-01-01-01-99.wav", "x", 0, "99", "", "", "ang", 0.0, 1.0, 1.0)
    train1.write_text("\n".join([*kept, emobox_line(stranger), "{not json"]) + "\n")
    trained = next(i for i, u in enumerate(ravdess_rows) if u.speaker == "06")
    tests = test1.read_text().splitlines()
    test1.write_text("\n".join([*tests, emobox_line(ravdess_rows[trained])]) + "\n")  # in train and in test
    fold1 = read_fold_files(data, ravdess_rows).folds[0]
    n = len(kept)
    assert set(fold1.problems) == {(f"fold_1/ravdess_train_fold_1.jsonl:{n + 1}", foldfiles.R_NO_ROW),
                                   (f"fold_1/ravdess_train_fold_1.jsonl:{n + 2}", foldfiles.R_BAD_ENTRY),
                                   (f"fold_1/ravdess_test_fold_1.jsonl:{len(tests) + 1}", foldfiles.R_TWICE)}
    assert fold1.left_out == [dropped]
    assert trained in fold1.split.train and trained not in fold1.split.test  # the first part keeps it
    assert "entries not placed 3" in read_fold_files(data, ravdess_rows).summary()
    # An entry whose label is not its row's is a label disagreement.
    assert read_fold_files(data, ravdess_rows).label_problems == []
    test2 = data / "fold_2" / "ravdess_test_fold_2.jsonl"
    test2.write_text(test2.read_text().replace('"emo": "Angry"', '"emo": "Happy"', 1))
    folds = read_fold_files(data, ravdess_rows)
    assert len(folds.label_problems) == 1
    assert folds.label_problems[0][1] == "file says 'Happy', the row 'ang' (the run uses 'ang')"  # fold 1's entry
    assert "label disagreements 1" in folds.summary()
    test2.write_text(test2.read_text().replace('"emo": "Happy"', '"emo": "Joyful"', 1))
    assert read_fold_files(data, ravdess_rows).label_problems[0][1] == foldfiles.R_LABEL_UNMAPPED


def test_one_fold_folder_without_a_valid_file_selects_on_test(ravdess_rows, tmp_path):
    data = write_emobox(tmp_path, ravdess_rows, GROUPS)
    (fold,) = read_fold_files(data / "fold_2", ravdess_rows).folds
    assert fold.split.validation == [] and fold.split.fold == 2
    assert "none (no valid file): the best epoch is chosen on the test part" in fold.split.protocol
    none = read_fold_files(data, ravdess_rows, validation="none").folds
    assert all(f.split.validation == [] for f in none)
    with pytest.raises(FoldFileError, match="unknown validation rule 'random'"):
        read_fold_files(data, ravdess_rows, validation="random")


def test_a_valid_file_is_the_validation_part(ravdess_rows, tmp_path):
    data = write_emobox(tmp_path, ravdess_rows, [("01", "02")], valid_groups=[("03",)])
    (fold,) = read_fold_files(data, ravdess_rows).folds
    train, validation, test = speakers_of(fold.split, ravdess_rows)
    assert (test, validation, train) == ({"01", "02"}, {"03"}, {"04", "05", "06"})
    assert "from its valid file" in fold.split.protocol


def test_utterance_level_folds_are_found_speaker_dependent(ravdess_rows, tmp_path):
    rows = list(ravdess_rows)
    random.Random(0).shuffle(rows)
    data = tmp_path / "cremad_like"
    (data / "fold_1").mkdir(parents=True)
    (data / "fold_1" / "x_train_fold_1.jsonl").write_text("".join(emobox_line(u) + "\n" for u in rows[10:]))
    (data / "fold_1" / "x_test_fold_1.jsonl").write_text("".join(emobox_line(u) + "\n" for u in rows[:10]))
    folds = read_fold_files(data, ravdess_rows)
    assert not folds.speaker_independent and not folds.folds[0].split.speaker_independent
    assert "NOT speaker-independent" in folds.summary()


def test_fold_file_name_variants_and_matching_by_name(ravdess_rows, tmp_path):
    data = write_emobox(tmp_path, ravdess_rows, GROUPS)
    fold1 = data / "fold_1"
    # emoDB's folders also hold "..._fold1.jsonl" copies: "..._fold_1.jsonl" wins.
    (fold1 / "ravdess_test_fold1.jsonl").write_text(emobox_line(ravdess_rows[0]) + "\n")
    assert len(read_fold_files(data, ravdess_rows).folds[0].split.test) > 1
    (fold1 / "ravdess_test_fold_1.jsonl").unlink()
    assert read_fold_files(data, ravdess_rows).folds[0].split.test == [0]
    # An entry whose path shares no tail with the rows is matched by its file name.
    shutil.rmtree(data)
    data = write_emobox(tmp_path, ravdess_rows, GROUPS)
    test1 = data / "fold_1" / "ravdess_test_fold_1.jsonl"
    test1.write_text(test1.read_text().replace("Audio_Speech_Actors_01-24/Actor_01/", "flat/"))
    assert speakers_of(read_fold_files(data, ravdess_rows).folds[0].split, ravdess_rows)[2] == {"01", "02"}


def test_a_name_shared_by_several_rows_is_not_guessed(tmp_path):
    for label in ("angry", "sad"):
        (tmp_path / "tree" / label).mkdir(parents=True)
    rows = [Utterance(f"{label}/take.wav", f"{label}/take", 0, s, "", "", t, 0.0, 1.0, 1.0)
            for label, s, t in (("angry", "a", "ang"), ("sad", "b", "sad"))]
    rows += [Utterance(f"sad/{n}.wav", f"sad/{n}", 0, "c", "", "", "sad", 0.0, 1.0, 1.0) for n in ("x", "y")]
    data = tmp_path / "folds" / "fold_1"
    data.mkdir(parents=True)
    (data / "t_train_fold_1.jsonl").write_text(json.dumps({"wav": "elsewhere/take.wav", "emo": "sad"}) + "\n"
                                               + json.dumps({"wav": "sad/x.wav", "emo": "sad"}) + "\n")
    (data / "t_test_fold_1.jsonl").write_text(json.dumps({"wav": "/data/sad/y.wav", "emo": "Sadness"}) + "\n")
    (fold,) = read_fold_files(data, rows).folds
    assert fold.problems == [("fold_1/t_train_fold_1.jsonl:1", foldfiles.R_SEVERAL_ROWS)]
    assert (fold.split.train, fold.split.test, fold.left_out) == ([2], [3], [0, 1])


def s3prl_label(u: Utterance) -> str | None:
    """s3prl's IEMOCAP classes; its preprocessing folds excited into happy."""
    return {"neu": "neu", "hap": "hap", "exc": "hap", "ang": "ang", "sad": "sad"}.get(u.label)


def write_s3prl(base, rows):
    """``base/meta_data/Session<k>/{train,test}_meta_data.json`` as s3prl ships them."""
    meta = base / "meta_data"
    for k in range(1, 6):
        folder_k = meta / f"Session{k}"
        folder_k.mkdir(parents=True)
        for part, members in (("test", [u for u in rows if u.session == k]),
                              ("train", [u for u in rows if u.session != k])):
            # "speaker" is the dialog's recording side, which s3prl stores instead of the speaker.
            entries = [{"path": u.path, "label": s3prl_label(u), "speaker": u.dialog[:6]} for u in members
                       if s3prl_label(u)]
            (folder_k / f"{part}_meta_data.json").write_text(
                json.dumps({"labels": {"neu": 0, "hap": 1, "ang": 2, "sad": 3}, "meta_data": entries}))
    return meta


def test_s3prl_folds_take_speakers_from_the_rows(tiny_corpus, tmp_path):
    rows = iemocap.scan_iemocap(tiny_corpus).utterances
    meta = write_s3prl(tmp_path, rows)
    folds = read_fold_files(meta, rows)
    assert folds.format == "s3prl" and len(folds.folds) == 5
    assert folds.speaker_independent and not folds.label_problems  # excited rows labelled "hap" agree
    outside = {i for i, u in enumerate(rows) if not s3prl_label(u)}
    for k, fold in enumerate(folds.folds, 1):
        train, validation, test = speakers_of(fold.split, rows)
        assert test == {f"{k}F", f"{k}M"} and validation == {f"{k % 5 + 1}F", f"{k % 5 + 1}M"}
        assert len(train) == 6 and set(fold.left_out) == outside and not fold.problems
    # The file's speaker field is not who speaks: its M turns of F-side dialogs say "Ses01F".
    test1 = json.loads((meta / "Session1" / "test_meta_data.json").read_text())["meta_data"]
    assert any(e["speaker"] == "Ses01F" and "_M0" in e["path"] for e in test1)
    (session1,) = read_fold_files(meta / "Session1", rows).folds
    assert session1.split.test == folds.folds[0].split.test and session1.split.validation == []


def test_s3prl_label_disagreement(tiny_corpus, tmp_path):
    rows = iemocap.scan_iemocap(tiny_corpus).utterances
    meta = write_s3prl(tmp_path, rows)
    path = meta / "Session2" / "test_meta_data.json"
    data = json.loads(path.read_text())
    angry = next(e for e in data["meta_data"] if e["label"] == "ang")
    angry["label"] = "sad"
    path.write_text(json.dumps(data))
    problems = read_fold_files(meta, rows).label_problems
    assert problems == [(f"Session2/test_meta_data.json:#{data['meta_data'].index(angry)}",
                         "file says 'sad', the row 'ang' (the run uses 'ang')")]  # Session1's entry first


# EmoBox's emoDB set: lines say "neutral", "anger", ...; its label map's keys are capitalised.
EMOBOX_EMODB = {"neu": "neutral", "hap": "happiness", "sad": "sadness", "ang": "anger", "bor": "boredom",
                "fea": "fear", "dis": "disgust"}
EMOBOX_EMODB_MAP = {"Neutral": "Neutral", "Happiness": "Happy", "Sadness": "Sad", "Anger": "Angry",
                    "Boredom": "Bored", "Fear": "Fear", "Disgust": "Disgust"}


def test_label_map_keys_match_in_any_letter_case(tmp_path):
    rows = [Utterance(f"wav/{s}a01{letter}a.wav", f"{s}a01{letter}a", 0, s, "a01", "script", token, 0.0, 2.0, 2.0)
            for s in ("03", "08", "09") for letter, token in (("N", "neu"), ("F", "hap"), ("T", "sad"), ("W", "ang"),
                                                               ("L", "bor"), ("A", "fea"), ("E", "dis"))]
    data = tmp_path / "emodb"
    for k, speaker in enumerate(("03", "08", "09"), 1):
        (data / f"fold_{k}").mkdir(parents=True)
        for part, members in (("test", [u for u in rows if u.speaker == speaker]),
                              ("train", [u for u in rows if u.speaker != speaker])):
            (data / f"fold_{k}" / f"emodb_{part}_fold_{k}.jsonl").write_text("".join(
                json.dumps({"wav": f"downloads/emodb/{u.path}", "emo": EMOBOX_EMODB[u.label]}) + "\n" for u in members))
    (data / "label_map.json").write_text(json.dumps(EMOBOX_EMODB_MAP))
    folds = read_fold_files(data, rows)
    assert folds.label_problems == []
    assert folds.labels == {i: u.label for i, u in enumerate(rows)}  # each row with the files' label
    assert foldfiles.file_tokens(data) == ("neu", "hap", "sad", "ang", "fea", "dis", "bor")
    assert foldfiles.file_token("NEUTRAL", EMOBOX_EMODB_MAP) == "neu" and foldfiles.labels_agree(
        "Sadness", "sad", EMOBOX_EMODB_MAP)


def test_unusable_fold_files_are_one_clear_error(ravdess_rows, corpus_tree, tmp_path):
    with pytest.raises(FoldFileError, match="no such folder"):
        read_fold_files(tmp_path / "absent", ravdess_rows)
    with pytest.raises(FoldFileError, match="holds no fold_<k> .* or Session<k>"):
        read_fold_files(tmp_path, ravdess_rows)
    data = write_emobox(tmp_path / "a", ravdess_rows, GROUPS)
    (data / "fold_2" / "ravdess_test_fold_2.jsonl").unlink()
    with pytest.raises(FoldFileError, match="has no test file for fold 2"):
        read_fold_files(data, ravdess_rows)
    other = folder.scan_folder(corpus_tree("folder")).utterances
    with pytest.raises(FoldFileError, match="no row matched the train file of fold 1"):
        read_fold_files(write_emobox(tmp_path / "b", ravdess_rows, GROUPS), other)
    session = tmp_path / "c" / "Session1"
    session.mkdir(parents=True)
    (session / "train_meta_data.json").write_text("[1, 2]")
    (session / "test_meta_data.json").write_text("[]")
    with pytest.raises(FoldFileError, match="is not an s3prl meta-data file"):
        read_fold_files(session, ravdess_rows)
    assert issubclass(FoldFileError, CorpusError)
