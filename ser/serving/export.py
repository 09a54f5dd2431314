"""ONNX export of a checkpoint's segment classifier, with what it takes to feed it beside it.

The ONNX graph maps a batch of feature maps ``features`` (B, 1, F, T) float32 to ``logits``
(B, classes); the batch size is dynamic. Turning audio into those maps (segmentation,
features) and averaging segment logits per recording stay outside the graph, so the JSON
file written next to the model (``<name>.json``, :func:`sidecar`) spells out every step and
parameter needed to compute them without this package (:func:`input_recipe`): the audio's
rate and channels, how a recording is cut into segments at the test overlap and what happens
to its tail, each feature kind's STFT or framing, filterbank, dB and DCT parameters, seed
004's pre-emphasis, deltas, padding and channel stacking (each kind's ``describe`` in its
registry entry, ``ser.features.registry``), the min-max scaling, the utterance scoring, class
names and input shape.
A checkpoint on ``--features ssl`` is exported with its upstream, from samples to logits
(``ser.serving.export_ssl``).
Needs the optional packages ``onnx`` and ``onnxscript`` (``onnxruntime`` to run the result).
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import torch

from ser.errors import UserError
from ser.features.kinds import feature_kind, settings_from_dict
from ser.features.ssl_kind import SslSettings
from ser.io import write_text, write_via_temporary
from ser.records import checkpoint as ckpt
from ser.serving import export_ssl
from ser.serving.inference import check_output_path


class ExportError(UserError):
    """The export cannot run as asked (a missing optional package, an unusable output name)."""


def input_recipe(checkpoint: dict) -> dict:
    """Every step and parameter that turns a recording into the exported model's inputs."""
    settings = settings_from_dict(checkpoint["features"])
    sr = settings.sample_rate
    audio = {"sample_rate": sr, "channels": "mono: the mean of the channels",
             "resampling": "to sample_rate (this package uses soxr's high-quality resampler)",
             "samples": "float32 in [-1, 1]"}
    kind = feature_kind(settings.kind)  # each kind describes its own steps (ser.features.registry)
    return {"family": kind.family, "kind": settings.kind, "audio": audio,
            "segmentation": {"segment_length_s": getattr(settings, "segment_length", None),
                             "test_overlap_s": checkpoint["test_overlap"],
                             **settings.describe_segmentation(checkpoint["test_overlap"])},
            "features": kind.describe(settings),
            "model_input": "each segment's map as float32 (1, F, T), min-max scaled first when min_max_scaling is set"}


def sidecar(checkpoint: dict) -> dict:
    """What a consumer of the ONNX model needs to know about its inputs and outputs."""
    return {
        "model": checkpoint["model"],
        "input": {"name": "features", "shape": ["batch", 1, *checkpoint["input_shape"]], "dtype": "float32"},
        "output": {"name": "logits", "shape": ["batch", checkpoint["num_classes"]]},
        "class_names": checkpoint["class_names"],
        "features": checkpoint["features"],
        "test_overlap": checkpoint["test_overlap"],
        "preprocessing": input_recipe(checkpoint),
        "min_max_scaling": None if checkpoint.get("scaler") is None else {
            "rule": "features[..., f, :] = (features[..., f, :] - minimum[f]) * scale[f], before the model",
            **{k: checkpoint["scaler"][k].tolist() for k in ("minimum", "scale")}},
        "scoring": ("average the log-softmax of a recording's segments, then take the argmax"
                    if checkpoint.get("pooling") == "log_softmax"
                    else "average the logits of a recording's segments, then take the argmax"),
        "versions": checkpoint["versions"],
    }


def export_onnx(checkpoint_path: str | os.PathLike, out_path: str | os.PathLike,
                verbose: bool = True) -> tuple[Path, Path]:
    """Write ``out_path`` (ONNX) and ``out_path`` with a ``.json`` suffix; returns both paths.
    The checkpoint and the output folder are checked before the export starts.
    ``verbose``: the exporter's progress lines."""
    checkpoint = ckpt.load(checkpoint_path)
    described = sidecar(checkpoint)  # a kind export cannot describe (an upstream) is refused before any work
    out_path = check_output_path(out_path)
    json_path = out_path.with_suffix(".json")
    if json_path == out_path:
        raise ExportError(f"-o {out_path}: the settings are written to NAME.json beside the model, so the model "
                          "cannot be NAME.json itself; use a name ending in .onnx")
    try:
        import onnx  # noqa: F401  (checked here to fail with an actionable message)
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ExportError(f"ONNX export needs the optional packages onnx and onnxscript "
                          f"(pip install onnx onnxscript): {error}") from None
    settings = settings_from_dict(checkpoint["features"])
    if isinstance(settings, SslSettings):  # the upstream and the head as one graph from samples to logits
        model, example, dynamic = export_ssl.graph(checkpoint, settings)
        described["input"] = export_ssl.sidecar_input(settings)
    else:
        model = ckpt.build_model(checkpoint)
        example, dynamic = torch.zeros(2, 1, *checkpoint["input_shape"]), ({0: torch.export.Dim("batch", min=1)},)
    # The exporter warns about optional torchvision operators it cannot find (unused here) and
    # about its own use of a deprecated pytree class: nothing a user can act on.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        program = torch.onnx.export(model, (example,), dynamo=True, verbose=verbose,
                                    input_names=[described["input"]["name"]], output_names=["logits"],
                                    external_data=False, dynamic_shapes=dynamic)
    write_via_temporary(out_path, lambda tmp: program.save(str(tmp)))
    write_text(json_path, json.dumps(described, indent=2) + "\n")
    return out_path, json_path
