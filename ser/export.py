"""ONNX export of a checkpoint's segment classifier, with its feature settings beside it.

The ONNX graph maps a batch of feature maps ``features`` (B, 1, F, T) float32 to ``logits``
(B, classes); the batch size is dynamic. Turning audio into those maps (segmentation,
features) and averaging segment logits per recording stay outside the graph, so the JSON
file written next to the model (``<name>.json``) records everything needed to reproduce
them: feature kind and parameters, segment length, test overlap, the min-max scaling of
seed-004 runs, the utterance scoring, class names, input shape.
Needs the optional packages ``onnx`` and ``onnxscript`` (``onnxruntime`` to run the result).
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import torch

from ser import checkpoint as ckpt
from ser.io import write_text, write_via_temporary


def sidecar(checkpoint: dict) -> dict:
    """What a consumer of the ONNX model needs to know about its inputs and outputs."""
    return {
        "model": checkpoint["model"],
        "input": {"name": "features", "shape": ["batch", 1, *checkpoint["input_shape"]], "dtype": "float32"},
        "output": {"name": "logits", "shape": ["batch", checkpoint["num_classes"]]},
        "class_names": checkpoint["class_names"],
        "features": checkpoint["features"],
        "test_overlap": checkpoint["test_overlap"],
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
    ``verbose``: the exporter's progress lines."""
    try:
        import onnx  # noqa: F401  (checked here to fail with an actionable message)
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise RuntimeError(f"ONNX export needs the optional packages onnx and onnxscript "
                           f"(pip install onnx onnxscript): {error}") from None
    checkpoint = ckpt.load(checkpoint_path)
    model = ckpt.build_model(checkpoint)
    out_path = Path(out_path)
    example = torch.zeros(2, 1, *checkpoint["input_shape"])
    # The exporter warns about optional torchvision operators it cannot find (unused here) and
    # about its own use of a deprecated pytree class: nothing a user can act on.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        program = torch.onnx.export(model, (example,), dynamo=True, verbose=verbose, input_names=["features"],
                                    output_names=["logits"], external_data=False,
                                    dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    write_via_temporary(out_path, lambda tmp: program.save(str(tmp)))
    json_path = out_path.with_suffix(".json")
    write_text(json_path, json.dumps(sidecar(checkpoint), indent=2) + "\n")
    return out_path, json_path
