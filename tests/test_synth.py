"""Tests of the synthetic IEMOCAP-layout corpus generator (ser.synthetic.synth)."""

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ser.synthetic import synth, synth_voice

# For the corpora generated here (CLI, refusals): below the two-turns-per-dialog floor, so
# 152 dialogs x 2 = 304 turns (~20 min of audio), like conftest's shared tiny corpus.
TEST_SCALE = 0.02
REPO = Path(__file__).resolve().parents[1]
TURN_LINE = re.compile(r"^\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t(\S+)\t([a-z]{3})\t"
                       r"\[(\d\.\d{4}), (\d\.\d{4}), (\d\.\d{4})\]$")
DIALOG_NAME = re.compile(r"^Ses0([1-5])([FM])_(impro0[1-8][ab]?|script0[1-3]_[1-3])$")


def parse_corpus(root: Path) -> list[dict]:
    """Every turn block of every EmoEvaluation file, in file order."""
    turns = []
    for path in sorted(root.glob("Session*/dialog/EmoEvaluation/*.txt")):
        text = path.read_text()
        assert text.startswith("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n")
        for block in text.split("\n\n")[1:]:
            if not block.strip():
                continue
            first, *rest = block.split("\n")
            match = TURN_LINE.match(first)
            assert match, first
            start, end, name, label = match.group(1, 2, 3, 4)
            turns.append({"session": path.parts[-4], "dialog": path.stem, "name": name,
                          "label": label, "start": float(start), "end": float(end),
                          "annotations": rest})
    return turns


def wav_path(root: Path, turn: dict) -> Path:
    return root / turn["session"] / "sentences" / "wav" / turn["dialog"] / f"{turn['name']}.wav"


def file_hashes(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def corpus(tiny_corpus) -> Path:
    """The session's shared tiny corpus (conftest): seed 0, default worker count."""
    return tiny_corpus


def corpus_scale(root: Path) -> float:
    return float(synth.read_marker(root)["scale"])


@pytest.fixture(scope="module")
def turns(corpus) -> list[dict]:
    return parse_corpus(corpus)


@pytest.fixture(scope="module")
def cli_corpus(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("cli") / "corpus"
    result = subprocess.run(
        [sys.executable, "-m", "ser.synthetic.synth", str(root), "--scale", str(TEST_SCALE),
         "--seed", "1", "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=120)
    return root, result


def test_layout(corpus, turns):
    assert sorted(p.name for p in corpus.iterdir()) == sorted(
        [f"Session{s}" for s in range(1, 6)] + [synth.MARKER_NAME])
    for session in range(1, 6):
        texts = {p.stem for p in (corpus / f"Session{session}/dialog/EmoEvaluation").iterdir()}
        wav_folders = {p.name for p in (corpus / f"Session{session}/sentences/wav").iterdir()}
        assert texts == wav_folders
        parsed = [DIALOG_NAME.match(name) for name in texts]
        assert all(parsed), texts
        assert {m.group(1) for m in parsed} == {str(session)}
        assert {m.group(2) for m in parsed} == {"F", "M"}
        assert {m.group(3).startswith("impro") for m in parsed} == {True, False}
    assert any(t["dialog"].endswith(("a", "b")) for t in turns)  # split improvisations

    by_dialog = defaultdict(list)
    for turn in turns:
        by_dialog[turn["dialog"]].append(turn)
    for dialog, dialog_turns in by_dialog.items():
        assert {t["name"][-4] for t in dialog_turns} == {"F", "M"}, dialog
        wavs = {p.stem for p in (corpus / dialog_turns[0]["session"] / "sentences" / "wav"
                                 / dialog).glob("*.wav")}
        assert wavs == {t["name"] for t in dialog_turns}
        for before, after in zip(dialog_turns, dialog_turns[1:]):
            assert before["end"] <= after["start"]
    assert len({t["session"] + t["name"][-4] for t in turns}) == 10  # speakers

    for turn in turns:
        parts = turn["name"].split("_")
        assert len(parts) == (3 if "_impro" in turn["name"] else 4)
        assert turn["name"].startswith(turn["dialog"] + "_")
        assert re.fullmatch(r"[FM]\d{3}", parts[-1])
        info = sf.info(str(wav_path(corpus, turn)))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert abs(info.frames / 16000 - (turn["end"] - turn["start"])) < 1e-3
        kinds = [line.split(":")[0] for line in turn["annotations"]]
        assert sum(k.startswith("C-E") for k in kinds) >= 2
        assert sum(k.startswith("A-E") for k in kinds) >= 1
        assert f"C-{parts[-1][0]}1" in kinds and f"A-{parts[-1][0]}1" in kinds


def test_all_labels_present(turns):
    assert {t["label"] for t in turns} == set(synth.LABELS)


def test_label_is_evaluator_majority(turns):
    for turn in turns:
        votes = Counter(name for line in turn["annotations"] if line.startswith("C-E")
                        for name in re.findall(r"(\w+);", line.split("\t")[1]))
        evaluators = sum(line.startswith("C-E") for line in turn["annotations"])
        top, count = votes.most_common(1)[0]
        if turn["label"] == "xxx":
            assert count * 2 <= evaluators
        else:
            assert top == synth._CATEGORY_NAMES[turn["label"]] and count * 2 > evaluators


def test_marker(corpus, turns):
    text = (corpus / synth.MARKER_NAME).read_text()
    assert "NOT IEMOCAP" in text
    fields = synth.read_marker(corpus)
    assert fields["generator"] == "ser.synth"
    assert int(fields["version"]) == synth.GENERATOR_VERSION
    assert int(fields["seed"]) == 0
    assert int(fields["turns"]) == len(turns)
    assert not (corpus / synth.IN_PROGRESS_NAME).exists()
    assert not corpus.with_name(corpus.name + synth.PARTIAL_SUFFIX).exists()


def test_plan_sizes():
    full = synth._plan_corpus(1.0, seed=0)
    full_turns = [turn for dialog in full for turn in dialog.turns]
    assert len(full_turns) == synth.IEMOCAP_TURNS
    hours = sum(turn.n_samples for turn in full_turns) / synth_voice.SAMPLE_RATE / 3600
    assert 11.5 < hours < 13.5
    demo_turns = sum(len(dialog.turns) for dialog in synth._plan_corpus(synth.DEMO_SCALE, 0))
    assert 850 <= demo_turns <= 950


def test_same_seed_is_byte_identical_whatever_the_workers(corpus, tmp_path):
    other_workers = 2 if (os.cpu_count() or 1) == 1 else 1  # the fixture used the default
    out = tmp_path / "again"
    # A stale tagged partial folder from an "interrupted" run must simply be replaced.
    stale = out.with_name(out.name + synth.PARTIAL_SUFFIX)
    stale.mkdir()
    (stale / synth.IN_PROGRESS_NAME).write_text("interrupted\n")
    (stale / "junk.wav").write_bytes(b"junk")
    synth.generate(out, corpus_scale(corpus), seed=0, progress=False, workers=other_workers)
    assert not stale.exists()
    assert file_hashes(out) == file_hashes(corpus)


def test_other_seed_differs(corpus, cli_corpus):
    other = file_hashes(cli_corpus[0])
    this = file_hashes(corpus)
    wavs = [key for key in this if key.endswith(".wav") and key in other]
    assert wavs and all(this[key] != other[key] for key in wavs)


def test_emotions_change_acoustics(corpus, turns):
    """Speaker-normalised loudness and brightness follow the emotion: ang > neu > sad."""
    frame = 400
    window = np.hanning(frame)
    freqs = np.fft.rfftfreq(frame, 1 / 16000)
    measures = []
    for turn in turns:
        samples, _ = sf.read(str(wav_path(corpus, turn)), dtype="float64")
        frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
        level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
        loud = level >= np.percentile(level, 90) - 15
        power = np.abs(np.fft.rfft(frames[loud] * window, axis=1)) ** 2
        centroid = np.median(power @ freqs / power.sum(axis=1))
        measures.append((turn["session"] + turn["name"][-4], turn["label"],
                         np.percentile(level, 90), np.log2(centroid)))
    by_speaker = defaultdict(list)
    for speaker, _, level, brightness in measures:
        by_speaker[speaker].append((level, brightness))
    reference = {s: np.median(values, axis=0) for s, values in by_speaker.items()}
    by_label = defaultdict(list)
    for speaker, label, level, brightness in measures:
        by_label[label].append((level, brightness) - reference[speaker])
    level = {label: np.median(np.array(v)[:, 0]) for label, v in by_label.items()}
    octaves = {label: np.median(np.array(v)[:, 1]) for label, v in by_label.items()}
    assert min(len(by_label[label]) for label in ("ang", "neu", "sad", "exc")) >= 20
    # The designed gaps are 7 dB, 5 dB and about an octave; the margins allow for the
    # sampling spread of medians over ~30 turns (seen over seeds 0-6: >= 4, 2.7, 0.34).
    assert level["ang"] > level["neu"] + 2 and level["neu"] > level["sad"] + 1.5  # dB
    assert octaves["ang"] > octaves["sad"] + 0.2 and octaves["exc"] > octaves["sad"] + 0.2


def test_levels_are_sane(corpus, turns):
    peaks = [np.abs(sf.read(str(wav_path(corpus, t)), dtype="float64")[0]).max() for t in turns]
    assert max(peaks) < 1.0 and np.median(peaks) > 0.05


def test_rerun_is_idempotent_and_other_parameters_are_refused(corpus):
    marker = corpus / synth.MARKER_NAME
    before = marker.stat().st_mtime_ns
    assert synth.generate(corpus, corpus_scale(corpus), seed=0, progress=False) == corpus
    assert marker.stat().st_mtime_ns == before
    with pytest.raises(FileExistsError, match="other parameters"):
        synth.generate(corpus, corpus_scale(corpus), seed=5, progress=False)


def test_refuses_foreign_folders(tmp_path):
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(FileExistsError, match="not a synthetic corpus"):
        synth.generate(out, TEST_SCALE, progress=False)
    assert (out / "notes.txt").read_text() == "mine\n"

    other = tmp_path / "other"
    foreign_partial = tmp_path / ("other" + synth.PARTIAL_SUFFIX)
    foreign_partial.mkdir()
    (foreign_partial / "keep.txt").write_text("mine\n")
    with pytest.raises(FileExistsError, match="not left by ser.synthetic.synth"):
        synth.generate(other, TEST_SCALE, progress=False)
    assert (foreign_partial / "keep.txt").exists() and not other.exists()


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_rejects_bad_scale(tmp_path, scale):
    with pytest.raises(ValueError):
        synth.generate(tmp_path / "corpus", scale, progress=False)
    assert not any(tmp_path.iterdir())


def test_cli(cli_corpus):
    root, result = cli_corpus
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --quiet
    lines = result.stdout.splitlines()
    expected = sum(len(dialog.turns) for dialog in synth._plan_corpus(TEST_SCALE, seed=1))
    assert len(lines) == 1 and f"{expected} turns" in lines[0] and "xxx=" in lines[0]
    assert synth.read_marker(root)["seed"] == "1"


def test_cli_refusal_exits_nonzero(tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    result = subprocess.run([sys.executable, "-m", "ser.synthetic.synth", str(tmp_path), "--quiet"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "refusing" in result.stderr
