"""The paper's tables from result folders: mean ± std over seeds and folds, beside its numbers.

    python report.py data                      # print Markdown; write data/report/report.md and CSVs
    python report.py data/runs more/runs -o out --labels merge
    python -m ser.reporting.report data                  # the same

Every ``*.metric`` file under the given folders is read (sorted), one line per run, in the
original's format (``ser/records/results.py``). The file name says the model, features, subset,
label set, protocol and fold (``ser.records.results.parse_stem``), so protocols and label sets never
mix. The mixup α of a run comes from its ``results.json`` in the scripts' layout
(``<folder>/<seed>/results.json``, ``<folder>/<seed>/fold<K>/results.json`` for folds), else
from the results folder's name as the original scripts spell it (``mfccS1.8O1.6a0.5``); a
run whose α is unknown counts for every α. For ``loso``/``loso-speaker`` the per-fold files
are read and every (seed, fold) is one run; the ``..._<protocol>.metric`` files that hold a
mean over folds are skipped, as they repeat those runs.

Tables (the published numbers are in ``ser.reporting.paper_numbers``):

- ``comparison_<protocol>``: Table 1's layout, subset × model (APCNN, MHCNN, AACNN, GLAM). For
  ``paper`` it stands beside Table 1, for ``811`` beside the paper's 8:1:1 table.
- ``ablation_<protocol>``: the multi-scale / global-aware module table (improvised subset).
- ``alpha_<protocol>``: GLAM on the improvised subset per mixup α.
- ``corpus_<corpus>[_to-<test corpus>]_<protocol>``: one table per corpus and protocol for every
  corpus but IEMOCAP (and every cross-corpus pair), label set × model; the IEMOCAP tables
  above hold IEMOCAP's own runs only. The IEMOCAP runs that none of them counts (published
  folds or another protocol, another label set, an α or subset no row has) get such a table
  too, and the first paper table of their model says below it how many it did not count and
  which settings differ from its recipe.
- ``features_<corpus>_<protocol>_<labels>``: where the runs of one corpus, protocol and label set
  use more than one feature kind (GLAM's MFCCs beside an SSL upstream or eGeMAPS), all of them,
  one row per subset, model and features (an upstream's run names its folder, layer choice and
  weights' hash).
- ``all_results``: every (corpus, protocol, labels, subset, model, features, α) group found.

Table 1, the ablation and the 8:1:1 rows use the paper's α for each model (0.5 for the GLAM
family, 0 for the baselines); other α show in the α table and in ``all_results``. A table is
written when it has published numbers or at least one run. Each cell is the mean ± numpy's
population standard deviation (ddof=0, as ``ser.records.results.summary_table``) over the runs, with
the run count beside it; the caption names the protocol, the label set and what the runs are.
Runs on a synthetic corpus get tables of their own (``..._synthetic``), whatever the corpus.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ser.corpora.labels import CLASS_NAMES
from ser.corpora.registry import corpus as corpus_entry
from ser.corpora.registry import title as corpus_title
from ser.io import write_text
from ser.protocols import registry as protocols
from ser.protocols.registry import description as protocol_description
from ser.protocols.registry import is_multi_fold
from ser.records.results import finished_runs, flatten, mean_std, parse_stem
from ser.reporting import paper_numbers
from ser.reporting.paper_numbers import METRICS, PAPER_ALPHA, PAPER_NAMES, SUBSET_NAMES, Cell

# The paper's tables are IEMOCAP's, one per subset (its registry entry's: impro, script, all).
SUBSETS = corpus_entry("iemocap").subsets
METRIC_TITLES = {"WA": "WA", "UA": "UA", "macro_f1": "macro F1", "weighted_f1": "weighted F1"}
# The paper's name for the support-weighted F1 column.
PAPER_METRIC_TITLES = {"WA": "WA", "UA": "UA", "macro_f1": "macro F1", "weighted_f1": "micro F1"}
COMPARISON_MODELS = ("CNN_AttnPooling", "MHCNN", "AACNN", "GLAM")
ABLATION_MODELS = tuple(paper_numbers.ABLATION)
ALPHA_MODEL = "GLAM"
# α in the original scripts' results folder names: mfccS1.8O1.6a0.5, script_mfccS1.8O1.6a0.5.
_TAG_ALPHA = re.compile(r".*a(\d+(?:\.\d+)?)")
NO_VALUE = "—"


class ReportError(Exception):
    """Nothing to report from the given folders; the message says what to pass."""


@dataclass(frozen=True)
class Run:
    """One finished training run: one ``.metric`` line, with the settings its index recorded."""
    model: str
    features: str
    subset: str
    labels: str
    protocol: str
    fold: int | None
    seed: int
    alpha: float | None
    scores: dict[str, float] = field(hash=False)
    source: str = ""
    # every setting and the corpus, but the seed and the fold (None: recorded without them,
    # e.g. by the original code: grouped by file and α alone, as the original's tables were)
    identity: dict | None = field(default=None, hash=False, compare=False)
    corpus: str = "iemocap"
    folds: int | None = None          # speaker-kfold's fold count
    test_corpus: str | None = None    # a cross-corpus run's test corpus

    @property
    def is_iemocap(self) -> bool:
        """A run on IEMOCAP itself, the only runs the paper's tables hold."""
        return self.corpus == "iemocap" and self.test_corpus is None

    @property
    def synthetic(self) -> bool:
        return bool(self.identity and self.identity["corpus"].get("synthetic"))

    @property
    def group(self) -> str:
        """Runs of one group differ in their seed (and fold) only."""
        return "" if self.identity is None else json.dumps(self.identity, sort_keys=True)


@dataclass
class Row:
    keys: dict[str, str]  # the table's key columns, e.g. {"Dataset": "Improvisation", "Model": "GLAM"}
    features: str
    alpha: str
    runs: list[Run]
    paper: Cell | None
    settings: str = ""    # what sets this row's runs apart from the table's other rows of the same cell

    def stats(self) -> dict[str, tuple[float, float]] | None:
        """metric -> (mean, population std) over the runs; None without runs."""
        if not self.runs:
            return None
        return {m: mean_std([r.scores[m] for r in self.runs]) for m in METRICS}


@dataclass(frozen=True)
class Recipe:
    """What an IEMOCAP run must match to count in one of the paper's tables."""
    protocol: str
    labels: str
    subsets: tuple[str, ...]
    models: tuple[str, ...]
    paper_alpha: bool = True  # each model's row at the paper's α (not the α table, whose rows are α)

    def differences(self, run: Run) -> list[str]:
        """Each setting of ``run`` that keeps it out of this table, beside the table's."""
        found = []
        if run.protocol != self.protocol:
            found.append(f"protocol {run.protocol} (this table's: {self.protocol})")
        if run.labels != self.labels:
            found.append(f"labels {run.labels} (this table's: {self.labels}; report.py --labels {run.labels} "
                         "puts them in the paper's tables)")
        if run.subset not in self.subsets:
            found.append(f"subset {run.subset} (this table's: {', '.join(self.subsets)})")
        if self.paper_alpha and run.alpha is not None and run.alpha != PAPER_ALPHA[run.model]:
            found.append(f"α {run.alpha:g} (the paper's for {PAPER_NAMES[run.model]}: {PAPER_ALPHA[run.model]:g})")
        return found


@dataclass
class Table:
    name: str
    title: str
    caption: str
    key_columns: list[str]
    rows: list[Row]
    recipe: Recipe | None = None  # the paper's tables: what a run must match to count
    notes: list[str] = field(default_factory=list)  # printed below the table


def _alpha_of(metric_file: Path, seed: int, fold: int | None) -> float | None:
    """The run's mixup α: its results.json in the scripts' layout, else the folder's name."""
    run_dir = metric_file.parent / str(seed)
    if fold is not None:
        run_dir = run_dir / f"fold{fold}"
    try:
        args = json.loads((run_dir / "results.json").read_text())["args"]
        if int(args["seed"]) == seed:
            return float(args["alpha"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no readable results.json there: fall back to the folder's name
    match = _TAG_ALPHA.fullmatch(metric_file.parent.parent.name)
    return float(match.group(1)) if match else None


def find_runs(folders: list[str | Path]) -> list[Run]:
    """Every run recorded in a ``.metric`` file under ``folders`` (sorted; fold means skipped;
    a file under two of the folders counts once)."""
    runs, seen = [], set()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise ReportError(f"no such folder: {folder}; pass the folder(s) that train.py -d wrote into")
        for metric_file in sorted(folder.rglob("*.metric")):
            parsed = parse_stem(metric_file.stem)
            if parsed is None or metric_file.resolve() in seen:
                continue
            seen.add(metric_file.resolve())
            # (a seed-004 speaker pair, pair-val<V>-test<T>, is one split without folds)
            if parsed["fold"] is None and is_multi_fold(parsed["protocol"]):
                continue  # means over folds: the per-fold files hold the same runs
            for run in finished_runs(metric_file):
                identity = _without_seed(run.identity)
                alpha = (identity["settings"]["alpha"] if identity is not None
                         else _alpha_of(metric_file, run.seed, parsed["fold"]))
                runs.append(Run(**parsed, seed=run.seed, alpha=alpha, scores={m: run.scores[m] for m in METRICS},
                                source=str(metric_file), identity=identity))
    return runs


def _without_seed(identity: dict | None) -> dict | None:
    """The identity of a run's group: its settings and corpus without the seed and the fold."""
    if identity is None:
        return None
    settings = {k: v for k, v in identity["settings"].items() if k != "fold"}
    return {"settings": settings, "corpus": identity["corpus"]}


def _distinctions(groups: list[list[Run]]) -> list[str]:
    """For runs grouped by identity, what sets each group apart from the others (one text each)."""
    flat = [flatten(members[0].identity) if members[0].identity else {} for members in groups]
    varying = sorted({key for f in flat for key in f if len({json.dumps(g.get(key)) for g in flat}) > 1})
    texts = []
    for f, members in zip(flat, groups):
        if members[0].identity is None:
            texts.append("recorded without settings (the original code's result file)")
        else:
            texts.append(", ".join(f"{key.split('.', 1)[-1]}={f.get(key)}" for key in varying
                                   if key not in ("corpus.manifest_sha256", "corpus.utterances"))
                         or "the same settings")
    return texts


def _format_alpha(alpha: float | None) -> str:
    return NO_VALUE if alpha is None else f"{alpha:g}"


def _rows_for(keys: dict[str, str], runs: list[Run], paper: Cell | None) -> list[Row]:
    """One row per group of runs that share every setting but the seed (and fold), the
    settings that set it apart named; one empty row when there are none. Unlike runs are
    never pooled into one mean."""
    by_group: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        by_group[(run.features, run.group)].append(run)
    if not by_group:
        return [Row(keys, NO_VALUE, NO_VALUE, [], paper)]
    groups = [by_group[key] for key in sorted(by_group)]
    texts = _distinctions(groups) if len(groups) > 1 else [""]
    return [Row(keys, members[0].features, ", ".join(sorted({_format_alpha(r.alpha) for r in members})), members,
                paper, text) for members, text in zip(groups, texts)]


def _select(runs: list[Run], protocol: str, labels: str, subset: str, model: str,
            alpha: float | None) -> list[Run]:
    """Runs of one cell; a run of unknown α matches any ``alpha``."""
    return [r for r in runs if (r.protocol, r.labels, r.subset, r.model) == (protocol, labels, subset, model)
            and (r.alpha is None or alpha is None or r.alpha == alpha)]


def _what_runs_are(protocol: str, folds: int | None = None) -> str:
    if is_multi_fold(protocol):
        count = protocols.get(protocol).fold_count or folds
        return f"runs = {count or 'all'} folds × seeds, pooled"
    return "runs = seeds"


def _caption(protocol: str, labels: str, paper_source: str | None) -> str:
    classes = "/".join(CLASS_NAMES.get(labels, [labels]))
    published = (f"Published: {paper_source} (the paper's 'micro F1' is the weighted F1; run count "
                 "and std kind unpublished)" if paper_source else "The paper publishes no numbers for this table")
    return (f"Protocol {protocol_description(protocol)}. Labels {labels} ({classes}). "
            f"Each cell: mean ± population std (numpy, ddof=0) over n runs ({_what_runs_are(protocol)}). "
            f"{published}.")


def comparison_table(runs: list[Run], protocol: str, labels: str, synthetic: bool = False) -> Table:
    """Table 1's layout: subset × (APCNN, MHCNN, AACNN, GLAM), each at the paper's α."""
    published = None if synthetic else {
        "paper": (paper_numbers.COMPARISON, "Zhu & Li 2022, the comparison table"),
        "811": (paper_numbers.SPLIT_811, "Zhu & Li 2022, the 8:1:1 table")}.get(protocol)
    rows = []
    for subset in SUBSETS:
        for model in COMPARISON_MODELS:
            cell = published[0].get((subset, model)) if published else None
            keys = {"Dataset": SUBSET_NAMES[subset], "Model": PAPER_NAMES[model]}
            rows += _rows_for(keys, _select(runs, protocol, labels, subset, model, PAPER_ALPHA[model]), cell)
    title = ("Comparison on three subsets" if protocol != "811"
             else "Train/validation/test split at a ratio of 8:1:1")
    return _table(f"comparison_{protocol}", title, _caption(protocol, labels, published[1] if published else None),
                  ["Dataset", "Model"], rows, synthetic, Recipe(protocol, labels, SUBSETS, COMPARISON_MODELS))


def ablation_table(runs: list[Run], protocol: str, labels: str, synthetic: bool = False) -> Table:
    """The multi-scale / global-aware module table on the improvised subset."""
    published = protocol == "paper" and not synthetic
    rows = []
    for model in ABLATION_MODELS:
        cell = paper_numbers.ABLATION[model] if published else None
        rows += _rows_for({"Model": PAPER_NAMES[model]},
                          _select(runs, protocol, labels, "impro", model, PAPER_ALPHA[model]), cell)
    title = "Multi-scale and global-aware modules on the improvised subset"
    return _table(f"ablation_{protocol}", title,
                  _caption(protocol, labels, "Zhu & Li 2022, the ablation table" if published else None),
                  ["Model"], rows, synthetic, Recipe(protocol, labels, ("impro",), ABLATION_MODELS))


def alpha_table(runs: list[Run], protocol: str, labels: str, synthetic: bool = False) -> Table:
    """GLAM on the improvised subset per mixup α: the paper's α and any other found."""
    published = protocol == "paper" and not synthetic
    found = {r.alpha for r in runs if r.alpha is not None and (r.protocol, r.labels, r.subset, r.model)
             == (protocol, labels, "impro", ALPHA_MODEL)}
    rows = []
    for alpha in sorted(found | (set(paper_numbers.ALPHA) if published else set())):
        members = [r for r in runs if (r.protocol, r.labels, r.subset, r.model, r.alpha)
                   == (protocol, labels, "impro", ALPHA_MODEL, alpha)]
        rows += _rows_for({"α": f"{alpha:g}"}, members, paper_numbers.ALPHA.get(alpha) if published else None)
    title = "Mixup α for GLAM on the improvised subset"
    return _table(f"alpha_{protocol}", title,
                  _caption(protocol, labels, "Zhu & Li 2022, the α table" if published else None),
                  ["α"], rows, synthetic, Recipe(protocol, labels, ("impro",), (ALPHA_MODEL,), paper_alpha=False))


SYNTHETIC_NOTE = ("These runs are on a SYNTHETIC corpus (ser.synthetic.synth and its siblings): their numbers say "
                  "nothing about the real corpus and are never set beside the paper's.")


def _table(name: str, title: str, caption: str, key_columns: list[str], rows: list[Row], synthetic: bool,
           recipe: Recipe | None = None) -> Table:
    """A table, marked as synthetic (name, title, caption) when its runs are."""
    if synthetic:
        return Table(f"{name}_synthetic", f"SYNTHETIC corpus: {title}", f"{SYNTHETIC_NOTE} {caption}", key_columns,
                     rows, recipe)
    return Table(name, title, caption, key_columns, rows, recipe)


def corpus_label(run: Run) -> str:
    """The corpus a run trained on (and the one it was tested on, across corpora), as a reader
    recognises it (SYNTHETIC marked)."""
    if run.identity is None:
        return "not recorded"
    corpus, settings = run.identity["corpus"], run.identity["settings"]
    where = next((Path(corpus[key]["path"]).name for key in ("features_file", "features_pickle") if key in corpus),
                 Path(corpus.get("root", "")).name)
    tested = ""
    if settings.get("test_corpus"):
        tested = f" → {settings['test_corpus']} ({Path(corpus.get('test_corpus', {}).get('root', '')).name})"
    return f"{settings['corpus']} ({where}){tested}{', SYNTHETIC' if run.synthetic else ''}"


def _protocol_title(protocol: str, folds: int | None) -> str:
    entry = protocols.find(protocol)  # None: seed 004's speaker pair
    return protocol if entry is None else entry.title(folds)


def _speaker_independence(protocol: str) -> str:
    """Whether a protocol's parts share no speaker, for captions (the protocols that follow a
    corpus's partition or files are checked per run: results.json's split.speaker_independent)."""
    entry = protocols.find(protocol)
    return (entry and entry.speaker_independent) or "per run (results.json, split.speaker_independent)"


def corpus_tables(runs: list[Run], synthetic: bool = False) -> list[Table]:
    """One table per corpus (and cross-corpus pair) and protocol of ``runs`` (those on other
    corpora, and the IEMOCAP runs the paper's tables do not count): one row per label set,
    model and group of like runs."""
    cells: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        cells[(run.corpus, run.test_corpus or "", run.protocol, run.folds or 0)].append(run)

    def order(key):
        corpus, test_corpus, protocol, folds = key
        return (corpus, test_corpus, protocols.rank(protocol), protocol, folds)

    tables = []
    for corpus, test_corpus, protocol, folds in sorted(cells, key=order):
        members = cells[(corpus, test_corpus, protocol, folds)]
        rows = []
        for labels, model in sorted({(r.labels, r.model) for r in members}):
            rows += _rows_for({"Labels": labels, "Model": model},
                              [r for r in members if (r.labels, r.model) == (labels, model)], None)
        across = f" → {corpus_title(test_corpus)} (trained on the first, tested on the whole second)" \
            if test_corpus else ""
        name = f"corpus_{corpus}{f'_to-{test_corpus}' if test_corpus else ''}_{protocol}{folds or ''}"
        title = f"{corpus_title(corpus)}{across}: {_protocol_title(protocol, folds or None)}"
        independent = _speaker_independence(protocol)
        caption = (f"Protocol {protocol_description(protocol)}. Speaker-independent: {independent}. Each cell: mean ± "
                   f"population std (numpy, ddof=0) over n runs ({_what_runs_are(protocol, folds or None)}). "
                   "No published numbers.")
        tables.append(_table(name, title, caption, ["Labels", "Model"], rows, synthetic))
    return tables


def feature_kind_of(features: str) -> str:
    """The feature kind of a run name's features part (``ssl-wavlm-base-plus-all-1a2b3c4d``: ``ssl``)."""
    return features.split("-")[0]


def features_side_by_side(runs: list[Run], synthetic: bool = False) -> list[Table]:
    """Per corpus, protocol and label set whose runs use more than one feature kind (GLAM's
    MFCCs, an SSL upstream, eGeMAPS, ...): every run of it, one row per subset, model and
    features (which name the upstream, its layer choice and weights), so the kinds stand side
    by side on the same folds."""
    cells: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        cells[(run.corpus, run.test_corpus or "", run.protocol, run.folds or 0, run.labels)].append(run)
    tables = []
    for key in sorted(cells, key=lambda k: (k[0], k[1], protocols.rank(k[2]), k[2], k[3], k[4])):
        corpus, test_corpus, protocol, folds, labels = key
        members = cells[key]
        if len({feature_kind_of(r.features) for r in members}) < 2:
            continue
        rows = []
        subsets = sorted({r.subset for r in members},
                         key=lambda s: (SUBSETS.index(s) if s in SUBSETS else len(SUBSETS), s))
        for subset in subsets:
            for model in sorted({r.model for r in members if r.subset == subset}):
                rows += _rows_for({"Dataset": SUBSET_NAMES.get(subset, subset), "Model": model},
                                  [r for r in members if (r.subset, r.model) == (subset, model)], None)
        across = f" → {corpus_title(test_corpus)}" if test_corpus else ""
        name = f"features_{corpus}{f'_to-{test_corpus}' if test_corpus else ''}_{protocol}{folds or ''}_{labels}"
        title = (f"{corpus_title(corpus)}{across}: {_protocol_title(protocol, folds or None)}, "
                 "feature kinds side by side")
        caption = (f"Protocol {protocol_description(protocol)}. Labels {labels}. Features name the kind and, for "
                   "an SSL upstream, its folder, layer choice (all: every layer pooled; L<k>: layer k's frames) and "
                   "the first 8 hex digits of its weights' sha256. Each cell: mean ± population std (numpy, ddof=0) "
                   f"over n runs ({_what_runs_are(protocol, folds or None)}).")
        tables.append(_table(name, title, caption, ["Dataset", "Model"], rows, synthetic))
    return tables


def all_results_table(runs: list[Run]) -> Table:
    """Every group of runs that share all settings but the seed, per corpus, protocol, label
    set, subset and model, with no published numbers."""
    cells: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        cells[(run.protocol, run.labels, run.subset, run.model, corpus_label(run))].append(run)

    def order(key):
        protocol, labels, subset, model, corpus = key
        # the named protocols in their order, then seed 004's speaker pairs by name
        return (corpus, protocols.rank(protocol), protocol, labels, SUBSETS.index(subset), model)

    rows = []
    for protocol, labels, subset, model, corpus in sorted(cells, key=order):
        keys = {"Corpus": corpus, "Protocol": protocol, "Labels": labels, "Dataset": SUBSET_NAMES[subset],
                "Model": model}
        rows += _rows_for(keys, cells[(protocol, labels, subset, model, corpus)], None)
    caption = ("Every group of runs found: runs that differ in anything but the seed (corpus, epochs, learning "
               "rate, ...) are separate rows, the settings column naming what differs. Each cell: mean ± "
               "population std (numpy, ddof=0) over n runs (seeds; for loso and loso-speaker every fold of "
               "every seed). Protocols: " + "; ".join(protocol_description(p) for p in protocols.names())
               + "; pair-val<V>-test<T>: seed 004's speaker pair, validation speaker V, test speaker T.")
    return Table("all_results", "All results", caption, ["Corpus", "Protocol", "Labels", "Dataset", "Model"], rows)


def explain_uncounted(paper: list[Table], uncounted: list[Run], elsewhere: list[Table]) -> None:
    """A note below a paper table for the IEMOCAP runs of its models that no paper table
    counts: how many, and each setting that differs from the table's recipe (the table of the
    run's own protocol when there is one), and the table they are in instead."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run in uncounted:
        candidates = [t for t in paper if run.model in t.recipe.models]
        if not candidates:
            continue  # a model of none of the paper's tables: its runs are in their own table
        table = next((t for t in candidates if t.recipe.protocol == run.protocol), candidates[0])
        groups[(id(table), run.model, run.subset, tuple(table.recipe.differences(run)))].append(run)
    tables = {id(t): t for t in paper}
    for (table_id, model, subset, differences), runs in groups.items():
        home = next((t.title for t in elsewhere if any(r is runs[0] for row in t.rows for r in row.runs)),
                    "All results")
        tables[table_id].notes.append(
            f"Not counted here: {len(runs)} IEMOCAP run{'s' * (len(runs) > 1)} of {PAPER_NAMES.get(model, model)} on "
            f"{SUBSET_NAMES[subset]} with {'; '.join(differences)}; they are in the table \"{home}\".")


def build_tables(runs: list[Run], labels: str = "glam") -> list[Table]:
    """The paper's tables for each protocol (those with published numbers or IEMOCAP runs)
    when there are IEMOCAP runs, one table per corpus and protocol for the other corpora and
    for the IEMOCAP runs the paper's tables do not count (each paper table says which of its
    models' runs it did not count, and why), then all results; runs on a synthetic corpus get
    tables of their own, never beside the paper's."""
    tables = []
    real, synthetic = [r for r in runs if not r.synthetic], [r for r in runs if r.synthetic]
    for members, is_synthetic in ((real, False), (synthetic, True)):
        iemocap = [r for r in members if r.is_iemocap]
        paper = []
        # Without a single IEMOCAP run the paper's tables would hold its numbers and nothing
        # else (the demo's folder, a folder of EmoDB runs).
        for protocol in [p.name for p in protocols.REGISTERED.values() if p.paper_tables] if iemocap else ():
            for make in (comparison_table, ablation_table, alpha_table):
                table = make(iemocap, protocol, labels, is_synthetic)
                if any(row.runs or row.paper for row in table.rows):
                    paper.append(table)
        counted = {id(run) for table in paper for row in table.rows for run in row.runs}
        uncounted = [r for r in iemocap if id(r) not in counted]
        others = corpus_tables([r for r in members if not r.is_iemocap] + uncounted, is_synthetic)
        explain_uncounted(paper, uncounted, others)
        tables += paper + features_side_by_side(members, is_synthetic) + others
    tables.append(all_results_table(runs))
    return tables


def _cell_text(value: tuple[float, float] | None) -> str:
    return NO_VALUE if value is None else f"{value[0]:.2f} ± {value[1]:.2f}"


def to_markdown(table: Table) -> str:
    show_paper = any(row.paper for row in table.rows)
    show_alpha = "α" not in table.key_columns  # the α table has it as its key already
    show_settings = any(row.settings for row in table.rows)
    header = [*table.key_columns, "features", *(["α"] if show_alpha else []), *(["settings"] if show_settings else []),
              "n"]
    for m in METRICS:
        header.append(METRIC_TITLES[m])
        if show_paper:
            header.append(f"{PAPER_METRIC_TITLES[m]} (paper)")
    lines = [f"**{table.title}.** {table.caption}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    for row in table.rows:
        stats = row.stats()
        cells = [*row.keys.values(), row.features, *([row.alpha] if show_alpha else []),
                 *([row.settings] if show_settings else []), str(len(row.runs))]
        for m in METRICS:
            cells.append(_cell_text(stats[m] if stats else None))
            if show_paper:
                cells.append(_cell_text(row.paper[m] if row.paper else None))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ([""] + [f"- {note}" for note in table.notes] if table.notes else []))


def to_csv(table: Table) -> str:
    """Machine-readable twin of :func:`to_markdown`: means and stds in separate columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [*table.key_columns, "features", "alpha", "settings", "runs"]
    for m in METRICS:
        header += [f"{m}_mean", f"{m}_std", f"paper_{m}_mean", f"paper_{m}_std"]
    writer.writerow(header)
    for row in table.rows:
        stats = row.stats()
        cells = [*row.keys.values(), row.features, row.alpha, row.settings, len(row.runs)]
        for m in METRICS:
            ours = stats[m] if stats else ("", "")
            paper = row.paper[m] if row.paper else ("", "")
            cells += [*(f"{v:.4f}" if v != "" else "" for v in ours), *paper]
        writer.writerow(cells)
    return out.getvalue()


def write_report(tables: list[Table], out_dir: str | Path) -> list[Path]:
    """``report.md`` (every table) and one ``<table>.csv`` each, written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.md"]
    write_text(written[0], "\n\n".join(to_markdown(t) for t in tables) + "\n")
    for table in tables:
        written.append(out_dir / f"{table.name}.csv")
        write_text(written[-1], to_csv(table))
    return written


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description="The GLAM paper's tables from result folders, beside its numbers.")
    parser.add_argument("folders", nargs="+", help="folders holding .metric files (searched recursively)")
    parser.add_argument("-o", "--out", default=None, help="output folder (default: FIRST_FOLDER/report)")
    parser.add_argument("--labels", default="glam", choices=sorted(CLASS_NAMES),
                        help="label set of the paper tables (all_results lists every set)")
    args = parser.parse_args(argv)
    try:
        runs = find_runs(args.folders)
        if not runs:
            raise ReportError(f"no .metric results under {', '.join(args.folders)}; pass the folder(s) that "
                              "train.py -d wrote into (the scripts use data)")
    except ReportError as error:
        sys.exit(f"error: {error}")
    tables = build_tables(runs, args.labels)
    print("\n\n".join(to_markdown(t) for t in tables))
    written = write_report(tables, args.out or Path(args.folders[0]) / "report")
    print(f"\nwrote {', '.join(str(p) for p in written)}")
    return tables


if __name__ == "__main__":
    main()
