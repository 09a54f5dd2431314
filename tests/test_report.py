"""The report recomputes mean ± std from known .metric content and keeps protocols apart."""
import csv
import io
import json

import pytest

import report as report_entry
from ser.corpora.labels import CORPUS_LABEL_SETS
from ser.protocols.splits import pair_protocol
from ser.records import results
from ser.reporting import paper_numbers, report


def write_metric(path, rows):
    """``rows``: (seed, WA, UA, macro F1, weighted F1), written as train.py writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for seed, WA, UA, mf1, wf1 in rows:
        results.append_line(path, results.metric_line(seed, (WA + UA) / 2, WA, UA, mf1, wf1))


@pytest.fixture
def result_tree(tmp_path):
    data = tmp_path / "data"
    # Table 1 / ablation: GLAM at the paper's α (from the folder name), two seeds.
    write_metric(data / "mfccS1.8O1.6a0.5" / "GLAM" / "GLAM_mfcc_impro.metric",
                 [(1, 80.0, 78.0, 79.0, 80.0), (2, 82.0, 80.0, 79.0, 84.0)])
    # another α: the α table only
    write_metric(data / "mfccS1.8O1.6a0.3" / "GLAM" / "GLAM_mfcc_impro.metric", [(1, 60.0, 60.0, 60.0, 60.0)])
    # α from the run's results.json where the folder name says nothing
    write_metric(data / "custom" / "GLAM" / "GLAM_mfcc_impro.metric", [(9, 50.0, 40.0, 30.0, 20.0)])
    (data / "custom" / "GLAM" / "9").mkdir()
    (data / "custom" / "GLAM" / "9" / "results.json").write_text(json.dumps({"args": {"seed": 9, "alpha": 1.0}}))
    # MHCNN, three seeds, α unknown ("comparison" as the original scripts name it)
    write_metric(data / "comparison" / "MHCNN" / "MHCNN_mfcc_script.metric",
                 [(1, 70.0, 60.0, 50.0, 40.0), (2, 73.0, 63.0, 53.0, 43.0), (3, 76.0, 66.0, 56.0, 46.0)])
    # 8:1:1 beside paper runs of the same model: never mixed
    write_metric(data / "split811" / "mfccS1.8O1.6a0.5" / "GLAM" / "GLAM_mfcc_impro_811.metric",
                 [(1, 90.0, 90.0, 90.0, 90.0)])
    # loso: 5 folds of one seed, plus the mean-over-folds file the report must not count again
    loso = data / "loso" / "mfccS1.8O1.6a0.5" / "GLAM"
    for fold, wa in zip(range(1, 6), (50.0, 60.0, 70.0, 80.0, 90.0)):
        write_metric(loso / f"GLAM_mfcc_all_loso_fold{fold}.metric", [(1, wa, wa, wa, wa)])
    write_metric(loso / "GLAM_mfcc_all_loso.metric", [(1, 0.0, 0.0, 0.0, 0.0)])
    # merged labels
    write_metric(data / "mfccS1.8O1.6a0.5" / "GLAM" / "GLAM_mfcc_impro_merge.metric", [(1, 10.0, 10.0, 10.0, 10.0)])
    return data


def table(tables, name):
    (found,) = [t for t in tables if t.name == name]
    return found


def row(found, **keys):
    matches = [r for r in found.rows if all(r.keys.get(k) == v for k, v in keys.items())]
    assert len(matches) == 1, (keys, [r.keys for r in found.rows])
    return matches[0]


def test_stem_round_trip():
    for args in [("GLAM", "mfcc", "impro"), ("CNN_AttnPooling", "spectrogram", "all", "merge", "loso-speaker", 10),
                 ("MHCNN", "mfcc", "script", "glam", "811")]:
        stem = results.result_stem(*args)
        parsed = results.parse_stem(stem)
        assert results.result_stem(**parsed) == stem and parsed["model"] == args[0]
    assert results.result_stem("GLAM", "mfcc", "impro") == "GLAM_mfcc_impro"  # the original's name
    assert results.parse_stem("notes") is None


PROTOCOL_CASES = [("paper", None, None), ("loso-speaker", 3, None), (pair_protocol("2F", "1M"), None, None),
                  ("speaker-kfold", 2, 5), ("speaker-kfold", None, 3), ("leave-one-speaker-out", 7, None),
                  ("official", None, None), ("fold-files", 1, None)]


@pytest.mark.parametrize("corpus", sorted(CORPUS_LABEL_SETS))
def test_every_corpus_label_set_and_protocol_train_py_writes_is_read_back(corpus):
    subset = "impro" if corpus == "iemocap" else "all"
    for labels in CORPUS_LABEL_SETS[corpus]:
        for protocol, fold, folds in PROTOCOL_CASES:
            for test_corpus in (None, "cremad"):
                naming = dict(corpus=corpus, folds=folds, test_corpus=test_corpus)
                stem = results.result_stem("alexnet_gap", "logspec", subset, labels, protocol, fold, **naming)
                assert results.parse_stem(stem) == dict(model="alexnet_gap", features="logspec", subset=subset,
                                                        labels=labels, protocol=protocol, fold=fold, **naming), stem


def test_result_names_never_collide_across_corpora_and_keep_the_iemocap_and_emodb_names():
    stems = {results.result_stem("GLAM", "mfcc", "impro" if corpus == "iemocap" else "all", labels, protocol,
                                 corpus=corpus, folds=5)
             for corpus, sets in CORPUS_LABEL_SETS.items() for labels in sets for protocol in ("paper", "official")}
    assert len(stems) == 2 * sum(map(len, CORPUS_LABEL_SETS.values()))
    # the names the original's scripts and seed 004's runs already use
    assert results.result_stem("GLAM", "mfcc", "all", "merge", "loso", 2) == "GLAM_mfcc_all_merge_loso_fold2"
    assert results.result_stem("alexnet_gap", "logspec", "all", "emodb", "loso-speaker", 3, corpus="emodb") == \
        "alexnet_gap_logspec_all_emodb_loso-speaker_fold3"
    assert results.result_stem("GLAM", "mfcc", "all", "shared4", corpus="emodb") == "GLAM_mfcc_all_emodb_shared4"
    assert results.result_stem("GLAM", "mfcc", "all", "shared4") == "GLAM_mfcc_all_shared4"


def test_rows_match_a_hand_computation(result_tree):
    tables = report.build_tables(report.find_runs([result_tree]))
    glam = row(table(tables, "comparison_paper"), Dataset="Improvisation", Model="GLAM")
    assert len(glam.runs) == 2 and glam.alpha == "0.5"
    # mean and population std of (80, 82), (78, 80), (79, 79), (80, 84)
    assert glam.stats() == {"WA": (81.0, 1.0), "UA": (79.0, 1.0), "macro_f1": (79.0, 0.0),
                            "weighted_f1": (82.0, 2.0)}
    assert glam.paper == paper_numbers.COMPARISON[("impro", "GLAM")]
    mhcnn = row(table(tables, "comparison_paper"), Dataset="Script", Model="MHCNN")
    # (70, 73, 76): mean 73, population std sqrt(6)
    assert mhcnn.stats()["WA"] == pytest.approx((73.0, 6 ** 0.5))
    assert mhcnn.stats()["weighted_f1"] == pytest.approx((43.0, 6 ** 0.5))
    assert row(table(tables, "ablation_paper"), Model="GLAM").stats()["UA"] == (79.0, 1.0)


def test_markdown_and_csv_show_ours_beside_the_papers(result_tree, tmp_path):
    tables = report_entry.main([str(result_tree), "-o", str(tmp_path / "out")])
    markdown = (tmp_path / "out" / "report.md").read_text()
    paper = paper_numbers.COMPARISON[("impro", "GLAM")]
    expected = ("| Improvisation | GLAM | mfcc | 0.5 | 2 | 81.00 ± 1.00 | "
                f"{paper['WA'][0]:.2f} ± {paper['WA'][1]:.2f} | 79.00 ± 1.00 | "
                f"{paper['UA'][0]:.2f} ± {paper['UA'][1]:.2f} | 79.00 ± 0.00 |")
    assert expected in markdown
    assert "| Script | MHCNN | mfcc | — | 3 | 73.00 ± 2.45 |" in markdown
    comparison = table(tables, "comparison_paper")
    assert "Protocol paper" in comparison.caption and "n runs" in comparison.caption
    assert "ddof=0" in comparison.caption
    with open(tmp_path / "out" / "comparison_paper.csv") as f:
        rows = list(csv.DictReader(f))
    glam = [r for r in rows if (r["Dataset"], r["Model"]) == ("Improvisation", "GLAM")][0]
    assert (float(glam["WA_mean"]), float(glam["WA_std"]), int(glam["runs"])) == (81.0, 1.0, 2)
    assert float(glam["paper_weighted_f1_mean"]) == paper["weighted_f1"][0]
    for t in tables:
        assert (tmp_path / "out" / f"{t.name}.csv").stat().st_size > 0


def test_protocols_and_label_sets_never_mix(result_tree):
    runs = report.find_runs([result_tree])
    tables = report.build_tables(runs)
    assert len(row(table(tables, "comparison_paper"), Dataset="Improvisation", Model="GLAM").runs) == 2
    split811 = row(table(tables, "comparison_811"), Dataset="Improvisation", Model="GLAM")
    assert split811.stats()["WA"] == (90.0, 0.0)
    assert split811.paper == paper_numbers.SPLIT_811[("impro", "GLAM")]
    assert "8:1:1" in table(tables, "comparison_811").caption
    # loso: every fold is one run; the mean-over-folds file is not counted again
    loso = row(table(tables, "comparison_loso"), Dataset="Full", Model="GLAM")
    assert len(loso.runs) == 5 and loso.stats()["WA"] == pytest.approx((70.0, 200 ** 0.5))
    assert loso.paper is None and "5 folds" in table(tables, "comparison_loso").caption
    assert sum(r.labels == "merge" for r in runs) == 1
    assert {r.labels for t in tables if t.recipe for rw in t.rows for r in rw.runs} == {"glam"}  # the paper's
    merge_tables = report.build_tables(runs, labels="merge")
    assert row(table(merge_tables, "comparison_paper"), Dataset="Improvisation", Model="GLAM").stats()["WA"] == (
        10.0, 0.0)
    everything = table(tables, "all_results")
    assert sum(len(r.runs) for r in everything.rows) == len(runs) == 2 + 1 + 1 + 3 + 1 + 5 + 1


def test_paper_tables_say_which_runs_of_their_models_they_did_not_count_and_why(result_tree, tmp_path):
    """IEMOCAP runs that no paper table counts (published folds, another label set, an α no row
    has) are named below the first paper table of their model, with each setting that differs
    from its recipe, and get a table of their own; runs that match a row are counted."""
    for fold in (1, 2):  # train.py --folds_from EmoBox/data/iemocap --fold K
        write_metric(result_tree / "mfccS1.8O1.6a0.5" / "GLAM" / f"GLAM_mfcc_impro_fold-files_fold{fold}.metric",
                     [(1, 70.0 + fold, 70.0, 70.0, 70.0)])
    write_metric(result_tree / "mhcnn_a05" / "MHCNN" / "MHCNN_mfcc_impro.metric", [(4, 40.0, 40.0, 40.0, 40.0)])
    (result_tree / "mhcnn_a05" / "MHCNN" / "4").mkdir()
    (result_tree / "mhcnn_a05" / "MHCNN" / "4" / "results.json").write_text(json.dumps({"args": {"seed": 4,
                                                                                                 "alpha": 0.5}}))
    tables = report_entry.main([str(result_tree), "-o", str(tmp_path / "out")])
    comparison = table(tables, "comparison_paper")
    assert len(row(comparison, Dataset="Improvisation", Model="GLAM").runs) == 2  # the matching runs count
    folds = table(tables, "corpus_iemocap_fold-files")
    assert [len(r.runs) for r in folds.rows] == [2] and folds.rows[0].keys == {"Labels": "glam", "Model": "GLAM"}
    assert comparison.notes == [
        f"Not counted here: 2 IEMOCAP runs of GLAM on Improvisation with protocol fold-files (this table's: paper); "
        f"they are in the table \"{folds.title}\".",
        "Not counted here: 1 IEMOCAP run of GLAM on Improvisation with labels merge (this table's: glam; report.py "
        "--labels merge puts them in the paper's tables); they are in the table \"IEMOCAP: paper\".",
        "Not counted here: 1 IEMOCAP run of MHCNN on Improvisation with α 0.5 (the paper's for MHCNN: 0); they are in "
        "the table \"IEMOCAP: paper\"."]
    assert not table(tables, "ablation_paper").notes and not table(tables, "comparison_811").notes
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "|\n\n- " + comparison.notes[0] + "\n- " in markdown  # listed right below the table
    # the runs a paper table counts are in no other table but All results
    counted = {id(r) for t in tables if t.recipe for rw in t.rows for r in rw.runs}
    assert not counted & {id(r) for t in tables if not t.recipe and t.name != "all_results"
                          for rw in t.rows for r in rw.runs}


def test_alpha_table_takes_alpha_from_results_json_or_folder(result_tree):
    alpha = table(report.build_tables(report.find_runs([result_tree])), "alpha_paper")
    assert row(alpha, **{"α": "0.3"}).stats()["WA"] == (60.0, 0.0)
    assert row(alpha, **{"α": "1"}).stats()["WA"] == (50.0, 0.0)
    assert row(alpha, **{"α": "0.5"}).stats()["WA"] == (81.0, 1.0)
    assert row(alpha, **{"α": "3"}).runs == [] and row(alpha, **{"α": "3"}).paper == paper_numbers.ALPHA[3.0]
    # other α never leak into Table 1's GLAM row
    comparison = table(report.build_tables(report.find_runs([result_tree])), "comparison_paper")
    assert {r.alpha for r in row(comparison, Dataset="Improvisation", Model="GLAM").runs} == {0.5}


def test_empty_or_missing_folders_exit_with_one_clear_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as missing:
        report.main([str(tmp_path / "nowhere")])
    assert "no such folder" in str(missing.value)
    with pytest.raises(SystemExit) as empty:
        report.main([str(tmp_path)])
    assert "no .metric results" in str(empty.value)


def test_report_reads_what_train_writes(tmp_path):
    """The .metric line format round-trips through the report unchanged."""
    path = tmp_path / "r" / "MHCNN" / "MHCNN_mfcc_all_loso-speaker_fold7.metric"
    write_metric(path, [(2602656884, 61.23456789, 55.5, 50.25, 60.125)])
    (run,) = report.find_runs([tmp_path])
    assert (run.protocol, run.fold, run.seed, run.subset) == ("loso-speaker", 7, 2602656884, "all")
    assert run.scores == {"WA": 61.23456789, "UA": 55.5, "macro_f1": 50.25, "weighted_f1": 60.125}
    assert io.StringIO(report.to_csv(report.all_results_table([run]))).read().count("\n") == 2
