"""Checkpoints, predict.py on new audio and the ONNX export."""
import csv
import io
import json
import math
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import torch

import export
import predict
import train
from ser.corpora import iemocap
from ser.errors import UserError
from ser.features import audio, glam, spectral_stream
from ser.features.audio import AudioArrayError, UnusableAudio
from ser.features.glam import FeatureSettings
from ser.features.spectral import SpectralSettings
from ser.records import checkpoint as ckpt
from ser.serving import export as ser_export
from ser.serving import inference
from ser.serving.inference import InferenceError, Predictor
from ser.training import engine
from ser.training.dataset import TestUtterances
from ser.training.metrics import predict_utterances

CLASSES = ["neutral", "sad", "angry", "happy(excited)"]
SETTINGS = FeatureSettings(kind="mfcc", segment_length=1.8)


@dataclass
class Scored:
    """What the run's own model gave while training: its test utterances and, per epoch, their logits."""
    test: TestUtterances | None = None
    logits: list[torch.Tensor] = field(default_factory=list)


@pytest.fixture(scope="module")
def trained_run(tiny_corpus, tmp_path_factory):
    """MHCNN trained for two epochs on the synthetic corpus by train.py --SaveModel, with the
    utterance logits of the trained model itself recorded each time the run scored its test set."""
    work = tmp_path_factory.mktemp("trained")
    scored = Scored()
    real_evaluate = engine.evaluate

    def recording(model, test, device, amp=False):
        # predict_utterances in eval mode draws nothing, so the run goes on exactly as unobserved
        scored.test = test
        scored.logits.append(predict_utterances(model, test, device, amp=amp).detach().cpu())
        return real_evaluate(model, test, device, amp)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "evaluate", recording)
        summary = train.main(["-m", "MHCNN", "-e", "2", "--data", str(tiny_corpus), "--quiet", "-g", "-1",
                              "--train_overlap", "0", "-d", str(work / "run" / "1"), "--cache_dir",
                              str(work / "cache"), "--SaveModel"])
    return work / "run" / "1" / summary["checkpoint"], summary, scored


@pytest.fixture(scope="module")
def checkpoint_file(trained_run):
    path, _, _ = trained_run
    return path, ckpt.build_model(ckpt.load(path))


def test_predictions_of_the_test_wavs_are_the_runs(trained_run, tiny_corpus):
    """predict.py scores a recording as training scored a test utterance."""
    path, summary, _ = trained_run
    turns = summary["test_utterances"]["turns"]
    by_turn = {u.turn: u for u in iemocap.scan_iemocap(tiny_corpus).utterances}
    predictor = Predictor(path)
    labels = [predictor.predict_file(tiny_corpus / by_turn[t].path).label for t in turns]
    assert labels == [summary["class_names"][p] for p in summary["test_utterances"]["predictions"]]


def test_seed004_checkpoints_keep_their_spectrogram_scaling_and_pooling(tiny_corpus, tmp_path):
    summary = train.main(["-m", "alexnet_gap", "-f", "logspec", "--image_size", "64", "-e", "1", "--pooling",
                          "log_softmax", "--data", str(tiny_corpus), "--quiet", "-g", "-1", "-d", str(tmp_path / "1"),
                          "--cache_dir", str(tmp_path / "cache"), "--SaveModel"])
    path = tmp_path / "1" / summary["checkpoint"]
    saved = ckpt.load(path)
    assert saved["features"]["kind"] == "logspec" and saved["pooling"] == "log_softmax"
    assert saved["scaler"]["minimum"].shape == (200,)  # the training fit of --minmax, on by default here
    by_turn = {u.turn: u for u in iemocap.scan_iemocap(tiny_corpus).utterances}
    predictor = Predictor(path)
    labels = [predictor.predict_file(tiny_corpus / by_turn[t].path).label for t in summary["test_utterances"]["turns"]]
    assert labels == [summary["class_names"][p] for p in summary["test_utterances"]["predictions"]]
    export.main([str(path), "-o", str(tmp_path / "gap.onnx")])
    sidecar = json.loads((tmp_path / "gap.json").read_text())
    assert sidecar["min_max_scaling"]["minimum"] == pytest.approx(saved["scaler"]["minimum"].tolist())
    assert "log-softmax" in sidecar["scoring"]

    # a recording longer than one block is read twice, its maps computed block by block
    sf.write(tmp_path / "long.wav", voice(7.0, 22050, seed=17), 22050)
    whole = predictor.predict_file(tmp_path / "long.wav")
    streamed = Predictor(path, block_frames=9001).predict_file(tmp_path / "long.wav")
    assert streamed.segments == whole.segments == 3 and streamed.label == whole.label
    np.testing.assert_array_equal(streamed.scores.logits, whole.scores.logits)  # logspec: exact
    assert streamed.scores.starts.tolist() == [0, 48000, 96000]


@pytest.mark.parametrize("kind", ["logmeldeltaspec", "logdeltaspec"])
def test_seed004_maps_computed_block_by_block_are_the_whole_recordings(kind):
    """The dB reference of the whole recording, the STFT frames either side of every block
    boundary, the deltas' edges (nearest, interp) and the padded last segment: the maps of a
    recording read in blocks of 5003 samples are those of the whole recording (mel bands within
    the rounding of a matrix product of another width)."""
    settings = SpectralSettings(kind=kind)
    wav = np.concatenate([voice(7.0, 16000, seed=18), 3 * voice(4.0, 16000, seed=19)[:-77]])
    blocks = spectral_stream.segments(lambda: (wav[k:k + 5003] for k in range(0, len(wav), 5003)), settings)
    np.testing.assert_allclose(np.concatenate(list(blocks)), settings.compute(wav, None, ""), rtol=0,
                               atol=0 if kind == "logdeltaspec" else 1e-4)


def voice(seconds, sr, seed=0):
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    return (0.2 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
            + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def test_checkpoint_round_trip_gives_the_trained_model(trained_run):
    """The checkpoint's model scores the test utterances as the run's model did at its best epoch."""
    path, summary, scored = trained_run
    saved = ckpt.load(path)
    assert saved["model"] == "MHCNN" and saved["input_shape"] == [26, 57] and saved["class_names"] == CLASSES
    assert len(scored.logits) == len(summary["epochs"]) == 2  # scored once per epoch (on test: the paper protocol)
    with torch.no_grad():
        logits = predict_utterances(ckpt.build_model(saved), scored.test, torch.device("cpu"))
    torch.testing.assert_close(logits, scored.logits[summary["best_epoch"]])
    assert logits.argmax(1).tolist() == summary["test_utterances"]["predictions"]


def test_incompatible_checkpoints_are_refused_clearly(checkpoint_file, tmp_path):
    saved = ckpt.load(checkpoint_file[0])
    with pytest.raises(ckpt.CheckpointError, match="MHCNN model, not GLAM"):
        ckpt.check_compatible(saved, model_name="GLAM")
    with pytest.raises(ckpt.CheckpointError, match="segment_length"):
        ckpt.check_compatible(saved, features=FeatureSettings(segment_length=2.0))
    ckpt.check_compatible(saved, model_name="MACNN", features=SETTINGS)  # alias of MHCNN: fine
    bare = tmp_path / "bare.pth"
    torch.save(checkpoint_file[1].state_dict(), bare)
    with pytest.raises(ckpt.CheckpointError, match="load_original_weights"):
        ckpt.load(bare)
    model = ckpt.load_original_weights(bare, "MHCNN", (26, 57))
    x = torch.randn(2, 1, 26, 57)
    torch.testing.assert_close(model(x), checkpoint_file[1](x))
    with pytest.raises(ckpt.CheckpointError, match="GLAM"):
        ckpt.load_original_weights(bare, "GLAM", (26, 57))
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        ckpt.load(tmp_path / "missing.pth")


def test_prediction_is_the_mean_of_segment_logits(checkpoint_file):
    path, model = checkpoint_file
    wav = voice(4.0, 16000)
    prediction = Predictor(path).predict_wav(wav)
    maps = torch.from_numpy(glam.extract(wav, 16000, "mfcc", 1.8, 1.6)).unsqueeze(1)
    with torch.no_grad():
        mean_logits = model(maps).mean(0)
    assert prediction.segments == len(maps) == 1 + (64000 - 28800) // 3199
    assert prediction.label == CLASSES[int(mean_logits.argmax())]
    np.testing.assert_allclose(list(prediction.probabilities.values()), mean_logits.softmax(0).numpy(), rtol=1e-5)
    assert not prediction.tiled


def test_predict_cli_formats_rates_short_and_broken_files(checkpoint_file, tmp_path, capsys):
    path, _ = checkpoint_file
    audio = tmp_path / "audio"
    (audio / "more").mkdir(parents=True)
    sf.write(audio / "a16k.wav", voice(3.0, 16000, 1), 16000)
    stereo = voice(3.0, 44100, 2)
    sf.write(audio / "b44k_stereo.flac", np.stack([stereo, 0.5 * stereo], axis=1), 44100)
    sf.write(audio / "more" / "c8k.ogg", voice(2.5, 8000, 3), 8000)
    sf.write(audio / "more" / "d22k.mp3", voice(2.5, 22050, 4), 22050)
    sf.write(audio / "e_short.wav", voice(0.5, 16000, 5), 16000)
    (audio / "f_broken.wav").write_bytes(b"RIFF this is not audio")
    (audio / "notes.txt").write_text("ignored: not audio")

    status = predict.main([str(path), str(audio), "--csv"])
    out, err = capsys.readouterr()
    assert status == 1  # one file failed, the rest were scored
    assert "f_broken.wav" in err and err.count("error:") == 1
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["file"].split("/")[-1] for r in rows] == ["a16k.wav", "b44k_stereo.flac", "e_short.wav",
                                                       "c8k.ogg", "d22k.mp3"]
    for row in rows:
        assert row["label"] in CLASSES
        assert sum(float(row[c]) for c in CLASSES) == pytest.approx(1.0, abs=1e-5)
    short = next(r for r in rows if r["file"].endswith("e_short.wav"))
    # 0.5 s tiled ceil(1.8 / 0.5) = 4 times = 32000 samples: segments at 0 and 3199
    assert short["tiled"] == "True" and short["segments"] == "2"
    # 3 s at 44.1 kHz resampled to 16 kHz: the same 48000 samples as the 16 kHz file
    segments = {name: next(r for r in rows if name in r["file"])["segments"] for name in ("b44k", "a16k")}
    assert segments["b44k"] == segments["a16k"]

    assert predict.main([str(path), str(audio / "a16k.wav"), "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["label"] in CLASSES and set(record["probabilities"]) == set(CLASSES)


def test_predict_with_a_bad_checkpoint_exits_with_a_message(tmp_path):
    (tmp_path / "x.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="x.pth is a text file .*--SaveModel"):
        predict.main([str(tmp_path / "x.pth"), str(tmp_path)])
    (tmp_path / "y.pth").write_bytes(b"\x80\x02 a damaged pickle")
    with pytest.raises(SystemExit, match="y.pth is not a readable checkpoint: PyTorch cannot read it"):
        predict.main([str(tmp_path / "y.pth"), str(tmp_path)])


def error_line(excinfo) -> str:
    """The one line an entry point exits with; no traceback of torch's reaches the user."""
    message = str(excinfo.value)
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in message
    return message


def test_files_that_are_not_checkpoints_are_named_for_what_they_are(trained_run, tmp_path):
    path, summary, _ = trained_run
    wav = tmp_path / "speech.wav"
    sf.write(wav, voice(1.0, 16000), 16000)
    with pytest.raises(SystemExit) as excinfo:
        predict.main([str(wav), str(wav)])
    assert "speech.wav is a WAV audio file, not a checkpoint" in error_line(excinfo)
    assert "train.py --SaveModel writes" in error_line(excinfo)

    with pytest.raises(SystemExit) as excinfo:  # a run's results.json points to its checkpoint
        predict.main([str(path.parent / "results.json"), str(wav)])
    assert f"its checkpoint is {path}" in error_line(excinfo) and "weights_only" not in error_line(excinfo)
    unsaved = tmp_path / "unsaved" / "results.json"
    unsaved.parent.mkdir()
    unsaved.write_text(json.dumps(dict(summary, checkpoint=None)))
    with pytest.raises(SystemExit, match="saved no model .*--SaveModel"):
        predict.main([str(unsaved), str(wav)])

    resume = tmp_path / "resume_GLAM_mfcc_impro.pt"
    ckpt.save_resume_state(resume, {"scaler": np.zeros(3)})  # numpy inside: not weights-only
    with pytest.raises(SystemExit) as excinfo:
        predict.main([str(resume), str(wav)])
    assert "resume state of an unfinished run" in error_line(excinfo)

    np.savez(tmp_path / "arrays.npz", x=np.zeros(2))
    with pytest.raises(ckpt.CheckpointError, match="zip archive that PyTorch did not write"):
        ckpt.load(tmp_path / "arrays.npz")
    with pytest.raises(ckpt.CheckpointError, match=f"pass the checkpoint in it: {path}"):
        ckpt.load(path.parent)
    with pytest.raises(ckpt.CheckpointError, match="WAV audio file"):
        ckpt.load_original_weights(wav, "GLAM", (26, 57))


def test_no_cuda_device_is_one_error_line(checkpoint_file, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as excinfo:
        predict.main([str(checkpoint_file[0]), str(tmp_path), "-g", "0"])
    assert error_line(excinfo) == "error: -g 0: this machine has no CUDA device; use -g -1 for the CPU"
    with pytest.raises(InferenceError, match="no CUDA device"):
        Predictor(checkpoint_file[0], torch.device("cuda:0"))


def test_output_folders_are_checked_before_any_work(checkpoint_file, tmp_path, monkeypatch, capsys):
    path, _ = checkpoint_file
    sf.write(tmp_path / "a.wav", voice(2.0, 16000), 16000)
    scored = []
    monkeypatch.setattr(Predictor, "predict_file", lambda self, p: scored.append(p))
    with pytest.raises(SystemExit) as excinfo:
        predict.main([str(path), str(tmp_path / "a.wav"), "-o", str(tmp_path / "missing" / "p.txt")])
    assert f"the folder {tmp_path / 'missing'} does not exist" in error_line(excinfo) and scored == []
    with pytest.raises(SystemExit) as excinfo:
        export.main([str(path), "-o", str(tmp_path / "missing" / "m.onnx"), "--quiet"])
    assert f"-o {tmp_path / 'missing' / 'm.onnx'}: the folder {tmp_path / 'missing'} does not exist" \
        in error_line(excinfo) and ".tmp" not in error_line(excinfo)
    with pytest.raises(SystemExit, match="cannot be NAME.json itself"):
        export.main([str(path), "-o", str(tmp_path / "m.json"), "--quiet"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]  # nothing written, no temporary left
    monkeypatch.undo()

    assert predict.main([str(path), str(tmp_path / "a.wav"), "--json", "-o", str(tmp_path / "p.json")]) == 0
    assert capsys.readouterr().out == ""
    (record,) = json.loads((tmp_path / "p.json").read_text())
    assert record["path"] == str(tmp_path / "a.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "p.json"]


def test_folders_list_what_they_skip_and_nothing_found_fails(checkpoint_file, tmp_path, capsys):
    path, _ = checkpoint_file
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "a.wav", voice(2.0, 16000), 16000)
    sf.write(audio / "b.aiff", voice(2.0, 16000), 16000)
    (audio / "c.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    (audio / ".DS_Store").write_bytes(b"\x00")
    assert predict.main([str(path), str(audio)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(str(audio / "a.wav")) and len(out.splitlines()) == 1
    (note,) = err.splitlines()
    assert note.startswith("note: skipped 2 file(s)") and "(1 .aiff, 1 .m4a)" in note
    assert f"{audio / 'b.aiff'}, {audio / 'c.m4a'};" in note and ".wav, .flac, .ogg, .mp3" in note
    assert ".DS_Store" not in note

    assert predict.main([str(path), str(audio / "b.aiff")]) == 0  # named directly: tried, and libsndfile reads it
    capsys.readouterr()
    (audio / "a.wav").unlink()
    assert predict.main([str(path), str(audio), str(tmp_path / "nowhere")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    (error,) = [line for line in err.splitlines() if line.startswith("error:")]  # one line says it all
    assert error.startswith(f"error: no audio file found in {audio} {tmp_path / 'nowhere'} ({tmp_path / 'nowhere'}: "
                            "no such file or folder; folders are searched for .wav")


def test_a_missing_audio_path_is_one_error_line(checkpoint_file, tmp_path, capsys):
    assert predict.main([str(checkpoint_file[0]), str(tmp_path / "nowhere.wav")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"error: {tmp_path / 'nowhere.wav'}: no such file or folder; nothing was scored\n"


def test_a_folder_given_as_the_checkpoint_is_named_with_the_checkpoints_in_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ckpt.CheckpointError, match="is a folder") as refused:
        ckpt.load(run)
    assert "does not exist" not in str(refused.value) and "model_*.pth" in str(refused.value)
    for name in ("model_MHCNN_mfcc_impro.pth", "model_GLAM_mfcc_impro.pth", "resume_MHCNN_mfcc_impro.pt"):
        (run / name).write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        predict.main([str(run), str(tmp_path)])
    message = str(exit_info.value.code)
    assert message.startswith("error: ") and "\n" not in message and "is a folder" in message
    assert all(str(run / name) in message for name in ("model_GLAM_mfcc_impro.pth", "model_MHCNN_mfcc_impro.pth"))
    assert "resume_" not in message


def test_onnx_export_matches_pytorch(checkpoint_file, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path, model = checkpoint_file
    export.main([str(path), "-o", str(tmp_path / "mhcnn.onnx")])
    sidecar = json.loads((tmp_path / "mhcnn.json").read_text())
    assert sidecar["class_names"] == CLASSES and sidecar["features"]["kind"] == "mfcc"
    assert sidecar["input"]["shape"] == ["batch", 1, 26, 57]
    session = ort.InferenceSession(str(tmp_path / "mhcnn.onnx"))
    for batch in (1, 5):
        x = torch.randn(batch, 1, 26, 57)
        (logits,) = session.run(None, {"features": x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(logits, model(x).numpy(), rtol=1e-4, atol=1e-5)


def recipe_of(settings, test_overlap=1.6):
    """The sidecar's preprocessing recipe of a checkpoint with these features, through JSON."""
    saved = ckpt.build_checkpoint(None, model_name="GLAM", model_options={}, features=settings, train_overlap=1.6,
                                  test_overlap=test_overlap, class_names=CLASSES, labels="glam", protocol="paper",
                                  seed=1, epoch=0, scores={}, state_dict={})
    return json.loads(json.dumps(ser_export.sidecar(saved)))["preprocessing"]


def periodic_window(name: str, length: int, n_fft: int) -> np.ndarray:
    """A periodic Hann or Hamming window of ``length`` samples centred in ``n_fft`` with zeros."""
    a = {"hann": 0.5, "hamming": 0.54}[name]
    window = a - (1 - a) * np.cos(2 * np.pi * np.arange(length) / length)
    left = (n_fft - length) // 2
    return np.pad(window, (left, n_fft - length - left))


def stft_power(x: np.ndarray, stft: dict) -> np.ndarray:
    """(bins, frames) |STFT|^power of ``x``, from the recipe's STFT parameters alone."""
    assert stft["window_periodic"] and stft["center"]
    n_fft, hop = stft["n_fft"], stft["hop_length"]
    padded = np.pad(x, n_fft // 2, mode=stft["pad_mode"])
    count = 1 + (len(padded) - n_fft) // hop
    frames = padded[np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]]
    window = periodic_window(stft["window"], stft["win_length"], n_fft)
    return (np.abs(np.fft.rfft(frames * window, axis=1)) ** stft["power"]).T


def decibels(x: np.ndarray, rule: dict) -> np.ndarray:
    reference = x.max() if rule["reference"] == "max" else rule["reference"]
    db = rule["factor"] * (np.log10(np.maximum(rule["amin"], x)) - np.log10(max(rule["amin"], reference)))
    return np.maximum(db, db.max() - rule["top_db"])


def mel_bank(rule: dict, sr: int, n_fft: int) -> np.ndarray:
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=rule["n_mels"], fmin=rule["fmin"], fmax=rule["fmax"],
                               htk=rule["htk"], norm=rule["norm"])


def mfcc_from_recipe(wav: np.ndarray, recipe: dict) -> np.ndarray:
    """GLAM's MFCC maps of a recording from the sidecar alone (numpy, and librosa's mel filters)."""
    seg, feats, sr = recipe["segmentation"], recipe["features"], recipe["audio"]["sample_rate"]
    if len(wav) < seg["segment_length_s"] * sr:
        wav = np.tile(wav, math.ceil(seg["segment_length_s"] * sr / len(wav)))
    starts = range(0, len(wav), seg["hop_samples"])
    starts = [s for s in starts if s + seg["segment_length_s"] * sr <= len(wav)]
    dct = feats["dct"]
    assert (dct["type"], dct["norm"]) == (2, "ortho")
    n = feats["mel_filters"]["n_mels"]
    basis = np.sqrt(2 / n) * np.cos(np.pi * np.arange(n)[:, None] * (2 * np.arange(n)[None, :] + 1) / (2 * n))
    basis[0] /= np.sqrt(2)
    bank = mel_bank(feats["mel_filters"], sr, feats["stft"]["n_fft"])
    maps = []
    for start in starts:
        segment = wav[start:start + seg["segment_samples"]].astype(np.float64)
        maps.append((basis @ decibels(bank @ stft_power(segment, feats["stft"]), feats["decibels"]))[:dct["keep"]])
    return np.stack(maps)


@pytest.mark.parametrize("seconds", [3.3, 0.7])
def test_sidecar_alone_reproduces_the_mfcc_inputs(seconds):
    """Outside Python one needs the JSON only: a reimplementation driven by it gives the same maps,
    for a recording with a tail to drop and for one shorter than a segment (tiled). A stretch of
    digital silence puts frames on the 80 dB floor."""
    recipe = recipe_of(SETTINGS)
    assert recipe["segmentation"]["segment_samples"] == 28800 and recipe["segmentation"]["hop_samples"] == 3199
    wav = voice(seconds, 16000, seed=7)
    wav[len(wav) // 4:len(wav) // 2] = 0.0
    expected = SETTINGS.prediction_input(wav, 1.6)
    ours = mfcc_from_recipe(wav, recipe)
    assert ours.shape == expected.shape and len(ours) == (1 + (len(wav) - 28800) // 3199 if seconds > 1.8 else 2)
    np.testing.assert_allclose(ours, expected, atol=1e-3, rtol=0)


def test_sidecar_alone_reproduces_seed004_inputs():
    """logmeldeltaspec: pre-emphasis, reflect-padded Hamming STFT, Slaney mels in dB against the
    recording's maximum, Savitzky-Golay deltas, 300-frame segments padded, channels stacked."""
    settings = SpectralSettings(kind="logmeldeltaspec")
    recipe = recipe_of(settings)
    feats, sr, seg = recipe["features"], recipe["audio"]["sample_rate"], recipe["segmentation"]
    wav = voice(4.0, 16000, seed=8)
    coefficient = feats["preemphasis"]["coefficient"]
    y = np.concatenate([wav[:1], wav[1:] - coefficient * wav[:-1]]).astype(np.float32)
    magnitude = stft_power(y.astype(np.float64), feats["stft"])
    mel_rule = feats["logmelspec"]
    mel = decibels(mel_bank(mel_rule["mel_filters"], sr, feats["stft"]["n_fft"]) @ magnitude ** 2,
                   mel_rule["decibels"])
    delta = feats["delta"]

    def derivative(x):
        return scipy.signal.savgol_filter(x, delta["window_length"], delta["polyorder"], deriv=delta["deriv"],
                                          axis=-1, mode=delta["mode"])
    first = derivative(mel)
    channels = np.stack([mel, first, derivative(first)])
    size = seg["frames_per_segment"]
    count = max(1, math.ceil(channels.shape[-1] / size))
    padded = np.zeros((3, channels.shape[1], count * size))  # pad "max": 0 dB in every channel
    padded[..., :channels.shape[-1]] = channels
    ours = np.stack([padded[..., k * size:(k + 1) * size].reshape(-1, size) for k in range(count)])
    expected = settings.prediction_input(wav)
    assert ours.shape == expected.shape == (2, 3 * 128, 300)
    np.testing.assert_allclose(ours, expected, atol=1e-3, rtol=0)


# The Python API reads arrays as predict.py reads files


def probabilities_of(prediction) -> np.ndarray:
    return np.array(list(prediction.probabilities.values()))


@pytest.fixture(scope="module")
def predictor(checkpoint_file):
    return Predictor(checkpoint_file[0])


@pytest.mark.parametrize("dtype, subtype", [(np.int16, "PCM_16"), (np.int32, "PCM_32"), (np.uint8, "PCM_U8"),
                                            (np.float64, "DOUBLE")])
def test_arrays_of_any_sample_type_score_as_the_file_holding_them(predictor, tmp_path, dtype, subtype):
    """An int16 array is a 16-bit file's samples, scaled by 1/32768 as soundfile reads them, and so on."""
    wav = voice(2.5, 16000, seed=11)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        middle = (int(info.max) + int(info.min) + 1) // 2  # 0, or 128 for unsigned 8-bit WAV
        samples = (np.round(wav.astype(np.float64) * (info.max - middle)) + middle).astype(dtype)
    else:
        samples = wav.astype(dtype)
    # soundfile writes no uint8 array; libsndfile stores 16-bit samples' top byte, offset by 128, exactly
    written = ((samples.astype(np.int16) - 128) * 256).astype(np.int16) if dtype == np.uint8 else samples
    sf.write(tmp_path / "x.wav", written, 16000, subtype=subtype)
    from_file = predictor.predict_file(tmp_path / "x.wav")
    from_array = predictor.predict_wav(samples)
    np.testing.assert_array_equal(probabilities_of(from_array), probabilities_of(from_file))
    assert (from_array.label, from_array.segments, from_array.seconds) == (from_file.label, from_file.segments, 2.5)


def test_arrays_at_other_rates_and_with_channels_are_read_as_files(predictor, tmp_path):
    """(frames, channels) as soundfile.read returns them, averaged, and resampled from sample_rate."""
    left = voice(3.0, 44100, seed=12)
    stereo = np.stack([left, 0.3 * left[::-1]], axis=1)
    sf.write(tmp_path / "stereo.flac", stereo, 44100, subtype="PCM_24")
    as_read, rate = sf.read(tmp_path / "stereo.flac", dtype="float32")
    from_file = predictor.predict_file(tmp_path / "stereo.flac")
    from_array = predictor.predict_wav(as_read, sample_rate=rate)
    np.testing.assert_array_equal(probabilities_of(from_array), probabilities_of(from_file))
    assert from_array.seconds == from_file.seconds == 3.0
    with pytest.raises(AudioArrayError, match=r"shape \(2, 132300\).*\(frames, channels\).*transpose") as refused:
        predictor.predict_wav(as_read.T, sample_rate=rate)
    assert isinstance(refused.value, UserError)


@pytest.mark.parametrize("content, reason", [("empty", audio.R_NO_SAMPLES), ("zeros", audio.R_SILENT),
                                             ("nan", audio.R_NONFINITE_AUDIO), ("inf", audio.R_NONFINITE_AUDIO)])
def test_arrays_that_no_file_could_be_scored_as_raise_the_files_error(predictor, tmp_path, content, reason):
    samples = {"empty": np.zeros(0, np.float32), "zeros": np.zeros(32000, np.int16)}.get(content)
    if samples is None:
        samples = voice(2.0, 16000)
        samples[5000] = np.nan if content == "nan" else np.inf
    sf.write(tmp_path / "x.wav", samples, 16000, subtype="FLOAT" if samples.dtype == np.float32 else "PCM_16")
    for score in (lambda: predictor.predict_wav(samples), lambda: predictor.predict_file(tmp_path / "x.wav")):
        with pytest.raises(UnusableAudio) as refused:
            score()
        assert refused.value.reason == reason and isinstance(refused.value, UserError)


def test_every_api_mistake_is_a_user_error_naming_its_cause(predictor, tmp_path):
    mistakes = [
        (lambda: predictor.predict_file(tmp_path / "missing.wav"), rf"^no such file \({tmp_path / 'missing.wav'}\)$"),
        (lambda: predictor.predict_file(tmp_path), "is a folder, not an audio file"),
        (lambda: predictor.predict_wav(np.zeros(16000, np.complex64)), "complex64 values; a recording's samples are"),
        (lambda: predictor.predict_wav(["a", "b"]), "<U1 values"),
        (lambda: predictor.predict_wav(np.ones((3, 16000, 2))), r"shape \(3, 16000, 2\); give \(frames,\)"),
        (lambda: predictor.predict_wav(voice(2.0, 16000), sample_rate=0), "sample_rate 0: give the samples' rate"),
        (lambda: predictor.predict_wav(voice(2.0, 16000), sample_rate="16k"), "sample_rate '16k'"),
    ]
    for mistake, message in mistakes:
        with pytest.raises(UserError, match=message):
            mistake()


def test_an_utterance_scores_the_mean_of_its_segments_logits_not_of_their_probabilities(checkpoint_file, tmp_path):
    """A hand-built classifier that tells a tone (class 0) from noise (the rest) with large logits:
    on a recording that is half each, the mean of the segment logits and the mean of their softmax
    disagree by far, and the prediction must be the former, as the original scores an utterance."""
    path, _ = checkpoint_file
    saved = ckpt.load(path)
    model = ckpt.build_model(saved)
    seconds, rate = 4.0, 16000
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
    noise = (0.3 * np.random.default_rng(0).standard_normal(int(seconds * rate))).astype(np.float32)
    heard = []
    hook = model.fc.register_forward_hook(lambda module, inputs, output: heard.append(inputs[0].mean(0)))
    with torch.no_grad():
        for wav in (tone, noise):
            model(torch.from_numpy(glam.extract(wav, rate, "mfcc", 1.8, 1.6)).unsqueeze(1))
    hook.remove()
    direction = heard[0] - heard[1]
    weight = torch.zeros_like(saved["state_dict"]["fc.weight"])
    weight[0] = 20 * direction / direction.norm() ** 2  # +10 on the tone, -10 on the noise
    saved["state_dict"]["fc.weight"], saved["state_dict"]["fc.bias"] = weight, torch.zeros(4)
    saved["state_dict"]["fc.bias"][0] = -float(weight[0] @ (heard[0] + heard[1]) / 2)
    ckpt.save(saved, tmp_path / "two_sided.pth")

    recording = np.concatenate([tone, noise])
    prediction = Predictor(tmp_path / "two_sided.pth").predict_wav(recording)
    with torch.no_grad():
        logits = ckpt.build_model(saved)(torch.from_numpy(glam.extract(recording, rate, "mfcc", 1.8, 1.6))
                                         .unsqueeze(1))
    assert logits[0, 0] > 8 and logits[-1, 0] < -8  # the segments really differ
    of_logits, of_probabilities = logits.mean(0).softmax(0).numpy(), logits.softmax(1).mean(0).numpy()
    assert np.abs(of_logits - of_probabilities).max() > 0.1
    np.testing.assert_allclose(probabilities_of(prediction), of_logits, rtol=1e-5, atol=1e-6)
    assert prediction.label == CLASSES[int(of_logits.argmax())]


# Recordings of any length: read block by block, scored segment batch by segment batch


def segment_logits(model, wav: np.ndarray) -> torch.Tensor:
    """Each GLAM segment's logits, the maps of the whole signal computed at once."""
    with torch.no_grad():
        return model(torch.from_numpy(glam.extract(wav, 16000, "mfcc", 1.8, 1.6)).unsqueeze(1))


def test_a_recording_read_in_blocks_scores_as_its_whole_read(checkpoint_file, tmp_path, monkeypatch):
    """Read 4099 frames at a time, its maps computed and scored 8 segments at a time, an 8 s
    stereo 44.1 kHz file gives the cuts, segment logits and score of its whole read
    (librosa.load), in a fraction of the memory; scored with the defaults its score is the whole
    read's as the run scored a test utterance (all maps at once, passes of 256), bit for bit."""
    path, model = checkpoint_file
    left = voice(8.0, 44100, seed=13)
    sf.write(tmp_path / "long.wav", np.stack([left, 0.5 * left], axis=1), 44100)
    whole, _ = librosa.load(tmp_path / "long.wav", sr=16000)
    logits = segment_logits(model, whole)
    monkeypatch.setattr(inference, "FEATURE_SEGMENTS", 8)
    tracemalloc.start()
    streamed = Predictor(path, batch_size=8, block_frames=4099).predict_file(tmp_path / "long.wav")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert streamed.segments == len(logits) == 1 + (128000 - 28800) // 3199 and streamed.seconds == 8.0
    np.testing.assert_array_equal(streamed.scores.starts, 3199 * np.arange(len(logits)))
    np.testing.assert_allclose(streamed.scores.logits, logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities_of(streamed), logits.mean(0).softmax(0).numpy(), rtol=1e-5)
    assert peak < 8e6  # the STFT of the whole read's 32 segments alone takes 15 MB
    monkeypatch.undo()

    at_once = Predictor(path).predict_file(tmp_path / "long.wav")
    test = TestUtterances.from_lists([glam.extract(whole, 16000, "mfcc", 1.8, 1.6)], [0], ["long"], (26, 57))
    mean = predict_utterances(model, test, torch.device("cpu"), 256)[0]
    np.testing.assert_array_equal(probabilities_of(at_once), mean.softmax(0).numpy())


def test_long_recordings_show_a_progress_bar(checkpoint_file, tmp_path, monkeypatch, capsys):
    sf.write(tmp_path / "a.wav", voice(3.0, 16000), 16000)
    predictor = Predictor(checkpoint_file[0])
    predictor.predict_file(tmp_path / "a.wav", progress=True)
    assert capsys.readouterr().err == ""  # shorter than a minute: no bar
    monkeypatch.setattr(inference, "PROGRESS_SECONDS", 2.0)
    predictor.predict_file(tmp_path / "a.wav", progress=True)
    bar = capsys.readouterr().err
    assert bar.startswith("\ra.wav:") and "/3 s of audio" in bar


def read_timeline(folder: Path, name: str) -> tuple[list[dict], dict]:
    with open(folder / f"{name}.timeline.csv") as f:
        rows = list(csv.DictReader(f))
    return rows, json.loads((folder / f"{name}.timeline.json").read_text())


def test_timeline_gives_each_windows_emotion(checkpoint_file, tmp_path, capsys):
    """By default one row per segment with that segment's probabilities; --timeline_window and
    --timeline_hop pool the segments that lie inside each window; a tiled recording is one row."""
    path, model = checkpoint_file
    wav = np.concatenate([voice(3.0, 16000, seed=14), 0.5 * voice(3.0, 16000, seed=15)[::-1]])
    sf.write(tmp_path / "talk.wav", wav, 16000)
    sf.write(tmp_path / "short.wav", voice(1.0, 16000, seed=16), 16000)
    logits = segment_logits(model, wav)
    folder = tmp_path / "timeline"
    assert predict.main([str(path), str(tmp_path / "talk.wav"), str(tmp_path / "short.wav"), "--timeline",
                         str(folder), "--quiet", "--json"]) == 0
    scored = {Path(p["path"]).name: p for p in json.loads(capsys.readouterr().out)}
    assert sorted(p.name for p in folder.iterdir()) == [f"{name}.timeline.{kind}" for name in ("short.wav", "talk.wav")
                                                        for kind in ("csv", "json", "png")]
    rows, document = read_timeline(folder, "talk.wav")
    assert len(rows) == len(logits) == scored["talk.wav"]["segments"] == 1 + (96000 - 28800) // 3199
    assert [float(r["start"]) for r in rows] == [round(k * 3199 / 16000, 3) for k in range(len(rows))]
    assert all(float(r["end"]) - float(r["start"]) == pytest.approx(1.8, abs=1e-3) for r in rows)
    np.testing.assert_allclose([[float(r[c]) for c in CLASSES] for r in rows], logits.softmax(1).numpy(), atol=2e-6)
    assert [w["label"] for w in document["windows"]] == [r["label"] for r in rows]
    np.testing.assert_allclose([list(w["probabilities"].values()) for w in document["windows"]],
                               logits.softmax(1).numpy(), rtol=1e-5)
    assert (folder / "talk.wav.timeline.png").read_bytes().startswith(b"\x89PNG")
    (short,) = read_timeline(folder, "short.wav")[0]
    assert (short["start"], short["end"], short["segments"]) == ("0.000", "1.000", "2")
    assert [float(short[c]) for c in CLASSES] == pytest.approx(list(scored["short.wav"]["probabilities"].values()),
                                                               abs=1e-6)

    assert predict.main([str(path), str(tmp_path / "talk.wav"), "--timeline", str(folder), "--timeline_window", "3",
                         "--timeline_hop", "1", "--quiet"]) == 0
    rows, document = read_timeline(folder, "talk.wav")
    starts = 3199 * np.arange(len(logits))
    assert [float(r["start"]) for r in rows] == [0.0, 1.0, 2.0, 3.0, 4.0] and document["window_seconds"] == 3.0
    for row in rows:
        begin = round(float(row["start"]) * 16000)
        inside = (starts >= begin) & (starts + 28800 <= begin + 48000)
        assert int(row["segments"]) == inside.sum() and inside.sum() >= 1
        np.testing.assert_allclose([float(row[c]) for c in CLASSES], logits[inside].mean(0).softmax(0).numpy(),
                                   atol=2e-6)
    with pytest.raises(SystemExit, match="--timeline_window 1.0: a window must hold one segment at least"
                                         r" \(1.8 s for this checkpoint\)"):
        predict.main([str(path), str(tmp_path / "talk.wav"), "--timeline", str(folder), "--timeline_window", "1"])
