"""Seed 004's AlexNet models (models/alexnet.py): parameter counts, torchvision's key layout,
the spectrogram-to-image conversion, forward passes, ImageNet weights from a local file, and
``train.py -m alexnet_gap --val_id ... --test_id ...`` on an emoDB-layout corpus."""
from __future__ import annotations

import json

import pytest
import torch

import extract_features
import report as report_entry
import train
from models import create_model, model_options
from models.alexnet import IMAGENET_MEAN, IMAGENET_STD, MIN_IMAGE_SIZE, PretrainedWeightsError, image_size_for
from ser.corpora import emodb, iemocap
from ser.corpora.labels import LABEL_SETS
from ser.runs.config import resolve_args
from ser.synthetic import synth_emodb

# torchvision's AlexNet state dict (ImageNet head: 1000 classes).
TORCHVISION_KEYS = {
    "features.0.weight": (64, 3, 11, 11), "features.0.bias": (64,),
    "features.3.weight": (192, 64, 5, 5), "features.3.bias": (192,),
    "features.6.weight": (384, 192, 3, 3), "features.6.bias": (384,),
    "features.8.weight": (256, 384, 3, 3), "features.8.bias": (256,),
    "features.10.weight": (256, 256, 3, 3), "features.10.bias": (256,),
    "classifier.1.weight": (4096, 9216), "classifier.1.bias": (4096,),
    "classifier.4.weight": (4096, 4096), "classifier.4.bias": (4096,),
    "classifier.6.weight": (1000, 4096), "classifier.6.bias": (1000,),
}


@pytest.fixture(scope="module")
def finetune():
    """The 57M-parameter model, built once for this module (small images keep passes cheap;
    the parameters do not depend on the image size)."""
    torch.manual_seed(0)
    return create_model("alexnet", shape=(200, 300), image_size=64)


@pytest.fixture(scope="module")
def imagenet_state(finetune):
    """A state dict in torchvision's layout, as torchvision's ImageNet file holds one."""
    state = {key: value.clone() + 0.01 for key, value in finetune.state_dict().items()
             if not key.startswith("classifier.6")}  # + 0.01: distinguishable from a fresh initialisation
    generator = torch.Generator().manual_seed(1)
    state["classifier.6.weight"] = torch.randn(1000, 4096, generator=generator)
    state["classifier.6.bias"] = torch.randn(1000, generator=generator)
    return state


@pytest.fixture(scope="module")
def features_file(imagenet_state, tmp_path_factory):
    """The conv stack of ``imagenet_state`` saved to disk: all the GAP model loads."""
    path = tmp_path_factory.mktemp("weights") / "alexnet_features.pth"
    torch.save({k: v for k, v in imagenet_state.items() if k.startswith("features")}, path)
    return path


def test_parameter_counts(finetune):
    assert sum(p.numel() for p in finetune.parameters()) == 57_020_228
    assert sum(p.numel() for p in create_model("alexnet_gap", shape=(200, 300)).parameters()) == 2_470_724
    assert sum(p.numel() for p in create_model("alexnet_gap", shape=(128, 300), num_classes=7).parameters()) \
        == 2_469_696 + 256 * 7 + 7


def test_torchvision_key_layout(finetune):
    ours = {key: tuple(value.shape) for key, value in finetune.state_dict().items()}
    assert ours == {**TORCHVISION_KEYS, "classifier.6.weight": (4, 4096), "classifier.6.bias": (4,)}
    gap = {key: tuple(v.shape) for key, v in create_model("alexnet_gap", shape=(200, 300)).state_dict().items()}
    assert gap == {**{k: s for k, s in TORCHVISION_KEYS.items() if k.startswith("features")},
                   "classifier_conv.weight": (4, 256, 1, 1), "classifier_conv.bias": (4,)}


def test_new_layers_are_xavier_with_zero_bias(finetune):
    for name in ("features.0", "classifier.1", "classifier.6"):
        layer = finetune.get_submodule(name)
        fan_out, fan_in = layer.weight.shape[0], layer.weight[0].numel()
        receptive = layer.weight[0, 0].numel()
        bound = (6 / (fan_in + fan_out * receptive)) ** 0.5
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.9 * bound
        assert (layer.bias == 0).all()


@pytest.mark.parametrize("shape, image", [((200, 300), (256, 384)), ((128, 300), (256, 600)),
                                          ((26, 57), (256, 561)), ((400, 100), (1024, 256))])
def test_image_size_is_torchvisions_resize(shape, image):
    assert image_size_for(*shape, 256) == image
    assert create_model("alexnet_gap", shape=shape).image_shape == image


def unnormalise(image: torch.Tensor) -> torch.Tensor:
    return image * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)


def test_grey_image_is_flipped_clipped_and_repeated():
    model = create_model("alexnet_gap", shape=(8, 10), image_size=8, quantize=False)
    rows = torch.linspace(0, 1, 8).view(1, 1, 8, 1).expand(1, 1, 8, 10).clone()
    rows[0, 0, 0, 0] = -3.0  # out of range: clipped
    image = unnormalise(model.to_image(rows))
    assert image.shape == (1, 3, 8, 10)
    torch.testing.assert_close(image[0, 0], image[0, 1])
    torch.testing.assert_close(image[0, 0], image[0, 2])
    torch.testing.assert_close(image[0, 0, :, 5], torch.linspace(1, 0, 8))  # highest frequency on top
    assert image[0, 0, -1, 0] == pytest.approx(0.0, abs=1e-6)


def test_quantisation_truncates_like_the_seeds_uint8_cast():
    model = create_model("alexnet_gap", shape=(8, 10), image_size=8)
    image = unnormalise(model.to_image(torch.full((1, 1, 8, 10), 128.9 / 255)))
    torch.testing.assert_close(image, torch.full_like(image, 128 / 255))


def test_three_channel_features_become_rgb():
    model = create_model("alexnet_gap", shape=(24, 10), in_channels=3, image_size=8, quantize=False)
    channels = torch.stack([torch.full((8, 10), v) for v in (0.1, 0.5, 0.9)])  # (3, F, T)
    packed = channels.reshape(1, 1, 24, 10)
    image = unnormalise(model.to_image(packed))
    for c, value in enumerate((0.1, 0.5, 0.9)):
        torch.testing.assert_close(image[0, c], torch.full((8, 10), value))
    torch.testing.assert_close(model.to_image(channels[None]), model.to_image(packed))
    with pytest.raises(ValueError, match="in_channels"):
        create_model("alexnet_gap", shape=(24, 10), in_channels=2)


@pytest.mark.parametrize("native_gap", [False, True])
def test_gap_forward_is_a_1x1_conv_then_global_average(native_gap):
    torch.manual_seed(0)
    model = create_model("alexnet_gap", shape=(200, 300), image_size=64, native_gap=native_gap).eval()
    x = torch.rand(2, 1, 200, 300)
    with torch.no_grad():
        z = model.forward_features(x)
        logits = model(x)
        assert z.shape == ((2, 256, 1, 2) if native_gap else (2, 256, 6, 6))
        by_pooling = torch.nn.AvgPool2d(z.shape[-2:])(model.classifier_conv(z)).flatten(1)
    assert logits.shape == (2, 4) and torch.isfinite(logits).all()
    torch.testing.assert_close(logits, by_pooling)


def test_finetune_forward_and_backward(finetune):
    finetune.train()
    x = torch.rand(2, 1, 200, 300)
    logits = finetune(x)
    assert logits.shape == (2, 4)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 3])).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in finetune.parameters())
    finetune.zero_grad(set_to_none=True)


def test_imagenet_weights_load_from_a_local_file(imagenet_state, features_file, tmp_path, monkeypatch):
    gap = create_model("alexnet_gap", shape=(200, 300), pretrained=str(features_file))
    for key in ("features.0.weight", "features.10.bias"):
        torch.testing.assert_close(gap.state_dict()[key], imagenet_state[key])
    assert (gap.classifier_conv.bias == 0).all()
    # The full file is 244 MB; the finetuning model's copy is checked on the same dict in memory.
    monkeypatch.setattr("models.alexnet.load_imagenet_state", lambda path: imagenet_state)
    model = create_model("alexnet", shape=(200, 300), pretrained="in-memory", num_classes=7)
    ours = model.state_dict()
    for key in TORCHVISION_KEYS:
        if not key.startswith("classifier.6"):
            torch.testing.assert_close(ours[key], imagenet_state[key])
    assert ours["classifier.6.weight"].shape == (7, 4096) and (ours["classifier.6.bias"] == 0).all()


def test_bad_weight_files_are_one_clear_error(features_file, tmp_path):
    with pytest.raises(PretrainedWeightsError, match="never downloads"):
        create_model("alexnet_gap", shape=(200, 300), pretrained=str(tmp_path / "absent.pth"))
    with pytest.raises(PretrainedWeightsError, match="missing classifier.1.weight"):
        create_model("alexnet", shape=(200, 300), pretrained=str(features_file))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(PretrainedWeightsError, match="cannot read"):
        create_model("alexnet_gap", shape=(200, 300), pretrained=str(garbage))
    assert model_options("alexnet") == ["in_channels", "pretrained", "image_size", "quantize"]


@pytest.fixture(scope="module")
def emodb_corpus(tmp_path_factory):
    return synth_emodb.generate(tmp_path_factory.getbasetemp() / "emodb_tiny", scale=0.1, seed=0, progress=False)


def run_train(tmp_path, *flags) -> dict:
    return train.main(["-m", "alexnet_gap", "-e", "1", "--image_size", "64",
                       "--cache_dir", str(tmp_path.parent / "cache"), "-d", str(tmp_path / "run"), "--quiet",
                       "-g", "-1", *flags])


def test_train_py_any_speaker_pair_and_three_channel_features(emodb_corpus, tmp_path):
    """The done-when command's path (tests/test_crossval.py runs its session pairs on both
    layouts); here a pair that is no loso-speaker fold, with a 3-channel feature."""
    summary = run_train(tmp_path, "-f", "logmeldeltaspec", "--val_id", "2F", "--test_id", "1M", "--corpus", "emodb",
                        "--data", str(emodb_corpus))
    assert summary["protocol_name"] == "pair-val2F-test1M" and summary["fold"] is None
    assert summary["labels"] == "emodb" and len(summary["confusion_matrix"]["counts"]) == 7
    assert summary["feature_shape"] == [3 * 128, 300] and summary["model"]["options"]["in_channels"] == 3
    assert all(turn.startswith("03") for turn in summary["test_utterances"]["turns"])  # speaker 03 is 1M
    assert all(turn.startswith("09") for turn in summary["validation_turns"])  # 09 is 2F
    # -d names a folder for many runs: this run's own files are in run/<stem>/<seed>
    (results_json,) = (tmp_path / "run").rglob("results.json")
    saved = json.loads(results_json.read_text())
    assert saved["best"] == summary["best"] and saved["args"]["minmax"] is True
    assert (tmp_path / "alexnet_gap_logmeldeltaspec_all_emodb_pair-val2F-test1M.metric").is_file()
    report_entry.main([str(tmp_path), "-o", str(tmp_path / "tables")])  # report.py lists the pair's run
    assert ("| pair-val2F-test1M | emodb | Full | alexnet_gap | logmeldeltaspec |"
            in (tmp_path / "tables" / "report.md").read_text())


@pytest.mark.parametrize("layout", ["iemocap", "emodb"])
def test_the_done_when_command_on_both_corpus_layouts(layout, tiny_corpus, emodb_corpus, tmp_path):
    """``python train.py -m alexnet_gap -f logspec --val_id 1F --test_id 1M`` (1 epoch, small images)."""
    corpus = ["--data", str(tiny_corpus)] if layout == "iemocap" else ["--corpus", "emodb", "--data", str(emodb_corpus)]
    summary = run_train(tmp_path, "-f", "logspec", "--val_id", "1F", "--test_id", "1M", *corpus)
    assert (summary["protocol_name"], summary["fold"], summary["selected_on"]) == ("loso-speaker", 1, "validation")
    assert summary["feature_shape"] == [200, 300] and summary["args"]["minmax"] is True
    scan = iemocap.scan_iemocap(tiny_corpus) if layout == "iemocap" else emodb.scan_emodb(emodb_corpus)
    speaker_of = {u.turn: u.speaker for u in scan.utterances}
    assert {speaker_of[turn] for turn in summary["test_utterances"]["turns"]} == {"1M"}
    assert {speaker_of[turn] for turn in summary["validation_turns"]} == {"1F"}
    # seed 004's recipe brings its label set: seed004 on IEMOCAP
    stem = "alexnet_gap_logspec_impro_seed004" if layout == "iemocap" else "alexnet_gap_logspec_all_emodb"
    assert (tmp_path / f"{stem}_loso-speaker_fold1.metric").is_file()


def test_train_py_rejects_what_it_cannot_use(tmp_path):
    with pytest.raises(SystemExit, match="error: pretrained weights .* not found"):
        run_train(tmp_path, "--pretrained", str(tmp_path / "none.pth"))
    with pytest.raises(SystemExit, match=r"--labels emodb does not fit --corpus iemocap; its label sets are glam, .*"
                                         r"\(emodb is a set of emodb\)"):
        run_train(tmp_path, "--labels", "emodb")
    with pytest.raises(SystemExit, match="GLAM has none"):
        train.main(["-m", "GLAM", "--pretrained", str(tmp_path / "none.pth")])
    with pytest.raises(SystemExit, match="--val_id and --test_id go together"):
        train.main(["-m", "alexnet_gap", "--val_id", "1F"])
    with pytest.raises(SystemExit, match="speakers are 1F, 1M"):
        train.main(["-m", "alexnet_gap", "--val_id", "1F", "--test_id", "6M"])
    with pytest.raises(SystemExit, match="at least 63 pixels"):
        train.main(["-m", "alexnet", "--image_size", "62"])
    for size in (MIN_IMAGE_SIZE - 1, MIN_IMAGE_SIZE):  # the limit is AlexNet's own
        model = create_model("alexnet_gap", shape=(12, 40), image_size=size).eval()
        if size < MIN_IMAGE_SIZE:
            with pytest.raises(RuntimeError):
                model(torch.rand(1, 1, 12, 40))
        else:
            assert model(torch.rand(1, 1, 12, 40)).shape == (1, 4)


def test_seed_004s_flag_spellings():
    args = resolve_args(["--ser_model", "alexnet_gap", "-f", "logspec", "--num_epochs", "3", "--lr", "1e-4",
                               "--oversampling", "--save_label", "fcn_mixup", "-d", "runs"])
    assert (args.model, args.epochs, args.learning_rate, args.oversample) == ("alexnet_gap", 3, 1e-4, "seed004")
    assert (args.datadir, args.SaveModel) == ("runs/fcn_mixup", True)  # the best model is kept in the label's folder


def test_train_py_trains_on_an_extract_features_file(emodb_corpus, tmp_path):
    """Seed 004's ``train_ser.py FEATURES_FILE ...`` on the per-speaker file of extract_features.py."""
    extract_features.main(["EMODB", str(emodb_corpus), "--save_dir", str(tmp_path), "--quiet",
                           "--cache_dir", str(tmp_path.parent / "cache")])
    features = str(tmp_path / "EMODB_logspec200.pkl")
    summary = train.main([features, "--ser_model", "alexnet_gap", "-f", "logspec", "--corpus", "emodb",
                          "--val_id", "1F", "--test_id", "1M", "--num_epochs", "1", "--oversampling",
                          "--save_label", "fcn", "--image_size", "64", "-d", str(tmp_path / "runs"), "--quiet",
                          "-g", "-1"])
    first_speaker = [u for u in emodb.scan_emodb(emodb_corpus).utterances if u.speaker == "1M"]
    assert summary["test_utterances"]["labels"] == [LABEL_SETS["emodb"][u.label] for u in first_speaker]
    assert summary["test_utterances"]["turns"] == [f"1M_{k}" for k in range(len(first_speaker))]
    assert (summary["protocol_name"], summary["fold"], summary["corpus"]["root"]) == ("loso-speaker", 1, features)
    assert summary["args"]["oversample"] == "seed004" and len(summary["class_names"]) == 7
    assert list((tmp_path / "runs" / "fcn").rglob("fold1/*.pth"))  # --save_label keeps the best model
    refused = ["-d", str(tmp_path / "refused")]
    with pytest.raises(SystemExit, match="pass --labels seed004"):
        train.main([features, "-m", "alexnet_gap", "-f", "logspec", "--labels", "glam", *refused])
    with pytest.raises(SystemExit, match="no class of --labels seed004"):  # the recipe's labels, not emoDB's
        train.main([features, "-m", "alexnet_gap", "-f", "logspec", *refused])
    with pytest.raises(SystemExit, match="name their kind with -f"):
        train.main([features, "-m", "alexnet_gap", "-f", "mfcc", "--corpus", "emodb", *refused])
    with pytest.raises(SystemExit, match="segments of shape .* expected \\(N, 3, F, T\\)"):
        train.main([features, "-m", "alexnet_gap", "-f", "lognrevspec", "--corpus", "emodb", "-d",
                    str(tmp_path / "wrong"), "--quiet", "-g", "-1"])
