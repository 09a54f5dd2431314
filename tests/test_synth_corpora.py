"""The synthetic trees of ser.synthetic.synth_corpora: deterministic, complete or absent, never
overwriting a foreign folder, and as large as the real corpora at scale 1."""
from __future__ import annotations

from collections import Counter

import pytest
from test_corpora import tree_hash

from ser.corpora import cremad, esd, list_wavs, ravdess
from ser.synthetic import synth, synth_corpora


@pytest.mark.parametrize("name", synth_corpora.CORPORA)
def test_generation_is_byte_identical_and_marked(corpus_tree, tmp_path, name):
    again = synth_corpora.generate(name, tmp_path / name, progress=False)
    assert tree_hash(again) == tree_hash(corpus_tree(name))
    fields = synth.read_marker(again)
    assert (fields["generator"], fields["corpus"], fields["seed"]) == ("ser.synth_corpora", name, "0")
    assert int(fields["files"]) == len(list_wavs(again)) >= 12
    assert (again / synth_corpora.MARKER_NAME).read_text().startswith("SYNTHETIC CORPUS - NOT ")


def test_another_seed_gives_other_audio(corpus_tree, tmp_path):
    other = synth_corpora.generate("cremad", tmp_path / "other", seed=1, progress=False)
    mine, theirs = dict(tree_hash(corpus_tree("cremad"))), dict(tree_hash(other))
    shared = [rel for rel in mine if rel.endswith(".wav") and rel in theirs]
    assert shared and all(mine[rel] != theirs[rel] for rel in shared)


def test_reuse_refusal_and_leftovers(corpus_tree, tmp_path):
    root = corpus_tree("ravdess")
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert synth_corpora.generate("ravdess", root, progress=False) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == stamps
    with pytest.raises(FileExistsError, match="not this synthetic ravdess corpus"):
        synth_corpora.generate("ravdess", root, scale=0.05, progress=False)
    with pytest.raises(FileExistsError, match="not this synthetic esd corpus"):
        synth_corpora.generate("esd", root, progress=False)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        synth_corpora.generate("esd", mine, progress=False)
    assert (mine / "notes.txt").read_text() == "keep me"
    # An interrupted run's folder is replaced; a foreign one of that name is not touched.
    partial = tmp_path / "fresh.partial"
    partial.mkdir()
    (partial / synth_corpora.IN_PROGRESS_NAME).write_text("")
    (partial / "half.wav").write_bytes(b"")
    fresh = synth_corpora.generate("folder-labels", tmp_path / "fresh", progress=False)
    assert not partial.exists() and not (fresh / "half.wav").exists()
    foreign = tmp_path / "other.partial"
    foreign.mkdir()
    (foreign / "data").write_text("x")
    with pytest.raises(FileExistsError, match="not left by ser.synthetic.synth_corpora"):
        synth_corpora.generate("folder-labels", tmp_path / "other", progress=False)
    with pytest.raises(ValueError, match="unknown synthetic corpus 'timit'"):
        synth_corpora.generate("timit", tmp_path / "t")


def test_full_scale_plans_have_the_real_sizes():
    files = synth_corpora.plan("ravdess", 1.0, 0).files
    assert len(files) == ravdess.SPEECH_FILES == len({f.rel for f in files})
    assert all(not isinstance(ravdess.parse_name(f.rel.split("/")[1]), str) for f in files)
    assert Counter(f.rel.split("/")[0] for f in files) == {f"Actor_{a:02d}": 60 for a in range(1, 25)}
    files = synth_corpora.plan("esd", 1.0, 0).files
    assert len(files) == 20 * 5 * 350
    for f in files[::97]:
        speaker, emotion, part, name = f.rel.split("/")
        number = int(name[5:11])
        assert esd.part_of_number(number) == part and esd.emotion_of_number(number) == emotion
    files = synth_corpora.plan("cremad", 1.0, 0).files
    assert len({f.rel.split("/")[1][:4] for f in files}) == 91 and len(files) == 91 * 82
    assert all(cremad.parse_name(f.rel.split("/")[1]) for f in files)


def test_command_line(tmp_path, capsys):
    assert synth_corpora.main(["esd", str(tmp_path / "esd"), "--quiet"]) == 0
    assert "synthetic esd corpus" in capsys.readouterr().out
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    assert synth_corpora.main(["esd", str(tmp_path / "busy"), "--quiet"]) == 1
    assert "ser.synthetic.synth_corpora: error:" in capsys.readouterr().err
