"""ONNX export of a checkpoint on ``--features ssl``: the upstream and the downstream as one graph,
from a recording's samples to its logits.

The graph's input ``wav`` is ``(1, N)`` float32: one mono recording at 16 kHz, N from the
upstream's one frame (``Upstream.min_samples``) to its chunk limit (30 s unless the run set
another). Inside, in the order ``ser.features.upstream`` and ``ser.serving.inference`` compute
it: the preprocessor's per-utterance normalisation (when ``do_normalize``), the upstream
(transformers' module, exported by ``torch.export``; no attention mask: one unpadded recording),
then ``ssl_linear``'s input, every hidden state's mean over frames ``(L + 1, D)``, or
``ssl_mlp``'s, one layer's frames rounded to float16 as the cache keeps them with a mask
channel of ones ``(T, D + 1)``, the checkpoint's min-max scaling if it has one (pooled inputs
only), and the head. Its output ``logits`` ``(1, classes)`` are what ``predict.py`` averages
for the recording (one input per recording: the average is the logits themselves).

Tolerance: against ``Predictor.predict_wav`` the logits agree within :data:`POOLED_ATOL` for
pooled inputs (float32 sums in another order) and :data:`FRAMES_ATOL` for frames, where a value
lying on a float16 rounding boundary can round the other way
(``tests/test_ssl_kind.py`` checks both on a tiny random WavLM with onnxruntime). A recording
longer than the chunk limit is outside the graph: ``predict.py`` cuts it into chunks and pools
their hidden states before the head.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ser.features.ssl_kind import POOLED, SslSettings, loaded_upstream
from ser.features.upstream import NORM_EPS
from ser.records import checkpoint as ckpt

POOLED_ATOL = 1e-4
FRAMES_ATOL = 1e-3


class UpstreamAndHead(nn.Module):
    """Samples ``(1, N)`` to logits ``(1, C)`` (see the module doc)."""

    def __init__(self, upstream: nn.Module, head: nn.Module, settings: SslSettings, scaler: dict | None):
        super().__init__()
        self.upstream, self.head = upstream, head
        self.normalize, self.pooled, self.layer = settings.do_normalize, settings.output == POOLED, settings.layer
        self.scaled = scaler is not None
        if self.scaled:
            self.register_buffer("minimum", torch.as_tensor(scaler["minimum"]).float())
            self.register_buffer("scale", torch.as_tensor(scaler["scale"]).float())

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            wav = (wav - wav.mean(dim=1, keepdim=True)) / torch.sqrt(
                wav.var(dim=1, unbiased=False, keepdim=True) + NORM_EPS)
        states = self.upstream(wav, output_hidden_states=True).hidden_states
        if self.pooled:
            inputs = torch.stack([state.mean(dim=1) for state in states], dim=1)
        else:
            frames = states[self.layer].to(torch.float16).to(torch.float32)
            inputs = torch.cat([frames, torch.ones_like(frames[..., :1])], dim=-1)
        if self.scaled:
            inputs = (inputs - self.minimum[None, :, None]) * self.scale[None, :, None]
        return self.head(inputs[:, None])


def graph(checkpoint: dict, settings: SslSettings) -> tuple[nn.Module, torch.Tensor, tuple]:
    """The module to export, an example input and its dynamic shapes; the upstream is loaded
    (and refused in one line when it is missing or its weights changed since training)."""
    if checkpoint.get("scaler") is not None and settings.output != POOLED:
        from ser.features.ssl_kind import NotExportable
        raise NotExportable("a checkpoint on one layer's frames with --minmax is not exported: its scaling is fitted "
                            "per padded frame position, which a recording of another length does not have")
    upstream = loaded_upstream(settings)
    module = UpstreamAndHead(upstream.model, ckpt.build_model(checkpoint), settings, checkpoint.get("scaler")).eval()
    samples = torch.export.Dim("samples", min=upstream.min_samples, max=upstream.max_samples)
    return module, torch.zeros(1, max(upstream.min_samples, 16000)), ({1: samples},)


def sidecar_input(settings: SslSettings) -> dict:
    """The graph's input and what lies outside it, for export's JSON."""
    return {"name": "wav", "shape": [1, "samples"], "dtype": "float32",
            "rule": (f"one mono recording at {settings.sample_rate} Hz, float32 in [-1, 1], at most "
                     f"{settings.max_seconds:g} s (predict.py cuts a longer one into chunks and pools their hidden "
                     "states before the head, which this graph does not)"),
            "tolerance": {"pooled_atol": POOLED_ATOL, "frames_atol": FRAMES_ATOL}}
