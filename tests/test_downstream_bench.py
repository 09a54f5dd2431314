"""ser.runners.downstream_bench: every downstream trains on made-up cached features, alone and stacked."""
import json

import pytest

from ser.runners import downstream_bench
from ser.training.frames import FrameSequences


def test_the_downstreams_are_measured_alone_and_stacked(tmp_path, monkeypatch):
    # in this process: the rows' own processes cost seconds each to start
    monkeypatch.setattr(downstream_bench, "in_fresh_process", lambda measure, *args: measure(*args))
    rows = downstream_bench.main(["--models", "ssl_linear", "ssl_mlp", "mlp", "--utterances", "20", "--epochs", "1",
                                  "--seeds", "2", "--repeats", "1", "--out", str(tmp_path)])
    assert [(r["model"], r["engine"]) for r in rows] == [(m, e) for m in ("ssl_linear", "ssl_mlp", "mlp")
                                                         for e in ("one seed", "2 stacked")]
    for row in rows:
        assert row["train_per_s"] > 0 and row["epoch_per_s"] > 0 and row["train_per_s"] >= row["epoch_per_s"]
        # 16 of 20 utterances trained per seed, for one epoch
        assert row["train_per_s"] == pytest.approx(16 * row["seeds"] / row["train_s"])
    assert [r["train_speedup"] for r in rows if r["engine"] == "one seed"] == [1.0] * 3
    saved = json.loads((tmp_path / "downstream_bench.json").read_text())
    assert saved["settings"]["seeds"] == [2] and len(saved["rows"]) == 6
    assert "| ssl_mlp | 2 stacked |" in (tmp_path / "downstream_bench.md").read_text()


def test_frames_come_ragged_as_the_data_stage_keeps_them():
    feats, labels = downstream_bench.features("ssl_mlp", 5, seed=1)
    assert all(isinstance(f, FrameSequences) and len(f) == 1 for f in feats) and len(labels) == 5
    assert {f.frames.dtype.name for f in feats} == {"float16"} and len({f.longest for f in feats}) > 1
    with pytest.raises(ValueError, match="no made-up features for GLAM"):
        downstream_bench.features("GLAM", 5, seed=1)
