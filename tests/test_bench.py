"""ser.runners.bench: the quick configuration on the tiny corpus measures every path side by side."""
import json
import math
import os
import shlex
import subprocess

import pytest

from ser.runners import bench, bench_report


@pytest.fixture(scope="module")
def quick_run(tiny_corpus, tmp_path_factory):
    """One --quick benchmark on the CPU: 10 utterances, 32 training segments, 1 epoch, K = 1, 2."""
    work = tmp_path_factory.mktemp("bench")
    bench.main(["--quick", "--corpus", str(tiny_corpus), "--cache-dir", str(work / "cache"),
                "--out", str(work / "out"), "--device", "cpu", "--quiet"])
    return json.loads((work / "out" / "bench.json").read_text()), (work / "out" / "bench.md").read_text()


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_every_path_is_measured_with_its_ratio_to_the_original_style(quick_run):
    report, _ = quick_run
    assert report["complete"]
    runs = report["runs"]
    assert [(r["name"][:2], r["seeds"]) for r in runs] == [("a.", 1), ("b.", 1), ("c.", 1), ("c.", 2)]
    for row in runs:
        for key in ("train_samples_per_s", "epoch_samples_per_s", "scoring_s_per_epoch", "peak_rss_mib",
                    "train_speedup_vs_a", "epoch_speedup_vs_a"):
            assert positive(row[key]), key
        assert row["train_samples_per_s"] == pytest.approx(row["train_samples_per_epoch"] / row["train_s"])
        assert row["epoch_speedup_vs_a"] == pytest.approx(row["epoch_samples_per_s"] / runs[0]["epoch_samples_per_s"])
        assert row["cuda_peak_mib"] is None  # on the CPU
    # every seed trains on 32 segments; K seeds count K times as many samples
    assert [r["train_samples_per_epoch"] for r in runs] == [32, 32, 32, 64]
    assert runs[0]["train_speedup_vs_a"] == 1.0


def test_features_compare_librosa_and_torch_on_the_same_utterances(quick_run):
    report, _ = quick_run
    rows = report["features"]
    assert [(r["backend"], r["device"]) for r in rows] == [("librosa", "cpu")] * 3 + [("torch", "cpu"),
                                                                                        ("librosa", "cpu")]
    assert "librosa.feature.mfcc" in rows[0]["name"]  # a: the original's own calls
    assert len({(r["utterances"], r["segments"]) for r in rows}) == 1 and rows[0]["segments"] > 0
    assert all(positive(r["seconds"]) and positive(r["speedup_vs_a"]) for r in rows)
    # a pays for recomputing its features, b and c for reading them back
    assert report["runs"][0]["features_s"] == rows[0]["seconds"]
    assert report["runs"][1]["features_s"] == rows[-1]["seconds"]


def test_settings_environment_and_markdown(quick_run):
    report, text = quick_run
    s = report["settings"]
    assert (s["device"], s["seeds"], s["epochs"], s["max_utterances"], s["max_train_segments"], s["quick"]) == \
        ("cpu", [1, 2], 1, 10, 32, True)
    assert report["workload"]["utterances"] == 10 and report["workload"]["train_segments"] == 32
    assert len(report["environment"]["load_average_at_start"]) == 3
    assert report["command"].startswith("python -m ser.runners.bench --quick")
    for heading in ("## Training and scoring (a, b, c)", "## Features (d)"):
        assert heading in text
    for row in report["runs"]:
        assert f"| {row['name']} | {row['seeds']} |" in text and bench_report.fmt(row["epoch_samples_per_s"]) in text
    assert "**--quick**" in text


def test_repeats_give_medians_and_ratios_of_the_same_stretch_of_time():
    """Rows measured in turn: a slow second repeat falls on both a and b, and b's ratio is the
    median of the repeats' ratios (1.5, 1.5, 1.2), not the ratio of the medians (40 / 30)."""
    def row(seconds: float, samples_per_s: float, seeds: int = 1) -> dict:
        return {"seeds": seeds, "seconds": seconds, "train_samples_per_s": samples_per_s, "peak_rss_mib": seconds,
                "cuda_peak_mib": None}
    repeated = ("seconds", "train_samples_per_s")
    a = bench_report.merge_repeats([row(1.0, 30.0), row(2.0, 15.0), row(1.0, 40.0)], repeated)
    b = bench_report.merge_repeats([row(1.25, 45.0), row(2.5, 22.5), row(1.0, 48.0)], repeated)
    assert (a["train_samples_per_s"], a["train_samples_per_s_repeats"], a["repeats"]) == (30.0, [30.0, 15.0, 40.0], 3)
    assert a["peak_rss_mib"] == 2.0 and a["cuda_peak_mib"] is None
    assert bench_report.speedup(b, a, "train_samples_per_s") == pytest.approx(1.5)
    assert bench_report.speedup(b, a, "seconds", faster_when_lower=True) == pytest.approx(0.8)
    assert bench_report.speedup(a, a, "train_samples_per_s") == 1.0


def test_meter_sees_memory_allocated_inside_the_block():
    with bench.Meter(bench.torch.device("cpu")) as before:
        pass
    with bench.Meter(bench.torch.device("cpu")) as meter:
        block = bytearray(256 * 2**20)
        block[::4096] = b"\x01" * len(block[::4096])  # touch every page so that it is resident
        bench.time.sleep(5 * bench.RSS_SAMPLE_S)
        del block
    assert meter.peak_rss - before.peak_rss > 200 * 2**20 and meter.seconds > 0


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--seeds", "1", "0"], "every K must be at least 1"),
    (["--max-train-segments", "0"], "--max-train-segments must be at least 1"),
    (["--repeats", "0"], "--repeats must be at least 1"),
])
def test_bad_settings_are_refused(argv, message):
    with pytest.raises(bench.BenchError, match=message):
        bench.resolve_settings(["--device", "cpu", *argv])


def test_quick_defaults_yield_to_explicit_flags():
    settings = bench.resolve_settings(["--device", "cpu", "--quick", "--seeds", "3", "--epochs", "2"])
    assert (settings.seeds, settings.epochs, settings.max_utterances, settings.scale) == ([3], 2, 10, 0.01)
    assert bench.resolve_settings(["--device", "cpu"]).seeds == [1, 8]


def test_bench_gpu_script_runs_the_benchmark_and_the_cuda_tests_from_local_wheels(tmp_path):
    """scripts/bench_gpu --dry-run: every step's command, as the script would run it."""
    script = bench.ROOT / "scripts" / "bench_gpu"
    completed = subprocess.run([str(script), str(tmp_path / "wheels"), "--device", "cpu", "--quick", "--dry-run"],
                               env=dict(os.environ, OUT=str(tmp_path / "out"), PYTHON="py"), capture_output=True,
                               text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    commands = [shlex.split(line[2:]) for line in completed.stdout.splitlines() if line.startswith("+ ")]
    pip, synth, run, tests = commands
    assert pip[:4] == ["py", "-m", "pip", "install"] and pip[pip.index("--find-links") + 1] == str(tmp_path / "wheels")
    assert "--no-index" in pip and pip[pip.index("-r") + 1] == "requirements.txt"
    corpus = tmp_path / "out" / "IEMOCAP_synthetic_scale0.01"
    assert synth[:3] == ["py", "-m", "ser.synthetic.synth"] and synth[3] == str(corpus)
    assert run[:3] == ["py", "-m", "ser.runners.bench"]
    settings = bench.resolve_settings(run[3:])
    assert (settings.device.type, settings.quick, settings.corpus, settings.out) == \
        ("cpu", True, corpus, tmp_path / "out")
    assert tests[:5] == ["py", "-m", "pytest", "-m", "cuda"] and "tests/test_cuda.py" in tests


def test_bench_gpu_script_needs_its_wheels_folder(tmp_path):
    script = bench.ROOT / "scripts" / "bench_gpu"
    for argv, message in (([], "give the folder of wheels first"), ([str(tmp_path / "none")], "is not a folder")):
        completed = subprocess.run([str(script), *argv], capture_output=True, text=True, timeout=60)
        assert completed.returncode == 2 and message in completed.stderr
