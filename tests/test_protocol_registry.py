"""A protocol is one entry of ser.protocols.registry: one registered from inside a test is a
--protocol choice, trains through train.py, names its result files, has a sweep folder and a
report table; a protocol that does not fit the corpus is refused with one error line."""
from __future__ import annotations

from pathlib import Path

import pytest
from one_line import one_line_error

import train
from ser.protocols import registry
from ser.protocols.base import REGISTERED, CorpusFacts, Protocol, Split, SplitInput, register
from ser.records import results
from ser.reporting import report
from ser.runners import sweep
from ser.runs.config import resolve_args
from ser.runs.flags import get_args_parser

CHEAP = ["-m", "MHCNN", "-e", "1", "-b", "2", "--train_overlap", "0", "--test_overlap", "0", "-g", "-1", "--quiet",
         "--seed", "7"]
TOY = "first-half"


def first_half(given: SplitInput) -> Split:
    """Test on the first half of the sorted speakers, validate on the next one, train on the rest."""
    known = sorted(set(given.speakers) - {""})
    tested, validating = set(known[:len(known) // 2]), known[len(known) // 2]
    test = [i for i, s in enumerate(given.speakers) if s in tested]
    validation = [i for i, s in enumerate(given.speakers) if s == validating]
    train_part = [i for i, s in enumerate(given.speakers) if s not in tested and s != validating]
    return Split(train=train_part, test=test, validation=validation, name=TOY, speaker_independent=True,
                 protocol=f"{TOY}: the first half of the sorted speakers tested, the next one validates")


def iemocap_style(facts: CorpusFacts) -> str | None:
    return None if facts.iemocap_speakers else f"{TOY} halves IEMOCAP-style speakers"


@pytest.fixture
def toy_protocol():
    entry = register(Protocol(TOY, "test on the first half of the sorted speakers", f"{TOY}: a toy protocol",
                              first_half, fits=iemocap_style, speaker_independent="yes"))
    yield entry
    del REGISTERED[TOY]


def test_a_protocol_registered_in_a_test_trains_and_is_named_swept_and_reported(toy_protocol, micro_corpus, tmp_path):
    assert TOY in get_args_parser().format_help() and TOY in registry.names()
    run_dir = tmp_path / "results" / "MHCNN" / "7"
    summary = train.main(["--data", str(micro_corpus), "-d", str(run_dir), "--cache_dir", str(tmp_path / "cache"),
                          "--protocol", TOY, *CHEAP])
    speakers = sorted({s for part in summary["split"]["speakers"].values() for s in part})
    assert summary["protocol_name"] == TOY and summary["split"]["name"] == TOY
    assert summary["split"]["speakers"]["test"] == speakers[:len(speakers) // 2]
    assert summary["split"]["speakers"]["validation"] == [speakers[len(speakers) // 2]]
    metric = run_dir.parent / f"MHCNN_mfcc_impro_{TOY}.metric"
    assert [run.seed for run in results.finished_runs(metric)] == [7]
    assert results.parse_stem(metric.stem)["protocol"] == TOY

    seeds = tmp_path / "seeds.txt"
    seeds.write_text("7\n")
    args = sweep.parse_args(["--models", "MHCNN", "--protocols", TOY, "--seeds", "1", "--results-dir",
                             str(tmp_path / "swept"), "--seeds-file", str(seeds), "--", "--data", str(micro_corpus)])
    [task] = sweep.plan(args)
    assert Path(task.metric_file).parent.parent.parent == tmp_path / "swept" / TOY
    assert Path(task.metric_file).name == metric.name  # the sweep names what train.py writes

    [table] = [t for t in report.build_tables(report.find_runs([tmp_path / "results"])) if TOY in t.name]
    assert table.name == f"corpus_iemocap_{TOY}_synthetic" and "Speaker-independent: yes" in table.caption
    assert [len(row.runs) for row in table.rows] == [1]


def test_fits_refuses_with_the_one_line_it_always_gave(corpus_tree, tmp_path):
    message = one_line_error(["--data", str(corpus_tree("ravdess")), "-d", str(tmp_path / "run"), "--protocol", "loso"])
    assert message == ("error: --protocol loso does not fit --corpus ravdess: loso follows IEMOCAP's sessions and "
                       "speakers (iemocap, emodb); protocols that fit: paper, 811, speaker-kfold, "
                       "leave-one-speaker-out, or fold-files with --folds_from")
    assert not (tmp_path / "run").exists()


def test_a_registered_protocol_is_refused_and_offered_by_its_own_fits(toy_protocol, corpus_tree, tmp_path):
    message = one_line_error(["--data", str(corpus_tree("ravdess")), "-d", str(tmp_path / "run"), "--protocol", TOY])
    assert f"--protocol {TOY} does not fit --corpus ravdess: {TOY} halves IEMOCAP-style speakers" in message
    assert TOY not in message.split("protocols that fit:")[1]
    refusal = registry.refusal("loso", CorpusFacts("esd", "ESD", iemocap_speakers=False, official_split=True,
                                                   manifest_folds=False))
    assert "official" in refusal and TOY not in refusal.split("protocols that fit:")[1]
    assert registry.refusal(TOY, CorpusFacts("iemocap", "IEMOCAP", True, False, False)) is None


def test_an_unregistered_protocol_is_no_choice(tmp_path):
    assert TOY not in registry.names()
    with pytest.raises(SystemExit):
        resolve_args(["--protocol", TOY])
    assert registry.names() == ("paper", "811", "loso", "loso-speaker", "speaker-kfold", "leave-one-speaker-out",
                                "official", "manifest-folds", "fold-files")
