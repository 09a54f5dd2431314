"""Checkpoints, predict.py on new audio and the ONNX export."""
import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import soundfile as sf
import torch

import export
import predict
import train
from ser import checkpoint as ckpt
from ser import corpora, engine, features
from ser.dataset import TestUtterances
from ser.features import FeatureSettings
from ser.inference import Predictor
from ser.metrics import predict_utterances

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
    by_turn = {u.turn: u for u in corpora.scan_iemocap(tiny_corpus).utterances}
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
    by_turn = {u.turn: u for u in corpora.scan_iemocap(tiny_corpus).utterances}
    predictor = Predictor(path)
    labels = [predictor.predict_file(tiny_corpus / by_turn[t].path).label for t in summary["test_utterances"]["turns"]]
    assert labels == [summary["class_names"][p] for p in summary["test_utterances"]["predictions"]]
    export.main([str(path), "-o", str(tmp_path / "gap.onnx")])
    sidecar = json.loads((tmp_path / "gap.json").read_text())
    assert sidecar["min_max_scaling"]["minimum"] == pytest.approx(saved["scaler"]["minimum"].tolist())
    assert "log-softmax" in sidecar["scoring"]


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
    maps = torch.from_numpy(features.extract(wav, 16000, "mfcc", 1.8, 1.6)).unsqueeze(1)
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
    with pytest.raises(SystemExit, match="not a readable checkpoint"):
        predict.main([str(tmp_path / "x.pth"), str(tmp_path)])


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
    assert "model_GLAM_mfcc_impro.pth, model_MHCNN_mfcc_impro.pth" in message and "resume_" not in message


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
