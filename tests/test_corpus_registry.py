"""The corpus registry (ser.corpora.entry): a corpus is one entry that every other stage asks.

A toy corpus is registered from inside the test, without touching a project file, and trained
through train.py; the command line's choices and help, the corpus root's one rule (--data, the
environment, path.py) and the synthetic-corpus note follow the registry."""
import re

import numpy as np
import pytest
import soundfile as sf

import train
from ser.corpora import entry, registry
from ser.corpora.labels import CLASS_NAMES, LABEL_SET_NAMES, LABEL_SETS, default_label_set
from ser.corpora.rows import CorpusError, CorpusScan, Utterance, corpus_folder, list_wavs, probe_wav
from ser.runners import crossval, sweep_grid
from ser.runs import roots
from ser.runs.flags import get_args_parser
from ser.synthetic import synth_corpora

# The toy layout: every wav in one folder, named <speaker>_<label>_<n>.wav.
TOY_NAME = re.compile(r"(s\d)_(neu|ang)_(\d+)\.wav")
TOY_LAYOUT = "toy: wavs named like s1_ang_3.wav in one folder"


def scan_toy(root) -> CorpusScan:
    path = corpus_folder(root, "toy", "Toy", TOY_LAYOUT)
    rows, skipped = [], []
    for wav in list_wavs(path, recursive=False):
        m = TOY_NAME.fullmatch(wav.name)
        duration = probe_wav(wav) if m else "name off the toy convention"
        if isinstance(duration, str):
            skipped.append((wav.name, duration))
            continue
        speaker, label, _ = m.groups()
        rows.append(Utterance(wav.name, wav.stem, int(speaker[1]), speaker, "toy", "script", label, 0.0, duration,
                              duration))
    if not rows:
        raise CorpusError(f"no toy utterance under {path}; expected {TOY_LAYOUT}")
    return CorpusScan(path, rows, skipped, corpus="toy")


def looks_like_toy(root) -> bool:
    return root.is_dir() and any(TOY_NAME.fullmatch(w.name) for w in list_wavs(root, recursive=False))


def write_toy(out_dir, seed: int = 0, progress: bool = True):
    """The toy corpus's synthetic generator: 4 speakers x 2 labels x 5 clips of 1.2 s, a low hum for
    neutral and a loud high buzz for angry, over seeded noise."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(1.2 * 16000)) / 16000
    for speaker in range(1, 5):
        for label, (freq, gain) in {"neu": (140.0, 0.1), "ang": (520.0, 0.6)}.items():
            for n in range(5):
                wave = gain * np.sin(2 * np.pi * (freq + 10 * speaker) * t) + 0.02 * rng.standard_normal(t.size)
                sf.write(out_dir / f"s{speaker}_{label}_{n}.wav", wave.astype(np.float32), 16000)
    return out_dir


TOY = entry.Corpus(
    name="toy", title="Toy", layout=TOY_LAYOUT, scan=scan_toy, looks_like=looks_like_toy,
    label_sets=("toy", "shared4"), own_label_sets={"toy": entry.LabelSet({"neu": 0, "ang": 1}, ("calm", "cross"))},
    default_protocol="811", synthetic=f"{__name__}:write_toy")


@pytest.fixture
def toy():
    """The toy corpus registered for one test; the registry as it was afterwards."""
    saved = dict(entry._REGISTRY)
    registry.register(TOY)
    yield TOY
    entry._REGISTRY.clear()
    entry._REGISTRY.update(saved)


def test_a_corpus_registered_from_outside_trains_through_train_py(toy, tmp_path):
    tree = synth_corpora.synthesize("toy", tmp_path / "toy")  # the entry's generator, resolved by name
    assert len(registry.scan("toy", tree).utterances) == 40
    assert default_label_set("toy") == "toy" and LABEL_SETS["toy"] == {"neu": 0, "ang": 1}
    assert "toy" in LABEL_SET_NAMES and CLASS_NAMES["toy"] == ["calm", "cross"]
    run_dir = tmp_path / "runs" / "MHCNN" / "1"
    summary = train.main(["--corpus", "toy", "--data", str(tree), "-m", "MHCNN", "-e", "1", "--segment_length", "1",
                          "--train_overlap", "0.5", "--test_overlap", "0.5", "--quiet", "-g", "-1",
                          "--cache_dir", str(tmp_path / "cache"), "-d", str(run_dir)])
    assert summary["corpus"]["name"] == "toy" and summary["labels"] == "toy"
    assert summary["class_names"] == ["calm", "cross"] and summary["protocol_name"] == "811"  # the entry's default
    assert (tmp_path / "runs" / "MHCNN" / "MHCNN_mfcc_all_toy_811.metric").is_file()  # named like any corpus's
    assert summary["test_utterances"]["paths"] and all(p.endswith(".wav") for p in summary["test_utterances"]["paths"])


def test_the_command_line_takes_its_corpora_from_the_registry(toy, capsys):
    corpus = next(a for a in get_args_parser()._actions if a.dest == "corpus")
    assert corpus.choices == registry.names() and "toy" in corpus.choices
    assert all(c.layout in corpus.help for c in registry.entries())
    with pytest.raises(SystemExit):
        train.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "toy: wavs named like s1_ang_3.wav in one folder" in text and "emodb EMODB_DIR" in text


def test_the_command_line_is_built_when_parsed_not_when_imported(toy):
    entry._REGISTRY.pop("toy")
    corpus = next(a for a in get_args_parser()._actions if a.dest == "corpus")
    assert "toy" not in corpus.choices and TOY_LAYOUT not in corpus.help


def test_every_corpus_names_a_generator_that_resolves():
    for name in registry.names():
        assert callable(synth_corpora.generator_of(name)), name


def test_crossval_and_sweep_follow_an_edited_path_py(tiny_corpus, tmp_path, monkeypatch):
    """The root's one rule: with neither --data nor IEMOCAP_DIR, path.py's DEFAULT_IEMOCAP_DIR counts
    for every entry point (crossval and the sweep once read only the environment)."""
    monkeypatch.delenv("IEMOCAP_DIR", raising=False)
    path_py = tmp_path / "path.py"
    monkeypatch.setattr(roots, "PATH_PY", path_py)
    path_py.write_text(f'import os\nDEFAULT_IEMOCAP_DIR = "{tiny_corpus}"\nIEMOCAP_DIR = os.environ.get("x", "")\n')
    assert roots.root_of("iemocap", None) == str(tiny_corpus)
    assert sweep_grid.protocol_folds("leave-one-speaker-out", sweep_grid.Naming(), []) == tuple(range(1, 11))
    edited = tmp_path / "edited" / "IEMOCAP_full_release"
    path_py.write_text(f'DEFAULT_IEMOCAP_DIR = "{edited}"\n')
    with pytest.raises(CorpusError, match=re.escape(str(edited))):
        crossval.train_fold(["-e", "1", "--quiet", "-g", "-1", "-d", str(tmp_path / "runs" / "GLAM" / "1")])
    monkeypatch.setenv("IEMOCAP_DIR", str(tiny_corpus))  # the environment wins over path.py
    assert roots.root_of("iemocap", None) == str(tiny_corpus) and roots.root_of("iemocap", "/given") == "/given"
    assert roots.root_of("ravdess", None) == ""  # no variable and no path.py setting: --data only


def test_a_path_py_that_is_not_a_plain_folder_name_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("IEMOCAP_DIR", raising=False)
    monkeypatch.setattr(roots, "PATH_PY", tmp_path / "path.py")
    assert roots.root_of("iemocap", None) == ""  # no path.py: nothing configured
    (tmp_path / "path.py").write_text("DEFAULT_IEMOCAP_DIR = some_function()\n")
    with pytest.raises(roots.PathSettingError, match="folder name in quotes"):
        roots.root_of("iemocap", None)


def test_a_synthetic_run_of_several_seeds_names_its_own_corpus(corpus_tree, tmp_path, capsys):
    """Seeds trained together on a synthetic RAVDESS tree say it stands in for RAVDESS (not IEMOCAP)."""
    train.main(["--data", str(corpus_tree("ravdess")), "--protocol", "811", "-m", "MHCNN", "-e", "1",
                "--segment_length", "1", "--train_overlap", "0", "--test_overlap", "0", "--seed_list", "1,2",
                "-g", "-1", "--cache_dir", str(tmp_path / "cache"), "-d", str(tmp_path / "runs" / "MHCNN")])
    notes = [line for line in capsys.readouterr().out.splitlines() if "synthetic corpus" in line]
    assert notes and all(line.endswith("say nothing about RAVDESS.") for line in notes)
