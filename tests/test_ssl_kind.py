"""``--features ssl`` and ``--features egemaps`` through train.py, predict and export, on a tiny random
WavLM (ser.synthetic.synth_upstream) and the micro IEMOCAP corpus and a synthetic RAVDESS tree:
the downstreams train through the one engine (``--seeds 2`` too), the run names and results.json
name the upstream, the cache is reused without the upstream and resumes after an interruption,
another upstream's weights get another key, a missing or changed upstream is refused in one line,
export's graph (upstream and head) matches predict, and the report sets the kinds side by side."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import export
import predict
import train
from ser.errors import UserError
from ser.features import ssl_kind
from ser.features.cache import FeatureCache
from ser.features.upstream import UpstreamError, load_upstream
from ser.records import checkpoint as ckpt
from ser.records import results
from ser.reporting import plots, report
from ser.runs.config import resolve_args
from ser.serving import export_ssl
from ser.serving.inference import Predictor
from ser.synthetic.synth_upstream import save_random_upstream
from ser.training import engine, metrics
from ser.training.frames import FrameSequences

CHEAP = ["-e", "1", "-b", "8", "-g", "-1", "--quiet", "--seed", "7"]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    return save_random_upstream(tmp_path_factory.mktemp("upstream") / "wavlm-tiny", "wavlm")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ssl_cache")


def run(corpus, run_dir, cache, *flags):
    return train.main(["--data", str(corpus), "-d", str(run_dir), "--cache_dir", str(cache), *CHEAP, *flags])


def one_wav(corpus) -> Path:
    return sorted(Path(corpus).rglob("*.wav"))[0]


@pytest.fixture(scope="module")
def mlp_run(micro_corpus, upstream, cache, tmp_path_factory):
    """ssl_mlp on the micro IEMOCAP corpus with its checkpoint, on a copy of the upstream (which a test changes)."""
    folder = shutil.copytree(upstream, tmp_path_factory.mktemp("copy") / "wavlm-copy")
    run_dir = tmp_path_factory.mktemp("mlp_run") / "run"
    summary = run(micro_corpus, run_dir, cache, "-f", "ssl", "--upstream", str(folder), "-m", "ssl_mlp",
                  "--layer", "1", "--SaveModel")
    return folder, run_dir, summary


def test_ssl_linear_trains_two_seeds_and_names_the_upstream(micro_corpus, upstream, cache, tmp_path):
    run(micro_corpus, tmp_path / "run", cache, "-f", "ssl", "--upstream", str(upstream), "-m", "ssl_linear",
        "--seeds", "2")
    digest = ssl_kind.upstream_identity(upstream).weights_sha256
    assert [p.stem for p in tmp_path.rglob("*.metric")] == [f"ssl_linear_ssl-wavlm-tiny-all-{digest[:8]}_impro"]
    seeds = sorted(tmp_path.rglob("results.json"))
    assert len(seeds) == 2
    for path in seeds:
        summary = json.loads(path.read_text())
        settings = summary["feature_settings"]
        assert (settings["name"], settings["family"], settings["weights_sha256"]) == ("wavlm-tiny", "wavlm", digest)
        assert settings["output"] == "pooled" and settings["layer"] is None
        assert summary["feature_shape"] == [3, 32] and np.isfinite(summary["epochs"][0]["loss"])


def test_a_second_run_reads_the_cache_without_the_upstream(micro_corpus, upstream, cache, tmp_path, monkeypatch):
    run(micro_corpus, tmp_path / "first", cache, "-f", "ssl", "--upstream", str(upstream), "-m", "ssl_linear")

    def no_upstream(*args, **kwargs):
        raise AssertionError("the upstream was loaded although every feature is cached")
    monkeypatch.setattr(ssl_kind, "load_upstream", no_upstream)
    monkeypatch.setattr(ssl_kind, "_LOADED", {})
    summary = run(micro_corpus, tmp_path / "second", cache, "-f", "ssl", "--upstream", str(upstream),
                  "-m", "ssl_linear", "--seed", "8")
    assert summary["best"]["WA"] >= 0


def test_an_interrupted_extraction_resumes_where_it_stopped(micro_corpus, upstream, tmp_path, monkeypatch):
    wavs = sorted(Path(micro_corpus).rglob("*.wav"))[:ssl_kind.BATCH_UTTERANCES + 3]
    args = type("Flags", (), dict(upstream=str(upstream), layer=None, model="ssl_linear", sample_rate=16000))
    settings = ssl_kind.SslSettings.from_flags("ssl", args)
    original, calls = ssl_kind.SslExtractor.compute_many, []

    def interrupted(self, batch, overlap, names):
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, batch, overlap, names)
    monkeypatch.setattr(ssl_kind.SslExtractor, "compute_many", interrupted)
    cache = FeatureCache(tmp_path / "cache")
    with pytest.raises(KeyboardInterrupt):
        cache.load(wavs, settings.on_device("cpu"), progress=False)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == ssl_kind.BATCH_UTTERANCES
    calls.clear()
    monkeypatch.setattr(ssl_kind.SslExtractor, "compute_many", lambda self, *a: (calls.append(len(a[0])),
                                                                                    original(self, *a))[1])
    per_overlap, report = cache.load(wavs, settings.on_device("cpu"), progress=False)
    feats = per_overlap[None]
    assert sum(calls) == len(wavs) - ssl_kind.BATCH_UTTERANCES
    assert all(f is not None and f.shape == (1, 3, 32) for f in feats)


def test_other_weights_get_another_key_and_a_moved_folder_the_same(upstream, tmp_path):
    def settings(folder, model="ssl_linear", layer=None):
        flags = type("Flags", (), dict(upstream=str(folder), layer=layer, model=model, sample_rate=16000))
        return ssl_kind.SslSettings.from_flags("ssl", flags)
    moved = shutil.copytree(upstream, tmp_path / "moved")
    other = save_random_upstream(tmp_path / "other", "wavlm", seed=1)
    assert settings(moved).key() == settings(upstream).key()
    assert settings(other).key() != settings(upstream).key()
    assert len({settings(upstream, "ssl_mlp", layer).key() for layer in (None, 1, 2)}) == 2  # None is the last, 2
    assert settings(upstream, "ssl_mlp").key() != settings(upstream).key()


def test_export_writes_upstream_and_head_as_one_graph_that_matches_predict(mlp_run, micro_corpus, tmp_path):
    """ssl_mlp (frames) through ONNX and onnxruntime; the pooled path's module (the same code
    before torch.export) against predict in torch, which costs no second export."""
    onnxruntime = pytest.importorskip("onnxruntime")
    [checkpoint] = mlp_run[1].rglob("model_*.pth")
    onnx_path, json_path = export.export_onnx(checkpoint, tmp_path / "m.onnx", verbose=False)
    assert json.loads(json_path.read_text())["input"]["name"] == "wav"
    session = onnxruntime.InferenceSession(str(onnx_path))
    predictor = Predictor(checkpoint)
    for path in sorted(Path(micro_corpus).rglob("*.wav"))[:2]:
        wav, rate = sf.read(path, dtype="float32")
        expected = predictor.predict_wav(wav, rate).scores.logits[0]
        got = session.run(None, {"wav": wav[None]})[0][0]
        np.testing.assert_allclose(got, expected, atol=export_ssl.FRAMES_ATOL, rtol=0)


def test_the_tsne_features_of_an_ssl_mlp_run_read_its_padded_frames(mlp_run, cache):
    [run_dir] = {p.parent for p in mlp_run[1].rglob("results.json")}
    Z, labels, *_ = plots.hidden_states(run_dir, None, cache)  # what the t-SNE figure maps
    assert Z.shape == (len(mlp_run[2]["test_utterances"]["turns"]), 256) and np.isfinite(Z).all()


# ssl_mlp's frames are padded per batch to its longest utterance (ser.training.frames), no longer to
# the corpus's longest: the losses may differ by the rounding of sums over fewer zero frames.
LOSS_RTOL = 1e-6


def epochs_of(run_dir: Path) -> list[dict]:
    [path] = run_dir.rglob("results.json")
    summary = json.loads(path.read_text())
    return [{**e, "predictions": summary["test_utterances"]["predictions"]} for e in summary["epochs"]]


def assert_same_training(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a["loss"] == pytest.approx(b["loss"], rel=LOSS_RTOL, abs=0)
        assert (a["WA"], a["UA"], a["predictions"]) == (b["WA"], b["UA"], b["predictions"])


def test_ssl_mlp_trains_on_per_batch_padding_as_on_padding_to_the_longest(micro_corpus, upstream, cache, tmp_path,
                                                                          monkeypatch):
    flags = ("-f", "ssl", "--upstream", str(upstream), "-m", "ssl_mlp", "--layer", "1", "-e", "3")
    # each -d in a folder of its own: the .metric file beside it lists the seeds trained there
    run(micro_corpus, tmp_path / "ragged" / "run", cache, *flags)
    padded = []

    def dense(X, device):  # the engines' input as it was: every utterance padded to one length beyond the longest
        padded.append(isinstance(X, FrameSequences))
        return torch.from_numpy(X.padded(X.longest + 64) if isinstance(X, FrameSequences) else X).to(device)
    monkeypatch.setattr(engine, "rows_on_device", dense)
    monkeypatch.setattr(metrics, "rows_on_device", dense)
    run(micro_corpus, tmp_path / "dense" / "run", cache, *flags)
    assert padded and all(padded)
    assert_same_training(epochs_of(tmp_path / "ragged"), epochs_of(tmp_path / "dense"))


def test_ssl_mlp_trains_two_seeds_together_as_each_alone(micro_corpus, upstream, cache, tmp_path):
    flags = ("-f", "ssl", "--upstream", str(upstream), "-m", "ssl_mlp", "--layer", "1", "-e", "2")
    run(micro_corpus, tmp_path / "together" / "run", cache, *flags, "--seeds", "2")
    together = sorted(p.parent for p in (tmp_path / "together").rglob("results.json"))
    assert len(together) == 2
    for seed_dir in together:
        seed = json.loads((seed_dir / "results.json").read_text())["args"]["seed"]
        run(micro_corpus, tmp_path / "alone" / str(seed) / "run", cache, *flags, "--seed", str(seed))
        assert_same_training(epochs_of(seed_dir), epochs_of(tmp_path / "alone" / str(seed)))


def test_ssl_mlp_checkpoint_predicts_and_refuses_a_changed_or_missing_upstream(mlp_run, micro_corpus, tmp_path):
    """Runs after the export test: it changes, then removes, the upstream that mlp_run trained on."""
    folder, run_dir, summary = mlp_run
    assert summary["feature_settings"]["output"] == "frames" and summary["feature_settings"]["layer"] == 1
    [checkpoint] = run_dir.rglob("model_*.pth")
    prediction = Predictor(checkpoint).predict_file(one_wav(micro_corpus))
    assert prediction.label in summary["class_names"] and prediction.segments == 1
    assert predict.main([str(checkpoint), str(one_wav(micro_corpus))]) == 0
    save_random_upstream(folder, "wavlm", seed=3)  # other weights where the upstream was
    with pytest.raises(UpstreamError, match="has changed since these features were made"):
        Predictor(checkpoint)
    with pytest.raises(SystemExit, match=r"^error: the upstream in .* has changed"):
        predict.main([str(checkpoint), str(one_wav(micro_corpus))])
    shutil.rmtree(folder)
    with pytest.raises(SystemExit, match=r"^error: upstream folder .* does not exist$"):
        predict.main([str(checkpoint), str(one_wav(micro_corpus))])
    with pytest.raises(SystemExit, match=r"^error: upstream folder .* does not exist$"):
        export.main([str(checkpoint), "-o", str(tmp_path / "m.onnx"), "--quiet"])
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_pooled_graph_matches_predict(micro_corpus, upstream, cache, tmp_path):
    run(micro_corpus, tmp_path / "run", cache, "-f", "ssl", "--upstream", str(upstream), "-m", "ssl_linear",
        "--SaveModel")
    [checkpoint] = (tmp_path / "run").rglob("model_*.pth")
    saved = ckpt.load(checkpoint)
    module, example, _ = export_ssl.graph(saved, ckpt.feature_settings(saved))
    wav, rate = sf.read(one_wav(micro_corpus), dtype="float32")
    with torch.no_grad():
        got = module(torch.from_numpy(wav)[None])[0].numpy()
    np.testing.assert_allclose(got, Predictor(checkpoint).predict_wav(wav, rate).scores.logits[0],
                               atol=export_ssl.POOLED_ATOL, rtol=0)


def test_ssl_mlp_on_a_ravdess_tree_with_its_default_protocol(corpus_tree, upstream, cache, tmp_path):
    summary = run(corpus_tree("ravdess"), tmp_path / "run", cache, "-f", "ssl", "--upstream", str(upstream),
                  "-m", "ssl_mlp", "--corpus", "ravdess", "--fold", "1")
    assert summary["protocol_name"] == "speaker-kfold"
    assert summary["feature_settings"]["layer"] == 2 and np.isfinite(summary["epochs"][0]["loss"])
    assert any("_ravdess" in p.stem and "ssl-wavlm-tiny-L2-" in p.stem for p in tmp_path.rglob("*.metric"))


def test_egemaps_trains_an_mlp_min_max_scaled_and_predicts(micro_corpus, cache, tmp_path):
    summary = run(micro_corpus, tmp_path / "run", cache, "-f", "egemaps", "-m", "mlp", "--SaveModel")
    assert summary["feature_shape"] == [88, 1] and summary["args"]["minmax"] is True
    [checkpoint] = (tmp_path / "run").rglob("model_mlp_egemaps_impro.pth")
    assert Predictor(checkpoint).predict_file(one_wav(micro_corpus)).label in summary["class_names"]


@pytest.mark.parametrize("flags, message", [
    (["-m", "ssl_linear"], "-f ssl needs --upstream DIR"),
    (["-m", "ssl_linear", "--upstream", "UP", "--layer", "1"], "--layer picks ssl_mlp's hidden state"),
    (["-m", "ssl_mlp", "--upstream", "UP", "--layer", "5"], "--layer 5: the upstream wavlm-tiny has hidden states"),
    (["-m", "GLAM", "--upstream", "UP"], "-m GLAM reads maps inputs, which -f ssl does not give"),
    (["-m", "ssl_mlp", "--upstream", "nowhere"], "upstream folder nowhere does not exist"),
    (["-m", "ssl_mlp", "--upstream", "UP", "--minmax"], "reads an upstream's frames, padded per utterance"),
])
def test_what_the_ssl_kind_refuses(flags, message, micro_corpus, upstream):
    flags = [str(upstream) if flag == "UP" else flag for flag in flags]
    with pytest.raises(UserError, match=re.escape(message)):
        resolve_args(["--data", str(micro_corpus), "-f", "ssl", *flags])


def test_the_report_sets_the_feature_kinds_side_by_side_named_by_their_upstream():
    stems = {"GLAM_mfcc_impro_loso_fold1": 60.0, "ssl_linear_ssl-wavlm-base-plus-all-1a2b3c4d_impro_loso_fold1": 70.0,
             "mlp_egemaps_impro_loso_fold1": 50.0, "GLAM_mfcc_impro_emodb_speaker-kfold5_fold1": 40.0}
    runs = []
    for stem, wa in stems.items():
        parsed = results.parse_stem(stem)
        runs.append(report.Run(parsed["model"], parsed["features"], parsed["subset"], parsed["labels"],
                               parsed["protocol"], parsed["fold"], 1, None, dict.fromkeys(results.METRICS, wa),
                               corpus=parsed["corpus"], folds=parsed["folds"]))
    assert runs[1].model == "ssl_linear" and runs[1].features == "ssl-wavlm-base-plus-all-1a2b3c4d"
    side = [t for t in report.build_tables(runs) if t.name.startswith("features_")]
    assert [t.name for t in side] == ["features_iemocap_loso_glam"]  # EmoDB's runs use one kind only
    rows = {(row.keys["Model"], row.features): row.stats()["WA"][0] for row in side[0].rows}
    assert rows == {("GLAM", "mfcc"): 60.0, ("ssl_linear", "ssl-wavlm-base-plus-all-1a2b3c4d"): 70.0,
                    ("mlp", "egemaps"): 50.0}
    assert "loso" in side[0].caption and "weights' sha256" in side[0].caption


def test_an_utterance_shorter_than_one_frame_is_left_out_with_its_reason(upstream, tmp_path):
    rng = np.random.default_rng(0)
    paths = [tmp_path / f"{n}.wav" for n in (3000, 60, 2500)]
    for path in paths:
        sf.write(path, (0.1 * rng.standard_normal(int(path.stem))).astype(np.float32), 16000)
    flags = type("Flags", (), dict(upstream=str(upstream), layer=None, model="ssl_mlp", sample_rate=16000))
    settings = ssl_kind.SslSettings.from_flags("ssl", flags)
    per_overlap, report_ = FeatureCache(tmp_path / "cache").load(paths, settings.on_device("cpu"), progress=False)
    frames = per_overlap[None]
    assert frames[1] is None and [r[:2] for r in report_.skipped] == [(1, ssl_kind.R_NO_FRAME)]
    assert frames[0].dtype == np.float16 and frames[0].shape[1] == 32 and frames[2].shape[1] == 32


def test_loading_an_upstream_draws_no_random_number(upstream):
    """transformers initialises a model before loading its weights: done on the run's own
    generator, a run that extracts features would train from other initial weights than the
    same run reading them from the cache."""
    before = torch.get_rng_state()
    load_upstream(upstream)
    assert torch.equal(torch.get_rng_state(), before)
