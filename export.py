"""Export a trained checkpoint's segment classifier to ONNX.

    python export.py CHECKPOINT [-o model.onnx]

Writes the ONNX model (input ``features`` (B, 1, F, T) → ``logits``) and a JSON file beside
it (the same name with ``.json``) with every parameter needed to compute its inputs from
audio without this package, and the class names. The checkpoint and the output folder are
checked before exporting. Needs the optional packages onnx and onnxscript; onnxruntime runs
the result.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ser.errors import UserError
from ser.serving.export import export_onnx


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Export a checkpoint's segment classifier to ONNX.")
    parser.add_argument("checkpoint", help="file written by train.py --SaveModel")
    parser.add_argument("-o", "--output", default=None, help="ONNX file (default: CHECKPOINT with .onnx)")
    parser.add_argument("--quiet", action="store_true", help="no exporter progress lines")
    args = parser.parse_args(argv)
    output = args.output or str(Path(args.checkpoint).with_suffix(".onnx"))
    try:
        onnx_path, json_path = export_onnx(args.checkpoint, output, verbose=not args.quiet)
    except UserError as error:
        sys.exit(f"error: {error}")
    print(f"wrote {onnx_path} and {json_path}")


if __name__ == "__main__":
    main()
