"""The result-file contract of the original's sweep scripts."""
import multiprocessing
import pickle

import pytest

from ser import io
from ser.records import results


def test_metric_line_format():
    line = results.metric_line(2602656884, 80.123456, 81.5, 78.75, 79.0, 80.25)
    assert line == "      2602656884\t80.1235\t81.5\t78.75\t79.0\t80.25\n"


def test_read_metric_round_trip_and_seeds_done(tmp_path):
    path = tmp_path / "GLAM_mfcc_impro.metric"
    results.append_line(path, results.metric_line(1, 50, 60, 40, 45, 55))
    results.append_line(path, results.metric_line(22, 70, 72, 68, 69, 71))
    rows = results.read_metric(path)
    assert [r["seed"] for r in rows] == [1, 22] and rows[1]["UA"] == 68
    assert results.seeds_done(path) == {1, 22}
    assert results.seeds_done(tmp_path / "absent.metric") == set()


def _append_many(path, worker):
    for i in range(200):
        results.append_line(path, results.metric_line(worker * 1000 + i, 1, 2, 3, 4, 5))


def test_concurrent_appends_never_interleave(tmp_path):
    path = tmp_path / "shared.metric"
    procs = [multiprocessing.Process(target=_append_many, args=(path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    rows = results.read_metric(path)
    assert len(rows) == 800 and len({r["seed"] for r in rows}) == 800
    assert all(len(line.split("\t")) == 6 for line in path.read_text().splitlines())


def test_summary_table(tmp_path):
    path = tmp_path / "GLAM_mfcc_impro.metric"
    results.append_line(path, results.metric_line(1, 0, 60, 40, 50, 50))
    results.append_line(path, results.metric_line(2, 0, 80, 60, 70, 70))
    table = results.summary_table([path])
    assert "| GLAM_mfcc_impro | 2 | 70.00 ± 10.00 | 50.00 ± 10.00 | 60.00 ± 10.00 | 60.00 ± 10.00 |" in table


def test_write_atomic_leaves_no_temporary(tmp_path):
    io.write_json(tmp_path / "last.json", {"a": 1})
    io.write_pickle(tmp_path / "allstat.pkl", [("0.5000", [])])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["allstat.pkl", "last.json"]
    assert pickle.loads((tmp_path / "allstat.pkl").read_bytes()) == [("0.5000", [])]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.pth"
    target.write_text("old")

    def fails_half_way(tmp):
        tmp.write_text("half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        io.write_via_temporary(target, fails_half_way)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["model.pth"]
