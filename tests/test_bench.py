"""ser.bench: the quick configuration on the tiny corpus records every measurement, and the
full GLAM run it times is train.py's faithful default run."""
import json
import math

import pytest

from ser import bench
from ser.config import resolve_args


@pytest.fixture(scope="module")
def quick_run(tiny_corpus, tmp_path_factory):
    """One --quick benchmark on the CPU (GLAM only: the other recipes take no other code path)."""
    work = tmp_path_factory.mktemp("bench")
    bench.main(["--quick", "--corpus", str(tiny_corpus), "--cache-dir", str(work / "cache"),
                "--out", str(work / "out"), "--device", "cpu", "--models", "GLAM", "--quiet"])
    return json.loads((work / "out" / "bench.json").read_text()), (work / "out" / "bench.md").read_text()


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_every_measurement_is_a_positive_finite_number(quick_run):
    report, _ = quick_run
    assert report["complete"]
    features = report["features"]
    for key in ("cold_s", "warm_s"):
        assert positive(features[key]["median"]) and all(map(positive, features[key]["repeats"]))
    assert features["utterances"] > 0 and features["segments"] > 0
    assert [r["concurrent"] for r in report["throughput"]] == [1, 2]
    for row in report["throughput"]:
        assert row["model"] == "GLAM" and row["batch_size"] == 32
        for key in ("aggregate_samples_per_s", "per_seed_samples_per_s"):
            assert positive(row[key]["median"]) and len(row[key]["repeats"]) == 1
        assert 1.0 < row["gflop_per_sample"] < 1.2  # the issue's ≈ 1.10 GFLOP per GLAM sample
    [evaluation] = report["evaluation"]
    assert positive(evaluation["seconds_per_epoch"]["median"])
    assert evaluation["scaled"] and evaluation["scored_segments"] <= 64 < evaluation["test_segments"]
    assert report["full_run"]["mode"] == "estimated" and positive(report["full_run"]["wall_s"]["median"])


def test_settings_and_environment_are_recorded(quick_run):
    report, _ = quick_run
    s = report["settings"]
    assert (s["device"], s["models"], s["concurrent"], s["repeats"], s["steps"], s["full_run_epochs"], s["quick"]) == \
        ("cpu", ["GLAM"], [1, 2], 1, "1", 0, True)
    assert report["environment"]["torch"] and report["environment"]["cpu_count"] >= 1
    assert report["corpus"]["synthetic"] and report["command"].startswith("python -m ser.bench --quick")


def test_markdown_has_every_measurement_and_the_targets(quick_run):
    report, text = quick_run
    for heading in ("## Against the targets", "## (a) Feature preparation", "## (b) Training throughput",
                    "## (c) Evaluation per epoch", "## (d) Faithful 50-epoch GLAM run"):
        assert heading in text
    assert "≥ 100,000 samples/s" in text and "3,500 samples/s" in text and "≤ 60 s" in text
    assert bench.fmt(report["features"]["cold_s"]["median"]) in text
    assert bench.fmt(report["full_run"]["wall_s"]["median"]) in text
    assert "**estimated**" in text


def test_full_run_is_train_py_with_the_paper_defaults(tmp_path):
    settings = bench.resolve_settings(["--device", "cpu", "--full-run-epochs", "7", "--corpus", str(tmp_path)])
    command = bench.full_run_command(settings, tmp_path / "run")
    timed, paper = vars(resolve_args(command[2:])), vars(resolve_args([]))
    where = {"data", "cache_dir", "datadir", "seed", "gpu", "quiet", "force", "epochs", "given"}
    assert {k: v for k, v in timed.items() if k not in where} == {k: v for k, v in paper.items() if k not in where}
    assert timed["epochs"] == 7 and timed["gpu"] == -1
    # 7 epochs of 2 s each in a 20 s run: 6 s of start-up, then 50 epochs of 2 s.
    assert bench.fifty_epochs(20.0, 14.0, 7) == pytest.approx(106.0)


@pytest.mark.parametrize("argv, message", [
    (["--steps", "MHCNN=2"], "plain N"),
    (["--steps", "4", "Nope=2"], "unknown model"),
    (["--full-run-epochs", "0", "--models", "MHCNN"], "include GLAM"),
])
def test_bad_settings_are_refused(argv, message):
    with pytest.raises(bench.BenchError, match=message):
        bench.resolve_settings(["--device", "cpu", *argv])
