"""Speed benchmark: feature preparation, training throughput, evaluation, a full GLAM run.

    python -m ser.bench                       # every measurement, on the GPU when there is one
    python -m ser.bench --quick               # smoke configuration on a tiny corpus (seconds to minutes)
    python -m ser.bench --device cpu --steps 3 CNN_AttnPooling=1 --full-run-epochs 0

It generates an IEMOCAP-sized synthetic corpus (``ser.synth --scale 1``) when ``--corpus`` is
absent, then measures, each ``--repeats`` times (the median is reported with every repeat):

a. feature preparation for the whole corpus (every labelled turn) with GLAM's default settings
   as train.py computes them: scan plus ``FeatureCache.load`` into a fresh cache folder (cold),
   then again from that cache (warm). The wavs may sit in the OS page cache: cold means
   "features not cached", not "audio not in RAM".
b. training throughput of each ``--models`` at its recipe's settings (``scripts/recipes.tsv``:
   batch size, features, optimizer, mixup α), on the training segments of a real run (train.py's
   own ``load_corpus_data`` and ``split_data``), through ``ser.engine.train_one_epoch`` itself.
   For each K of ``--concurrent``, K processes on the same device each train their own seed;
   they warm up, meet at a barrier and then all time ``--steps`` steps. Aggregate throughput is
   K · samples / (last end − first start); per-seed throughput is each process's own rate.
c. evaluation time per epoch: ``ser.engine.evaluate`` on every test utterance of the run
   (``--eval-segments`` caps the segments actually scored; the time is then scaled to all of
   them by segment count, and the report says so).
d. the wall time of a faithful 50-epoch GLAM run with cached features: ``train.py`` with its
   defaults, as a subprocess, for ``--full-run-epochs`` E epochs. E = 50 measures it; 0 < E < 50
   extrapolates (wall time of the run + (50 − E) × its mean time per epoch); E = 0 runs nothing
   and estimates 50 × (training segments / single-seed GLAM throughput + evaluation time), which
   leaves out start-up and feature loading. The report names the mode.

Writes ``bench.json`` and ``bench.md`` (device, versions, settings, every repeat, and a table
against the issue's targets and the original code's numbers) atomically into ``--out`` after
every stage, so an interrupted run keeps what it measured.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import queue
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

import models
import ser
from ser import corpora, synth
from ser.cache import CacheError, FeatureCache
from ser.config import RunConfig, resolve_args
from ser.data import prepare_run
from ser.dataset import TestUtterances, TrainSegments
from ser.engine import evaluate, make_optimizer, mixup_loss, seed_everything, train_one_epoch
from ser.io import write_json, write_text
from ser.machine import threads_per_process, usable_cpus
from ser.sweep import read_recipes

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = ("GLAM", "MHCNN", "AACNN", "CNN_AttnPooling")
DEFAULT_SEED = 987654  # train.py's default seed
PAPER_EPOCHS = 50
# The project's speed targets, for one GPU of the H100/H200 class (a CPU run is compared against them too).
TARGETS = {"features_s": 20.0, "aggregate_samples_per_s": 100_000.0, "full_run_s": 60.0}
# The original code on an H100, as the issue quotes it.
REFERENCE = {"samples_per_s": 3_500.0, "epoch_s": 10.0, "features_per_seed_s": 180.0,
             "gflop_per_glam_sample": 1.10}
# What --quick changes, unless given explicitly: a smoke run, not a measurement to quote.
QUICK = dict(scale=0.01, repeats=1, steps="1", warmup_steps=1, concurrent=[1, 2], eval_segments="64",
             full_run_epochs=0)
# A process that does not reach the barrier in this time (compilation included) has hung.
BARRIER_TIMEOUT_S = 1800.0


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


# ---------------------------------------------------------------------------------------
# Arguments

@dataclass(frozen=True)
class PerModel:
    """``N [MODEL=N ...]``: one value for every model, overridden for some (None: no value)."""
    default: int | None
    overrides: dict[str, int] = field(default_factory=dict)

    def get(self, model: str) -> int | None:
        return self.overrides.get(model, self.default)

    def describe(self) -> str:
        parts = ["all" if self.default is None else str(self.default)]
        return " ".join(parts + [f"{m}={n}" for m, n in self.overrides.items()])


def parse_per_model(words: list[str], flag: str) -> PerModel:
    default, overrides = None, {}
    for word in words:
        name, _, value = word.rpartition("=")
        try:
            number = int(value)
        except ValueError:
            raise BenchError(f"{flag}: {word!r} is neither N nor MODEL=N") from None
        if number < 1:
            raise BenchError(f"{flag}: {word!r} must be at least 1")
        if not name:
            default = number
        elif name in models.list_models():
            overrides[name] = number
        else:
            raise BenchError(f"{flag}: unknown model {name!r}; choose one of: {', '.join(models.list_models())}")
    return PerModel(default, overrides)


def words(value: str | list[str] | None) -> list[str]:
    """A per-model flag's words: given on the command line (a list) or a default (a string)."""
    return value.split() if isinstance(value, str) else list(value or [])


def get_args_parser() -> argparse.ArgumentParser:
    # Defaults are named in the help texts: several depend on the device or on --quick.
    parser = argparse.ArgumentParser(prog="python -m ser.bench", description=__doc__.split("\n\n")[0])
    data = parser.add_argument_group("corpus")
    data.add_argument("--corpus", default=None, type=Path,
                      help="IEMOCAP_full_release folder; generated with ser.synth when absent "
                           "(default data/bench/IEMOCAP_synthetic, or ..._scale<S> for another --scale)")
    data.add_argument("--scale", default=None, type=float, help="ser.synth scale of a generated corpus (default 1)")
    data.add_argument("--cache-dir", default=Path("data/bench/cache"), type=Path,
                      help="feature cache of the runs measured; the cold measurement uses fresh folders in it "
                           "(default data/bench/cache)")
    data.add_argument("--seed", default=DEFAULT_SEED, type=int,
                      help="split and first training seed; concurrent process i trains seed + i "
                           f"(default {DEFAULT_SEED}, train.py's)")

    measure = parser.add_argument_group("measurements")
    measure.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default cuda when available)")
    measure.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                         help=f"models, at their recipe settings (default {' '.join(DEFAULT_MODELS)})")
    measure.add_argument("--concurrent", nargs="+", type=int, default=None, metavar="K",
                         help="seeds trained at once, one process each (default 1 4 on a GPU, 1 2 on the CPU)")
    measure.add_argument("--repeats", type=int, default=None,
                         help="repeats of every measurement (median reported; default 3)")
    measure.add_argument("--feature-repeats", type=int, default=None,
                         help="repeats of the feature measurement, whose cold pass can take minutes on a CPU "
                              "(default --repeats)")
    measure.add_argument("--steps", nargs="+", default=None, metavar="N|MODEL=N",
                         help="timed training steps per process and repeat (default 300 on a GPU, 3 on the CPU); "
                              "MODEL=N sets one model's")
    measure.add_argument("--warmup-steps", type=int, default=None,
                         help="untimed steps before the first repeat (default 10 on a GPU, 1 on the CPU)")
    measure.add_argument("--eval-segments", nargs="+", default=None, metavar="N|MODEL=N",
                         help="score at most N test segments and scale the time to all (default: all)")
    measure.add_argument("--full-run-epochs", type=int, default=None, choices=range(PAPER_EPOCHS + 1),
                         metavar=f"0..{PAPER_EPOCHS}",
                         help=f"epochs of the real train.py GLAM run ({PAPER_EPOCHS}: measured; fewer: extrapolated; "
                              f"0: estimated from the throughput and evaluation measurements; default {PAPER_EPOCHS})")

    speed = parser.add_argument_group("speed options (as train.py's; off by default, as the paper's runs)")
    speed.add_argument("--amp", action="store_true", help="bf16 autocast")
    speed.add_argument("--compile", action="store_true", help="torch.compile (compiled during the warm-up)")

    out = parser.add_argument_group("output")
    out.add_argument("--out", default=Path("data/bench/results"), type=Path,
                     help="folder for bench.json and bench.md (default data/bench/results)")
    out.add_argument("--quick", action="store_true",
                     help="smoke configuration (explicit flags still win): scale 0.01, repeats 1, steps 1, "
                          "warm-up steps 1, concurrent 1 2, evaluation segments 64, full-run epochs 0")
    out.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


@dataclass
class Settings:
    corpus: Path
    scale: float
    cache_dir: Path
    seed: int
    device: torch.device
    models: list[str]
    concurrent: list[int]
    repeats: int
    feature_repeats: int
    steps: PerModel
    warmup_steps: int
    eval_segments: PerModel
    full_run_epochs: int
    amp: bool
    compile: bool
    out: Path
    quick: bool
    quiet: bool

    def as_dict(self) -> dict:
        return {"corpus": str(self.corpus), "scale": self.scale, "cache_dir": str(self.cache_dir), "seed": self.seed,
                "device": str(self.device), "models": self.models, "concurrent": self.concurrent,
                "repeats": self.repeats, "feature_repeats": self.feature_repeats, "steps": self.steps.describe(),
                "warmup_steps": self.warmup_steps, "eval_segments": self.eval_segments.describe(),
                "full_run_epochs": self.full_run_epochs, "amp": self.amp, "compile": self.compile, "quick": self.quick}


def resolve_settings(argv: list[str] | None) -> Settings:
    """Explicit flags win over ``--quick``, which wins over the device's defaults."""
    args = get_args_parser().parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda: no CUDA device here; use --device cpu")
    gpu = device.type == "cuda"
    defaults = dict(scale=1.0, repeats=3, steps="300" if gpu else "3", warmup_steps=10 if gpu else 1,
                    concurrent=[1, 4] if gpu else [1, 2], eval_segments=None, full_run_epochs=PAPER_EPOCHS)
    if args.quick:
        defaults.update(QUICK)
    value = {key: getattr(args, key) if getattr(args, key) is not None else default
             for key, default in defaults.items()}
    unknown = [m for m in args.models if m not in models.list_models()]
    if unknown:
        raise BenchError(f"unknown model(s) {', '.join(unknown)}; choose from: {', '.join(models.list_models())}")
    feature_repeats = value["repeats"] if args.feature_repeats is None else args.feature_repeats
    if min(value["repeats"], feature_repeats, *value["concurrent"]) < 1 or value["warmup_steps"] < 0:
        raise BenchError("--repeats, --feature-repeats and --concurrent must be at least 1, --warmup-steps at least 0")
    steps = parse_per_model(words(value["steps"]), "--steps")
    if steps.default is None:
        raise BenchError("--steps needs a plain N for the models without MODEL=N")
    eval_segments = parse_per_model(words(value["eval_segments"]), "--eval-segments")
    if value["full_run_epochs"] == 0 and ("GLAM" not in args.models or 1 not in value["concurrent"]):
        raise BenchError("--full-run-epochs 0 estimates the run from GLAM's single-seed throughput and evaluation "
                         "time: include GLAM in --models and 1 in --concurrent")
    corpus = args.corpus or Path("data/bench/IEMOCAP_synthetic" + ("" if value["scale"] == 1 else
                                                                     f"_scale{value['scale']:g}"))
    return Settings(corpus=corpus, scale=value["scale"], cache_dir=args.cache_dir, seed=args.seed, device=device,
                    models=list(dict.fromkeys(args.models)), concurrent=sorted(set(value["concurrent"])),
                    repeats=value["repeats"], feature_repeats=feature_repeats, steps=steps,
                    warmup_steps=value["warmup_steps"], eval_segments=eval_segments,
                    full_run_epochs=value["full_run_epochs"], amp=args.amp, compile=args.compile, out=args.out,
                    quick=args.quick, quiet=args.quiet)


# ---------------------------------------------------------------------------------------
# Helpers

def stat(values: list[float]) -> dict:
    return {"median": statistics.median(values), "repeats": values}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gpu_flag(device: torch.device) -> str:
    """train.py's ``-g`` for this device."""
    return str(device.index or 0) if device.type == "cuda" else "-1"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: torch.device) -> dict:
    env = {"device": str(device), "device_name": cpu_name(), "cpu_name": cpu_name(), "cpu_count": usable_cpus(),
           "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "numpy": np.__version__,
           "python": platform.python_version(), "ser": ser.__version__, "platform": platform.platform(),
           # other users' work on the machine slows every measurement; this shows how busy it was
           "load_average_at_start": os.getloadavg()}
    if device.type == "cuda":
        env.update(device_name=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version(),
                   gpu_memory_gib=round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1))
    return env


def recipe_flags(model: str) -> list[str]:
    """train.py flags of ``model``'s improvised-subset row of scripts/recipes.tsv (none: GLAM's defaults)."""
    row = next((r for r in read_recipes().values() if r.model == model and r.subset == "impro"), None)
    return [] if row is None else [*row.flags, "--alpha", row.alpha]


def recipe_argv(model: str, settings: Settings) -> list[str]:
    """train.py's arguments for the recipe's run on the benchmark corpus and cache."""
    return ["-m", model, "-i", "impro", *recipe_flags(model), "--data", str(settings.corpus), "--cache_dir",
            str(settings.cache_dir), "--seed", str(settings.seed), "-g", gpu_flag(settings.device), "--quiet"]


@dataclass
class RunData:
    """What one train.py run of a model trains and scores on, and how it trains."""
    args: RunConfig
    train: TrainSegments
    test: TestUtterances
    num_classes: int


def load_run_data(model: str, settings: Settings) -> RunData:
    """The training segments and test utterances of the recipe's run, through train.py's own
    functions (features come from, or go into, ``--cache-dir``)."""
    args = resolve_args(recipe_argv(model, settings))
    rng = seed_everything(args.seed)
    run = prepare_run(args, None, rng, lambda *_: None)
    return RunData(args, run.train, run.test, len(args.class_names))


def model_spec(run: RunData) -> dict:
    """What a worker needs to build the model and its optimizer."""
    a = run.args
    return {"model": a.model, "shape": tuple(run.train.X.shape[1:]), "num_classes": run.num_classes,
            "options": a.model_options(), "optimizer": a.optimizer, "lr": a.learning_rate,
            "alpha": a.alpha, "batch_size": a.batch_size}


def build(spec: dict) -> nn.Module:
    return models.create_model(spec["model"], shape=spec["shape"], num_classes=spec["num_classes"],
                               **spec["options"])


def gflop_per_sample(spec: dict) -> float:
    """Forward + backward FLOPs of one training sample: torch's FLOP counter on a batch of 2 on
    the meta device (shapes only, so no time and no random numbers are spent)."""
    from torch.utils.flop_counter import FlopCounterMode
    with torch.device("meta"):
        model = build(spec)
        x = torch.empty(2, 1, *spec["shape"])
        y = torch.zeros(2, dtype=torch.int64)
    with FlopCounterMode(display=False) as counter:
        nn.functional.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / 2 / 1e9


# ---------------------------------------------------------------------------------------
# (a) feature preparation

def measure_features(settings: Settings, log) -> dict:
    args = resolve_args(["--data", str(settings.corpus), "--quiet"])  # GLAM's defaults
    features = args.feature_settings()
    overlaps = (args.train_overlap, args.test_overlap)
    cold, warm = [], []
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    for repeat in range(settings.feature_repeats):
        with tempfile.TemporaryDirectory(prefix="cold-", dir=settings.cache_dir) as fresh:
            timings = []
            for _ in ("cold", "warm"):
                started = time.perf_counter()
                scan = corpora.scan_iemocap(settings.corpus)
                feats, report = FeatureCache(fresh).load([settings.corpus / u.path for u in scan.utterances],
                                                         features, overlaps, progress=False)
                timings.append(time.perf_counter() - started)
            # Entries do not depend on the cache folder, so the features just computed serve the
            # runs measured next instead of being computed a second time.
            for entries in Path(fresh).iterdir():
                if not (settings.cache_dir / entries.name).exists():
                    entries.rename(settings.cache_dir / entries.name)
        cold.append(timings[0])
        warm.append(timings[1])
        log(f"features {repeat + 1}/{settings.feature_repeats}: cold {timings[0]:.1f} s, warm {timings[1]:.1f} s")
        counts = {"utterances": len(scan.utterances), "used": sum(a is not None for a in report.audio),
                  "segments": sum(len(f) for f in feats[args.train_overlap] if f is not None),
                  "audio_hours": sum(a.samples for a in report.audio if a is not None) / args.sample_rate / 3600}
    return {"what": "scan + FeatureCache.load of every labelled turn, GLAM defaults (train.py)",
            "feature_settings": {"kind": features.kind, "n_mfcc": features.n_mfcc,
                                 "segment_length": features.segment_length, "overlaps": list(dict.fromkeys(overlaps))},
            "workers": usable_cpus(), **counts, "cold_s": stat(cold), "warm_s": stat(warm)}


# ---------------------------------------------------------------------------------------
# (b) training throughput

def _throughput_worker(job: dict, index: int, barrier, results_queue) -> None:
    """One process of a concurrent measurement: train seed + index, time ``repeats`` windows."""
    try:
        if job["threads"]:
            torch.set_num_threads(job["threads"])
        device = torch.device(job["device"])
        rng = seed_everything(job["seed"] + index)
        X_host, y_host = np.load(job["x_path"]), np.load(job["y_path"])
        X, y = torch.from_numpy(X_host).to(device), torch.from_numpy(y_host).to(device)
        model = build(job["spec"]).to(device)
        runner = torch.compile(model) if job["compile"] else model
        optimizer = make_optimizer(job["spec"]["optimizer"], model.parameters(), job["spec"]["lr"])
        criterion = nn.CrossEntropyLoss()
        batch, alpha = job["spec"]["batch_size"], job["spec"]["alpha"]

        def run(passes: int, n: int) -> None:
            for _ in range(passes):
                train_one_epoch(runner, X[:n], y[:n], optimizer, batch, mixup_loss(criterion, alpha, rng), job["amp"])
            synchronize(device)

        if job["warmup_steps"]:
            warm_steps = min(job["warmup_steps"], job["pool_steps"])
            run(math.ceil(job["warmup_steps"] / warm_steps), warm_steps * batch)
        windows = []
        for _ in range(job["repeats"]):
            barrier.wait(BARRIER_TIMEOUT_S)
            # time.monotonic is CLOCK_MONOTONIC on Linux: one clock for all processes.
            start = time.monotonic()
            run(job["passes"], len(y_host))
            windows.append((start, time.monotonic()))
        results_queue.put((index, windows, None))
    except BaseException:  # the parent must hear of it, and the other processes must not wait for it
        barrier.abort()
        results_queue.put((index, None, traceback.format_exc()))


def run_concurrent(job: dict, k: int) -> list[list[tuple[float, float]]]:
    """Start ``k`` worker processes and return each one's timed windows."""
    # Not fork: the parent may hold CUDA and torch thread pools. A fork server that imported
    # the heavy modules once starts every process of every measurement in a fraction of a second.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "models", "ser.engine"])
    barrier, results_queue = context.Barrier(k), context.Queue()
    processes = [context.Process(target=_throughput_worker, args=(job, i, barrier, results_queue), daemon=True)
                 for i in range(k)]
    for process in processes:
        process.start()
    windows: dict[int, list] = {}
    try:
        while len(windows) < k:
            try:
                index, timed, error = results_queue.get(timeout=5)
            except queue.Empty:
                dead = [p for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    raise BenchError(f"a training process died (exit code {dead[0].exitcode}; "
                                     "out of memory?)") from None
                continue
            if error is not None:
                raise BenchError(f"training process {index} failed:\n{error}")
            windows[index] = timed
    finally:
        barrier.abort()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join()
    return [windows[i] for i in range(k)]


def measure_throughput(run: RunData, spec: dict, settings: Settings, workdir: Path, log) -> list[dict]:
    model, batch = spec["model"], spec["batch_size"]
    steps = settings.steps.get(model)
    n_train = len(run.train.y)
    # The timed steps run as whole passes (epochs) over a pool of the run's training segments:
    # the pool is at most the training set, as a real run keeps on the device.
    passes = math.ceil(steps / max(1, n_train // batch))
    pool_steps = math.ceil(steps / passes)
    pool_rng = np.random.default_rng(settings.seed)
    index = np.resize(pool_rng.permutation(n_train), pool_steps * batch)
    x_path, y_path = workdir / f"{model}_X.npy", workdir / f"{model}_y.npy"
    np.save(x_path, run.train.X[index])
    np.save(y_path, run.train.y[index])
    samples = passes * pool_steps * batch
    gflop = gflop_per_sample(spec)
    rows = []
    for k in settings.concurrent:
        job = {"spec": spec, "device": str(settings.device), "seed": settings.seed, "x_path": str(x_path),
               "y_path": str(y_path), "pool_steps": pool_steps, "passes": passes,
               "warmup_steps": settings.warmup_steps, "repeats": settings.repeats, "amp": settings.amp,
               "compile": settings.compile,
               # CPU processes split the cores, as ser.sweep's CPU workers do; GPU processes keep torch's default
               "threads": threads_per_process(k) if settings.device.type == "cpu" else 0}
        windows = run_concurrent(job, k)
        aggregate, per_seed = [], []
        for r in range(settings.repeats):
            starts, ends = [w[r][0] for w in windows], [w[r][1] for w in windows]
            aggregate.append(k * samples / (max(ends) - min(starts)))
            per_seed.append(statistics.mean(samples / (e - s) for s, e in zip(starts, ends)))
        log(f"throughput {model} K={k}: {statistics.median(aggregate):,.1f} samples/s in all, "
            f"{statistics.median(per_seed):,.1f} per seed")
        rows.append({"model": model, "recipe_flags": " ".join(recipe_flags(model)), "batch_size": batch,
                     "optimizer": spec["optimizer"], "alpha": spec["alpha"], "feature_shape": list(spec["shape"]),
                     "train_segments": n_train, "concurrent": k, "threads_per_process": job["threads"] or None,
                     "steps_per_process": passes * pool_steps, "samples_per_process": samples,
                     "gflop_per_sample": gflop, "aggregate_samples_per_s": stat(aggregate),
                     "per_seed_samples_per_s": stat(per_seed),
                     "aggregate_tflop_per_s": statistics.median(aggregate) * gflop / 1e3})
    x_path.unlink()
    y_path.unlink()
    return rows


# ---------------------------------------------------------------------------------------
# (c) evaluation per epoch

def first_segments(test: TestUtterances, cap: int | None) -> TestUtterances:
    """The first utterances holding at most ``cap`` segments (at least one utterance)."""
    if cap is None or cap >= len(test.X):
        return test
    ends = np.cumsum(np.bincount(test.owner, minlength=len(test.y)))
    utterances = max(1, int(np.searchsorted(ends, cap, side="right")))
    segments = int(ends[utterances - 1])
    return TestUtterances(X=test.X[:segments], owner=test.owner[:segments], y=test.y[:utterances],
                          names=test.names[:utterances])


def measure_evaluation(run: RunData, spec: dict, settings: Settings, log) -> dict:
    seed_everything(settings.seed)
    model = build(spec).to(settings.device)
    scorer = torch.compile(model) if settings.compile else model
    scored = first_segments(run.test, settings.eval_segments.get(spec["model"]))
    # Warm-up: one utterance eager; compiled, the whole set (its last, shorter batch compiles too).
    evaluate(scorer, scored if settings.compile else first_segments(scored, 1), settings.device, settings.amp)
    measured = []
    for _ in range(settings.repeats):
        started = time.perf_counter()
        evaluate(scorer, scored, settings.device, settings.amp)  # ends with .cpu(): synchronised
        measured.append(time.perf_counter() - started)
    scale = len(run.test.X) / len(scored.X)
    log(f"evaluation {spec['model']}: {statistics.median(measured) * scale:.2f} s per epoch")
    return {"model": spec["model"], "test_utterances": len(run.test.y), "test_segments": len(run.test.X),
            "scored_utterances": len(scored.y), "scored_segments": len(scored.X), "scaled": scale != 1,
            "measured_s": stat(measured), "seconds_per_epoch": stat([t * scale for t in measured])}


# ---------------------------------------------------------------------------------------
# (d) the faithful 50-epoch GLAM run

def full_run_command(settings: Settings, run_dir: Path) -> list[str]:
    """train.py with every paper default; only where things are, the epochs and the speed flags differ."""
    command = [sys.executable, str(ROOT / "train.py"), "--data", str(settings.corpus.resolve()),
               "--cache_dir", str(settings.cache_dir.resolve()), "-d", str(run_dir), "--seed", str(settings.seed),
               "-e", str(settings.full_run_epochs), "-g", gpu_flag(settings.device), "--quiet", "--force"]
    return command + ["--amp"] * settings.amp + ["--compile"] * settings.compile


def fifty_epochs(wall_s: float, training_s: float, epochs: int) -> float:
    """A run of ``epochs`` epochs taking ``wall_s`` in all and ``training_s`` in its epochs,
    lengthened to the paper's 50 epochs at its mean time per epoch."""
    return wall_s + (PAPER_EPOCHS - epochs) * training_s / epochs


def measure_full_run(settings: Settings, workdir: Path, glam: dict | None, log) -> dict:
    """Run train.py, or estimate from GLAM's measurements (``glam``: its throughput and evaluation rows)."""
    epochs = settings.full_run_epochs
    if epochs == 0:
        single = next(r for r in glam["throughput"] if r["concurrent"] == 1)
        epoch_s = (single["train_segments"] / single["per_seed_samples_per_s"]["median"]
                   + glam["evaluation"]["seconds_per_epoch"]["median"])
        log(f"full run: estimated {PAPER_EPOCHS * epoch_s:.0f} s (no run)")
        return {"mode": "estimated", "epochs_run": 0,
                "how": (f"not run: {PAPER_EPOCHS} × (training segments / single-seed GLAM throughput + "
                        "evaluation time per epoch); leaves out start-up and loading the cached features"),
                "epoch_s": epoch_s, "runs": [], "wall_s": {"median": PAPER_EPOCHS * epoch_s, "repeats": []}}
    load_run_data("GLAM", settings)  # features cached before the clock starts, whatever --models held
    walls, runs = [], []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    for repeat in range(settings.repeats):
        run_dir = workdir / "full_run" / str(repeat) / "GLAM" / str(settings.seed)
        command = full_run_command(settings, run_dir)
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if completed.returncode != 0:
            raise BenchError(f"the full GLAM run failed ({shlex.join(command)}):\n{completed.stderr[-3000:]}")
        summary = json.loads((run_dir / "results.json").read_text())
        timing = summary["timing"]
        walls.append(fifty_epochs(wall, timing["training_s"], epochs))
        runs.append({"wall_s": wall, "features_and_split_s": timing["features_and_split_s"],
                     "training_s": timing["training_s"], "epochs": len(summary["epochs"]),
                     "train_segments": summary["split"]["train_segments"]})
        log(f"full run {repeat + 1}/{settings.repeats}: {wall:.1f} s for {epochs} epochs")
    mode = "measured" if epochs == PAPER_EPOCHS else "extrapolated"
    ran = f"train.py run for {epochs} epoch{'s' * (epochs > 1)}, timed from start to exit"
    how = ran if mode == "measured" else (f"{ran}, plus {PAPER_EPOCHS - epochs} × its mean time per epoch "
                                          "(training + evaluation + per-epoch files)")
    return {"mode": mode, "epochs_run": epochs, "how": how, "runs": runs, "wall_s": stat(walls),
            "command": shlex.join(full_run_command(settings, Path("DIR")))}


# ---------------------------------------------------------------------------------------
# Report

def fmt(x: float, digits: int = 3) -> str:
    """A few significant figures with thousands separators: 12,345 / 123 / 1.23 / 0.0123."""
    if x >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:.{max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))}f}" if x else "0"


def num(x: float) -> str:
    """A target or reference number as the issue writes it: 100,000 / 20 / 1.1."""
    return f"{x:,.0f}" if x == int(x) else f"{x:,}"


def repeats_text(s: dict) -> str:
    return ", ".join(fmt(v) for v in s["repeats"])


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def verdict(value: float, target: float, higher_is_better: bool) -> str:
    return "met" if (value >= target if higher_is_better else value <= target) else "missed"


def summary_rows(report: dict) -> list[list[str]]:
    """The issue's targets and the original's numbers beside this run's."""
    rows = []
    features = report.get("features")
    if features:
        cold = features["cold_s"]["median"]
        rows.append([f"feature preparation, whole corpus ({features['utterances']:,} turns), cold", f"{fmt(cold)} s",
                     f"≤ {num(TARGETS['features_s'])} s", verdict(cold, TARGETS["features_s"], False),
                     f"{num(REFERENCE['features_per_seed_s'])} s per seed (impro subset, recomputed by every run)"])
    glam = [r for r in report.get("throughput", []) if r["model"] == "GLAM"]
    if glam:
        best = max(glam, key=lambda r: r["aggregate_samples_per_s"]["median"])
        value = best["aggregate_samples_per_s"]["median"]
        target = TARGETS["aggregate_samples_per_s"]
        rows.append([f"GLAM training, {best['concurrent']} concurrent seed(s), all together", f"{fmt(value)} samples/s",
                     f"≥ {num(target)} samples/s", verdict(value, target, True),
                     f"{num(REFERENCE['samples_per_s'])} samples/s (one seed)"])
        rows += [["GLAM training, one seed", f"{fmt(r['per_seed_samples_per_s']['median'])} samples/s", "–", "–",
                  f"{num(REFERENCE['samples_per_s'])} samples/s"] for r in glam if r["concurrent"] == 1]
        rows.append(["GLAM FLOPs per training sample (forward + backward)", f"{fmt(glam[0]['gflop_per_sample'])} GFLOP",
                     "–", "–", f"≈ {num(REFERENCE['gflop_per_glam_sample'])} GFLOP"])
    full = report.get("full_run")
    if full:
        value = full["wall_s"]["median"]
        rows.append([f"GLAM faithful {PAPER_EPOCHS}-epoch run, features cached (**{full['mode']}**)", f"{fmt(value)} s",
                     f"≤ {num(TARGETS['full_run_s'])} s", verdict(value, TARGETS["full_run_s"], False),
                     f"≈ {num(REFERENCE['epoch_s'] * PAPER_EPOCHS)} s ({num(REFERENCE['epoch_s'])} s/epoch) "
                     f"+ {num(REFERENCE['features_per_seed_s'])} s features"])
    return rows


def header_lines(report: dict) -> list[str]:
    env, s, corpus = report["environment"], report["settings"], report["corpus"]
    on_off = {True: "on", False: "off"}
    versions = f"torch {env['torch']}" + (f", CUDA {env['cuda']}, cuDNN {env['cudnn']}" if "cuda" in env else "")
    load = f"{', '.join(f'{x:.1f}' for x in env['load_average_at_start'])} at the start"
    if "load_average_at_end" in env:
        load += f", {', '.join(f'{x:.1f}' for x in env['load_average_at_end'])} at the end"
    source = (f"synthetic, scale {corpus['scale']:g}, {corpus['turns']:,} labelled turns" if corpus["synthetic"]
              else "real")
    return [f"- command: `{report['command']}`",
            f"- date: {report['started']}; total wall time {fmt(report.get('wall_s', 0.0))} s"
            + ("" if report.get("complete") else " (**incomplete**: the run stopped before the end)"),
            f"- device: {env['device']} ({env['device_name']}); CPU: {env['cpu_name']}, {env['cpu_count']} usable "
            f"cores; {versions}, {env['torch_threads']} torch threads; Python {env['python']}; ser {env['ser']}",
            f"- load average (1, 5, 15 min): {load}"
            + (f"; peak memory of the benchmark process {env['peak_rss_gib']:.1f} GiB" if "peak_rss_gib" in env
               else ""),
            f"- corpus: {corpus['root']} ({source})",
            f"- settings: repeats {s['repeats']} (features {s['feature_repeats']}; median shown), steps {s['steps']}, "
            f"warm-up steps {s['warmup_steps']}, concurrent {' '.join(map(str, s['concurrent']))}, evaluation "
            f"segments {s['eval_segments']}, full-run epochs {s['full_run_epochs']}, amp {on_off[s['amp']]}, "
            f"compile {on_off[s['compile']]}, seed {s['seed']}" + (", **--quick**" if s["quick"] else "")]


def scored_text(row: dict) -> str:
    if not row["scaled"]:
        return "all"
    return f"first {row['scored_segments']:,} segments, time × {fmt(row['test_segments'] / row['scored_segments'])}"


def markdown(report: dict) -> str:
    lines = [f"# ser.bench: {report['environment']['device_name']}", "", *header_lines(report),
             "", "## Against the targets", "",
             *table(["measurement", "this run", "target (one H100)", "vs target", "original code (one H100)"],
                    summary_rows(report))]
    features = report.get("features")
    if features:
        f = features["feature_settings"]
        lines += ["", "## (a) Feature preparation", "",
                  f"{features['what']}: {features['utterances']:,} turns ({fmt(features['audio_hours'])} h of audio, "
                  f"{features['used']:,} usable) into {features['segments']:,} segments of {f['n_mfcc']} MFCC × "
                  f"{f['segment_length']} s; {features['workers']} worker processes.", "",
                  *table(["cache", "median s", "repeats (s)", "turns/s"],
                         [[name, fmt(features[key]["median"]), repeats_text(features[key]),
                           fmt(features["utterances"] / features[key]["median"])]
                          for key, name in (("cold_s", "cold (fresh folder)"), ("warm_s", "warm (read back)"))])]
    if report.get("throughput"):
        lines += ["", "## (b) Training throughput", "",
                  "ser.engine.train_one_epoch at each recipe's settings; K processes on one device, one seed each.", "",
                  *table(["model", "batch", "features", "K", "steps per process", "samples/s, all K (median)",
                          "samples/s per seed", "repeats, all K", "GFLOP per sample", "TFLOP/s, all K"],
                         [[r["model"], str(r["batch_size"]), "×".join(map(str, r["feature_shape"])),
                           str(r["concurrent"]), str(r["steps_per_process"]),
                           fmt(r["aggregate_samples_per_s"]["median"]), fmt(r["per_seed_samples_per_s"]["median"]),
                           repeats_text(r["aggregate_samples_per_s"]), fmt(r["gflop_per_sample"]),
                           fmt(r["aggregate_tflop_per_s"])] for r in report["throughput"]])]
    if report.get("evaluation"):
        lines += ["", "## (c) Evaluation per epoch", "",
                  "ser.engine.evaluate on the run's test utterances (segment logits averaged per utterance).", "",
                  *table(["model", "test utterances", "test segments", "s per epoch (median)", "repeats (s)", "scored"],
                         [[r["model"], f"{r['test_utterances']:,}", f"{r['test_segments']:,}",
                           fmt(r["seconds_per_epoch"]["median"]), repeats_text(r["seconds_per_epoch"]), scored_text(r)]
                          for r in report["evaluation"]])]
    full = report.get("full_run")
    if full:
        lines += ["", f"## (d) Faithful {PAPER_EPOCHS}-epoch GLAM run", "", f"**{full['mode']}**: {full['how']}.", ""]
        if full["runs"]:
            runs = zip(full["runs"], full["wall_s"]["repeats"])
            ran = f"wall s ({full['epochs_run']} epoch{'s' * (full['epochs_run'] > 1)})"
            lines += [f"Command: `{full['command']}`", "",
                      *table(["repeat", ran, "start-up to split s", "epochs s",
                              f"{PAPER_EPOCHS}-epoch wall s"],
                             [[str(i), fmt(run["wall_s"]), fmt(run["features_and_split_s"]), fmt(run["training_s"]),
                               fmt(total)] for i, (run, total) in enumerate(runs, 1)])]
        else:
            lines.append(f"{fmt(full['epoch_s'])} s per epoch × {PAPER_EPOCHS} = {fmt(full['wall_s']['median'])} s.")
    return "\n".join(lines) + "\n"


def write_outputs(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "bench.json", report)
    write_text(out / "bench.md", markdown(report))


# ---------------------------------------------------------------------------------------

def ensure_corpus(settings: Settings, log) -> dict:
    root = settings.corpus
    if not root.exists():
        log(f"generating the synthetic corpus {root} (scale {settings.scale:g}) ...")
        synth.generate(root, scale=settings.scale, seed=0, progress=False)
    marker = synth.read_marker(root)
    if marker is None:
        return {"root": str(root), "synthetic": False, "scale": None}
    return {"root": str(root), "synthetic": True, "scale": float(marker["scale"]), "turns": int(marker["turns"]),
            "hours": float(marker["hours"]), "generator_seed": int(marker["seed"])}


def run_benchmark(settings: Settings, command: str, log) -> dict:
    started = time.perf_counter()
    report = {"benchmark": "ser.bench", "format": 1, "command": command,
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "complete": False,
              "environment": environment(settings.device), "settings": settings.as_dict(),
              "targets": {**TARGETS, "device": "one H100"}, "reference": {**REFERENCE, "device": "one H100"}}
    report["corpus"] = ensure_corpus(settings, log)

    def save() -> None:
        report["wall_s"] = time.perf_counter() - started
        write_outputs(report, settings.out)

    save()
    report["features"] = measure_features(settings, log)
    save()
    report["throughput"], report["evaluation"] = [], []
    glam = None
    with tempfile.TemporaryDirectory(prefix="work-", dir=settings.out) as work:
        for model in settings.models:
            run = load_run_data(model, settings)
            spec = model_spec(run)
            rows = measure_throughput(run, spec, settings, Path(work), log)
            report["throughput"] += rows
            save()
            report["evaluation"].append(measure_evaluation(run, spec, settings, log))
            save()
            if model == "GLAM":
                glam = {"throughput": rows, "evaluation": report["evaluation"][-1]}
            del run  # spectrogram runs hold gigabytes
        report["full_run"] = measure_full_run(settings, Path(work), glam, log)
    report["complete"] = True
    report["environment"]["load_average_at_end"] = os.getloadavg()
    # this process's peak: the largest run's features as train.py loads them (workers not included)
    report["environment"]["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    save()
    return report


def main(argv: list[str] | None = None) -> dict:
    try:
        settings = resolve_settings(argv)
    except BenchError as error:
        sys.exit(f"error: {error}")
    started = time.perf_counter()

    def log(text: str) -> None:
        if not settings.quiet:
            print(f"bench [{time.perf_counter() - started:6.1f} s]: {text}", file=sys.stderr, flush=True)

    command = shlex.join(["python", "-m", "ser.bench", *(sys.argv[1:] if argv is None else argv)])
    try:
        report = run_benchmark(settings, command, log)
    # a corpus or cache that cannot be used, or a folder ser.synth will not overwrite: one line
    except (BenchError, corpora.CorpusError, CacheError, FileExistsError) as error:
        sys.exit(f"error: {error}")
    print(markdown(report), end="")
    return report


if __name__ == "__main__":
    main()
