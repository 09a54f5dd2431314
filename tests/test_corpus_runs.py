"""Every corpus reader through train.py end to end, on the synthetic trees of ser.synthetic.synth_corpora:
auto-detection, label sets, speaker folds, official splits, published fold files in both
formats, cross-corpus testing, result names, the report's tables per corpus and the sweep."""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from one_line import one_line_error

import train
from ser.corpora import registry
from ser.corpora.labels import CLASS_NAMES, LABEL_SETS, default_label_set
from ser.records import results
from ser.reporting import report
from ser.runners import sweep, sweep_grid
from ser.runs.config import ConfigError, resolve_args
from ser.runs.data import load_corpus, scan_corpus
from ser.runs.request import data_request
from ser.synthetic import synth_emodb

ROOT = Path(__file__).resolve().parents[1]
CHEAP = ["-m", "MHCNN", "-e", "1", "-b", "8", "--train_overlap", "0", "--test_overlap", "0", "-g", "-1", "--quiet",
         "--seed", "7"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One feature cache for the module: each tree's features are computed once."""
    return tmp_path_factory.mktemp("corpus_runs_cache")


@pytest.fixture(scope="module")
def emodb_tree(tmp_path_factory):
    return synth_emodb.generate(tmp_path_factory.mktemp("emodb") / "emodb", scale=0.1, seed=0, progress=False)


@pytest.fixture(scope="module")
def results_root(tmp_path_factory):
    """One results folder that the runs of several corpora share (as a user's data/ would)."""
    return tmp_path_factory.mktemp("corpus_results")


def run(corpus_dir, run_dir, cache, *flags):
    return train.main(["--data", str(corpus_dir), "-d", str(run_dir), "--cache_dir", str(cache), *CHEAP, *flags])


def results_json(run_dir, fold=None) -> dict:
    return json.loads((Path(run_dir) / (f"fold{fold}" if fold else "") / "results.json").read_text())


# -- speaker folds, end to end ------------------------------------------------------------------

@pytest.fixture(scope="module")
def ravdess_kfold(corpus_tree, results_root, cache):
    """GLAM on RAVDESS, 3 speaker folds, every fold and then the mean (one process)."""
    run_dir = results_root / "ravdess" / "GLAM" / "7"
    summary = run(corpus_tree("ravdess"), run_dir, cache, "-m", "GLAM", "--corpus", "ravdess", "--protocol",
                  "speaker-kfold", "--folds", "3")
    return run_dir, summary


def test_speaker_kfold_runs_every_fold_then_the_mean(ravdess_kfold):
    run_dir, summary = ravdess_kfold
    assert summary["protocol_name"] == "speaker-kfold" and len(summary["folds"]) == 3
    assert summary["split"] == {"name": "speaker-kfold", "folds": 3, "speaker_independent": True}
    parent = run_dir.parent
    for k in (1, 2, 3):
        assert results.seeds_done(parent / f"GLAM_mfcc_all_ravdess_speaker-kfold3_fold{k}.metric") == {7}
    assert results.seeds_done(parent / "GLAM_mfcc_all_ravdess_speaker-kfold3.metric") == {7}
    first = results_json(run_dir, 1)
    assert first["class_names"] == CLASS_NAMES["ravdess"] and first["corpus"]["name"] == "ravdess"
    assert first["data"]["reader"] == "ravdess" and first["identity"]["settings"]["folds"] == 3
    assert first["identity"]["settings"]["fold_seed"] == 0 and first["selected_on"] == "validation"


def test_the_folds_a_run_used_are_speaker_disjoint(ravdess_kfold, corpus_tree):
    run_dir, _ = ravdess_kfold
    every = {u.speaker for u in registry.scan("ravdess", corpus_tree("ravdess")).utterances}
    tested = []
    for k in (1, 2, 3):
        split = results_json(run_dir, k)["split"]
        parts = [set(split["speakers"][p]) for p in ("train", "validation", "test")]
        assert split["name"] == "speaker-kfold" and split["fold"] == k and split["speaker_independent"]
        assert all(parts) and not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
        assert set().union(*parts) == every
        tested += split["speakers"]["test"]
    assert sorted(tested) == sorted(every)  # every speaker is tested exactly once over the folds


# -- one run per reader -------------------------------------------------------------------------

@pytest.mark.parametrize("tree, flags, protocol, stem", [
    ("emodb", ["--protocol", "leave-one-speaker-out", "--fold", "2"], "leave-one-speaker-out",
     "MHCNN_mfcc_all_emodb_leave-one-speaker-out_fold2"),
    ("cremad", ["--fold", "1"], "speaker-kfold", "MHCNN_mfcc_all_cremad_speaker-kfold5_fold1"),
    ("esd", [], "official", "MHCNN_mfcc_all_esd_official"),
    ("msppodcast", [], "official", "MHCNN_mfcc_all_msppodcast_official"),
    ("folder", [], "official", "MHCNN_mfcc_all_folder_official"),
])
def test_each_reader_trains_with_its_defaults(tree, flags, protocol, stem, corpus_tree, emodb_tree, results_root,
                                              cache):
    root = emodb_tree if tree == "emodb" else corpus_tree(tree)
    run_dir = results_root / tree / "MHCNN" / "7"
    summary = run(root, run_dir, cache, *flags)  # no --corpus: the tree says which reader
    assert summary["corpus"]["name"] == tree and summary["protocol_name"] == protocol
    assert summary["labels"] == default_label_set(tree)
    expected = CLASS_NAMES.get(tree) or ["neutral", "happy", "sad", "angry", "surprise"]  # the folder's own labels
    assert summary["class_names"] == expected
    assert results.seeds_done(run_dir.parent / f"{stem}.metric") == {7}
    scanned = scan_corpus(data_request(resolve_args(["--data", str(root), *flags])))
    assert summary["data"]["selected"] == len(scanned.chosen)
    split = summary["split"]
    if protocol == "official":
        official = {u.turn: u.official_split for u in registry.scan(tree, root).utterances}
        assert split["name"] == "official"
        tested = summary["test_utterances"]["turns"]
        assert tested and all(official[t] == "test" for t in tested)
    # ESD's official parts share speakers, MSP-Podcast's training part has utterances of unknown
    # speakers (nobody can tell); the other runs' parts share none
    assert split["speaker_independent"] is (tree not in ("esd", "msppodcast"))


def test_shared4_on_another_corpus(emodb_tree, results_root, cache):
    summary = run(emodb_tree, results_root / "emodb_shared4" / "MHCNN" / "7", cache, "--labels", "shared4",
                  "--protocol", "loso", "--fold", "1")
    assert summary["class_names"] == CLASS_NAMES["shared4"] and summary["labels"] == "shared4"
    assert set(summary["test_utterances"]["labels"]) <= {0, 1, 2, 3}
    assert (results_root / "emodb_shared4" / "MHCNN" / "MHCNN_mfcc_all_emodb_shared4_loso_fold1.metric").is_file()


# -- published fold files -----------------------------------------------------------------------

EMOBOX_LABELS = {"neu": "Neutral", "cal": "Calm", "hap": "Happy", "sad": "Sad", "ang": "Angry", "fea": "Fearful",
                 "dis": "Disgust", "sur": "Surprised"}
GROUPS = [("01", "02"), ("03", "04"), ("05", "06")]


STRANGER = "downloads/ravdess/Actor_03/03-01-05-01-01-01-03x.wav"


def write_emobox(base: Path, rows, stranger: bool = False) -> Path:
    """EmoBox's layout for three speaker folds of the RAVDESS tree, with a row the files label
    otherwise than the corpus (the first of fold 2's training rows, in every fold), and with
    ``stranger`` one entry of a file the tree lacks (fold 2's test file)."""
    data = base / "ravdess"
    other = next(u for u in rows if u.speaker not in GROUPS[1])
    labels = {u.turn: EMOBOX_LABELS[u.label] for u in rows} | {other.turn: "Sad" if other.label != "sad" else "Angry"}
    for k, group in enumerate(GROUPS, 1):
        folder = data / f"fold_{k}"
        folder.mkdir(parents=True)
        for part, members in (("test", [u for u in rows if u.speaker in group]),
                              ("train", [u for u in rows if u.speaker not in group])):
            lines = [{"key": u.turn, "wav": f"downloads/ravdess/Audio_Speech_Actors_01-24/{u.path}",
                      "emo": labels[u.turn]} for u in members]
            if stranger and k == 2 and part == "test":
                lines.append({"key": "x", "wav": STRANGER, "emo": "Angry"})
            (folder / f"ravdess_{part}_fold_{k}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (data / "label_map.json").write_text(json.dumps({name: name for name in EMOBOX_LABELS.values()}))
    return data


def write_s3prl(base: Path, rows) -> Path:
    """s3prl's emotion meta-data layout (Session<k>/{train,test}_meta_data.json) for the same folds."""
    meta = base / "meta_data"
    labels = {token: i for i, token in enumerate(sorted({u.label for u in rows}))}
    for k, group in enumerate(GROUPS, 1):
        folder = meta / f"Session{k}"
        folder.mkdir(parents=True)
        for part, members in (("test", [u for u in rows if u.speaker in group]),
                              ("train", [u for u in rows if u.speaker not in group])):
            entries = [{"path": u.path, "label": u.label, "speaker": f"Actor{u.speaker}"} for u in members]
            (folder / f"{part}_meta_data.json").write_text(json.dumps({"labels": labels, "meta_data": entries}))
    return meta


def listed(source: Path, fold: int, part: str) -> list[tuple[str, str]]:
    """(file name, label) of every entry of one part of an EmoBox fold."""
    lines = (source / f"fold_{fold}").glob(f"*_{part}_fold_{fold}.jsonl")
    return [(Path(e["wav"]).stem, e["emo"]) for f in lines for e in map(json.loads, f.read_text().splitlines())]


@pytest.mark.parametrize("fmt", ["emobox", "s3prl"])
def test_folds_from_uses_exactly_the_published_folds(fmt, corpus_tree, tmp_path, cache):
    tree = corpus_tree("ravdess")
    rows = registry.scan("ravdess", tree).utterances
    source = write_emobox(tmp_path, rows, stranger=True) if fmt == "emobox" else write_s3prl(tmp_path, rows)
    run_dir = tmp_path / "runs" / "MHCNN" / "7"
    # EmoBox's set lists a file the tree lacks: the run goes on only when told to, and says so
    flags = ["--folds_from", str(source), "--fold", "2"] + (["--allow_missing_listed"] if fmt == "emobox" else [])
    summary = run(tree, run_dir, cache, *flags)
    by_turn = {u.turn: u.speaker for u in rows}
    tested = {by_turn[t] for t in summary["test_utterances"]["turns"]}
    validated = {by_turn[t] for t in summary["validation_turns"]}
    assert tested == set(GROUPS[1]) and validated == set(GROUPS[2])  # fold 2 tests its file; fold 3's validate
    assert len(summary["test_utterances"]["turns"]) == sum(u.speaker in GROUPS[1] for u in rows)
    assert summary["split"]["name"] == "fold-files" and summary["split"]["speaker_independent"]
    assert summary["split"]["folds"] == 3 and summary["protocol_name"] == "fold-files"
    report_ = summary["data"]["fold_files"]
    assert report_["format"] == fmt and report_["fold"] == 2 and report_["rows_in_no_part"] == []
    assert report_["source"] == str(source.resolve()) and report_["sha256"] == summary["args"]["folds_from_sha256"]
    if fmt == "emobox":
        assert [reason for _, reason in report_["entries_not_placed"]] == ["matches no row"]
        assert report_["missing_rows"] == 1 and summary["data"]["fold_files_missing"] == [
            f"{tree / 'Actor_03' / '03-01-05-01-01-01-03x.wav'} (no such file; fold_2/ravdess_test_fold_2.jsonl:"
            f"{report_['listed']['test'] + 1})"]
        # every part's per-class counts are the files' (the row they label otherwise included, whose
        # disagreement with the corpus is listed for each of its entries)
        assert len(report_["label_disagreements"]) == 3
        class_of = {name: LABEL_SETS["ravdess"][token] for token, name in EMOBOX_LABELS.items()}
        validation = set(summary["validation_turns"])
        train = [(stem, emo) for stem, emo in listed(source, 2, "train")]
        info = summary["split"]["info"]
        assert json.loads(info["train"]) == Counter(str(class_of[e]) for t, e in train if t not in validation)
        assert json.loads(info["validation"]) == Counter(str(class_of[e]) for t, e in train if t in validation)
        assert Counter(summary["test_utterances"]["labels"]) == Counter(
            class_of[e] for t, e in listed(source, 2, "test") if t != Path(STRANGER).stem)
    else:
        assert report_["entries_not_placed"] == [] and report_["label_disagreements"] == []
        assert report_["missing_rows"] == 0 and summary["data"]["fold_files_missing"] == []
    assert (run_dir.parent / "MHCNN_mfcc_all_ravdess_fold-files_fold2.metric").is_file()
    # the fold files are part of the run's identity: an edited file is another split, refused by name
    first = next(source.rglob("*train*"))
    first.write_text(first.read_text() + " ")
    message = one_line_error(["--data", str(tree), "-d", str(run_dir), "--cache_dir", str(cache), *CHEAP, *flags])
    assert "other settings" in message and "folds_from_sha256" in message


def test_a_listed_file_that_is_missing_stops_the_run_naming_its_path(corpus_tree, tmp_path):
    tree = corpus_tree("ravdess")
    source = write_emobox(tmp_path, registry.scan("ravdess", tree).utterances, stranger=True)
    message = one_line_error(["--data", str(tree), "-d", str(tmp_path / "runs"), "--cache_dir", str(tmp_path / "c"),
                              *CHEAP, "--folds_from", str(source), "--fold", "1"])
    assert f"{tree / 'Actor_03' / '03-01-05-01-01-01-03x.wav'} (no such file" in message
    assert "1 file the fold files at" in message and "--allow_missing_listed" in message
    assert not (tmp_path / "c").exists()  # refused before any feature was computed


# EmoBox-style folds of the micro IEMOCAP tree: leave one session out over neu/hap/exc/ang/sad of
# both subsets (excited in the files' happy class, as the usual 4-class IEMOCAP set), clips of any length.
IEMOCAP_MAP = {"neu": "Neutral", "hap": "Happy", "exc": "Happy", "ang": "Angry", "sad": "Sad"}


def write_emobox_iemocap(base: Path, rows) -> Path:
    data = base / "iemocap"
    listed_rows = [u for u in rows if u.label in IEMOCAP_MAP]
    for k in range(1, 6):
        (data / f"fold_{k}").mkdir(parents=True)
        for part, members in (("test", [u for u in listed_rows if u.session == k]),
                              ("train", [u for u in listed_rows if u.session != k])):
            lines = [json.dumps({"key": u.turn, "wav": f"downloads/iemocap/{u.path}", "emo": u.label}) for u in members]
            (data / f"fold_{k}" / f"iemocap_{part}_fold_{k}.jsonl").write_text("".join(f"{line}\n" for line in lines))
    (data / "label_map.json").write_text(json.dumps(IEMOCAP_MAP))
    return data


@pytest.fixture(scope="module")
def iemocap_folds(micro_corpus, tmp_path_factory):
    return write_emobox_iemocap(tmp_path_factory.mktemp("emobox"), registry.scan("iemocap", micro_corpus).utterances)


def test_published_folds_with_default_settings_test_on_exactly_the_listed_rows(micro_corpus, iemocap_folds,
                                                                               tmp_path, cache):
    rows = registry.scan("iemocap", micro_corpus).utterances
    assert {u.kind for u in rows if u.label in IEMOCAP_MAP} == {"impro", "script"}
    assert any(u.duration < 1.8 for u in rows if u.label in IEMOCAP_MAP)  # clips shorter than one segment
    summary = run(micro_corpus, tmp_path / "MHCNN" / "7", cache, "--folds_from", str(iemocap_folds), "--fold", "1")
    merged = LABEL_SETS["merge"]
    test, train = listed(iemocap_folds, 1, "test"), listed(iemocap_folds, 1, "train")
    tested = summary["test_utterances"]
    assert sorted(tested["turns"]) == sorted(turn for turn, _ in test)
    assert Counter(tested["labels"]) == Counter(merged[token] for _, token in test)
    assert len(train) == summary["data"]["fold_files"]["used"]["train"] + len(summary["validation_turns"])
    assert summary["labels"] == "merge" and summary["args"]["impro_or_script"] == "all" and summary["args"]["padding"]
    assert summary["data"]["fold_files"]["listed"] == summary["data"]["fold_files"]["used"]
    assert summary["data"]["tiled"] > 0 and summary["data"]["fold_files"]["missing_rows"] == 0


@pytest.mark.parametrize("flags, needles", [
    (["-i", "impro"], ["-i/--impro_or_script impro leaves out", "script", "pass -i all"]),
    (["--labels", "glam"], ["--labels glam leaves out or merges labels", "neu, hap, sad, ang", "--labels merge"]),
    (["--padding", "false"], ["--padding false drops the", "shorter than one segment (1.8 s)", "--segment_length"]),
    (["--fold", "9"], ["--fold 9: the fold files at", "have folds 1, 2, 3, 4, 5"]),
])
def test_a_setting_that_would_leave_out_listed_rows_is_refused_before_any_feature(micro_corpus, iemocap_folds,
                                                                                 tmp_path, flags, needles):
    argv = ["--data", str(micro_corpus), "-d", str(tmp_path / "runs"), "--cache_dir", str(tmp_path / "cache"), *CHEAP,
            "--folds_from", str(iemocap_folds), *(["--fold", "1"] if "--fold" not in flags else []), *flags]
    message = one_line_error(argv)
    assert all(needle in message for needle in needles), message
    assert not (tmp_path / "cache").exists()


def test_fold_files_whose_classes_no_set_has_train_on_their_own(corpus_tree, tmp_path):
    tree = corpus_tree("ravdess")
    three = [u for u in registry.scan("ravdess", tree).utterances if u.label in ("neu", "cal", "sad")]
    source = write_emobox(tmp_path, three)
    config = resolve_args(["--data", str(tree), "--folds_from", str(source), "-g", "-1"])
    assert config.labels == "files" and config.class_names == ["neutral", "calm", "sad"]
    assert any("--labels files" in note for note in config.notes)
    assert sorted(u.turn for u in scan_corpus(data_request(config)).chosen) == sorted(u.turn for u in three)
    with pytest.raises(ConfigError, match="--labels files takes the classes of --folds_from's files"):
        resolve_args(["--data", str(tree), "--labels", "files", "-g", "-1"])
    # a folder corpus keeps its own set, with the files' classes
    folder_tree = corpus_tree("folder")
    rows = registry.scan("folder", folder_tree).utterances
    speakers = sorted({u.speaker for u in rows})
    data = tmp_path / "folder_folds"
    for k, speaker in enumerate(speakers[:3], 1):
        (data / f"fold_{k}").mkdir(parents=True)
        for part, members in (("test", [u for u in rows if u.speaker == speaker]),
                              ("train", [u for u in rows if u.speaker != speaker and u.label != "sur"])):
            (data / f"fold_{k}" / f"mine_{part}_fold_{k}.jsonl").write_text("".join(
                json.dumps({"wav": u.path, "emo": u.label}) + "\n" for u in members if u.label != "sur"))
    config = resolve_args(["--data", str(folder_tree), "--folds_from", str(data), "-g", "-1"])
    assert config.labels == "folder" and config.classes == ("neu", "hap", "sad", "ang")


def test_the_data_summary_counts_add_up_and_say_what_each_is(corpus_tree, tmp_path, cache):
    root = shutil.copytree(corpus_tree("folder-labels"), tmp_path / "labels")
    (root / "angry" / "broken.wav").write_bytes(b"RIFF")  # the reader leaves it out: no wav header
    sf.write(root / "sad" / "short.wav", 0.1 * np.sin(np.arange(8000) / 5.0), 16000)  # 0.5 s: under one segment
    lines = []
    data = load_corpus(data_request(resolve_args(["--data", str(root), "--cache_dir", str(cache), "-g", "-1",
                                                      "--quiet"])),
                       lines.append)
    text = "\n".join(lines)
    labelled = len(registry.scan("folder", root).utterances)
    assert (f"Data: {labelled} labelled utterances with audio under {root} (the reader left out 1 other item); "
            f"{labelled} of them selected (in subset 'all' with classes ang/hap/neu/sad), 0 not; {labelled - 1} of "
            f"the {labelled} used, 1 left out.") in text
    assert "  left out by the reader: 1:\n    unreadable wav header: 1 (e.g. angry/broken.wav)" in text
    assert (f"  left out of the {labelled} selected: 1:\n    shorter than one segment (1.8 s), dropped as in the "
            "paper: 1 (e.g. sad/short.wav)") in text
    assert len(data.utterances) == data.data_summary["used"] == labelled - 1


# -- cross-corpus ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cross_run(corpus_tree, results_root, cache):
    run_dir = results_root / "cross" / "MHCNN" / "7"
    summary = run(corpus_tree("ravdess"), run_dir, cache, "--test_data", str(corpus_tree("cremad")), "--protocol",
                  "speaker-kfold", "--folds", "3", "--fold", "1")
    return run_dir, summary


def test_cross_corpus_trains_on_one_corpus_and_tests_on_the_whole_other(cross_run, corpus_tree):
    run_dir, summary = cross_run
    shared = LABEL_SETS["shared4"]
    # every CREMA-D utterance of the four classes long enough for one 1.8 s segment
    cremad = {u.turn: shared[u.label] for u in registry.scan("cremad", corpus_tree("cremad")).utterances
              if u.label in shared and round(u.duration * 16000) >= int(1.8 * 16000)}
    assert summary["labels"] == "shared4" and summary["class_names"] == CLASS_NAMES["shared4"]
    tested = summary["test_utterances"]
    assert dict(zip(tested["turns"], tested["labels"])) == cremad and len(tested["turns"]) == len(cremad)
    assert summary["test_corpus"]["data"]["used"] == len(cremad) == summary["split"]["test_utterances"]
    assert summary["corpus"]["name"] == "ravdess" and summary["test_corpus"]["name"] == "cremad"
    assert summary["selected_on"] == "validation" and summary["validation_turns"]
    assert all(turn.count("-") == 6 for turn in summary["validation_turns"])  # RAVDESS names validate
    identity = summary["identity"]
    assert identity["settings"]["corpus"] == "ravdess" and identity["settings"]["test_corpus"] == "cremad"
    assert Path(identity["corpus"]["test_corpus"]["root"]) == corpus_tree("cremad").resolve()
    assert (run_dir.parent / "MHCNN_mfcc_all_ravdess_shared4_to-cremad_speaker-kfold3_fold1.metric").is_file()


@pytest.mark.parametrize("flags, needles", [
    (["--labels", "ravdess"], ["--labels shared4", "not --labels ravdess"]),
    (["--protocol", "paper"], ["no validation part", "811"]),
])
def test_cross_corpus_refusals(flags, needles, corpus_tree, tmp_path):
    message = one_line_error(["--data", str(corpus_tree("ravdess")), "--test_data", str(corpus_tree("cremad")),
                              "-d", str(tmp_path / "run"), *flags])
    assert all(needle in message for needle in needles), message
    assert "--test_data" in one_line_error(["--test_corpus", "cremad", "-d", str(tmp_path / "run")])


# -- the report keeps corpora apart -------------------------------------------------------------

def test_a_report_over_two_corpora_keeps_them_apart(ravdess_kfold, cross_run, results_root, corpus_tree, emodb_tree,
                                                    cache):
    run(corpus_tree("cremad"), results_root / "cremad3" / "GLAM" / "7", cache, "-m", "GLAM", "--folds", "3",
        "--fold", "1")
    # an emoDB run that a table of IEMOCAP's would take if it looked at label set, subset, protocol,
    # model and α alone (the 8:1:1 table's MHCNN cell, α 0, asked for with shared4)
    run(emodb_tree, results_root / "emodb811" / "MHCNN" / "7", cache, "--labels", "shared4", "--protocol", "811",
        "--alpha", "0")
    tables = {t.name: t for t in report.build_tables(report.find_runs([results_root]), labels="shared4")}
    ravdess = tables["corpus_ravdess_speaker-kfold3_synthetic"]
    cremad = tables["corpus_cremad_speaker-kfold3_synthetic"]
    cross = tables["corpus_ravdess_to-cremad_speaker-kfold3_synthetic"]
    assert {r.corpus for row in ravdess.rows for r in row.runs} == {"ravdess"}
    assert {r.corpus for row in cremad.rows for r in row.runs} == {"cremad"}
    assert {(r.corpus, r.test_corpus) for row in cross.rows for r in row.runs} == {("ravdess", "cremad")}
    glam = next(row for row in ravdess.rows if row.keys == {"Labels": "ravdess", "Model": "GLAM"})
    assert len(glam.runs) == 3  # the three folds of one seed, not the fold mean again
    # the paper's IEMOCAP tables hold no run of another corpus
    assert not any(row.runs for name, t in tables.items() if not name.startswith(("corpus_", "all_results"))
                   for row in t.rows)


# -- detection, refusals, names -------------------------------------------------------------------

@pytest.mark.parametrize("tree, name", [("ravdess", "ravdess"), ("cremad", "cremad"), ("esd", "esd"),
                                        ("msppodcast", "msppodcast"), ("folder", "folder"),
                                        ("folder-labels", "folder")])
def test_the_reader_is_detected_from_the_tree(tree, name, corpus_tree):
    config = resolve_args(["--data", str(corpus_tree(tree))])
    assert config.corpus == name and config.labels == default_label_set(name)
    assert any(f"--corpus {name}" in note for note in config.notes)


def test_iemocap_stays_the_default_and_keeps_its_identity(tiny_corpus, emodb_tree):
    assert resolve_args([]).corpus == "iemocap"
    plain = resolve_args(["--data", str(tiny_corpus)])
    assert (plain.corpus, plain.labels, plain.protocol, plain.notes) == ("iemocap", "glam", "paper", ())
    # an IEMOCAP run's identity has exactly the keys it had before other corpora came, so results
    # recorded then still count as the same runs
    assert not {"folds", "fold_seed", "folds_from_sha256", "classes", "test_corpus"} & set(plain.identity_settings())
    assert plain.files().metric.name == "GLAM_mfcc_impro.metric"
    emodb = resolve_args(["--data", str(emodb_tree), "-m", "alexnet_gap", "--val_id", "2F", "--test_id", "1M"])
    assert emodb.corpus == "emodb"
    assert emodb.files().metric.name == "alexnet_gap_logspec_all_emodb_pair-val2F-test1M.metric"


def test_a_tree_of_several_layouts_is_refused(corpus_tree, tmp_path):
    both = tmp_path / "both"
    both.mkdir()
    for tree in ("ravdess", "cremad"):
        for item in corpus_tree(tree).iterdir():
            if not (both / item.name).exists():
                (both / item.name).symlink_to(item)
    message = one_line_error(["--data", str(both), "-d", str(tmp_path / "run")])
    assert "several corpora" in message and "ravdess" in message and "cremad" in message


@pytest.mark.parametrize("tree, flags, needles", [
    ("ravdess", ["--labels", "glam"], ["--labels glam does not fit --corpus ravdess", "ravdess, shared4"]),
    ("ravdess", ["--protocol", "official"], ["RAVDESS has none", "speaker-kfold"]),
    ("ravdess", ["--protocol", "loso"], ["IEMOCAP's sessions", "leave-one-speaker-out"]),
    ("folder", ["--protocol", "manifest-folds"], ["fold column"]),
    ("folder-labels", ["--protocol", "speaker-kfold"], ["names none", "paper"]),
    ("ravdess", ["--protocol", "fold-files"], ["--folds_from"]),
    ("ravdess", ["--folds", "3", "--fold", "4"], ["--fold 4", "folds 1..3"]),
    ("ravdess", ["--folds", "1"], ["at least 2 folds"]),
    ("esd", ["--fold", "2"], ["--fold applies", "official", "default"]),
    ("esd", ["--val_id", "1F", "--test_id", "1M"], ["IEMOCAP-style speakers", "leave-one-speaker-out"]),
    ("cremad", ["--manifest", "m.csv"], ["--manifest", "--corpus folder"]),
])
def test_what_does_not_fit_the_corpus_is_refused_with_one_line(tree, flags, needles, corpus_tree, tmp_path):
    message = one_line_error(["--data", str(corpus_tree(tree)), "-d", str(tmp_path / "run"), *flags])
    assert all(needle in message for needle in needles), message
    assert not (tmp_path / "run").exists()


def test_a_corpus_without_data_and_folds_for_another_protocol(corpus_tree):
    with pytest.raises(ConfigError, match="--corpus ravdess needs --data PATH: RAVDESS speech"):
        resolve_args(["--corpus", "ravdess"])
    esd = resolve_args(["--data", str(corpus_tree("esd")), "--folds", "4"])
    assert esd.folds is None and any("--folds 4" in note and "ignores it" in note for note in esd.notes)


def test_a_folder_corpus_trains_on_the_classes_its_tree_names(corpus_tree, tmp_path):
    config = resolve_args(["--data", str(corpus_tree("folder-labels"))])
    assert config.classes == ("neu", "hap", "sad", "ang") and config.class_names == ["neutral", "happy", "sad", "angry"]
    assert config.protocol == "paper" and config.identity_settings()["classes"] == list(config.classes)
    # a class whose wavs are all unreadable is refused before training, by name
    copy = tmp_path / "labels"
    for wav in corpus_tree("folder-labels").rglob("*.wav"):
        target = copy / wav.relative_to(corpus_tree("folder-labels"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"not audio" if wav.parent.name == "sad" else wav.read_bytes())
    message = one_line_error(["--data", str(copy), "-d", str(tmp_path / "run"), "--cache_dir", str(tmp_path / "c")])
    assert "sad" in message and "no readable wav" in message


# -- the sweep ------------------------------------------------------------------------------------

def test_the_sweep_takes_the_new_protocols_and_names_files_as_train_py(corpus_tree, tmp_path):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("7\n")
    args = sweep.parse_args(["--models", "MHCNN", "--protocols", "speaker-kfold", "leave-one-speaker-out", "811",
                             "--seeds", "1", "--results-dir", str(tmp_path), "--seeds-file", str(seeds), "--",
                             "--data", str(corpus_tree("ravdess")), "--folds", "3"])
    tasks = sweep.plan(args)
    speakers = len({u.speaker for u in registry.scan("ravdess", corpus_tree("ravdess")).utterances})
    by_protocol = {p: [t for t in tasks if t.protocol == p] for p in ("speaker-kfold", "leave-one-speaker-out", "811")}
    assert len(by_protocol["speaker-kfold"]) == 3 + 1 and len(by_protocol["leave-one-speaker-out"]) == speakers + 1
    assert len(by_protocol["811"]) == 1
    for task in tasks:
        assert Path(task.metric_file).parent.parent.parent.name == sweep_grid.protocol_folder(task.protocol)
        config = resolve_args([*task.train_args(), *args.train_flags])
        files = config.files()
        assert str(files.metric) == task.metric_file, task.label  # the sweep names what train.py writes
        assert re.fullmatch(r"MHCNN_mfcc_all_ravdess_.*", files.stem)


def test_the_readme_table_lists_every_reader_as_it_is(corpus_tree):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Corpora"):text.index("## Training")]
    rows = {m.group(1): line for line in section.splitlines()
            if (m := re.match(r"\| [^|]+ \(`([a-z]+)`\) \|", line))}
    assert set(rows) == set(registry.CORPORA)
    for name, line in rows.items():
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        assert cells[5].startswith(f"`{default_label_set(name)}`"), (name, cells[5])
        default = registry.corpus(name).default_protocol or "official"  # the folder's with a split column
        assert cells[6].startswith(f"`{default}`"), (name, cells[6])
    assert not (ROOT / "CORPORA_TABLE.md").exists()
