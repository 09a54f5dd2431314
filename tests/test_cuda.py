"""The CUDA paths: training and scoring on a GPU compute what they compute on the CPU.

Every test here carries the ``cuda`` marker and is skipped where ``torch.cuda.is_available()``
is false; on a GPU machine run them with ``pytest -m cuda``.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from test_engine import TinyNet, toy_data, train_fit

import train
from ser.records import checkpoint as ckpt
from ser.serving.inference import Predictor
from ser.synthetic.synth_upstream import save_random_upstream
from ser.training.engine import seed_everything
from ser.training.metrics import predict_utterances

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]

CPU = torch.device("cpu")
CUDA = torch.device("cuda:0")
# fp32 on both devices: kernels differ (cuDNN against the CPU's), so sums differ in their last bits
LOSS_RTOL = 1e-4
WEIGHT_RTOL, WEIGHT_ATOL = 1e-4, 1e-5
LOGIT_RTOL, LOGIT_ATOL = 1e-4, 1e-5


@pytest.fixture
def full_fp32():
    """Without TF32 (on by default for cuDNN convolutions), so CUDA and CPU agree to fp32 precision."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def short_fit(device: torch.device, amp: bool = False):
    """Three epochs of the tiny net with mixup on ``device``, from the same seed and initial weights.

    No dropout: on a GPU its masks come from the CUDA generator, not the CPU's. SGD rather than
    Adam: Adam's normalised step would turn rounding noise in the gradients that are zero in
    exact arithmetic (a convolution's bias in front of batch norm) into whole steps.
    """
    train_set, test = toy_data()
    rng = seed_everything(11)
    model = TinyNet(dropout=0.0).to(device)  # created on the CPU, as train.py does, then moved
    result = train_fit(model, train_set, test, device, epochs=3, batch_size=16, lr=1e-2, lr_min=1e-6,
                       optimizer="sgd", lr_schedule="exp", alpha=0.5, rng=rng, amp=amp)
    return model, result


def test_a_short_fit_on_cuda_equals_the_cpu_fit(full_fp32):
    cpu_model, on_cpu = short_fit(CPU)
    cuda_model, on_cuda = short_fit(CUDA)
    assert [r.loss for r in on_cuda.history] == pytest.approx([r.loss for r in on_cpu.history], rel=LOSS_RTOL)
    for key, value in cpu_model.state_dict().items():
        torch.testing.assert_close(cuda_model.state_dict()[key].cpu(), value, rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)


def test_amp_on_cuda_runs_forward_passes_in_bf16(full_fp32):
    _, fp32 = short_fit(CUDA)
    dtypes = []
    train_set, test = toy_data()
    rng = seed_everything(11)
    model = TinyNet(dropout=0.0).to(CUDA)
    model.conv.register_forward_hook(lambda module, inputs, output: dtypes.append(output.dtype))
    amp = train_fit(model, train_set, test, CUDA, epochs=3, batch_size=16, lr=1e-2, lr_min=1e-6, optimizer="sgd",
                    lr_schedule="exp", alpha=0.5, rng=rng, amp=True)
    assert set(dtypes) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights and optimizer stay fp32
    # bf16 keeps 8 bits of mantissa: the loss follows the fp32 run's to within a few per cent
    assert [r.loss for r in amp.history] == pytest.approx([r.loss for r in fp32.history], rel=0.05)


def test_predict_utterances_on_cuda_equals_cpu(full_fp32):
    _, test = toy_data()
    torch.manual_seed(0)
    model = TinyNet().eval()
    on_cpu = predict_utterances(model, test, CPU, batch_size=4)
    on_cuda = predict_utterances(model.to(CUDA), test, CUDA, batch_size=4)
    assert on_cuda.device.type == "cuda"
    torch.testing.assert_close(on_cuda.cpu(), on_cpu, rtol=LOGIT_RTOL, atol=LOGIT_ATOL)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One feature cache for the train.py runs here: features are computed once, on the CPU."""
    return tmp_path_factory.mktemp("cuda_cache")


def one_epoch(corpus, run_dir, cache, *flags) -> list[str]:
    return ["-m", "MHCNN", "-e", "1", "--data", str(corpus), "--quiet", "-d", str(run_dir), "--cache_dir", str(cache),
            "--train_overlap", "0", "--test_overlap", "0", "--seed", "7", *flags]


@pytest.fixture(scope="module")
def cpu_run(tiny_corpus, tmp_path_factory, cache):
    return train.main(one_epoch(tiny_corpus, tmp_path_factory.mktemp("cpu") / "1", cache, "-g", "-1"))


@pytest.mark.parametrize("flags", [[], ["--amp"]], ids=["fp32", "amp"])
def test_train_py_on_gpu_0_trains_one_epoch(tiny_corpus, tmp_path, cache, cpu_run, flags):
    run_dir = tmp_path / "1"
    summary = train.main(one_epoch(tiny_corpus, run_dir, cache, "-g", "0", "--SaveModel", *flags))
    assert summary["device"] == "cuda:0" and json.loads((run_dir / "results.json").read_text())["device"] == "cuda:0"
    assert len(summary["epochs"]) == 1 and math.isfinite(summary["epochs"][0]["loss"])
    # the split and its scoring set are drawn on the CPU: the same utterances as the CPU run's
    assert summary["test_utterances"]["turns"] == cpu_run["test_utterances"]["turns"]
    assert summary["split"] == cpu_run["split"]
    # a checkpoint trained on the GPU loads and scores on the CPU
    model = ckpt.build_model(ckpt.load(run_dir / summary["checkpoint"]))
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_an_ssl_checkpoint_runs_its_upstream_on_the_predictors_gpu(micro_corpus, tmp_path, full_fp32):
    folder = save_random_upstream(tmp_path / "wavlm-tiny", "wavlm")
    run_dir = tmp_path / "run"
    train.main(["--data", str(micro_corpus), "-d", str(run_dir), "--cache_dir", str(tmp_path / "cache"), "-e", "1",
                "-b", "8", "-g", "-1", "--quiet", "-f", "ssl", "--upstream", str(folder), "-m", "ssl_mlp",
                "--SaveModel"])
    [checkpoint] = run_dir.rglob("model_*.pth")
    wav = sorted(Path(micro_corpus).rglob("*.wav"))[0]
    on_cpu = Predictor(checkpoint).predict_file(wav)
    predictor = Predictor(checkpoint, device=CUDA)
    assert predictor.inputs.upstream.device.type == "cuda"  # not computed on the CPU and moved
    on_gpu = predictor.predict_file(wav)
    np.testing.assert_allclose(on_gpu.scores.logits, on_cpu.scores.logits, rtol=1e-3, atol=1e-4)

