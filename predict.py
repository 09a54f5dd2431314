"""Predict the emotion of recordings with a trained checkpoint.

    python predict.py CHECKPOINT AUDIO [AUDIO ...] [--json | --csv] [-o FILE]
                      [--timeline FOLDER [--timeline_window S] [--timeline_hop S]]

AUDIO are files or folders (searched recursively for .wav, .flac, .ogg, .mp3; the other files
of a folder are listed as skipped, and a file named directly is tried whatever its extension).
Any sample rate works (audio is resampled to the checkpoint's) and stereo is down-mixed. Each file is
scored like a test utterance in the paper: segment logits averaged, then the top class.
Files shorter than one segment are tiled until one segment fits and marked ``tiled``.
Recordings of any length are read block by block in bounded memory, with a progress bar for
those of a minute or more. ``--timeline FOLDER`` also writes each recording's emotion over
time (``ser.serving.timeline``: one row per window as CSV and JSON, and a figure). A file
that cannot be read gets one error line and the others are still scored; the exit status is
1 if any file failed or none was found. The device, the checkpoint and the output folders are
checked before any file is scored. Checkpoints come from ``train.py --SaveModel``.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys

from tqdm import tqdm

from ser.errors import UserError
from ser.io import write_text
from ser.serving import timeline
from ser.serving.inference import (
    AUDIO_EXTENSIONS,
    Predictor,
    audio_files,
    check_output_folder,
    check_output_path,
    inference_device,
)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Predict emotions of audio files with a trained checkpoint.")
    parser.add_argument("checkpoint", help="file written by train.py --SaveModel")
    parser.add_argument("audio", nargs="+", help="audio files or folders")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON list of predictions")
    output.add_argument("--csv", action="store_true", help="print CSV: file, label, one column per class, ...")
    parser.add_argument("-o", "--output", default=None, help="write the predictions here instead of stdout")
    parser.add_argument("-g", "--gpu", default=-1, type=int, help="CUDA device index (default: CPU)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (on stderr, for several files and for "
                        "recordings of a minute or more)")
    parser.add_argument("--timeline", default=None, metavar="FOLDER",
                        help="also write each recording's emotion over time into FOLDER (created if missing): "
                        "NAME.timeline.csv, .json and .png, one row per window")
    parser.add_argument("--timeline_window", default=None, type=float, metavar="SECONDS",
                        help="timeline window length (default: one segment, e.g. 1.8 s for GLAM)")
    parser.add_argument("--timeline_hop", default=None, type=float, metavar="SECONDS",
                        help="seconds between timeline windows (default: the segment hop at the checkpoint's test "
                        "overlap, e.g. 0.2 s for GLAM)")
    return parser


def format_predictions(predictions, class_names: list[str], style: str) -> str:
    if style == "json":
        return json.dumps([p.summary() for p in predictions], indent=2) + "\n"
    if style == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["file", "label", *class_names, "segments", "tiled", "seconds"])
        for p in predictions:
            writer.writerow([p.path, p.label, *(f"{p.probabilities[c]:.6f}" for c in class_names),
                             p.segments, p.tiled, f"{p.seconds:.3f}"])
        return buffer.getvalue()
    rows = []
    for p in predictions:
        probabilities = "  ".join(f"{c} {p.probabilities[c]:.3f}" for c in class_names)
        tiled = "\t(tiled: shorter than one segment)" if p.tiled else ""
        rows.append(f"{p.path}\t{p.label}\t{probabilities}{tiled}")
    return "\n".join(rows) + ("\n" if rows else "")


def nothing_found(args, missing: list[str]) -> str:
    """The one error line when no input holds an audio file."""
    if len(missing) == len(args.audio):
        return f"error: {', '.join(missing)}: no such file or folder; nothing was scored"
    absent = f"{', '.join(missing)}: no such file or folder; " if missing else ""
    return (f"error: no audio file found in {' '.join(args.audio)} ({absent}folders are searched for "
            f"{', '.join(AUDIO_EXTENSIONS)}); nothing was scored")


def main(argv=None) -> int:
    parser = get_args_parser()
    args = parser.parse_args(argv)
    if args.timeline is None and (args.timeline_window is not None or args.timeline_hop is not None):
        parser.error("--timeline_window and --timeline_hop go with --timeline FOLDER")
    try:
        device = inference_device(args.gpu)
        output = None if args.output is None else check_output_path(args.output)
        predictor = Predictor(args.checkpoint, device)
        timeline.check_window(args.timeline_window, args.timeline_hop,
                              predictor.segment_samples / predictor.settings.sample_rate)
    except UserError as error:
        sys.exit(f"error: {error}")
    search = audio_files(args.audio)
    skipped = search.skipped_summary()
    if skipped:
        print(f"note: {skipped}", file=sys.stderr)
    if not search.found:
        print(nothing_found(args, search.missing), file=sys.stderr)
        return 1
    try:
        timeline_folder = None if args.timeline is None else check_output_folder(args.timeline, "--timeline")
    except UserError as error:
        sys.exit(f"error: {error}")
    failures = [(path, "no such file or folder") for path in search.missing]
    predictions = []
    files = search.found
    names = timeline.names_for(files)
    for path, name in tqdm(list(zip(files, names)), desc="predict", unit="file", file=sys.stderr,
                           disable=args.quiet or len(files) < 2):
        try:
            prediction = predictor.predict_file(path, progress=not args.quiet)
            if timeline_folder is not None:
                line = timeline.timeline(prediction, predictor.class_names, args.timeline_window, args.timeline_hop)
                timeline.write(line, timeline_folder, name)
            predictions.append(prediction)
        except UserError as error:  # one bad file must not stop the others
            failures.append((str(path), str(error)))
        except Exception as error:  # nor one that breaks a decoder or a feature in a way we did not foresee
            failures.append((str(path), f"{type(error).__name__}: {error}"))
    for path, reason in failures:
        print(f"error: cannot score {path}: {reason}", file=sys.stderr)
    style = "json" if args.json else "csv" if args.csv else "text"
    text = format_predictions(predictions, predictor.class_names, style)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            write_text(output, text)
        except OSError as error:  # the folder was checked at the start; it changed since
            sys.stdout.write(text)
            sys.exit(f"error: cannot write {output} ({error}); the predictions are printed above")
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
