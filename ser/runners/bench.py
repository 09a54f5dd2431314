"""Side-by-side speed benchmark: the original code's way of running GLAM against this project's.

    python -m ser.runners.bench                           # scale-1 synthetic corpus, the GPU when there is one
    python -m ser.runners.bench --device cpu --scale 0.05 --epochs 1 --max-train-segments 512
    python -m ser.runners.bench --quick                   # a smoke run on the tiny corpus (seconds)

On one corpus (a synthetic IEMOCAP from ``ser.synthetic.synth`` unless ``--corpus`` names one), with
GLAM, the impro subset, the paper's split and one seed, it measures:

a. **original style**: our re-creation of how the original code runs, not its code: the
   features recomputed with librosa for every run, one utterance after the other; training
   through a ``torch.utils.data.DataLoader(shuffle=True)`` that hands out one item at a time,
   batch 32, GLAM's mixup; after every epoch one forward pass per test utterance.
b. **this project, one seed**: ``ser.training.engine.fit`` on features read back from the cache, each
   epoch scored in batches of segments (``ser.runs.data.prepare_run`` makes the split, as train.py).
c. **this project, K seeds at once**: ``ser.training.stacked.fit_seeds`` for each K of ``--seeds``
   (default 1 8 on the CPU, 1 8 32 64 on CUDA), seeds ``--seed`` to ``--seed`` + K - 1.
d. **features**: every selected utterance at the training and test overlaps: first as the
   original computes them (``librosa.feature.mfcc`` on one segment after the other, which
   rebuilds the mel filters on every call), then this project's librosa code one utterance
   after the other, then into a fresh cache folder: librosa (the worker pool of
   ``ser.features.cache``) and torch (``--feature_backend torch``) on the CPU, and torch on
   CUDA when the device is one; then the librosa entries read back (what b and c pay for
   their features).

a to c train ``--epochs`` epochs (scored after each), each row in a process of its own that
starts as a run starts; ``--max-train-segments`` cuts each
seed's training set to its first N segments and ``--max-utterances`` the corpus to its first
N selected utterances, to keep CPU runs short. Throughput is training samples per second of
the training passes and of the whole epochs (training and scoring); for K seeds it counts
every seed's samples. ``--repeats`` (default 5 on the CPU, 1 on CUDA) measures every row that
many times, the rows in turn (a, b, c, a, b, c, ...) so that a slow minute of a shared machine
falls on all of them; a row reports its medians, and its ratio to a is the median of the
repeats' ratios. Each row carries its ratio to a, the peak resident memory of this
process while it ran (sampled every 10 ms; worker processes not included) and, on CUDA, the
peak memory torch allocated. ``bench.json`` and ``bench.md`` are written atomically into
``--out`` after every stage, so an interrupted run keeps what it measured.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import shlex
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import librosa
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import models
import ser
from ser.errors import UserError
from ser.features import glam
from ser.features.audio import load_audio
from ser.features.cache import FeatureCache
from ser.features.glam import FeatureSettings
from ser.features.torch_backend import TorchFeatures
from ser.machine import usable_cpus
from ser.runners.bench_report import RUN_REPEATED, in_fresh_process, markdown, merge_repeats, write_outputs
from ser.runs.config import RunConfig, resolve_args
from ser.runs.data import CorpusData, load_corpus, prepare_run, scan_corpus, split_order
from ser.runs.request import data_request
from ser.synthetic import synth
from ser.training import engine, seed_runs, stacked
from ser.training.dataset import TrainSegments

MODEL = "GLAM"
BATCH_SIZE = 32   # GLAM's default
ALPHA = 0.5       # GLAM's mixup
DEFAULT_SEED = 987654  # train.py's default seed
# What --quick changes, unless given explicitly: a smoke run, not a measurement to quote.
QUICK = dict(scale=0.01, epochs=1, seeds=[1, 2], max_utterances=10, max_train_segments=32, repeats=1)
RSS_SAMPLE_S = 0.01
ROOT = Path(__file__).resolve().parents[2]


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


# ---------------------------------------------------------------------------------------
# Arguments

def get_args_parser() -> argparse.ArgumentParser:
    # Defaults are named in the help texts: several depend on the device or on --quick.
    parser = argparse.ArgumentParser(prog="python -m ser.runners.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=None, type=Path,
                        help="IEMOCAP_full_release folder; generated with ser.synthetic.synth when absent "
                             "(default data/bench/IEMOCAP_synthetic, or ..._scale<S> for another --scale)")
    parser.add_argument("--scale", default=None, type=float,
                        help="ser.synthetic.synth scale of a generated corpus (default 1)")
    parser.add_argument("--cache-dir", default=Path("data/bench/cache"), type=Path,
                        help="feature cache of b and c; d computes into fresh folders (default data/bench/cache)")
    parser.add_argument("--seed", default=DEFAULT_SEED, type=int, help=f"the run's seed (default {DEFAULT_SEED})")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default cuda when available)")
    parser.add_argument("--epochs", default=None, type=int, help="epochs of a, b and c (default 3)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, metavar="K",
                        help="seeds trained at once in c (default 1 8 on the CPU, 1 8 32 64 on CUDA)")
    parser.add_argument("--max-utterances", default=None, type=int, metavar="N",
                        help="use the corpus's first N selected utterances (default all)")
    parser.add_argument("--max-train-segments", default=None, type=int, metavar="N",
                        help="train each seed on its first N training segments (default all)")
    parser.add_argument("--repeats", default=None, type=int, metavar="R",
                        help="measure every row R times, the rows in turn, and report medians "
                             "(default 5 on the CPU, 1 on CUDA)")
    parser.add_argument("--out", default=Path("data/bench/results"), type=Path,
                        help="folder for bench.json and bench.md (default data/bench/results)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke configuration (explicit flags still win): scale 0.01, epochs 1, seeds 1 2, "
                             "10 utterances, 32 training segments, 1 repeat")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


@dataclass(frozen=True)
class Settings:
    corpus: Path
    scale: float
    cache_dir: Path
    seed: int
    device: torch.device
    epochs: int
    seeds: list[int]
    max_utterances: int | None
    max_train_segments: int | None
    repeats: int
    out: Path
    quick: bool
    quiet: bool

    def as_dict(self) -> dict:
        return {"corpus": str(self.corpus), "scale": self.scale, "cache_dir": str(self.cache_dir),
                "seed": self.seed, "device": str(self.device), "epochs": self.epochs, "seeds": self.seeds,
                "max_utterances": self.max_utterances, "max_train_segments": self.max_train_segments,
                "repeats": self.repeats, "model": MODEL, "batch_size": BATCH_SIZE, "quick": self.quick}


def resolve_settings(argv: list[str] | None) -> Settings:
    """Explicit flags win over ``--quick``, which wins over the device's defaults."""
    args = get_args_parser().parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BenchError(f"--device {args.device}: no CUDA device here; use --device cpu")
    defaults = dict(scale=1.0, epochs=3, seeds=[1, 8, 32, 64] if device.type == "cuda" else [1, 8],
                    max_utterances=None, max_train_segments=None, repeats=1 if device.type == "cuda" else 5)
    if args.quick:
        defaults.update(QUICK)
    value = {key: getattr(args, key) if getattr(args, key) is not None else default
             for key, default in defaults.items()}
    for name in ("epochs", "max_utterances", "max_train_segments", "repeats"):
        if value[name] is not None and value[name] < 1:
            raise BenchError(f"--{name.replace('_', '-')} must be at least 1, not {value[name]}")
    if min(value["seeds"]) < 1:
        raise BenchError(f"--seeds: every K must be at least 1, not {min(value['seeds'])}")
    corpus = args.corpus or Path("data/bench/IEMOCAP_synthetic" + ("" if value["scale"] == 1 else
                                                                     f"_scale{value['scale']:g}"))
    return Settings(corpus=corpus, scale=value["scale"], cache_dir=args.cache_dir, seed=args.seed, device=device,
                    epochs=value["epochs"], seeds=sorted(set(value["seeds"])), max_utterances=value["max_utterances"],
                    max_train_segments=value["max_train_segments"], repeats=value["repeats"], out=args.out,
                    quick=args.quick,
                    quiet=args.quiet)


# ---------------------------------------------------------------------------------------
# Measuring

def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak so far."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Meter:
    """Wall time, peak resident memory (sampled by a thread) and the peak CUDA allocation of a block."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds = 0.0
        self.peak_rss = 0
        self.cuda_peak: int | None = None
        self._done = threading.Event()

    def _sample(self) -> None:
        while not self._done.wait(RSS_SAMPLE_S):
            self.peak_rss = max(self.peak_rss, resident_bytes())

    def __enter__(self) -> Meter:
        if self.device.type == "cuda":
            synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        self.peak_rss = resident_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        synchronize(self.device)
        self.seconds = time.perf_counter() - self._started
        self._done.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, resident_bytes())
        if self.device.type == "cuda":
            self.cuda_peak = torch.cuda.max_memory_allocated(self.device)

    def as_dict(self) -> dict:
        return {"seconds": self.seconds, "peak_rss_mib": self.peak_rss / 2**20,
                "cuda_peak_mib": None if self.cuda_peak is None else self.cuda_peak / 2**20}


# ---------------------------------------------------------------------------------------
# The workload: one corpus, its run configuration, its features

@dataclass
class Workload:
    config: RunConfig
    corpus: CorpusData       # the usable utterances with their (cached, librosa) features
    wavs: list[Path]         # every selected utterance's wav, usable or not
    names: list[str]
    num_classes: int


def gpu_flag(device: torch.device) -> str:
    """train.py's ``-g`` for this device."""
    return str(device.index or 0) if device.type == "cuda" else "-1"


def load_workload(settings: Settings) -> Workload:
    """train.py's configuration of a default GLAM run on the corpus, and its features (computed
    into ``--cache-dir`` the first time, untimed)."""
    config = resolve_args(["-m", MODEL, "--data", str(settings.corpus), "--cache_dir", str(settings.cache_dir),
                           "--seed", str(settings.seed), "-g", gpu_flag(settings.device), "--quiet",
                           "--feature_backend", "librosa"])
    scanned = scan_corpus(data_request(config))
    if settings.max_utterances is not None:
        scanned = dataclasses.replace(scanned, chosen=scanned.chosen[:settings.max_utterances])
    corpus = load_corpus(data_request(config), lambda *_: None, scanned)
    return Workload(config, corpus, [scanned.root / u.path for u in scanned.chosen],
                    [u.path for u in scanned.chosen], len(config.class_names))


def cut(train: TrainSegments, settings: Settings) -> TrainSegments:
    n = settings.max_train_segments
    return train if n is None else TrainSegments(X=train.X[:n], y=train.y[:n])


# ---------------------------------------------------------------------------------------
# (d) features

def original_features(settings: FeatureSettings) -> Callable[[np.ndarray, float], np.ndarray]:
    """The original's feature computation of one utterance: its segments, then
    ``librosa.feature.mfcc`` along the segment axis, which builds the mel filters anew on every
    segment (this project builds them once, with the same bits: ``ser.features.glam``)."""
    if settings.kind != "mfcc":
        raise BenchError(f"the original style's features are measured for mfcc, not {settings.kind}")

    def compute(wav: np.ndarray, overlap: float) -> np.ndarray:
        segments = glam.segment(wav, settings.sample_rate, settings.segment_length, overlap, settings.padding)
        if not len(segments):
            return segments
        return np.apply_along_axis(lambda x: librosa.feature.mfcc(y=x, sr=settings.sample_rate,
                                                                  n_mfcc=settings.n_mfcc), 1, segments)
    return compute


def measure_features(work: Workload, settings: Settings, log) -> list[dict]:
    config = work.config
    settings_librosa = config.feature_settings()
    overlaps = tuple(dict.fromkeys((config.train_overlap, config.test_overlap)))

    def one_after_the_other(compute) -> Callable[[], int]:
        """Each wav read and its features computed, one after the other, as the original does."""
        def run() -> int:
            segments = 0
            for path in work.wavs:
                try:
                    samples = load_audio(path, settings_librosa.sample_rate).samples
                except Exception:  # left out, as the cache leaves it out
                    continue
                segments += len(compute(samples, overlaps[0]))
                for overlap in overlaps[1:]:
                    compute(samples, overlap)
            return segments
        return run

    def through_cache(cached, folder: Path | None = None) -> Callable[[], int]:
        """Computed into a fresh cache folder, or read back from ``folder``."""
        def load(into: Path) -> int:
            feats, _ = FeatureCache(into).load(work.wavs, cached, overlaps, progress=False, names=work.names)
            return sum(len(f) for f in feats[overlaps[0]] if f is not None)

        def run() -> int:
            if folder is not None:
                return load(folder)
            with tempfile.TemporaryDirectory(prefix="cold-", dir=settings.cache_dir) as fresh:
                return load(Path(fresh))
        return run

    original = original_features(settings_librosa)
    candidates = [("a. librosa.feature.mfcc per segment, one utterance after the other (the original's calls)",
                   "librosa", "cpu", original, one_after_the_other(original)),
                  ("this project's librosa code, one utterance after the other", "librosa", "cpu",
                   settings_librosa.compute, one_after_the_other(settings_librosa.compute)),
                  ("librosa through the cache, its worker pool", "librosa", "cpu", settings_librosa.compute,
                   through_cache(settings_librosa))]
    torch_devices = ["cpu"] + ([settings.device] if settings.device.type == "cuda" else [])
    for device in torch_devices:
        cached = TorchFeatures.for_device(settings_librosa, device)
        candidates.append(("torch through the cache, batched", "torch", str(device), cached.compute,
                           through_cache(cached)))
    candidates.append(("librosa entries read back from the cache (b, c)", "librosa", "cpu", None,
                       through_cache(settings_librosa, settings.cache_dir)))
    # Outside the timings: the first call of each computation compiles librosa's numba kernels,
    # builds the filter banks and plans the FFTs, seconds that no later utterance pays.
    warm_up = load_audio(work.wavs[0], settings_librosa.sample_rate).samples
    for *_, compute, _ in candidates:
        if compute is not None:
            compute(warm_up, overlaps[0])
    synchronize(settings.device)
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    measured: list[list[dict]] = [[] for _ in candidates]
    for _ in range(settings.repeats):
        for rows, (name, backend, device, _, run) in zip(measured, candidates):
            with Meter(torch.device(device)) as meter:
                segments = run()
            log(f"features, {name}: {meter.seconds:.2f} s")
            rows.append({"name": name, "backend": backend, "device": device, "utterances": len(work.wavs),
                         "segments": segments, **meter.as_dict()})
    return [merge_repeats(rows, ("seconds",)) for rows in measured]


# ---------------------------------------------------------------------------------------
# (a), (b), (c): training and scoring

def run_row(name: str, seeds: int, samples_per_epoch: int, epochs: int, train_s: float, meter: Meter,
            features_s: float, scored: int) -> dict:
    trained = samples_per_epoch * epochs
    return {"name": name, "seeds": seeds, "epochs": epochs, "train_samples_per_epoch": samples_per_epoch,
            "test_utterances_per_seed": scored, "features_s": features_s, "train_s": train_s,
            "scoring_s_per_epoch": (meter.seconds - train_s) / epochs,
            "train_samples_per_s": trained / train_s, "epoch_samples_per_s": trained / meter.seconds,
            **meter.as_dict()}


def original_style(work: Workload, settings: Settings, features_s: float) -> dict:
    """Our re-creation of the original's loop (see the module doc), on the split of b."""
    device, epochs = settings.device, settings.epochs
    rng = engine.seed_everything(settings.seed)
    data = prepare_run(data_request(work.config), work.corpus, rng, lambda *_: None)
    train = cut(data.train, settings)
    model = models.create_model(MODEL, shape=work.corpus.shape, num_classes=work.num_classes).to(device)
    optimizer = engine.make_optimizer("adam", model.parameters(), 1e-3)
    scheduler = engine.make_scheduler("exp", optimizer)
    loss_of = engine.mixup_loss(nn.CrossEntropyLoss(), ALPHA, rng)
    loader = DataLoader(TensorDataset(torch.from_numpy(train.X), torch.from_numpy(train.y)), batch_size=BATCH_SIZE,
                        shuffle=True)
    counts = np.bincount(data.test.owner, minlength=len(data.test.y))
    utterances = np.split(data.test.X, np.cumsum(counts)[:-1])  # the original keeps one array per utterance
    train_s = 0.0
    with Meter(device) as meter:
        for _ in range(epochs):
            started = time.perf_counter()
            model.train()
            for x, y in loader:
                loss = loss_of(model, x.unsqueeze(1).to(device), y.to(device), None)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                loss.item()  # the original logs every batch's loss
            scheduler.step()
            synchronize(device)
            train_s += time.perf_counter() - started
            model.eval()
            with torch.no_grad():
                for segments in utterances:
                    model(torch.from_numpy(segments).unsqueeze(1).to(device)).mean(dim=0).argmax().item()
    return run_row("a. original style: librosa every run, DataLoader per item, one forward per test utterance",
                   1, len(train.y), epochs, train_s, meter, features_s, len(data.test.y))


def single_seed(work: Workload, settings: Settings, features_s: float) -> dict:
    rng = engine.seed_everything(settings.seed)
    data = prepare_run(data_request(work.config), work.corpus, rng, lambda *_: None)
    train = cut(data.train, settings)
    model = models.create_model(MODEL, shape=work.corpus.shape, num_classes=work.num_classes).to(settings.device)
    options = dataclasses.replace(work.config.fit_options(), epochs=settings.epochs)
    with Meter(settings.device) as meter:
        result = engine.fit(model, train, data.test, settings.device, options,
                            engine.mixup_loss(nn.CrossEntropyLoss(), ALPHA, rng), rng)
    train_s = sum(record.seconds for record in result.history)
    return run_row("b. this project, one seed: ser.training.engine.fit, cached features, batched scoring", 1,
                   len(train.y), settings.epochs, train_s, meter, features_s, len(data.test.y))


def multi_seed(work: Workload, settings: Settings, k: int, features_s: float) -> dict:
    corpus, config = work.corpus, work.config
    train_pool = seed_runs.SegmentPool.from_utterances(corpus.train_feats, corpus.labels, corpus.shape)
    eval_pool = seed_runs.SegmentPool.from_utterances(corpus.test_feats, corpus.labels, corpus.shape)
    runs = []
    for seed in range(settings.seed, settings.seed + k):
        rng = engine.seed_everything(seed)  # the split draws from it first, as in the seed's solo run
        split, order, _ = split_order(data_request(dataclasses.replace(config, seed=seed)), corpus, rng)
        rows = train_pool.train_rows(order)[:settings.max_train_segments]
        runs.append(seed_runs.SeedRun(seed, rng, rows, eval_pool.scored(split.test)))
    options = seed_runs.MultiSeedOptions(**dataclasses.asdict(dataclasses.replace(
        config.fit_options(), epochs=settings.epochs)), alpha=ALPHA)
    with Meter(settings.device) as meter:
        results = stacked.fit_seeds(MODEL, corpus.shape, work.num_classes, runs, train_pool, eval_pool,
                                      settings.device, options)
    train_s = sum(record.seconds for record in results[0].history)  # the lockstep epochs, shared by the seeds
    return run_row(f"c. this project, {k} seed{'s' * (k > 1)} at once: ser.training.stacked.fit_seeds", k,
                   sum(len(run.train) for run in runs), settings.epochs, train_s, meter, features_s,
                   round(float(np.mean([len(run.test.y) for run in runs]))))


def training_row(path: str, seeds: int, settings: Settings, features_s: float) -> dict:
    """Row a, b or c (with ``seeds`` seeds) measured in this process."""
    work = load_workload(settings)
    if path == "a":
        return original_style(work, settings, features_s)
    if path == "b":
        return single_seed(work, settings, features_s)
    return multi_seed(work, settings, seeds, features_s)


# ---------------------------------------------------------------------------------------
# Report

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
                   gpu_memory_gib=round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1))
    return env


def ensure_corpus(settings: Settings, log) -> dict:
    root = settings.corpus
    if not root.exists():
        log(f"generating the synthetic corpus {root} (scale {settings.scale:g}) ...")
        synth.generate(root, scale=settings.scale, seed=0, progress=False)
    marker = synth.read_marker(root)
    if marker is None:
        return {"root": str(root), "synthetic": False, "scale": None}
    return {"root": str(root), "synthetic": True, "scale": float(marker["scale"]), "turns": int(marker["turns"])}


def run_benchmark(settings: Settings, command: str, log) -> dict:
    started = time.perf_counter()
    report = {"benchmark": "ser.bench", "format": 2, "command": command,
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "complete": False,
              "environment": environment(settings.device), "settings": settings.as_dict(),
              "corpus": ensure_corpus(settings, log)}

    def save() -> None:
        report["wall_s"] = time.perf_counter() - started
        write_outputs(report, settings.out)

    work = load_workload(settings)
    rng = engine.seed_everything(settings.seed)
    data = prepare_run(data_request(work.config), work.corpus, rng, lambda *_: None)
    report["workload"] = {"utterances": len(work.wavs), "usable": len(work.corpus.utterances),
                          "train_segments": len(cut(data.train, settings).y), "test_utterances": len(data.test.y)}
    save()
    report["features"] = measure_features(work, settings, log)
    save()
    recomputed, cached = report["features"][0]["seconds"], report["features"][-1]["seconds"]
    paths = [("a", 0, recomputed), ("b", 1, cached), *(("c", k, cached) for k in settings.seeds)]
    measured: list[list[dict]] = [[] for _ in paths]
    for repeat in range(settings.repeats):
        for rows, (path, seeds, features_s) in zip(measured, paths):
            # this project's training loop tunes the allocator (ser.machine.keep_freed_memory), the
            # original style's runs with it as a process starts it
            rows.append(in_fresh_process(training_row, path, seeds, settings, features_s))
            label = f"c, K={seeds}" if path == "c" else path
            log(f"{label}: {rows[-1]['train_samples_per_s']:.1f} training samples/s (repeat {repeat + 1})")
            report["runs"] = [merge_repeats(rows, RUN_REPEATED) for rows in measured if rows]
            save()
    report["complete"] = True
    report["environment"]["load_average_at_end"] = os.getloadavg()
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

    command = shlex.join(["python", "-m", "ser.runners.bench", *(sys.argv[1:] if argv is None else argv)])
    try:
        report = run_benchmark(settings, command, log)
    # a corpus or cache that cannot be used, or a folder ser.synthetic.synth will not overwrite: one line
    except (BenchError, UserError, FileExistsError) as error:
        sys.exit(f"error: {error}")
    print(markdown(report), end="")
    return report


if __name__ == "__main__":
    main()
