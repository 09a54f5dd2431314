"""Bad input and faults: every damaged corpus, cache, result file or argument
either leaves out what it must, with a reason in the run's one summary, or stops the run
with one clear line; the corpus is never modified and no NaN reaches the model.

Each test damages its own small corpus (20 turns built here, or a copy), never the shared
``tiny_corpus`` fixture.

    .venv/bin/python -m pytest tests/test_bad_input.py -q
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
from test_corpora import tree_hash

import train
from ser import corpora
from ser.corpora import iemocap
from ser.features import audio as dataset
from ser.features import glam
from ser.features.cache import FeatureCache
from ser.features.glam import FeatureSettings
from ser.records import results
from ser.runs.config import resolve_args
from ser.runs.data import load_corpus
from ser.runs.flags import get_args_parser
from ser.runs.request import data_request

ROOT = Path(__file__).resolve().parents[1]
SR = 16000
LABELS = ("neu", "sad", "ang", "exc")
CHEAP = ["-m", "CNN_GAP", "-e", "1", "-b", "8", "-g", "-1", "--quiet"]


def voice(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    """A tone with a little noise: finite, never silent, different per seed."""
    t = np.arange(int(seconds * sr)) / sr
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.1 * np.sin(2 * np.pi * (150 + 10 * seed) * t) + 0.01 * noise).astype(np.float32)


def wav_path(root: Path, session: int, turn: int) -> Path:
    dialog = f"Ses0{session}F_impro01"
    return root / f"Session{session}/sentences/wav/{dialog}/{dialog}_F{turn:03d}.wav"


def eval_file(root: Path, session: int) -> Path:
    return root / f"Session{session}/dialog/EmoEvaluation/Ses0{session}F_impro01.txt"


def small_corpus(root: Path, seconds: float = 2.5) -> Path:
    """5 sessions × 4 labelled impro turns (neu, sad, ang, exc), each ``seconds`` long."""
    for s in range(1, 6):
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        for k, label in enumerate(LABELS):
            path = wav_path(root, s, k)
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, voice(seconds, 10 * s + k), SR)
            lines += [f"[{k}.0 - {k + seconds}]\t{path.stem}\t{label}\t[2.5, 2.5, 2.5]", "C-E1:\tNeutral;\t()", ""]
        eval_file(root, s).parent.mkdir(parents=True, exist_ok=True)
        eval_file(root, s).write_text("\n".join(lines))
    return root


@pytest.fixture
def corpus(tmp_path) -> Path:
    return small_corpus(tmp_path / "IEMOCAP_full_release")


def load(root: Path, cache: Path, *flags: str) -> tuple[dict, str]:
    """train.load_corpus_data as train.py calls it; returns the data and the logged summary."""
    logged = []
    args = resolve_args(["--data", str(root), "--cache_dir", str(cache), "--quiet", *flags])
    data = load_corpus(data_request(args), logged.append)
    return data, "\n".join(logged)


def reasons(data: dict) -> dict[str, str]:
    """Left-out item (path without detail) -> reason, from the run's summary."""
    return {item.split(" (")[0]: reason for item, reason in data.data_summary["skipped"]}


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def all_finite(data: dict) -> bool:
    return all(np.isfinite(f).all() for f in data.train_feats + data.test_feats)


def one_line_exit(argv: list[str]) -> str:
    """train.main must stop with a single 'error: ...' line (SystemExit, no traceback)."""
    with pytest.raises(SystemExit) as stop:
        train.main(argv)
    message = stop.value.code
    assert isinstance(message, str) and message.startswith("error: ") and "\n" not in message
    return message


# --- 1. corpus problems -----------------------------------------------------------------------

def test_missing_root_stops_the_command_with_one_line_and_no_traceback(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "train.py"), "--data", str(tmp_path / "nowhere"),
                          "-d", str(tmp_path / "run"), "--quiet"], cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith("error: ") and "--data" in run.stderr and "IEMOCAP_DIR" in run.stderr


@pytest.mark.parametrize("make", ["a file", "empty folder", "parent of the corpus", "no sessions"])
def test_a_root_that_is_not_an_iemocap_tree_stops_with_one_line(tmp_path, make):
    target = tmp_path / "target"
    if make == "a file":
        target.write_text("not a corpus")
    elif make == "empty folder":
        target.mkdir()
    elif make == "parent of the corpus":  # under another name than its archive's (IEMOCAP_full_release is read)
        small_corpus(target / "iemocap_copy")
    else:
        (target / "Sessions" / "wav").mkdir(parents=True)
    message = one_line_exit(["--data", str(target), "-d", str(tmp_path / "run"), *CHEAP])
    assert "--data" in message and "Session1" in message and "EmoEvaluation" in message
    if make == "parent of the corpus":
        assert "did you mean" in message and "iemocap_copy" in message


def test_missing_session_stops_with_one_line(corpus, tmp_path):
    shutil.rmtree(corpus / "Session4")
    message = one_line_exit(["--data", str(corpus), "-d", str(tmp_path / "run"), *CHEAP])
    assert "Session4" in message and "download" in message


def test_missing_evaluation_file_leaves_its_dialog_out(corpus, tmp_path):
    eval_file(corpus, 2).unlink()
    data, summary = load(corpus, tmp_path / "cache")
    left_out = reasons(data)
    for k in range(4):
        assert left_out[rel(corpus, wav_path(corpus, 2, k))] == iemocap.R_NO_EVAL
    assert data.data_summary["used"] == 16 and len(data.utterances) == 16
    assert f"{iemocap.R_NO_EVAL}: 4" in summary


def test_label_without_wav_and_wav_without_label_are_left_out(corpus, tmp_path):
    wav_path(corpus, 3, 1).unlink()
    stray = wav_path(corpus, 3, 7)
    sf.write(stray, voice(2.5, 99), SR)
    data, summary = load(corpus, tmp_path / "cache")
    left_out = reasons(data)
    assert left_out[wav_path(corpus, 3, 1).stem] == corpora.R_NO_WAV
    assert left_out[rel(corpus, stray)] == corpora.R_NO_LABEL
    assert data.data_summary["used"] == 19
    assert f"{corpora.R_NO_WAV}: 1" in summary and f"{corpora.R_NO_LABEL}: 1" in summary


@pytest.mark.parametrize("damage, reason", [
    ("zero bytes", corpora.R_UNREADABLE),
    ("garbage header", corpora.R_UNREADABLE),
    ("header without samples", corpora.R_EMPTY),
])
def test_unreadable_or_empty_wav_is_left_out(corpus, tmp_path, damage, reason):
    target = wav_path(corpus, 1, 2)
    if damage == "zero bytes":
        target.write_bytes(b"")
    elif damage == "garbage header":
        target.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" * 8)
    else:
        sf.write(target, np.zeros(0, np.float32), SR)
    data, summary = load(corpus, tmp_path / "cache")
    assert reasons(data)[rel(corpus, target)] == reason
    assert data.data_summary["used"] == 19 and f"{reason}: 1" in summary


def test_wav_that_stops_decoding_is_left_out_by_the_cache(tmp_path):
    good, bad = tmp_path / "good.wav", tmp_path / "bad.wav"
    sf.write(good, voice(2.0, 1), SR)
    bad.write_bytes(b"\x00" * 2000)
    feats, report = FeatureCache(tmp_path / "cache").load([good, bad], FeatureSettings(), (1.6,), progress=False)
    assert feats[1.6][0].shape == (2, 26, 57) and feats[1.6][1] is None
    assert [(i, reason) for i, reason, _ in report.skipped] == [(1, dataset.R_UNDECODABLE)]


def test_other_sample_rates_are_resampled_and_summarised(corpus, tmp_path):
    for k, rate in ((0, 8000), (1, 44100), (2, 8000)):
        sf.write(wav_path(corpus, 5, k), voice(2.5, 50 + k, rate), rate)
    data, summary = load(corpus, tmp_path / "cache")
    assert data.data_summary["resampled"] == {"8000": 2, "44100": 1}
    assert "resampled to 16000 Hz: 3 (from 8000 Hz: 2, 44100 Hz: 1)" in summary
    # The features are those of librosa.load(sr=16000), as the original computes them.
    index = [u.path for u in data.utterances].index(rel(corpus, wav_path(corpus, 5, 1)))
    reference, _ = librosa.load(wav_path(corpus, 5, 1), sr=SR)
    np.testing.assert_allclose(data.train_feats[index], glam.extract(reference, SR, "mfcc", 1.8, 1.6),
                               rtol=1e-6, atol=1e-5)


def test_stereo_is_downmixed_and_summarised(corpus, tmp_path):
    left, right = voice(2.5, 1), voice(2.5, 2)
    sf.write(wav_path(corpus, 1, 3), np.stack([left, right], axis=1), SR, subtype="FLOAT")
    data, summary = load(corpus, tmp_path / "cache")
    assert data.data_summary["downmixed"] == 1 and "down-mixed to mono: 1" in summary
    index = [u.path for u in data.utterances].index(rel(corpus, wav_path(corpus, 1, 3)))
    mono = (left + right) / 2
    np.testing.assert_allclose(data.train_feats[index], glam.extract(mono, SR, "mfcc", 1.8, 1.6),
                               rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("kind", ["mfcc", "melspectrogram", "interspeech2018"])
def test_silent_and_nan_audio_never_reach_the_model(corpus, tmp_path, kind):
    silent, all_nan, some_nan = wav_path(corpus, 2, 0), wav_path(corpus, 2, 1), wav_path(corpus, 2, 2)
    sf.write(silent, np.zeros(int(2.5 * SR), np.float32), SR)
    sf.write(all_nan, np.full(int(2.5 * SR), np.nan, np.float32), SR, subtype="FLOAT")
    noisy = voice(2.5, 7)
    noisy[1000:1010] = np.inf
    sf.write(some_nan, noisy, SR, subtype="FLOAT")
    # Voice, then two seconds of digital silence: some segments are silent on their own.
    quiet_tail = wav_path(corpus, 2, 3)
    sf.write(quiet_tail, np.concatenate([voice(2.0, 8), np.zeros(2 * SR, np.float32)]), SR)
    data, summary = load(corpus, tmp_path / "cache", "-f", kind, "--segment_length", "1.8")
    left_out = reasons(data)
    assert left_out[rel(corpus, silent)] == dataset.R_SILENT
    assert left_out[rel(corpus, all_nan)] == dataset.R_NONFINITE_AUDIO
    assert left_out[rel(corpus, some_nan)] == dataset.R_NONFINITE_AUDIO
    # mfcc floors every segment at 80 dB below its peak, so silence is finite there; the
    # kinds that take a plain log or divide by the peak are not.
    if kind == "mfcc":
        assert rel(corpus, quiet_tail) not in left_out
    else:
        assert left_out[rel(corpus, quiet_tail)] == dataset.R_NONFINITE_FEATURES
    assert all_finite(data)
    assert f"{dataset.R_NONFINITE_AUDIO}: 2" in summary


def test_short_utterances_are_dropped_or_tiled_and_counted(corpus, tmp_path):
    short = [wav_path(corpus, 4, k) for k in range(3)]
    for k, path in enumerate(short):
        sf.write(path, voice(1.0, 40 + k), SR)
    data, summary = load(corpus, tmp_path / "cache")
    assert data.data_summary["used"] == 17
    assert all(reasons(data)[rel(corpus, p)].startswith("shorter than one segment") for p in short)
    assert "shorter than one segment (1.8 s), dropped as in the paper: 3" in summary

    tiled, summary = load(corpus, tmp_path / "cache", "--padding")
    assert tiled.data_summary["used"] == 20 and tiled.data_summary["tiled"] == 3
    assert "tiled to one segment (--padding): 3" in summary
    assert all(len(f) >= 1 for f in tiled.train_feats)


def test_nothing_usable_stops_with_one_line(corpus, tmp_path):
    for s in range(1, 6):
        for k in range(4):
            sf.write(wav_path(corpus, s, k), voice(1.0, k), SR)
    message = one_line_exit(["--data", str(corpus), "-d", str(tmp_path / "run"), "--cache_dir",
                             str(tmp_path / "cache"), *CHEAP])
    assert "none of the 20" in message and "--segment_length" in message


# --- 2. the corpus is never modified; 3. result files ------------------------------------------

def test_training_never_modifies_the_corpus_and_a_finished_seed_is_not_rerun(corpus, tmp_path, monkeypatch, capsys):
    before = tree_hash(corpus)
    run_dir = tmp_path / "results" / "CNN_GAP" / "7"
    argv = ["--data", str(corpus), "-d", str(run_dir), "--cache_dir", str(tmp_path / "cache"), "--seed", "7", *CHEAP]
    metric = run_dir.parent / "CNN_GAP_mfcc_impro.metric"

    # Killed after results.json and before the .metric line: the seed is not finished.
    real_append = results.append_line

    def killed_at_log(path, text):
        if str(path).endswith(".log"):
            raise KeyboardInterrupt
        real_append(path, text)
    monkeypatch.setattr(results, "append_line", killed_at_log)
    with pytest.raises(KeyboardInterrupt):
        train.main(argv)
    monkeypatch.undo()
    assert not metric.exists()
    json.loads((run_dir / "results.json").read_text())  # whole, never half written

    assert train.main(argv) is not None  # retried, not skipped
    assert results.seeds_done(metric) == {7} and len(metric.read_text().splitlines()) == 1
    finished = (run_dir / "results.json").read_bytes()
    capsys.readouterr()
    assert train.main(argv) is None  # finished: skipped, not duplicated
    said = capsys.readouterr().out
    assert "already in" in said and "--force" in said
    assert len(metric.read_text().splitlines()) == 1
    assert (run_dir / "results.json").read_bytes() == finished
    assert train.main([*argv, "--force"]) is not None
    assert [r["seed"] for r in results.read_metric(metric)] == [7, 7]
    assert tree_hash(corpus) == before


APPENDER = """
import sys
from ser.records import results
i = 0
while True:
    results.append_line(sys.argv[1], results.metric_line(i, 50.0, 51.0, 49.0, 48.0, 47.0))
    i += 1
"""


def test_a_writer_killed_at_any_moment_leaves_whole_lines(tmp_path):
    metric_path = tmp_path / "X_mfcc_impro.metric"
    for watch_seconds in (0.05, 0.2, 0.35):
        writer = subprocess.Popen([sys.executable, "-c", APPENDER, str(metric_path)],
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)))
        deadline = time.monotonic() + 60
        while not metric_path.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        torn = 0
        stop = time.monotonic() + watch_seconds
        while time.monotonic() < stop:  # readers during the appends see whole lines too
            data = results.read_shared(metric_path)  # the locked read ser.records.results' readers use
            torn += bool(data) and not data.endswith("\n")  # empty (just created) holds no line
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert torn == 0
        text = metric_path.read_text()
        assert text.endswith("\n") and all(len(line.split("\t")) == 6 for line in text.splitlines())


KILLED_MID_JSON = """
import resource, signal, sys
from ser.records import results
path = sys.argv[1]
results.write_json(path, {"finished": "first run"})
# The kernel kills the process (SIGXFSZ, whose default action Python resets to ignore) as
# soon as a write crosses 64 KiB: a kill in the middle of writing the second, larger file.
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
results.write_json(path, {"epochs": list(range(100000))})
"""


def test_a_run_killed_while_writing_json_leaves_the_previous_whole_file(tmp_path):
    path = tmp_path / "results.json"
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_JSON, str(path)],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert killed.returncode == -signal.SIGXFSZ
    assert json.loads(path.read_text()) == {"finished": "first run"}


# --- 4. caches ----------------------------------------------------------------------------------

@pytest.fixture
def wavs(tmp_path) -> list[Path]:
    paths = [tmp_path / f"utt{i}.wav" for i in range(3)]
    for i, path in enumerate(paths):
        sf.write(path, voice(2.2, i), SR)
    return paths


def entry_times(cache: Path) -> dict[str, int]:
    return {p.relative_to(cache).as_posix(): p.stat().st_mtime_ns for p in sorted(cache.rglob("*.npz"))}


def fresh(path: Path, settings: FeatureSettings, overlap: float) -> np.ndarray:
    audio = dataset.load_audio(path, settings.sample_rate)
    return glam.extract(audio.samples, settings.sample_rate, settings.kind, settings.segment_length, overlap,
                            n_mfcc=settings.n_mfcc, padding=settings.padding)


def test_a_changed_wav_recomputes_only_its_entries(tmp_path, wavs):
    cache, settings = FeatureCache(tmp_path / "cache"), FeatureSettings()
    cache.load(wavs, settings, (1.6, 1.0), progress=False)
    before = entry_times(cache.root)
    time.sleep(0.01)
    sf.write(wavs[1], voice(2.2, 42), SR)  # new content, new size/mtime
    feats, report = cache.load(wavs, settings, (1.6, 1.0), progress=False)
    after = entry_times(cache.root)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {rel(cache.root, cache.entry_path(wavs[1], settings, o)) for o in (1.6, 1.0)}
    np.testing.assert_array_equal(feats[1.6][1], fresh(wavs[1], settings, 1.6))
    assert report.skipped == []


@pytest.mark.parametrize("change", [dict(kind="fbank"), dict(sample_rate=8000), dict(n_mfcc=13),
                                    dict(segment_length=2.0), dict(padding=True), dict(overlap=1.0)])
def test_every_parameter_keys_the_cache(tmp_path, wavs, change):
    cache, base = FeatureCache(tmp_path / "cache"), FeatureSettings()
    cache.load(wavs, base, (1.6,), progress=False)
    before = entry_times(cache.root)
    overlap = change.pop("overlap", 1.6)
    settings = FeatureSettings(**{**base.__dict__, **change})
    feats, _ = cache.load(wavs, settings, (overlap,), progress=False)
    after = entry_times(cache.root)
    assert {k: v for k, v in after.items() if k in before} == before  # old entries untouched, unused
    assert len(after) == 2 * len(wavs)  # and a new one for each wav
    np.testing.assert_array_equal(feats[overlap][0], fresh(wavs[0], settings, overlap))


def _corrupt(entry: Path, how: str, other_entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    if how == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        entry.write_bytes(b"not a cache entry" * 10)
    elif how == "flipped byte":
        data[len(data) // 2] ^= 0xFF
        entry.write_bytes(bytes(data))
    elif how == "another wav's entry":
        shutil.copyfile(other_entry, entry)
    else:
        with np.load(entry) as old:
            arrays = dict(old)
        if how == "wrong shape":
            arrays["features"] = arrays["features"][:, :13]
        elif how == "NaN features":
            arrays["features"] = np.full_like(arrays["features"], np.nan)
        elif how == "older format":  # format 3: every field a member of its own
            meta = json.loads(str(arrays.pop("meta")))
            arrays.update({name: np.asarray(value) for name, value in meta.items()}, format=np.int64(3))
        with open(entry, "wb") as f:
            np.savez(f, **arrays)


@pytest.mark.parametrize("how", ["truncated", "garbage", "flipped byte", "another wav's entry", "wrong shape",
                                 "NaN features", "older format"])
def test_a_corrupt_cache_entry_is_rebuilt_not_trusted(tmp_path, wavs, how):
    cache, settings = FeatureCache(tmp_path / "cache"), FeatureSettings()
    cache.load(wavs, settings, (1.6,), progress=False)
    entry = cache.entry_path(wavs[0], settings, 1.6)
    _corrupt(entry, how, cache.entry_path(wavs[2], settings, 1.6))
    feats, report = cache.load(wavs, settings, (1.6,), progress=False)
    expected = fresh(wavs[0], settings, 1.6)
    np.testing.assert_array_equal(feats[1.6][0], expected)
    assert report.skipped == []
    with np.load(entry) as rebuilt:  # the entry on disk is whole again
        np.testing.assert_array_equal(rebuilt["features"], expected)


@pytest.mark.parametrize("blocked", ["cache folder", "entry folder"])
def test_an_unwritable_cache_stops_with_one_line(corpus, tmp_path, blocked):
    cache = tmp_path / "cache"
    blocker = cache if blocked == "cache folder" else cache / FeatureSettings().key(1.6)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where a folder should be")
    message = one_line_exit(["--data", str(corpus), "-d", str(tmp_path / "run"), "--cache_dir", str(cache), *CHEAP])
    assert "feature cache" in message and "--cache_dir" in message


# --- 5. bad arguments ---------------------------------------------------------------------------

@pytest.mark.parametrize("argv, needles", [
    (["-m", "NoSuchNet"], ["unknown model", "GLAM", "MHCNN"]),
    (["--train_overlap", "1.8"], ["--train_overlap", "--segment_length"]),
    (["--train_overlap", "2.5"], ["--train_overlap"]),
    (["-g", "99"], ["CUDA device", "-g -1"]),
    (["--val_id", "2M", "--test_id", "2M"], ["--val_id", "--test_id", "different"]),
    (["-n", "0"], ["--nmfcc", "128"]),
    (["--segment_length", "0"], ["--segment_length"]),
    (["-e", "0"], ["--epochs"]),
    # NaN and infinite values pass every range comparison: each is refused by name
    (["--alpha", "nan"], ["--alpha", "finite"]),
    (["--alpha", "inf"], ["--alpha", "finite"]),
    (["-l", "inf"], ["--learning_rate", "finite"]),
    (["-l", "nan"], ["--learning_rate", "finite"]),
    (["--lr", "-1"], ["--learning_rate", "greater than 0"]),
    (["--segment_length", "nan"], ["--segment_length", "finite"]),
    (["--train_overlap", "nan"], ["--train_overlap", "finite"]),
    (["--train_overlap", "-1"], ["--train_overlap", "at least 0"]),
    (["--test_overlap", "-1"], ["--test_overlap", "at least 0"]),
    (["--seed", "-1"], ["--seed", "4294967295"]),
    (["--seed", "4294967296"], ["--seed", "4294967295"]),
    # settings the model cannot take are refused before anything is written, naming the flag
    (["-m", "MHCNN", "-n", "1"], ["MHCNN cannot take 1×57", "--nmfcc"]),
    (["-m", "MHCNN", "-s", "100"], ["MHCNN cannot take", "--sample_rate"]),
    (["-m", "MHCNN", "--segment_length", "0.05", "--train_overlap", "0.02", "--test_overlap", "0.02"],
     ["MHCNN cannot take", "--segment_length"]),
    (["-m", "MHCNN", "--head", "0"], ["num_heads must be at least 1", "--head"]),
    (["-m", "MHCNN", "--attn_hidden", "0"], ["attn_hidden must be at least 1", "--attn_hidden"]),
    (["-m", "GLAM", "--head", "8"], ["--head", "GLAM has none"]),
])
def test_impossible_arguments_stop_with_one_line(tmp_path, argv, needles):
    message = one_line_exit([*argv, "-d", str(tmp_path / "run")])
    for needle in needles:
        assert needle in message
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_every_choice_flag_lists_its_choices(capsys):
    parser = get_args_parser()
    for action in parser._actions:
        if not action.choices or not action.option_strings:
            continue
        with pytest.raises(SystemExit) as stop:
            resolve_args([action.option_strings[-1], "no-such-choice"])
        assert stop.value.code == 2
        error = capsys.readouterr().err.splitlines()[-1]
        assert "invalid choice: 'no-such-choice'" in error
        assert all(str(choice) in error for choice in action.choices), error


def test_config_file_values_are_checked_like_flags(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"features_to_use": "wav2vec"}))
    message = one_line_exit(["-c", str(config), "-d", str(tmp_path / "run")])
    assert "wav2vec" in message and "mfcc" in message and "melspectrogram" in message
    config.write_text(json.dumps({"no_such_flag": 1}))
    assert "unknown keys: no_such_flag" in one_line_exit(["-c", str(config)])
    config.write_text("[1, 2]")
    assert "JSON object" in one_line_exit(["-c", str(config)])


def test_batch_larger_than_the_training_set_stops_with_one_line(corpus, tmp_path):
    message = one_line_exit(["--data", str(corpus), "-d", str(tmp_path / "run"), "--cache_dir",
                             str(tmp_path / "cache"), *CHEAP, "-b", "100000"])
    assert "--batch_size 100000" in message and "training set" in message and "use -b" in message


def test_unreadable_features_pickle_stops_with_one_line(tmp_path):
    pickle_file = tmp_path / "glam.pkl"
    pickle_file.write_bytes(b"\x80\x04not a pickle")
    message = one_line_exit(["--featuresFileName", str(pickle_file), "-d", str(tmp_path / "run"), *CHEAP])
    assert "glam.pkl" in message and "--no-loadFeatures" in message


def test_help_explains_every_flag():
    parser = get_args_parser()
    undocumented = [action.option_strings for action in parser._actions
                    if action.help != "==SUPPRESS==" and not (action.help or "").strip()]
    assert undocumented == []
    text = parser.format_help()
    for action in parser._actions:
        if action.help != "==SUPPRESS==":  # a flag by its long name, a positional by its metavar
            assert (action.option_strings[-1] if action.option_strings else action.metavar or action.dest) in text
