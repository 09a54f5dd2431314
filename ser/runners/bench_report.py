"""What the benchmarks of ``ser.runners`` share: a row measured in a process of its own, a path
measured several times merged into one row, each row's speed-up over a base row; and the
tables of ``ser.runners.bench`` (``bench.json`` / ``bench.md``, written from the report, which
the benchmark saves after every stage)."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np

from ser.io import write_json, write_text

# What a training row (a, b, c) measures again on every repeat; the rest is the same each time.
RUN_REPEATED = ("train_s", "seconds", "scoring_s_per_epoch", "train_samples_per_s", "epoch_samples_per_s")


def in_fresh_process(measure: Callable[..., dict], *args) -> dict:
    """``measure(*args)`` in a new (spawned) process: the row starts from the state a run
    starts from (no kernels compiled, no memory kept by an earlier row, the C library's
    allocator as a process starts it) and leaves nothing behind for the next row. An exception
    of ``measure`` is raised here."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure, *args).result()


def merge_repeats(rows: list[dict], repeated: tuple[str, ...]) -> dict:
    """One row of a path measured ``len(rows)`` times: the median of each ``repeated`` value
    (every repeat's kept as ``<key>_repeats``), the largest peak memory."""
    merged = dict(rows[0], repeats=len(rows))
    for key in repeated:
        merged[f"{key}_repeats"] = [row[key] for row in rows]
        merged[key] = float(np.median(merged[f"{key}_repeats"]))
    for key in ("peak_rss_mib", "cuda_peak_mib"):
        peaks = [row[key] for row in rows if row[key] is not None]
        merged[key] = max(peaks) if peaks else None
    return merged


def fmt(x: float | None, digits: int = 3) -> str:
    """A few significant figures with thousands separators: 12,345 / 123 / 1.23 / 0.0123."""
    if x is None:
        return "–"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:.{max(0, digits - 1 - int(np.floor(np.log10(abs(x)))))}f}" if x else "0"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def speedup(row: dict, base: dict, key: str, per_seed: bool = False, faster_when_lower: bool = False) -> float:
    """``row``'s speed-up over ``base`` in ``key``: the median over the repeats measured by
    both of each repeat's ratio (rows measured in turn, so each ratio compares one stretch of
    the machine's time)."""
    values = [np.asarray(r.get(f"{key}_repeats", [r[key]]), dtype=float) for r in (row, base)]
    n = min(len(v) for v in values)
    mine, theirs = (v[:n] / (r["seeds"] if per_seed else 1) for v, r in zip(values, (row, base)))
    return float(np.median(theirs / mine if faster_when_lower else mine / theirs))


def add_ratios(report: dict) -> None:
    """Every row's speed against a's: > 1 is faster than the original style."""
    features, runs = report.get("features", []), report.get("runs", [])
    for row in features:
        row["speedup_vs_a"] = speedup(row, features[0], "seconds", faster_when_lower=True)
    for row in runs:
        row["train_speedup_vs_a"] = speedup(row, runs[0], "train_samples_per_s")
        row["epoch_speedup_vs_a"] = speedup(row, runs[0], "epoch_samples_per_s")
        # K seeds score K test sets an epoch: compared per seed's test set, as samples are
        row["scoring_speedup_vs_a"] = speedup(row, runs[0], "scoring_s_per_epoch", per_seed=True,
                                              faster_when_lower=True)


def markdown(report: dict) -> str:
    env, s, w = report["environment"], report["settings"], report.get("workload")
    load = ", ".join(f"{x:.2f}" for x in env["load_average_at_start"])
    if "load_average_at_end" in env:
        load += " at the start; " + ", ".join(f"{x:.2f}" for x in env["load_average_at_end"]) + " at the end"
    lines = [f"# ser.runners.bench: {env['device_name']}", "",
             f"- command: `{report['command']}`",
             f"- date: {report['started']}; wall time {fmt(report.get('wall_s', 0.0))} s"
             + ("" if report.get("complete") else " (**incomplete**: the run stopped before the end)"),
             f"- device: {env['device']} ({env['device_name']}); CPU: {env['cpu_name']}, {env['cpu_count']} usable "
             f"cores, {env['torch_threads']} torch threads; torch {env['torch']}"
             + (f", CUDA {env['cuda']}" if "cuda" in env else "") + f"; Python {env['python']}",
             f"- load average (1, 5, 15 min): {load}",
             f"- corpus: {report['corpus']['root']}" + (f" (synthetic, scale {report['corpus']['scale']:g})"
                                                          if report["corpus"]["synthetic"] else ""),
             f"- {s['model']}, batch {s['batch_size']}, {s['epochs']} epoch(s), seed {s['seed']}"
             + (f"; first {s['max_utterances']} utterances" if s["max_utterances"] else "")
             + (f"; training sets cut to {s['max_train_segments']} segments" if s["max_train_segments"] else "")
             + ("; **--quick** (a smoke run, not a measurement)" if s["quick"] else "")]
    if s.get("repeats", 1) > 1:
        lines.append(f"- every row measured {s['repeats']} times, the rows in turn: medians, and each × a the "
                     "median of the repeats' ratios")
    if w:
        lines.append(f"- workload: {w['utterances']:,} selected utterances, {w['usable']:,} usable; "
                     f"{w['train_segments']:,} training segments and {w['test_utterances']:,} test utterances per "
                     f"seed (seed {s['seed']})")
    if report.get("runs"):
        lines += ["", "## Training and scoring (a, b, c)", "",
                  "Samples/s: training samples (all seeds) per second of the training passes, and of the whole "
                  "epochs including the scoring of the test set after each (every seed's). × a: speed-up over a; "
                  "for scoring, per seed's test set.", "",
                  *table(["path", "seeds", "features s", "train samples/s", "× a", "scoring s/epoch", "× a",
                          "epoch samples/s", "× a", "peak RSS MiB", "CUDA peak MiB"],
                         [[r["name"], str(r["seeds"]), fmt(r["features_s"]), fmt(r["train_samples_per_s"]),
                           fmt(r.get("train_speedup_vs_a")), fmt(r["scoring_s_per_epoch"]),
                           fmt(r.get("scoring_speedup_vs_a")), fmt(r["epoch_samples_per_s"]),
                           fmt(r.get("epoch_speedup_vs_a")), fmt(r["peak_rss_mib"]), fmt(r["cuda_peak_mib"])]
                          for r in report["runs"]])]
    if report.get("features"):
        lines += ["", "## Features (d)", "",
                  "Every selected utterance at the training and test overlaps into a fresh cache folder (the last "
                  "row reads the librosa entries back). × a: speed-up over the first row, a's features.", "",
                  *table(["how", "device", "utterances", "segments", "s", "utterances/s", "× a", "peak RSS MiB",
                          "CUDA peak MiB"],
                         [[r["name"], r["device"], f"{r['utterances']:,}", f"{r['segments']:,}", fmt(r["seconds"]),
                           fmt(r["utterances"] / r["seconds"]), fmt(r.get("speedup_vs_a")), fmt(r["peak_rss_mib"]),
                           fmt(r["cuda_peak_mib"])] for r in report["features"]])]
    return "\n".join(lines) + "\n"


def write_outputs(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    add_ratios(report)
    write_json(out / "bench.json", report)
    write_text(out / "bench.md", markdown(report))
