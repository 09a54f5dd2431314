"""Corpus → features → split: everything a run trains and scores on, in two calls.

- :func:`load_corpus` scans the corpus with its reader (``ser.corpora.registry``: IEMOCAP, emoDB,
  RAVDESS, CREMA-D, ESD, MSP-Podcast or any labelled folder), keeps the subset (IEMOCAP's) and
  label set, and reads or computes every utterance's features through the feature cache
  (``ser.features.cache``): a :class:`CorpusData`. What cannot be used is left out with a reason, and
  one summary of it is logged and kept (``results.json``'s ``data``). A cross-corpus run
  (``--test_corpus``) loads its test corpus the same way, through the same cache. Seed 004's
  per-speaker features file (``ser.features.speaker_file``) gives the same :class:`CorpusData`.
- :func:`prepare_run` splits it by the protocol (``ser.protocols.splits``: the paper's random split drawn
  by the run's numpy generator straight after seeding, IEMOCAP's session folds, speaker folds,
  the corpus's official partition, a manifest's folds, or published fold files read by
  ``ser.protocols.foldfiles``), stacks the training segments in the original's order, applies the
  training options (upsampling, oversampling, min-max scaling fitted on training data) and
  returns a :class:`RunData`. Across corpora the test part is the whole test corpus. With the
  paper protocol and an existing features pickle of the original code (``--featuresFileName``)
  that pickle is the split instead, as in the original.

As in the original, utterances shorter than one segment leave before the split
(``--padding`` tiles them instead).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ser import corpora
from ser.corpora import iemocap, registry
from ser.errors import UserError
from ser.features.cache import CachedFeatures, CacheError, FeatureCache
from ser.features.kinds import Settings, is_spectral
from ser.features.speaker_file import read_speaker_file
from ser.features.torch_backend import TorchFeatures
from ser.io import write_pickle
from ser.protocols import foldfiles
from ser.protocols import registry as protocols
from ser.protocols.base import Split, SplitInput
from ser.protocols.registry import FOLD_FILES, is_multi_fold
from ser.protocols.splits import pair_split, speaker_independent
from ser.runs.request import DataRequest
from ser.runs.roots import root_of
from ser.training import augment
from ser.training.dataset import MinMaxScaler, TestUtterances, TrainSegments, stack_segments
from ser.training.frames import FrameSequences

MARKER_NAME = "SYNTHETIC_CORPUS.txt"  # what ser.synthetic.synth and its siblings leave in a generated corpus


class DataError(UserError):
    """The data cannot be split or trained on as asked; the message says what to change."""


@dataclass
class CorpusData:
    """The usable utterances of a corpus with their features, in split order."""
    root: Path
    utterances: list[corpora.Utterance]
    labels: np.ndarray                # (U,) int64 class indices
    train_feats: list[np.ndarray]     # per utterance (S, F, T) at the training overlap
    test_feats: list[np.ndarray]      # per utterance at the test overlap
    shape: tuple[int, int]            # (F, T) of one segment
    synthetic: bool
    data_summary: dict                # what was used, left out (and why) or repaired
    identity: dict                    # what makes two runs' data the same (data_identity)
    name: str = "iemocap"             # the reader (ser.corpora.registry.CORPORA)
    rows: list[corpora.Utterance] = dataclasses.field(default_factory=list)  # every row the reader found
    test_corpus: CorpusData | None = None  # --test_corpus: the corpus scored instead of a test part


@dataclass
class RunData:
    """What one run trains and scores on."""
    train: TrainSegments              # augment.PairedSegments when stability training takes wavs' copies
    test: TestUtterances
    validation: TestUtterances | None  # None: the epoch is chosen on test (the paper protocol)
    protocol: str                     # the protocol's description, for results
    info: dict                        # class counts of the parts, as the original's log
    scaler: MinMaxScaler | None       # the training set's min-max fit (--minmax)
    corpus: CorpusData | None         # None when the original's features pickle was the split
    split: dict = dataclasses.field(default_factory=dict)  # split_record: name, fold, speakers of the parts
    fold_files: dict | None = None    # --folds_from: what the fold files placed and could not place

    @property
    def data_summary(self) -> dict | None:
        """The corpus's data summary, with the fold files' report when the split came from them."""
        if self.corpus is None:
            return None
        return {**self.corpus.data_summary, **({"fold_files": self.fold_files} if self.fold_files else {})}

    @property
    def selection(self) -> TestUtterances:
        return self.test if self.validation is None else self.validation

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.train.X.shape[1:])


def corpus_root(request: DataRequest, test: bool = False) -> Path:
    """The corpus folder: ``--data`` (``--test_data`` for the test corpus), else the corpus's
    environment variable, else path.py's (``ser.runs.roots.root_of``), checked by its reader."""
    name, data = (request.test_corpus, request.test_data) if test else (request.corpus, request.data)
    entry = registry.corpus(name)
    root = root_of(name, data or (request.default_iemocap if entry.path_setting else None))
    if not root and entry.path_setting:
        raise corpora.CorpusError(
            f"no {entry.title} corpus configured: set {entry.environment}, edit path.py, or pass --data PATH "
            f"({entry.layout}). ./run trains on a synthetic demo corpus when none is set.")
    if entry.check_root is None:
        return corpora.corpus_folder(root, name, entry.title, entry.layout)
    try:
        return entry.check_root(root)
    except corpora.CorpusError as error:
        other = [n for n in registry.matches(root) if n != name] if root and os.path.isdir(root) else []
        if other:
            raise corpora.CorpusError(f"{error}. It holds {registry.title(other[0])} wavs: pass --corpus "
                                      f"{other[0]}") from None
        raise


def test_paths(corpus: CorpusData | None, turns: list[str]) -> list[str] | None:
    """The wav of each test turn, relative to the root of the corpus it was scored on (the test
    corpus across corpora); None for a run without a corpus tree (features file or pickle)."""
    if corpus is None:
        return None
    scored = corpus.test_corpus or corpus
    by_turn = {u.turn: u.path for u in scored.utterances}
    return [by_turn.get(turn, "") for turn in turns]


def synthetic_note(name: str) -> str:
    """What a run on a synthetic tree of corpus ``name`` logs, naming the real corpus it stands in for."""
    title = "the real corpus" if name == "folder" else registry.title(name)
    return f"NOTE: this is a synthetic corpus; its numbers say nothing about {title}."


@dataclass
class ScannedCorpus:
    """A corpus's rows before any feature is computed: enough to name the data a run uses."""
    root: Path
    scan: corpora.CorpusScan
    chosen: list[corpora.Utterance]   # the subset's rows with labels of the label set
    identity: dict                    # see :func:`corpus_identity`
    name: str = "iemocap"
    subset: str = "impro"
    test: ScannedCorpus | None = None  # --test_corpus: the test corpus's rows
    listed_missing: list[str] | None = None  # --folds_from: the listed files it lacks, "path (why; where)"


def _stamp(path: Path) -> dict:
    """A file's identity without reading it whole: resolved path, size, modification time."""
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def corpus_identity(root: Path, chosen: list[corpora.Utterance], synthetic: bool) -> dict:
    """What makes two runs' data the same: the corpus root, a digest of the manifest rows the
    run selects (path, label, speaker, duration of every utterance), and whether it is synthetic."""
    rows = "\n".join(f"{u.path}\t{u.label}\t{u.speaker}\t{u.duration!r}" for u in chosen)
    return {"root": str(root.resolve()), "manifest_sha256": hashlib.sha256(rows.encode()).hexdigest(),
            "utterances": len(chosen), "synthetic": synthetic}


def parts_digest(chosen: list[corpora.Utterance]) -> str:
    """A digest of the part every row has in the corpus's own partition and folds
    (``official_split``, ``session``), which the official and manifest-folds splits follow."""
    rows = "\n".join(f"{u.path}\t{u.official_split}\t{u.session}" for u in chosen)
    return hashlib.sha256(rows.encode()).hexdigest()


def _read(request: DataRequest, name: str, root: Path, test: bool) -> corpora.CorpusScan:
    """The reader's scan, with the options the command line gives it (``--manifest`` is the
    training corpus's; a folder test corpus is read by its own manifest)."""
    options = {keyword: value for keyword, value in request.reader_options[name].items()
               if not (test and registry.corpus(name).reader_flags[keyword] == "manifest")}
    return registry.scan(name, root, **options)


def _scanned(request: DataRequest, test: bool) -> ScannedCorpus:
    name = request.test_corpus if test else request.corpus
    scan = _read(request, name, corpus_root(request, test), test)
    root = scan.root  # the folder the corpus's archive unpacks to, when --data names the one holding it
    subset = "all" if test else request.impro_or_script
    label_map = request.label_map
    listed = None
    if not test and request.protocol == FOLD_FILES:  # the rows the fold files list, with their labels
        short = None if request.padding or is_spectral(request.features_to_use) else request.segment_length
        listed = foldfiles.listed_rows(request.folds_from, scan, subset=subset, labels=request.labels,
                                       label_map=None if request.test_corpus else label_map, shortest=short,
                                       allow_missing=request.allow_missing_listed)
    chosen = [u for u in iemocap.select(scan.utterances if listed is None else listed.rows, subset)
              if u.label in label_map]
    if not chosen:
        raise corpora.CorpusError(f"no utterances with labels {sorted(label_map)} in subset {subset!r} under {root}")
    if request.labels == "folder":
        absent = [request.class_names[i] for t, i in label_map.items() if not any(u.label == t for u in chosen)]
        if absent:
            raise corpora.CorpusError(f"class(es) {', '.join(absent)} of the folder corpus at {root} have no readable "
                                      f"wav ({len(scan.skipped)} items skipped; see ser.corpora.folder): fix the "
                                      "manifest, or pass --labels shared4")
    identity = corpus_identity(root, chosen, (root / MARKER_NAME).exists())
    protocol = protocols.find(request.protocol)  # None: seed 004's speaker pair
    if not test and protocol is not None and protocol.follows_corpus_parts:
        identity["parts_sha256"] = parts_digest(chosen)
    return ScannedCorpus(root, scan, chosen, identity, name, subset,
                         listed_missing=None if listed is None else listed.missing)


def scan_corpus(request: DataRequest) -> ScannedCorpus:
    """The corpus's rows of the run's subset and label set (no audio read beyond headers), and
    the test corpus's for a cross-corpus run."""
    scanned = _scanned(request, test=False)
    if request.test_corpus is not None:
        scanned.test = _scanned(request, test=True)
        scanned.identity = {**scanned.identity, "synthetic": scanned.identity["synthetic"] or
                            scanned.test.identity["synthetic"], "test_corpus": scanned.test.identity}
    return scanned


def data_identity(request: DataRequest) -> tuple[dict, ScannedCorpus | None]:
    """The identity of the data a run would use, cheaply (before features): the corpus's
    (:func:`corpus_identity`), or that of the features file or the original's features pickle it
    trains on; and the scan, for :func:`load_corpus` to reuse."""
    if request.features_file is not None:
        return {"features_file": _stamp(Path(request.features_file)), "synthetic": False}, None
    if uses_original_pickle(request):
        return {"features_pickle": _stamp(Path(request.features_pickle)), "synthetic": False}, None
    scanned = scan_corpus(request)
    return scanned.identity, scanned


def load_corpus(request: DataRequest, log, scanned: ScannedCorpus | None = None) -> CorpusData:
    """Scan the corpus (or take ``scanned``) and compute/cache features: everything the split
    needs (from seed 004's features file instead, when the run is given one)."""
    if request.features_file is not None:
        read = read_speaker_file(request.features_file, request.labels, request.features_to_use,
                                 request.impro_or_script, request.sample_rate, log)
        log(data_summary_text(read.summary))
        return CorpusData(root=Path(request.features_file), utterances=read.utterances, labels=read.labels,
                          train_feats=read.feats, test_feats=read.feats, shape=read.shape, synthetic=False,
                          data_summary=read.summary, identity=data_identity(request)[0])
    scanned = scanned or scan_corpus(request)
    corpus = _with_features(request, scanned, log)
    if scanned.test is not None:
        log(f"Test corpus ({registry.TITLES[scanned.test.name]}):")
        corpus.test_corpus = _with_features(request, scanned.test, log)
    return corpus


def cached_settings(request: DataRequest, settings: Settings) -> CachedFeatures:
    """What the feature cache computes ``settings`` with: the settings themselves (librosa, one
    utterance at a time) or, with ``--feature_backend`` torch (auto on a CUDA device), torch
    in batches on the run's device, under keys of their own."""
    device = request.device
    if hasattr(settings, "on_device"):  # an upstream's hidden states, computed on the run's device
        return settings.on_device(device)
    if request.feature_backend == "torch":
        return TorchFeatures.for_device(settings, device)
    return settings


def _with_features(request: DataRequest, scanned: ScannedCorpus, log) -> CorpusData:
    """The scanned corpus's usable utterances with their features (read from or added to the
    cache), and the summary of what was left out."""
    root, scan, chosen = scanned.root, scanned.scan, scanned.chosen
    label_map = request.label_map
    settings = request.features
    per_overlap, report = FeatureCache(request.cache_dir).load(
        [root / u.path for u in chosen], cached_settings(request, settings),
        (request.train_overlap, request.test_overlap), progress=not request.quiet, names=[u.path for u in chosen])
    ragged = getattr(settings, "ragged", False)  # an upstream's frames: each utterance its own length

    def as_input(entry: np.ndarray) -> np.ndarray | FrameSequences:
        return FrameSequences.of([entry]) if ragged else settings.model_input(entry)
    train_feats = [None if f is None else as_input(f) for f in per_overlap[request.train_overlap]]
    test_feats = [None if f is None else as_input(f) for f in per_overlap[request.test_overlap]]
    if hasattr(settings, "ragged"):  # an upstream's, one input per utterance: the overlaps do not apply
        test_feats = train_feats
    usable = [i for i, f in enumerate(train_feats) if f is not None and len(f) > 0]
    skipped = list(scan.skipped)
    skipped += [(f"{chosen[i].path} ({detail})" if detail else chosen[i].path, reason)
                for i, reason, detail in report.skipped]
    skipped += [(chosen[i].path, f"shorter than one segment ({request.segment_length} s), dropped as in the paper")
                for i, f in enumerate(train_feats) if f is not None and len(f) == 0]
    segment_samples = request.segment_length * request.sample_rate
    summary = {
        "corpus": str(root), "reader": scanned.name, "labelled_turns": len(scan.utterances),
        "subset": scanned.subset, "classes": sorted(label_map), "selected": len(chosen), "used": len(usable),
        "skipped": [list(item) for item in skipped], "reader_skipped": len(scan.skipped),
        "tiled": sum(a is not None and a.samples < segment_samples for a in report.audio) if request.padding else 0,
        "sample_rate": request.sample_rate,
        "resampled": {str(rate): n for rate, n in sorted(report.resampled(request.sample_rate).items())},
        "downmixed": report.downmixed(),
    }
    if scanned.listed_missing is not None:
        unusable = [f"{root / item} ({reason})" for item, reason in skipped[len(scan.skipped):]]
        summary["fold_files_missing"] = [*scanned.listed_missing, *unusable]
    log(data_summary_text(summary))
    if scanned.listed_missing is not None:
        foldfiles.refuse_unusable(request.folds_from, unusable, request.allow_missing_listed)
    if not usable:
        raise corpora.CorpusError(f"none of the {len(chosen)} selected utterances under {root} can be used "
                                  f"(reasons in the summary above); check the corpus and --segment_length")
    labels = np.array([label_map[chosen[i].label] for i in usable], dtype=np.int64)
    return CorpusData(root=root, utterances=[chosen[i] for i in usable], labels=labels,
                      train_feats=[train_feats[i] for i in usable], test_feats=[test_feats[i] for i in usable],
                      shape=settings.shape(), synthetic=scanned.identity["synthetic"], data_summary=summary,
                      identity=scanned.identity, name=scanned.name, rows=list(scan.utterances))


def data_summary_text(summary: dict) -> str:
    """The run's one summary of its data: what was used, left out (and why) or repaired. Its
    counts add up: the labelled utterances the reader found (beside the items it left out), the
    selected ones among them, and the used ones among those (beside the selected ones left out)."""
    skipped, by_reader = summary["skipped"], summary.get("reader_skipped", 0)
    labelled, selected, used = summary["labelled_turns"], summary["selected"], summary["used"]
    listed = "fold_files_missing" in summary
    lines = [f"Data: {labelled} labelled utterances with audio under {summary['corpus']} (the reader left out "
             f"{by_reader} other item{'' if by_reader == 1 else 's'}); {selected} of them selected ("
             + (f"the rows the fold files list, subset {summary['subset']!r}" if listed else
                f"in subset {summary['subset']!r}") + f" with classes {'/'.join(summary['classes'])}), "
             f"{labelled - selected} not; {used} of the {selected} used, {selected - used} left out."]
    for title, items in (("left out by the reader", skipped[:by_reader]),
                         (f"left out of the {selected} selected", skipped[by_reader:])):
        lines.append(f"  {title}: {len(items)}" + (":" if items else ""))
        lines += corpora.format_skipped(items)
    if listed:
        missing = summary["fold_files_missing"]
        lines.append(f"  files the fold files list that are missing or unusable (--allow_missing_listed): "
                     f"{len(missing)}" + (f", e.g. {', '.join(missing[:3])}" if missing else ""))
    if summary["tiled"]:
        lines.append(f"  tiled to one segment (--padding): {summary['tiled']}")
    if summary["resampled"]:
        rates = ", ".join(f"{rate} Hz: {n}" for rate, n in summary["resampled"].items())
        lines.append(f"  resampled to {summary['sample_rate']} Hz: {sum(summary['resampled'].values())} "
                     f"(from {rates})")
    if summary["downmixed"]:
        lines.append(f"  down-mixed to mono: {summary['downmixed']}")
    return "\n".join(lines)


def split_input(request: DataRequest, rows: list[corpora.Utterance], all_rows: list[corpora.Utterance] | None = None,
                rng: np.random.RandomState | None = None) -> SplitInput:
    """The run's split settings over the usable ``rows`` (``all_rows``: every row the reader found)."""
    return SplitInput(rows=rows, rng=rng, fold=request.fold, folds=request.folds, fold_seed=request.fold_seed,
                      split_rate=request.split_rate, all_rows=all_rows or (), folds_from=request.folds_from,
                      folds_from_sha256=request.folds_from_sha256, label_map=request.label_map)


def split_corpus(request: DataRequest, corpus: CorpusData, rng: np.random.RandomState) -> tuple[Split, dict | None]:
    """The split of ``--protocol`` (and ``--fold``) over the usable utterances (its entry in
    ``ser.protocols.registry``), or seed 004's speaker pair (--val_id/--test_id); with the
    report of what its source could not place (the fold files'; None for the others)."""
    if request.val_id is not None and request.fold is None:
        return pair_split([u.speaker for u in corpus.utterances], request.val_id, request.test_id), None
    split = protocols.get(request.protocol).split(split_input(request, corpus.utterances, corpus.rows, rng))
    return split, split.report


def fold_numbers(request: DataRequest, rows: list[corpora.Utterance], all_rows: list[corpora.Utterance] | None = None
                 ) -> list[int]:
    """The folds of the run's protocol over ``rows`` (``all_rows``: every row the reader found,
    for fold files), in the order a run without ``--fold`` trains them."""
    return protocols.get(request.protocol).folds_of(split_input(request, rows, all_rows))


def split_record(split: Split, corpus: CorpusData, folds: int | None) -> dict:
    """What results.json says of the split: its name, fold, fold count, whether its parts share
    no speaker, and the speakers of each part (the test part's from the test corpus in a
    cross-corpus run, whose training and validation parts are then what is checked)."""
    speakers = [u.speaker for u in corpus.utterances]
    other = corpus.test_corpus
    test_speakers = ([u.speaker for u in other.utterances] if other is not None
                     else [speakers[i] for i in split.test])
    independent = (split.speaker_independent if other is None
                   else speaker_independent(speakers, dataclasses.replace(split, test=[])))
    return {"name": split.name, "fold": split.fold, "folds": folds, "speaker_independent": bool(independent),
            "speakers": {"train": sorted({speakers[i] for i in split.train}),
                         "validation": sorted({speakers[i] for i in split.validation}),
                         "test": sorted(set(test_speakers))}}


def upsample(train: list[int], labels: np.ndarray, rng: np.random.RandomState) -> list[int]:
    """``--aug upsampling``: draw extra utterances of each smaller class until all match the largest.

    The original's version indexed classes by name against integer labels and could not run,
    and shuffled with Python's unseeded ``random``; this one draws from the run's generator.
    """
    by_class = {c: [i for i in train if labels[i] == c] for c in sorted(set(labels[train].tolist()))}
    largest = max(len(members) for members in by_class.values())
    extra = [members[j] for members in by_class.values()
             for j in rng.choice(len(members), largest - len(members), replace=True)]
    combined = train + extra
    rng.shuffle(combined)
    return combined


def noisy_copies(request: DataRequest, corpus: CorpusData, order: list[int]) -> np.ndarray:
    """Training segments of the white-noise or reverb version of each wav (stability training)."""
    settings = dataclasses.replace(request.features, perturbation=request.stability_source)
    chosen = [corpus.utterances[i] for i in order]
    per_overlap, report = FeatureCache(request.cache_dir).load(
        [corpus.root / u.path for u in chosen], cached_settings(request, settings), progress=not request.quiet,
        names=[u.path for u in chosen])
    if report.skipped:
        raise CacheError(f"the {request.stability_source} version of {chosen[report.skipped[0][0]].path} cannot be "
                         f"computed ({report.skipped[0][1]}); use --stability_source gaussian")
    return np.concatenate([settings.model_input(f) for f in per_overlap[None]])


def split_order(request: DataRequest, corpus: CorpusData,
                rng: np.random.RandomState) -> tuple[Split, list[int], dict | None]:
    """The split, the training utterances in the order their segments are stacked (``--aug
    upsampling`` repeats some): the draws a run makes from its generator, in order; and the
    fold files' report (None without ``--folds_from``)."""
    split, report = split_corpus(request, corpus, rng)
    order = upsample(split.train, corpus.labels, rng) if request.aug == "upsampling" else split.train
    return split, order, report


def split_info(split: Split, labels: np.ndarray, segment_labels: np.ndarray, test_labels: np.ndarray) -> dict:
    """The parts' class counts (utterances; training segments), as the original's log has them."""
    info = {"train": json.dumps(Counter(labels[split.train].tolist())),
            "test": json.dumps(Counter(test_labels.tolist())),
            "train_seg": f"{Counter(segment_labels.tolist()).items()}"}
    if split.validation:
        info["validation"] = json.dumps(Counter(labels[split.validation].tolist()))
    return info


def split_data(request: DataRequest, corpus: CorpusData, rng: np.random.RandomState):
    """Split the usable utterances by ``--protocol`` (and ``--fold``, see ser/protocols/splits.py).

    Returns training segments (paired with their noisy copies when stability training takes
    them from the wavs), test utterances (the whole test corpus in a cross-corpus run),
    validation utterances (None for ``paper``, which chooses the epoch on test), the Split,
    the parts' class counts and the fold files' report (None without ``--folds_from``).
    """
    labels = corpus.labels
    split, train_order, report = split_order(request, corpus, rng)
    train = stack_segments([corpus.train_feats[i] for i in train_order], labels[train_order], corpus.shape)

    def scored_utterances(part: list[int], source: CorpusData = corpus) -> TestUtterances:
        return TestUtterances.from_lists([source.test_feats[i] for i in part], source.labels[part],
                                         [source.utterances[i].turn for i in part], source.shape)

    other = corpus.test_corpus
    if other is None:
        test, test_labels = scored_utterances(split.test), labels[split.test]
    else:
        if not split.validation:
            raise DataError(f"{split.name} fold {split.fold} has no validation part to choose the epoch on; a "
                            "cross-corpus run tests on the other corpus only: use a protocol with validation")
        test, test_labels = scored_utterances(list(range(len(other.utterances))), other), other.labels
    validation = scored_utterances(split.validation) if split.validation else None
    info = split_info(split, labels, train.y, test_labels)
    if request.stability_from_wavs:
        train = augment.PairedSegments(X=train.X, y=train.y, noisy=noisy_copies(request, corpus, train_order))
    return train, test, validation, split, info, report


def apply_training_options(request: DataRequest, train: TrainSegments, test: TestUtterances,
                           validation: TestUtterances | None, rng: np.random.RandomState):
    """Oversampling, then min-max scaling fitted on the training segments, whichever way the
    split was made (from the corpus, or loaded from the paper protocol's features pickle).

    Returns the three parts and the fitted ``MinMaxScaler`` (None without --minmax), which
    checkpoints keep so that predictions scale new audio the same way."""
    scaler = None
    if request.oversample:
        train = augment.take(train, augment.oversample_indices(train.y, rng, request.oversample))
    if request.minmax:
        scaler = MinMaxScaler().fit(train.X)
        if isinstance(train, augment.PairedSegments):
            train = augment.PairedSegments(X=scaler.transform(train.X), y=train.y, noisy=scaler.transform(train.noisy))
        else:
            train = TrainSegments(X=scaler.transform(train.X), y=train.y)
        test, validation = (None if part is None else dataclasses.replace(part, X=scaler.transform(part.X))
                            for part in (test, validation))
    return train, test, validation, scaler


def load_original_pickle(file: str) -> tuple[TrainSegments, TestUtterances, dict]:
    """Features saved by the original ``process.py`` (``train_X, train_y, val_dict, info``)."""
    with open(file, "rb") as f:
        saved = pickle.load(f)
    train = TrainSegments(X=np.asarray(saved["train_X"], dtype=np.float32),
                          y=np.asarray(saved["train_y"], dtype=np.int64))
    val = saved["val_dict"]
    test = TestUtterances.from_lists([np.asarray(v["X"], dtype=np.float32) for v in val], [v["y"] for v in val],
                                     [str(i) for i in range(len(val))], train.X.shape[1:])
    return train, test, saved.get("info", "")


def save_original_pickle(file: str, train: TrainSegments, test: TestUtterances, info) -> None:
    """The split as the original's pickle: dense arrays, so an upstream's frames are padded to the
    longest utterance of both parts (the one length its loader concatenates)."""
    if isinstance(train.X, FrameSequences):
        length = max(train.X.longest, test.X.longest)
        train_X = train.X.padded(length)
        val_dict = [{"X": test.X[test.owner == u].padded(length), "y": int(test.y[u])} for u in range(len(test.y))]
    else:
        train_X = train.X
        val_dict = [{"X": test.X[test.owner == u], "y": int(test.y[u])} for u in range(len(test.y))]
    write_pickle(file, {"train_X": train_X, "train_y": train.y, "val_dict": val_dict, "info": info})


def uses_original_pickle(request: DataRequest) -> bool:
    """The paper protocol with an existing features pickle of the original code: it is the split."""
    return (request.features_file is None and request.protocol == "paper" and request.loadFeatures
            and os.path.exists(request.features_pickle))


def prepare_run(request: DataRequest, corpus: CorpusData | None, rng: np.random.RandomState, log,
                scanned: ScannedCorpus | None = None) -> RunData:
    """The run's training, test and validation sets (see the module doc); ``corpus`` is
    :func:`load_corpus`'s result when the caller has loaded it already (else ``scanned``, the
    corpus's rows, saves scanning it again)."""
    validation = None
    if corpus is None and uses_original_pickle(request):
        features_file = request.features_pickle
        if request.stability_from_wavs:
            raise DataError(f"--stability_source {request.stability_source} recomputes the noisy version of each "
                            f"wav; the features file {features_file} has no wavs: use --stability_source gaussian, or "
                            f"--no-loadFeatures to compute features from the corpus")
        try:
            train, test, info = load_original_pickle(features_file)
        except (OSError, EOFError, KeyError, TypeError, ValueError, pickle.UnpicklingError) as error:
            raise DataError(f"cannot read the features file {features_file} ({type(error).__name__}: {error}); "
                            f"delete it or pass --no-loadFeatures to compute features from the corpus") from None
        if not (np.isfinite(train.X).all() and np.isfinite(test.X).all()):
            raise DataError(f"the features file {features_file} holds NaN/Inf values; delete it or pass "
                            f"--no-loadFeatures to compute features from the corpus")
        protocol = f"features loaded from {features_file}"
    else:
        if corpus is None:
            corpus = load_corpus(request, log, scanned)
        train, test, validation, split, info, fold_report = split_data(request, corpus, rng)
        if fold_report is not None:
            log(foldfiles.report_text(fold_report))
        protocol = split.protocol if corpus.test_corpus is None else (
            f"{split.protocol}; tested on the whole of {registry.TITLES[corpus.test_corpus.name]} at "
            f"{corpus.test_corpus.root} instead of the test part")
        record = split_record(split, corpus, len(fold_numbers(request, corpus.utterances, corpus.rows))
                              if is_multi_fold(request.protocol) else 1)
        if corpus.synthetic or (corpus.test_corpus is not None and corpus.test_corpus.synthetic):
            log(synthetic_note(request.corpus))
    if request.toSaveFeatures:
        # the split's own features: a run that loads them applies the training options itself
        save_original_pickle(request.features_pickle, train, test, info)
    if len(train.y) == 0 or len(test.y) == 0:
        raise DataError("the split left no training segments or no test utterances; use a larger corpus or subset")
    train, test, validation, scaler = apply_training_options(request, train, test, validation, rng)
    if request.batch_size > len(train.y):
        raise DataError(f"--batch_size {request.batch_size} is larger than the training set ({len(train.y)} segments); "
                        f"use -b {len(train.y)} or less, or a larger corpus or subset")
    if corpus is None:
        return RunData(train, test, validation, protocol, info, scaler, None)
    return RunData(train, test, validation, protocol, info, scaler, corpus, record, fold_report)
