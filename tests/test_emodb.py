"""The emoDB reader (ser/corpora/emodb.py) and the synthetic emoDB-layout corpus (ser/synthetic/synth_emodb.py)."""
from __future__ import annotations

from collections import Counter

import pytest

from ser.corpora import CorpusError, emodb
from ser.corpora.labels import CLASS_NAMES, LABEL_SETS
from ser.synthetic import synth_emodb


@pytest.fixture(scope="module")
def emodb_corpus(tmp_path_factory):
    return synth_emodb.generate(tmp_path_factory.getbasetemp() / "emodb_tiny", scale=0.1, seed=0, progress=False)


def test_full_scale_plan_has_emodbs_files_and_emotions():
    plan = synth_emodb.plan(1.0, seed=0)
    names = [name for name, _, _ in plan]
    assert len(names) == len(set(names)) == emodb.EMODB_FILES
    assert Counter(name[5] for name in names) == synth_emodb.EMOTION_COUNTS
    assert all(emodb.parse_name(name) is not None for name in names)
    assert {name[2:5] for name in names} == set(emodb.TEXTS)


def test_tiny_corpus_has_every_speaker_and_emotion(emodb_corpus):
    scan = emodb.scan_emodb(emodb_corpus)  # the marker's own file count replaces 535
    assert not scan.skipped
    assert {(u.speaker, u.label) for u in scan.utterances} == {
        (speaker, label) for speaker in emodb.SPEAKER_IDS.values() for label in emodb.EMOTION_LETTERS.values()}
    assert len(scan.utterances) == emodb.expected_count(emodb_corpus) < emodb.EMODB_FILES


def test_generation_is_idempotent_and_refuses_foreign_folders(emodb_corpus, tmp_path):
    stamps = {p.name: p.stat().st_mtime_ns for p in emodb_corpus.iterdir()}
    assert synth_emodb.generate(emodb_corpus, scale=0.1, seed=0, progress=False) == emodb_corpus
    assert {p.name: p.stat().st_mtime_ns for p in emodb_corpus.iterdir()} == stamps
    with pytest.raises(FileExistsError, match="not this synthetic emoDB corpus"):
        synth_emodb.generate(emodb_corpus, scale=0.2, seed=0, progress=False)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        synth_emodb.generate(tmp_path, scale=0.1, seed=0, progress=False)


def test_names_map_to_the_seeds_speakers_and_labels():
    assert emodb.parse_name("03a01Fa.wav") == ("1M", "a01", "hap", "a")
    assert emodb.parse_name("16b10Lb.wav") == ("5F", "b10", "bor", "b")
    assert emodb.parse_name("08a02Wc.wav") == ("1F", "a02", "ang", "c")
    assert emodb.parse_name("01a01Fa.wav") is None  # no such speaker
    assert emodb.parse_name("03a01Xa.wav") is None  # no such emotion
    assert LABEL_SETS["emodb"] == {"neu": 0, "hap": 1, "sad": 2, "ang": 3, "bor": 4, "fea": 5, "dis": 6}
    assert len(CLASS_NAMES["emodb"]) == 7
    for name, classes in LABEL_SETS.items():
        assert sorted(set(classes.values())) == list(range(len(CLASS_NAMES[name])))


def test_rows_are_shared_utterance_rows(emodb_corpus):
    u = emodb.scan_emodb(emodb_corpus).utterances[0]
    assert (u.path, u.turn, u.session, u.speaker, u.dialog, u.kind) == (
        "03a01Wa.wav", "03a01Wa", 1, "1M", "a01", "script")
    assert u.label == "ang" and u.start == 0.0 and u.end == u.duration > 1.0


def test_download_layout_bad_names_and_the_file_count(emodb_corpus, tmp_path):
    wav_dir = tmp_path / "emodb" / "wav"  # the download keeps the wavs in wav/
    wav_dir.mkdir(parents=True)
    wavs = sorted(emodb_corpus.glob("*.wav"))[:4]
    for wav in wavs:
        (wav_dir / wav.name).write_bytes(wav.read_bytes())
    (wav_dir / "99a01Wa.wav").write_bytes(wavs[0].read_bytes())
    (wav_dir / "readme.wav").write_bytes(wavs[0].read_bytes())
    (wav_dir / "03a01Xa.wav").write_bytes(b"not audio")
    with pytest.raises(CorpusError, match="found 7 wavs .* emoDB has 535.*--emodb_files 7"):
        emodb.scan_emodb(tmp_path / "emodb")
    scan = emodb.scan_emodb(tmp_path / "emodb", expected_files=0)
    assert [u.path for u in scan.utterances] == [f"wav/{w.name}" for w in wavs]
    assert dict(scan.skipped) == {"wav/03a01Xa.wav": emodb.R_UNKNOWN_EMOTION,
                                  "wav/99a01Wa.wav": emodb.R_UNKNOWN_SPEAKER,
                                  "wav/readme.wav": emodb.R_BAD_NAME}


def test_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(CorpusError, match=r"emoDB not found .*\(no such folder\)"):
        emodb.scan_emodb(tmp_path / "absent")
    with pytest.raises(CorpusError, match="no emoDB location"):
        emodb.validate_root(None)
