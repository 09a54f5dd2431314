"""Extraction throughput of a self-supervised upstream: EmoBox's and Nkululeko's loops against
``ser.features.upstream``.

    python -m ser.runners.upstream_bench                          # random wav2vec 2.0 base, 50 utterances, one thread
    python -m ser.runners.upstream_bench --upstream DIR --utterances 200 --threads 2 --out bench_upstream

The workload is ``--utterances`` synthetic recordings of 2 to 10 s (uniform, seeded) in
memory, so audio decoding, resampling and writing the features are left out of every row.
The upstream is a Hugging Face folder (``--upstream``), or a base-size model with random
weights built from transformers' default config of ``--family`` (D = 768, 12 layers: random
weights cost what trained ones cost). Rows, each in a fresh process (so its peak memory is its
own) after the model is loaded and one warm-up utterance has run:

- **emobox**: EmoBox's ``speech_feature_extraction.py`` (its transformers path): per utterance,
  the feature extractor on a torch tensor, then ``model(**inputs)`` outside ``torch.no_grad``
  (as there), the last hidden state layer-normed over the utterance (its README's
  ``--output_norm``), copied to numpy.
- **nkululeko**: Nkululeko's ``feats_wav2vec2.py``: per utterance under ``torch.no_grad``, the
  feature extractor on numpy, the model, the last hidden state's mean over frames.
- **ours, pooled**: ``Upstream.pooled``: every hidden state's mean (ssl_linear's input).
- **ours, frames**: ``Upstream.frames`` of the last layer, float16 (ssl_mlp's input).
- **ours, frames of layer L/2**: the same for the middle layer, which runs half the layers.

Each row reports utterances per second, the real-time factor (seconds of compute per second of
audio), the process's peak resident memory (model and libraries included) and the largest
difference of its last-layer means from the pooled row's (a check that all compute the same).
``--rounds N`` runs the rows in turn N times (forwards, then backwards) and keeps each one's
fastest round, so the changing load of a shared machine falls on all of them alike.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ser import io
from ser.features.upstream import SAMPLE_RATE, load_upstream, transformers_offline
from ser.machine import usable_cpus
from ser.runners.bench_report import in_fresh_process
from ser.synthetic.synth_upstream import save_random_upstream

METHODS = {
    "emobox": "EmoBox's loop: feature extractor, model(**inputs) without no_grad, last layer, --output_norm",
    "nkululeko": "Nkululeko's loop: feature extractor, no_grad, last layer's mean over frames",
    "ours_pooled": "ser.features.upstream pooled: every hidden state's mean (L + 1, D) float32",
    "ours_frames": "ser.features.upstream frames of the last layer (T, D) float16",
    "ours_frames_mid": "ser.features.upstream frames of the middle layer (T, D) float16: half the layers run",
}


@dataclass
class ExtractionRow:
    method: str
    description: str
    utterances: int
    audio_seconds: float
    seconds: float
    utterances_per_s: float
    real_time_factor: float
    peak_rss_mib: float
    load_seconds: float
    max_diff_vs_pooled: float | None = None


def synthetic_utterances(count: int = 50, shortest: float = 2.0, longest: float = 10.0,
                         seed: int = 0) -> list[np.ndarray]:
    """``count`` float32 recordings of uniform random length, a 16 kHz speech-band noise."""
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(shortest, longest, count)
    return [(0.1 * rng.standard_normal(int(s * SAMPLE_RATE))).astype(np.float32) for s in lengths]


def _loop(method: str, folder: Path):
    """A function running ``method`` over a list of utterances; it returns each one's last-layer
    mean over frames where the method computes it unnormalised (for the check), else None."""
    if method.startswith("ours"):
        ups = load_upstream(folder)
        last = ups.identity.num_layers
        if method == "ours_pooled":
            return lambda wavs: [p[-1] for p in ups.pooled(wavs)]
        if method == "ours_frames":
            return lambda wavs: [f.astype(np.float32).mean(0) for f in ups.frames(wavs, last)]
        return lambda wavs: ups.frames(wavs, last // 2) and None
    with transformers_offline():
        import transformers
        extractor = transformers.AutoFeatureExtractor.from_pretrained(folder, local_files_only=True)
        model = transformers.AutoModel.from_pretrained(folder, local_files_only=True).eval()

    def emobox(wav: np.ndarray) -> np.ndarray:
        inputs = extractor(torch.from_numpy(wav), sampling_rate=SAMPLE_RATE, return_tensors="pt")
        out = model(**inputs, output_hidden_states=False).last_hidden_state
        out = torch.nn.functional.layer_norm(out, out.shape[1:])
        return out.data.cpu().numpy()[0]

    def nkululeko(wav: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            y = extractor(wav, sampling_rate=SAMPLE_RATE)["input_values"][0]
            y = model(torch.from_numpy(y.reshape(1, -1)))[0]
            return torch.mean(y, dim=1).detach().cpu().numpy().ravel()

    if method == "emobox":
        return lambda wavs: [emobox(w) for w in wavs] and None
    return lambda wavs: [nkululeko(w) for w in wavs]


def measure(method: str, folder: str | os.PathLike, wavs: list[np.ndarray], threads: int = 1) -> dict:
    """One row's numbers in this process: load, one warm-up utterance, then every utterance."""
    torch.set_num_threads(threads)
    started = time.perf_counter()
    run = _loop(method, Path(folder))
    loaded = time.perf_counter()
    run(wavs[:1])
    started_loop = time.perf_counter()
    means = run(wavs)
    seconds = time.perf_counter() - started_loop
    audio = sum(len(w) for w in wavs) / SAMPLE_RATE
    return {"row": ExtractionRow(method, METHODS[method], len(wavs), audio, seconds, len(wavs) / seconds,
                                 seconds / audio, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                                 loaded - started),
            "means": None if means is None else np.stack(means)}


def _isolated(method: str, folder: str | os.PathLike, wavs: list[np.ndarray], threads: int) -> dict:
    try:
        return in_fresh_process(measure, method, str(folder), wavs, threads)
    except Exception as error:
        raise RuntimeError(f"benchmark row {method} failed: {error}") from error


def run_extraction_benchmark(folder: str | os.PathLike, wavs: list[np.ndarray], methods=tuple(METHODS),
                             threads: int = 1, isolate: bool = True, rounds: int = 1, log=print) -> list[ExtractionRow]:
    """Every method of ``methods`` on ``wavs``, each in a fresh spawned process if ``isolate``.
    With ``rounds`` > 1 the methods take turns, forwards then backwards, so a change in the
    machine's load falls on all of them alike; each keeps its fastest round and its largest peak."""
    results: dict[str, dict] = {}
    for round_index in range(rounds):
        for method in (methods if round_index % 2 == 0 else tuple(reversed(methods))):
            result = _isolated(method, folder, wavs, threads) if isolate else measure(method, folder, wavs, threads)
            row = result["row"]
            log(f"{method}: {row.utterances_per_s:.2f} utterances/s, RTF {row.real_time_factor:.4f}, "
                f"peak RSS {row.peak_rss_mib:.0f} MiB")
            best = results.get(method)
            if best is not None:
                row.peak_rss_mib = max(row.peak_rss_mib, best["row"].peak_rss_mib)
            if best is None or row.seconds < best["row"].seconds:
                results[method] = result
            else:
                best["row"].peak_rss_mib = row.peak_rss_mib
    reference = results.get("ours_pooled", {}).get("means")
    for result in results.values():
        if reference is not None and result["means"] is not None:
            result["row"].max_diff_vs_pooled = float(np.abs(result["means"] - reference).max())
    return [results[method]["row"] for method in methods]


def environment(threads: int) -> dict:
    import transformers
    return {"machine": platform.machine(), "processor": platform.processor(), "usable_cpus": usable_cpus(),
            "torch_threads": threads, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version(), "load_average": os.getloadavg()}


def markdown(rows: list[ExtractionRow], settings: dict, env: dict) -> str:
    lines = [f"Upstream: {settings['upstream']}; {rows[0].utterances} utterances, "
             f"{rows[0].audio_seconds:.0f} s of audio; the best of {settings.get('rounds', 1)} round(s); "
             f"{env['torch_threads']} thread(s), "
             f"torch {env['torch']}, transformers {env['transformers']}; load average "
             + ", ".join(f"{x:.2f}" for x in env["load_average"]) + " at the start.", "",
             "| method | utterances/s | real-time factor | peak RSS (MiB) | vs. nkululeko | "
             "max diff of last-layer means |", "|---|---|---|---|---|---|"]
    base = next((r.utterances_per_s for r in rows if r.method == "nkululeko"), None)
    for r in rows:
        ratio = f"{r.utterances_per_s / base:.2f}x" if base else "–"
        diff = "–" if r.max_diff_vs_pooled is None else f"{r.max_diff_vs_pooled:.1e}"
        lines.append(f"| {r.description} | {r.utterances_per_s:.2f} | {r.real_time_factor:.4f} | "
                     f"{r.peak_rss_mib:.0f} | {ratio} | {diff} |")
    return "\n".join(lines) + "\n"


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ser.runners.upstream_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", help="a Hugging Face upstream folder (default: a random base-size model)")
    parser.add_argument("--family", default="wav2vec2", help="the random model's family (default: wav2vec2)")
    parser.add_argument("--utterances", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per row (default: 1)")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--rounds", type=int, default=1,
                        help="turns of every method (forwards, then backwards); each keeps its fastest")
    parser.add_argument("--out", type=Path, help="folder for upstream_bench.json and upstream_bench.md")
    return parser


def main(argv: list[str] | None = None) -> list[ExtractionRow]:
    args = get_args_parser().parse_args(argv)
    wavs = synthetic_utterances(args.utterances)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.upstream
        if folder is None:
            folder = save_random_upstream(Path(scratch) / f"{args.family}-base-random", args.family, size="base")
        env = environment(args.threads)
        rows = run_extraction_benchmark(folder, wavs, tuple(args.methods), args.threads, rounds=args.rounds)
    settings = {"upstream": str(args.upstream or f"random {args.family} base (transformers' default config)"),
                "utterances": args.utterances, "threads": args.threads, "rounds": args.rounds}
    text = markdown(rows, settings, env)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        io.write_json(args.out / "upstream_bench.json",
                      {"settings": settings, "environment": env, "rows": [asdict(r) for r in rows]})
        io.write_text(args.out / "upstream_bench.md", text)
    return rows


if __name__ == "__main__":
    main()
