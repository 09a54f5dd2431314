"""Tests for handleIEMOCAP.py: the manifest mode never touches the corpus, and
--rename/--undo reproduce the original tool's names and restore a byte-identical tree."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from test_corpora import make_corpus, tree_hash

import handleIEMOCAP
from ser import corpora
from ser.corpora import iemocap, prepare

REPO = pathlib.Path(__file__).resolve().parents[1]
WAV1 = "Session1/sentences/wav/Ses01F_impro01"
WAV3 = "Session3/sentences/wav/Ses03M_script03_2"


@pytest.fixture
def corpus(tmp_path: pathlib.Path) -> pathlib.Path:
    return make_corpus(tmp_path / "IEMOCAP_full_release")


def _cli(args: list[str], cwd: pathlib.Path, corpus_env: str | None = None
         ) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("IEMOCAP_DIR", None)
    if corpus_env is not None:
        env["IEMOCAP_DIR"] = corpus_env
    return subprocess.run([sys.executable, str(REPO / "handleIEMOCAP.py"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=60)


def _fails(argv: list[str]) -> str:
    """Run main() expecting a clean refusal; return its one-line message."""
    with pytest.raises(SystemExit) as err:
        handleIEMOCAP.main(argv)
    msg = err.value.code
    assert isinstance(msg, str) and msg.startswith("error: ") and "\n" not in msg
    return msg


def test_default_run_writes_manifest_and_leaves_corpus_alone(corpus, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    before = tree_hash(corpus)
    run = _cli(["--data", str(corpus)], work)
    assert run.returncode == 0, run.stderr
    manifest = work / "data" / "iemocap_manifest.csv"
    assert corpora.read_manifest(manifest) == iemocap.scan_iemocap(corpus).utterances
    assert "14 labelled utterances" in run.stdout and "skipped 7" in run.stdout
    assert "unreadable wav header: 2" in run.stdout
    assert tree_hash(corpus) == before
    first = manifest.read_bytes()

    assert handleIEMOCAP.main(["--data", str(corpus), "-o", str(manifest)]) == 0
    assert manifest.read_bytes() == first
    assert tree_hash(corpus) == before


def test_corpus_location_from_the_environment(corpus, tmp_path):
    run = _cli(["-o", "m.csv"], tmp_path, corpus_env=str(corpus))
    assert run.returncode == 0, run.stderr
    assert len(corpora.read_manifest(tmp_path / "m.csv")) == 14


def test_manifest_inside_the_corpus_is_refused(corpus):
    before = tree_hash(corpus)
    assert "inside the corpus" in _fails(["--data", str(corpus), "-o", str(corpus / "m.csv")])
    assert tree_hash(corpus) == before


def test_missing_corpus_fails_cleanly(tmp_path):
    msg = _fails(["--data", str(tmp_path / "nowhere")])
    assert "IEMOCAP_DIR" in msg and "--data" in msg


def test_rename_gives_the_original_names_and_undo_restores_bytes(corpus, capsys):
    before = tree_hash(corpus)
    assert handleIEMOCAP.main(["--data", str(corpus), "--rename"]) == 0
    for name in (f"{WAV1}/Ses01F-impro01-01-01-F000.wav", f"{WAV1}/Ses01F-impro01-02-01-M000.wav",
                 f"{WAV1}/Ses01F-impro01-07-01-F001.wav",
                 f"{WAV3}/Ses03M-script03-01-01-2_F032.wav",
                 "Session4/sentences/wav/Ses04F_impro04/Ses04F-impro04-08-01-M000.wav"):
        assert (corpus / name).is_file(), name
    # dis/oth have no code, and unknown tokens or unreadable wavs are not labelled turns.
    for name in ("Session1/sentences/wav/Ses01M_script01_1/Ses01M_script01_1_M001.wav",
                 f"{WAV3}/Ses03M_script03_2_M001.wav", f"{WAV3}/Ses03M_script03_2_F033.wav",
                 "Session4/sentences/wav/Ses04F_impro04/Ses04F_impro04_F001.wav"):
        assert (corpus / name).is_file(), name
    assert not (corpus / f"{WAV1}/Ses01F_impro01_F000.wav").exists()
    pair = json.loads((corpus / "pair.json").read_text())
    assert pair["Ses01F_impro01_F000"] == "neu" and pair["Ses03M_script03_2_F032"] == "neu"
    assert "Ses03M_script03_2_M001" not in pair and len(pair) == 11
    mapping = json.loads((corpus / "ser_rename_map.json").read_text())
    assert [f"{WAV1}/Ses01F_impro01_F000.wav",
            f"{WAV1}/Ses01F-impro01-01-01-F000.wav"] in mapping["renames"]
    assert len(mapping["renames"]) == 11

    assert len(iemocap.scan_iemocap(corpus).utterances) == 14

    after_rename = tree_hash(corpus)
    capsys.readouterr()
    assert handleIEMOCAP.main(["--data", str(corpus), "--rename"]) == 0
    assert "nothing to rename" in capsys.readouterr().out
    assert tree_hash(corpus) == after_rename

    assert handleIEMOCAP.main(["--data", str(corpus), "--undo"]) == 0
    assert tree_hash(corpus) == before


def test_order_survives_rename(corpus):
    turns = [u.turn for u in iemocap.scan_iemocap(corpus).utterances]
    handleIEMOCAP.main(["--data", str(corpus), "--rename"])
    assert [u.turn for u in iemocap.scan_iemocap(corpus).utterances] == turns


def test_existing_pair_json_is_kept(corpus):
    (corpus / "pair.json").write_text('{"from": "the original tool"}')
    before = tree_hash(corpus)
    handleIEMOCAP.main(["--data", str(corpus), "--rename"])
    assert json.loads((corpus / "pair.json").read_text()) == {"from": "the original tool"}
    handleIEMOCAP.main(["--data", str(corpus), "--undo"])
    assert tree_hash(corpus) == before


def test_dry_run_changes_nothing(corpus, capsys):
    before = tree_hash(corpus)
    assert handleIEMOCAP.main(["--data", str(corpus), "--rename", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{WAV3}/Ses03M_script03_2_F032.wav -> {WAV3}/Ses03M-script03-01-01-2_F032.wav" in out
    assert tree_hash(corpus) == before
    handleIEMOCAP.main(["--data", str(corpus), "--rename"])
    renamed = tree_hash(corpus)
    assert handleIEMOCAP.main(["--data", str(corpus), "--undo", "--dry-run"]) == 0
    assert tree_hash(corpus) == renamed


def test_rename_refuses_when_a_target_exists(corpus):
    (corpus / f"{WAV3}/Ses03M-script03-01-01-2_F032.wav").write_bytes(b"in the way")
    before = tree_hash(corpus)
    assert "already exist" in _fails(["--data", str(corpus), "--rename"])
    assert tree_hash(corpus) == before


def test_rename_refuses_over_a_partial_earlier_rename(corpus):
    handleIEMOCAP.main(["--data", str(corpus), "--rename"])
    os.rename(corpus / f"{WAV1}/Ses01F-impro01-01-01-F000.wav",
              corpus / f"{WAV1}/Ses01F_impro01_F000.wav")
    before = tree_hash(corpus)
    assert "--undo first" in _fails(["--data", str(corpus), "--rename"])
    assert tree_hash(corpus) == before


def test_undo_without_a_map_fails_cleanly(corpus, tmp_path):
    before = tree_hash(corpus)
    run = _cli(["--data", str(corpus), "--undo"], tmp_path)
    assert run.returncode != 0
    assert run.stderr.startswith("error: no rename map") and "Traceback" not in run.stderr
    assert tree_hash(corpus) == before


def test_undo_is_all_or_nothing(corpus):
    handleIEMOCAP.main(["--data", str(corpus), "--rename"])
    (corpus / f"{WAV3}/Ses03M-script03-01-01-2_F032.wav").unlink()
    before = tree_hash(corpus)
    assert "renamed wavs missing" in _fails(["--data", str(corpus), "--undo"])
    assert tree_hash(corpus) == before


def test_undo_rejects_paths_outside_the_corpus(corpus):
    (corpus / "ser_rename_map.json").write_text(json.dumps(
        {"format": prepare.MAP_FORMAT, "pair_json_created": False,
         "renames": [["../escape.wav", f"{WAV1}/Ses01F_impro01_F000.wav"]]}))
    before = tree_hash(corpus)
    assert "not a path inside the corpus" in _fails(["--data", str(corpus), "--undo"])
    assert tree_hash(corpus) == before


def test_interrupted_rename_can_be_undone(corpus, monkeypatch):
    before = tree_hash(corpus)
    real_rename, calls = os.rename, []

    def flaky(src, dst):
        calls.append(src)
        if len(calls) == 3:
            raise OSError("device busy")
        real_rename(src, dst)
    monkeypatch.setattr(os, "rename", flaky)
    assert "2 wavs were renamed" in _fails(["--data", str(corpus), "--rename"])
    monkeypatch.undo()
    assert len(json.loads((corpus / "ser_rename_map.json").read_text())["renames"]) == 2
    assert handleIEMOCAP.main(["--data", str(corpus), "--undo"]) == 0
    assert tree_hash(corpus) == before


def test_option_misuse_is_a_usage_error(corpus):
    for argv in (["--dry-run"], ["--rename", "--undo"], ["--rename", "-o", "x.csv"]):
        with pytest.raises(SystemExit) as err:
            handleIEMOCAP.main(["--data", str(corpus), *argv])
        assert err.value.code == 2


def test_map_is_on_disk_before_the_first_rename(corpus, monkeypatch):
    real_rename, seen = os.rename, []

    def checking(src, dst):
        if not seen:
            mapping = json.loads((corpus / "ser_rename_map.json").read_text())
            seen.append(len(mapping["renames"]))
        real_rename(src, dst)
    monkeypatch.setattr(os, "rename", checking)
    assert handleIEMOCAP.main(["--data", str(corpus), "--rename"]) == 0
    assert seen == [11]  # the whole plan was saved before anything moved


def test_rename_and_undo_on_the_synthetic_corpus_restore_every_byte(tiny_corpus, tmp_path):
    corpus = pathlib.Path(shutil.copytree(tiny_corpus, tmp_path / "IEMOCAP_full_release"))
    before = tree_hash(corpus)
    order = [u.turn for u in iemocap.scan_iemocap(corpus).utterances]
    assert handleIEMOCAP.main(["--data", str(corpus), "--rename"]) == 0
    assert tree_hash(corpus) != before
    assert [u.turn for u in iemocap.scan_iemocap(corpus).utterances] == order
    assert handleIEMOCAP.main(["--data", str(corpus), "--undo"]) == 0
    assert tree_hash(corpus) == before
    assert "nothing to undo" in _fails(["--data", str(corpus), "--undo"])


def _symlinked_manifest_paths(corpus: pathlib.Path, kind: str) -> list[str]:
    """Arguments whose manifest would land in the corpus once links (and '..') are followed."""
    base = corpus.parent
    if kind == "linked output folder":
        (base / "link").symlink_to(corpus)
        return ["--data", str(corpus), "-o", str(base / "link" / "m.csv")]
    if kind == "linked corpus root":
        (base / "link").symlink_to(corpus)
        return ["--data", str(base / "link"), "-o", str(corpus / "m.csv")]
    if kind == "dot-dot through a link":
        (base / "out").mkdir()
        (base / "out" / "deep").symlink_to(corpus / "Session1")
        return ["--data", str(corpus), "-o", str(base / "out" / "deep" / ".." / "m.csv")]
    if kind == "linked manifest file":
        (base / "m.csv").symlink_to(corpus / "m.csv")  # dangling until written
        return ["--data", str(corpus), "-o", str(base / "m.csv")]
    (base / "loop_a").symlink_to(base / "loop_b")
    (base / "loop_b").symlink_to(base / "loop_a")
    return ["--data", str(corpus), "-o", str(base / "loop_a" / "m.csv")]


@pytest.mark.parametrize("kind", ["linked output folder", "linked corpus root", "dot-dot through a link",
                                  "linked manifest file", "symlink loop"])
def test_a_manifest_path_reaching_the_corpus_through_links_is_refused(corpus, kind):
    argv = _symlinked_manifest_paths(corpus, kind)
    before = tree_hash(corpus)
    message = _fails(argv)
    assert ("inside the corpus" if kind != "symlink loop" else "cannot follow the links") in message
    assert tree_hash(corpus) == before and not (corpus / "m.csv").exists()


def test_upper_case_wavs_are_renamed_and_restored(corpus):
    os.rename(corpus / f"{WAV1}/Ses01F_impro01_M000.wav", corpus / f"{WAV1}/Ses01F_impro01_M000.WAV")
    before = tree_hash(corpus)
    assert handleIEMOCAP.main(["--data", str(corpus), "--rename"]) == 0
    assert (corpus / f"{WAV1}/Ses01F-impro01-02-01-M000.wav").is_file()
    assert len(json.loads((corpus / "ser_rename_map.json").read_text())["renames"]) == 11
    assert handleIEMOCAP.main(["--data", str(corpus), "--undo"]) == 0
    assert tree_hash(corpus) == before and (corpus / f"{WAV1}/Ses01F_impro01_M000.WAV").is_file()


def _read_only(root: pathlib.Path) -> None:
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        folder.chmod(0o555)


def _writable(root: pathlib.Path) -> None:
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)


@pytest.mark.parametrize("mode", ["--rename", "--undo"])
def test_a_read_only_corpus_is_refused_with_one_line(corpus, mode):
    if mode == "--undo":
        assert handleIEMOCAP.main(["--data", str(corpus), "--rename"]) == 0
    _read_only(corpus)
    try:
        try:  # some users (root) write whatever the mode bits say: nothing to test then
            (corpus / "probe").write_text("")
        except PermissionError:
            pass
        else:
            pytest.skip("chmod does not deny writes to this user (e.g. root)")
        before = tree_hash(corpus)
        message = _fails(["--data", str(corpus), mode])
        assert "not writable" in message and ("nothing was renamed" if mode == "--rename"
                                              else "nothing was restored") in message
        assert tree_hash(corpus) == before
    finally:
        _writable(corpus)


@pytest.mark.parametrize("mode", ["--rename", "--undo"])
def test_a_corpus_the_user_may_not_write_is_refused_before_any_change(corpus, mode, monkeypatch):
    """As the read-only test, for every user: the access check itself says no."""
    if mode == "--undo":
        assert handleIEMOCAP.main(["--data", str(corpus), "--rename"]) == 0
    before = tree_hash(corpus)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, how: how != os.W_OK and real_access(path, how))
    message = _fails(["--data", str(corpus), mode])
    assert "not writable" in message and str(corpus) in message
    assert tree_hash(corpus) == before


@pytest.mark.parametrize("failing", ["ser_rename_map.json", "pair.json"])
def test_a_failed_map_write_renames_nothing_and_leaves_no_map(corpus, failing, monkeypatch):
    real_write = prepare.write_text

    def refusing(path, text):
        if pathlib.Path(path).name == failing:
            raise PermissionError(13, "Permission denied", str(path))
        real_write(path, text)
    monkeypatch.setattr(prepare, "write_text", refusing)
    before = tree_hash(corpus)
    message = _fails(["--data", str(corpus), "--rename"])
    assert "Permission denied" in message and "nothing was renamed" in message
    assert tree_hash(corpus) == before
    monkeypatch.undo()
    assert handleIEMOCAP.main(["--data", str(corpus), "--rename"]) == 0  # no leftover map blocks a rerun
