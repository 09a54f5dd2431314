"""The end of ``./run``'s demo: what the demo model learned beside what always guessing one
class gets, its figures, and the commands to try next.

    python -m ser.reporting.demo data/demo/mfccS1.8O1.6a0.5/GLAM/GLAM_mfcc_impro.metric \
        --corpus data/demo/IEMOCAP_synthetic

Every finished seed of the ``.metric`` file is listed with its test WA and UA and the
majority-class baseline of its own split (the training set's most frequent class predicted for
every test utterance: WA is that class's share of the test set, UA is 100 / the number of
classes tested). The last seed's run gets its training curves and confusion matrix drawn into
``--figures`` and the next commands are printed with its real paths, so each works as shown.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from ser.errors import UserError
from ser.records import results
from ser.reporting import plots


class DemoError(UserError):
    """The demo's results are missing or unreadable."""


@dataclass(frozen=True)
class Baseline:
    """Always predicting the training set's most frequent class."""
    class_name: str
    wa: float
    ua: float


@dataclass(frozen=True)
class DemoRun:
    seed: int
    run_dir: Path
    wa: float
    ua: float
    test_utterances: int
    baseline: Baseline
    checkpoint: Path | None
    first_test_turn: str
    device: str


def majority_baseline(summary: dict) -> Baseline:
    """The majority-class baseline of a run, from its ``results.json``: the class comes from the
    training set's class counts, the scores from the test set's labels."""
    counts = json.loads(summary["split"]["info"]["train"])  # a JSON text, as the original's log has it
    majority = max(sorted(counts, key=int), key=lambda c: counts[c])
    labels = summary["test_utterances"]["labels"]
    classes = sorted(set(labels))
    wa = 100.0 * sum(label == int(majority) for label in labels) / len(labels)
    ua = 100.0 / len(classes) if int(majority) in classes else 0.0
    return Baseline(summary["class_names"][int(majority)], wa, ua)


def demo_runs(metric_file: Path) -> list[DemoRun]:
    """The finished seeds of ``metric_file``, in the order they finished."""
    if not metric_file.is_file():
        raise DemoError(f"{metric_file} does not exist: the demo has not finished a run yet; rerun ./run")
    runs = []
    for row in results.read_metric(metric_file):
        run_dir = metric_file.parent / str(row["seed"])
        try:
            summary = json.loads((run_dir / "results.json").read_text())
        except (OSError, ValueError) as error:
            raise DemoError(f"{run_dir / 'results.json'} cannot be read ({error}); rerun ./run") from None
        checkpoint = run_dir / summary["checkpoint"] if summary.get("checkpoint") else None
        runs.append(DemoRun(seed=row["seed"], run_dir=run_dir, wa=summary["best"]["WA"], ua=summary["best"]["UA"],
                            test_utterances=len(summary["test_utterances"]["labels"]),
                            baseline=majority_baseline(summary), checkpoint=checkpoint,
                            first_test_turn=summary["test_utterances"]["turns"][0], device=summary["device"]))
    if not runs:
        raise DemoError(f"{metric_file} holds no finished run; rerun ./run")
    return runs


def wav_of(corpus: Path, turn: str) -> Path:
    """Where an IEMOCAP-layout corpus keeps a turn's wav (Ses01F_impro07_F000 → Session1/...)."""
    dialog = turn.rsplit("_", 1)[0]
    return corpus / f"Session{int(turn[3:5])}" / "sentences" / "wav" / dialog / f"{turn}.wav"


def report_lines(runs: list[DemoRun]) -> list[str]:
    lines = ["SYNTHETIC demo corpus: what GLAM learned on each seed's test set, beside always predicting the "
             "training set's most frequent class:",
             "| seed | test utterances | WA | UA | majority class | its WA | its UA |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        b = run.baseline
        lines.append(f"| {run.seed} | {run.test_utterances} | {run.wa:.2f} | {run.ua:.2f} | {b.class_name} | "
                     f"{b.wa:.2f} | {b.ua:.2f} |")
    return lines


def next_commands(run: DemoRun, corpus: Path, results_dir: Path, figures: Path) -> list[str]:
    python = ".venv/bin/python"
    commands = []
    if run.checkpoint is not None:
        wav = wav_of(corpus, run.first_test_turn)
        commands.append(f"{python} predict.py {shlex.quote(str(run.checkpoint))} {shlex.quote(str(wav))}"
                        "   # score a file (or a folder) with the saved model")
        commands.append(f"{python} export.py {shlex.quote(str(run.checkpoint))} -o {figures.parent / 'glam.onnx'}"
                        "   # the model as ONNX, with the feature settings beside it")
    commands.append(f"{python} report.py {results_dir}   # every table of the runs under it")
    commands.append(f"{python} -m ser.reporting.plots tsne {run.run_dir} -o {figures / 'tsne'}"
                    "   # the test utterances' hidden states")
    gpu = run.device.split(":")[1] if run.device.startswith("cuda:") else "-1"
    how = "one after another on the CPU" if gpu == "-1" else "trained together in one process"
    commands.append(f"./run {gpu} 4   # four more seeds, {how}")
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Summarise ./run's demo runs: scores beside the majority-class "
                                                 "baseline, figures, next commands.")
    parser.add_argument("metric_file", type=Path, help="the demo's .metric file")
    parser.add_argument("--corpus", type=Path, required=True, help="the demo corpus the runs trained on")
    parser.add_argument("--figures", type=Path, default=None,
                        help="where the figures go (default: the results folder's figures/)")
    args = parser.parse_args(argv)
    results_dir = args.metric_file.parent.parent.parent
    figures = args.figures or results_dir / "figures"
    try:
        runs = demo_runs(args.metric_file)
        last = runs[-1]
        figures.mkdir(parents=True, exist_ok=True)
        written = [*plots.curves_figure([last.run_dir], figures / "curves"),
                   *plots.confusion_figure([plots.RunGroup("GLAM", [last.run_dir])], figures / "confusion")]
    except (UserError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(report_lines(runs)))
    print(f"\nresults: {last.run_dir}" + (f"; checkpoint: {last.checkpoint}" if last.checkpoint else ""))
    print("figures: " + ", ".join(str(p) for p in written if p.suffix == ".png"))
    print("\nnext, from the repository root:")
    print("\n".join(f"  {command}" for command in next_commands(last, args.corpus, results_dir, figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
