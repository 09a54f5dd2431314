"""Training throughput of the SSL and eGeMAPS downstreams on cached features: one seed, and K
seeds at once.

    python -m ser.runners.downstream_bench                              # 1,024 utterances, 2 epochs, K = 1 8
    python -m ser.runners.downstream_bench --models ssl_linear --utterances 4096 --out bench_downstream

The features are what the cache hands the data stage, made up (random, seeded) in the shapes a
base-size upstream gives: for ``ssl_linear`` every hidden state's mean, ``(L + 1, D)`` =
``(13, 768)`` per utterance; for ``ssl_mlp`` one hidden state's frames, 50 a second for 2 to 10
s (uniform), ``(T, 768)`` float16; for ``mlp`` eGeMAPS' 88 functionals. Labels are drawn from 4
classes. A downstream's step costs the same on random features as on real ones, and leaving out
the upstream keeps the measurement to the training engine (``ser.runners.upstream_bench``
measures the extraction).

Rows per model, each in a fresh process (as ``ser.runners.bench``'s): ``ser.training.engine.fit``
with one seed, then ``ser.training.stacked.fit_seeds`` at each K of ``--seeds``; each seed
trains on its own 80 % of the utterances (a permutation drawn from its seed) with the model's
published recipe (batch size, optimizer, learning rate), and is scored on the rest after every
epoch. Throughput is training utterances per second (all seeds'), of the training passes and of
the whole epochs; ``--repeats`` runs the rows in turn that many times and keeps their medians.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

import models
from ser.io import write_json, write_text
from ser.machine import usable_cpus
from ser.runners.bench_report import fmt, in_fresh_process, merge_repeats, speedup, table
from ser.training import engine, seed_runs, stacked
from ser.training.dataset import TestUtterances, stack_segments
from ser.training.frames import FrameSequences

HIDDEN, LAYERS, FUNCTIONALS, FRAMES_PER_S = 768, 12, 88, 50
CLASSES = 4
REPEATED = ("train_s", "seconds", "train_per_s", "epoch_per_s")


@dataclasses.dataclass(frozen=True)
class Settings:
    models: tuple[str, ...]
    utterances: int
    epochs: int
    seeds: tuple[int, ...]
    repeats: int
    seed: int


def features(model: str, utterances: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each utterance's model input as the data stage receives it from the cache, and the labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, utterances)
    if model == "ssl_linear":
        return [rng.standard_normal((1, LAYERS + 1, HIDDEN), dtype=np.float32) for _ in range(utterances)], labels
    if model == "ssl_mlp":
        lengths = (rng.uniform(2, 10, utterances) * FRAMES_PER_S).astype(int)
        # as the data stage keeps them: each utterance's (T, D) float16 frames, ragged
        return [FrameSequences.of([rng.standard_normal((n, HIDDEN), dtype=np.float32).astype(np.float16)])
                for n in lengths], labels
    if model in ("mlp", "linear"):
        return [rng.standard_normal((1, FUNCTIONALS, 1), dtype=np.float32) for _ in range(utterances)], labels
    raise ValueError(f"no made-up features for {model}; choose ssl_linear, ssl_mlp, mlp or linear")


def options(model: str, epochs: int) -> engine.FitOptions:
    """The model's published recipe, as train.py applies it (``models.ssl.RECIPES``)."""
    flags = models.model_entry(model).recipe.flags
    return engine.FitOptions(epochs=epochs, batch_size=flags["batch_size"], lr=flags["learning_rate"],
                             optimizer=flags["optimizer"], lr_schedule=flags.get("lr_schedule", "exp"))


def split(seed: int, utterances: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.RandomState(seed).permutation(utterances)
    cut = int(utterances * 0.8)
    return order[:cut], order[cut:]


def measure(model: str, seeds: int, settings: Settings) -> dict:
    """One row in this process: ``seeds`` = 0 for the one-seed engine, else K stacked seeds."""
    feats, labels = features(model, settings.utterances, settings.seed)
    shape = (1, HIDDEN + 1) if model == "ssl_mlp" else tuple(feats[0].shape[1:])  # ssl_mlp takes any length
    fit = options(model, settings.epochs)
    cpu = torch.device("cpu")
    started = time.perf_counter()
    if seeds == 0:
        rng = engine.seed_everything(settings.seed)
        train, test = split(settings.seed, settings.utterances)
        net = models.create_model(model, shape=shape, num_classes=CLASSES)
        result = engine.fit(net, stack_segments([feats[i] for i in train], labels[train], shape),
                            TestUtterances.from_lists([feats[i] for i in test], labels[test],
                                                      [str(i) for i in test], shape),
                            cpu, fit, engine.mixup_loss(nn.CrossEntropyLoss(), 0.0, rng), rng)
        results, trained = [result], len(train)
    else:
        pool = seed_runs.SegmentPool.from_utterances(feats, labels, shape)
        runs = []
        for seed in range(settings.seed, settings.seed + seeds):
            train, test = split(seed, settings.utterances)
            rng = engine.seed_everything(seed)
            runs.append(seed_runs.SeedRun(seed, rng, pool.train_rows(train), pool.scored(test)))
        results = stacked.fit_seeds(model, shape, CLASSES, runs, pool, pool, cpu,
                                    seed_runs.MultiSeedOptions(**dataclasses.asdict(fit), alpha=0.0))
        trained = sum(len(run.train) for run in runs)
    seconds = time.perf_counter() - started
    train_s = sum(record.seconds for record in results[0].history)  # the lockstep epochs, shared by the seeds
    return {"model": model, "seeds": max(seeds, 1), "engine": "one seed" if seeds == 0 else f"{seeds} stacked",
            "train_s": train_s, "seconds": seconds, "train_per_s": trained * settings.epochs / train_s,
            "epoch_per_s": trained * settings.epochs / seconds, "peak_rss_mib": None, "cuda_peak_mib": None}


def run(settings: Settings, log=print) -> list[dict]:
    rows = [(model, k) for model in settings.models for k in (0, *settings.seeds)]
    measured: list[list[dict]] = [[] for _ in rows]
    for repeat in range(settings.repeats):
        for done, (model, k) in zip(measured, rows):
            done.append(in_fresh_process(measure, model, k, settings))
            log(f"{model}, {done[-1]['engine']}: {done[-1]['train_per_s']:.0f} utterances/s (repeat {repeat + 1})")
    merged = [merge_repeats(done, REPEATED) for done in measured]
    for row in merged:
        base = next(r for r in merged if r["model"] == row["model"] and r["engine"] == "one seed")
        row["train_speedup"] = speedup(row, base, "train_per_s")
    return merged


def markdown(rows: list[dict], settings: Settings) -> str:
    lines = [f"{settings.utterances:,} utterances (80 % trained per seed), {settings.epochs} epoch(s), "
             f"{torch.get_num_threads()} torch thread(s), {usable_cpus()} usable cores, torch {torch.__version__}, "
             f"Python {platform.python_version()}; medians of {settings.repeats} repeat(s), rows in turn; load "
             "average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " at the end.", "",
             *table(["model", "engine", "training utterances/s", "× one seed", "epoch utterances/s"],
                    [[r["model"], r["engine"], fmt(r["train_per_s"]), fmt(r["train_speedup"]), fmt(r["epoch_per_s"])]
                     for r in rows])]
    return "\n".join(lines) + "\n"


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ser.runners.downstream_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["ssl_linear", "ssl_mlp", "mlp"],
                        choices=["ssl_linear", "ssl_mlp", "mlp", "linear"])
    parser.add_argument("--utterances", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8], metavar="K")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="folder for downstream_bench.json and downstream_bench.md")
    return parser


def main(argv: list[str] | None = None) -> list[dict]:
    args = get_args_parser().parse_args(argv)
    for name in ("utterances", "epochs", "repeats"):
        if getattr(args, name) < 1 or min(args.seeds) < 1:
            sys.exit(f"error: --{name} and every --seeds K must be at least 1")
    settings = Settings(tuple(args.models), args.utterances, args.epochs, tuple(args.seeds), args.repeats, args.seed)
    rows = run(settings, log=lambda text: print(text, file=sys.stderr, flush=True))
    text = markdown(rows, settings)
    print(text, end="")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        write_json(args.out / "downstream_bench.json", {"settings": dataclasses.asdict(settings), "rows": rows})
        write_text(args.out / "downstream_bench.md", text)
    return rows


if __name__ == "__main__":
    main()
