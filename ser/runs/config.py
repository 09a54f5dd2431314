"""The command line of ``train.py`` and the one resolved, typed configuration of a run.

Every flag of the original ``train.py`` is accepted with its name, short form and default,
and so are seed 004's spellings (``--ser_model``, ``--num_epochs``, ``--lr``, ...). Flags are
grouped by what they are about (corpus, split, features, model, training, run, speed, logs),
not by which paper introduced them. :func:`resolve_args` parses, applies ``-c CONFIG``, checks
every combination argparse cannot, and returns a :class:`RunConfig`, the only object the
pipeline reads settings from; its fields keep the flags' names, so ``last.json`` reads as the
original's.

Two rules differ from the original, on purpose:

- ``-c CONFIG`` (a JSON object of long flag names and values) lies *under* the command line:
  a flag given on the command line wins, and every value in the file counts, ``0`` and
  ``false`` included. The original let the file override the command line, and only with
  values that are true in Python.
- A model option (``--head``, ``--attn_hidden``, ``--pretrained``, ``--image_size``) is passed
  to the model only when given; a model that does not take it refuses it with a message,
  instead of the option being dropped silently, and a value the model cannot take is refused
  before anything is written (``models.check_options``).
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

import models
from ser import corpora
from ser.corpora import folder, iemocap, registry
from ser.corpora.iemocap import SPEAKER_ID
from ser.corpora.labels import (
    CLASS_NAMES,
    FILES_LABELS,
    FOLDER_LABELS,
    LABEL_SET_NAMES,
    LABEL_SETS,
    TOKENS,
    default_label_set,
    keeps_apart,
    label_sets_for,
    tokens_label_set,
)
from ser.errors import UserError
from ser.features import spectral
from ser.features.kinds import Settings, feature_kind, feature_kind_names, is_spectral, run_feature_name
from ser.protocols import foldfiles
from ser.protocols import registry as protocols
from ser.protocols.base import CorpusFacts
from ser.protocols.registry import FOLD_FILES, is_multi_fold
from ser.protocols.splits import DEFAULT_SPEAKER_FOLDS, fold_of, pair_protocol
from ser.records.results import RunFiles
from ser.seeds import SEEDS_FILE
from ser.training import augment
from ser.training.engine import LR_SCHEDULES, OPTIMIZERS, POOLINGS, SELECTIONS, FitOptions

DEFAULT_CACHE_DIR = os.environ.get("SER_CACHE_DIR", "data/cache")
FEATURE_BACKENDS = ("auto", "librosa", "torch")
# Flags that change how a run is watched or where it runs, not its numbers.
RESUME_FREE_ARGS = ("resume", "quiet", "gpu", "save_resume_state", "tensorboard", "force")


class ConfigError(UserError):
    """A bad combination of arguments; the message says what to change."""


def str2bool(value: str) -> bool:
    """The original's ``type=bool`` flags made ``--SaveModel False`` true; these parse the word."""
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "no", "n", "off", "none"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def add_switch(group, name: str, default: bool, help: str) -> None:
    """``--name`` turns on, ``--name false`` / ``--no-name`` turn off: real on/off flags that
    still accept the original's ``--name True`` spelling."""
    dest = name.lstrip("-")
    group.add_argument(name, dest=dest, nargs="?", const=True, default=default, type=str2bool,
                       metavar="BOOL", help=help)  # the parser's formatter adds the default
    group.add_argument(f"--no-{dest}", dest=dest, action="store_false", help=argparse.SUPPRESS)


def _seed_list(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds joined by commas, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("expected at least one seed")
    return seeds


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in the help, but not the ``None`` of flags whose help says what unset means."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: an invalid choice says which choice it probably meant."""

    def error(self, message: str):
        bad = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if bad:
            choices = re.findall(r"'?([^',\s]+)'?", bad.group(2))
            near = difflib.get_close_matches(bad.group(1), choices, n=1, cutoff=0.5) or [
                c for c in choices if c.lower() == bad.group(1).lower()]
            if near:
                message += f"; did you mean {near[0]}?"
        self.exit(2, f"error: {message} (see --help)\n")


def _corpus_help() -> str:
    """``--corpus``'s help, from the corpus registry (built with the parser, so a corpus
    registered later is listed)."""
    environment = ", ".join(f"{c.name} {c.environment}" + (" (then path.py)" if c.path_setting else "")
                            for c in registry.entries() if c.environment)
    return ("the corpus reader (README, Corpora). Default: the one the --data tree shows, IEMOCAP without --data. "
            + "; ".join(f"{c.name}: {c.layout}" for c in registry.entries())
            + f". Without --data the root comes from the environment: {environment}")


def get_args_parser(exit_on_error: bool = True) -> argparse.ArgumentParser:
    parser = Parser(description="Train a speech emotion recogniser (GLAM protocol by default).",
                    formatter_class=HelpFormatter, exit_on_error=exit_on_error)
    corpus = parser.add_argument_group("corpus and labels")
    corpus.add_argument("features_file", nargs="?", default=None,
                        help="seed 004's per-speaker features file (extract_features.py, e.g. IEMOCAP_logspec200.pkl): "
                             "train on its segments instead of a corpus; name its kind with -f and its labels with "
                             "--labels (or --corpus emodb). Put it first, as seed 004's train_ser.py did")
    corpus.add_argument("--data", default=None, metavar="PATH",
                        help="corpus root (IEMOCAP_full_release, emoDB's wav folder, or any corpus of --corpus); "
                             "overrides IEMOCAP_DIR, EMODB_DIR and path.py")
    corpus.add_argument("--corpus", default=None, choices=registry.names(), help=_corpus_help())
    corpus.add_argument("--manifest", default=None, metavar="PATH",
                        help="folder: the manifest to read (default: manifest.csv or manifest.tsv in --data, else "
                             "one sub-folder per label)")
    corpus.add_argument("--emodb_files", default=None, type=int,
                        help="emoDB: expected number of wavs (None: 535, or a synthetic corpus's own count; "
                             "0: no check)")
    corpus.add_argument("-i", "--impro_or_script", default="impro", choices=iemocap.SUBSETS,
                        help="IEMOCAP subset: improvised, scripted or all dialogs (other corpora: all; with "
                             "--folds_from: all)")
    corpus.add_argument("--labels", default=None, choices=sorted(LABEL_SET_NAMES),
                        help="label set (default: the corpus's own; glam for IEMOCAP). IEMOCAP: glam (neu/sad/ang/exc, "
                             "exc as happy, hap dropped), merge (hap folded into exc), seed004 (ang/sad/hap/neu, exc "
                             "dropped), seed004exc (exc as hap); emodb, ravdess, cremad, esd, msppodcast: the "
                             "corpus's emotions; folder: one class per label its tree names; shared4 (any corpus): "
                             "neutral/sad/angry/happy, for comparing corpora. With --folds_from: the corpus's set "
                             "that has exactly the fold files' classes, else files (one class per label they use); "
                             "a set that leaves out or merges their labels is refused")
    corpus.add_argument("--test_corpus", default=None, choices=registry.names(),
                        help="cross-corpus: train (and choose the epoch on validation) on --corpus, test on the whole "
                             "of this corpus (at --test_data; default: the one that tree shows), both with --labels "
                             "shared4")
    corpus.add_argument("--test_data", default=None, metavar="PATH", help="cross-corpus: the test corpus's root")

    split = parser.add_argument_group("split and protocol")
    split.add_argument("--protocol", default=None, choices=protocols.names(),
                       help=f"{protocols.help_text()}. All but paper choose the epoch on validation. Default: the "
                            "corpus's (README, Corpora)")
    split.add_argument("--fold", default=None, type=int, metavar="K",
                       help="run only fold K (loso: 1-5, loso-speaker: 1-10, speaker-kfold: 1-K, ...) in "
                            "DATADIR/foldK; default: every fold, then their mean ± std")
    split.add_argument("--folds", default=None, type=int, metavar="K",
                       help=f"speaker-kfold: the number of speaker folds (default {DEFAULT_SPEAKER_FOLDS})")
    split.add_argument("--fold_seed", default=0, type=int, metavar="N",
                       help="speaker-kfold: the seed that deals the speakers into folds. Not --seed: every seed "
                            "and every model sees the same folds, so seeds vary only the training")
    split.add_argument("--folds_from", default=None, metavar="PATH",
                       help="published folds (EmoBox data/<dataset> jsonl folds, or s3prl's emotion meta_data "
                            "folder): the run uses exactly those folds (--protocol fold-files), every row they list "
                            "with the label they give it: -i all, the label set of their classes, and short clips "
                            "tiled (--padding) unless given; a setting that would leave out a listed row, and a "
                            "listed file that is missing or unreadable, stop the run")
    add_switch(split, "--allow_missing_listed", False,
               "--folds_from: run without the listed files that are missing or unreadable (results.json counts "
               "and names them) instead of stopping")
    split.add_argument("--split_rate", default=0.8, type=float, help="fraction of utterances used for training")
    split.add_argument("--val_id", default=None, metavar="SPEAKER",
                       help="validation speaker (e.g. 1F; IEMOCAP and emoDB): chooses the epoch; needs --test_id "
                            "(seed 004)")
    split.add_argument("--test_id", default=None, metavar="SPEAKER",
                       help="test speaker (e.g. 1M), scored once; the other speakers train. A session pair "
                            "is --protocol loso-speaker's fold")
    split.add_argument("--aug", default=None, choices=["upsampling"],
                       help="upsampling: repeat training utterances until every class is as large as the largest")

    feats = parser.add_argument_group("features")
    feats.add_argument("-f", "--features_to_use", "--features", default="mfcc", choices=feature_kind_names(),
                       metavar="KIND", help=_features_help())
    feats.add_argument("-s", "--sample_rate", default=16000, type=int, help="audio is resampled to this rate")
    feats.add_argument("-n", "--nmfcc", default=26, type=int, help="MFCC coefficients")
    feats.add_argument("--segment_length", default=1.8, type=float, help="segment length in seconds")
    feats.add_argument("--train_overlap", default=1.6, type=float, help="overlap of training segments (s)")
    feats.add_argument("--test_overlap", default=1.6, type=float,
                       help="overlap of test segments (s); values >= the segment length become half of it")
    add_switch(feats, "--padding", False, "tile utterances shorter than one segment instead of dropping them")
    feats.add_argument("--segment_size", default=300, type=int, help="spectrogram kinds: frames (10 ms) per segment")
    feats.add_argument("--nfreq", default=200, type=int, help="spectrogram kinds: linear frequency bins kept")
    feats.add_argument("--nmel", default=128, type=int, help="spectrogram kinds: mel bands")
    feats.add_argument("--pad", default="max", choices=spectral.PAD_MODES,
                       help="spectrogram kinds: max pads the last segment with 0 dB, the utterance maximum (seed "
                            "004); floor with the -80 dB floor (silence)")
    feats.add_argument("--reverb_rate", default=44100, type=int,
                       help="spectrogram kinds: rate SoX's reverb is told (44100: seed 004's quirk; 0: the true rate)")
    feats.add_argument("--upstream", default=None, metavar="DIR",
                       help="-f ssl: a local Hugging Face folder of a wav2vec 2.0, HuBERT, WavLM or data2vec-audio "
                            "model (read offline; its name, family, layer choice and weights' hash name the run)")
    feats.add_argument("--layer", default=None, type=int,
                       help="-f ssl with -m ssl_mlp: the hidden state whose frames it reads (default: the last)")
    feats.add_argument("--feature_backend", default="auto", choices=FEATURE_BACKENDS,
                       help="what computes features missing from the cache: librosa (the reference, one utterance "
                            "at a time on all CPU cores), torch (ser/features/torch_backend.py, batches of utterances "
                            "on the run's device; equal within the tolerances its doc lists), auto: torch on a CUDA "
                            "device, librosa on the CPU")
    feats.add_argument("--cache_dir", default=DEFAULT_CACHE_DIR,
                       help="feature cache shared by all runs (env SER_CACHE_DIR)")
    add_switch(feats, "--loadFeatures", True, "reuse cached features; false recomputes them")
    add_switch(feats, "--toSaveFeatures", False,
               "also write the split's features as the original's pickle (--featuresFileName)")
    feats.add_argument("--featuresFileName", default=None,
                       help="the original's features pickle: loaded when it exists (and --loadFeatures), "
                            "written with --toSaveFeatures; default DATADIR/features_<kind>_<subset>.pkl")

    model = parser.add_argument_group("model")
    model.add_argument("-m", "--model", "--ser_model", default="GLAM", help=_model_help())
    for option in models.option_flags().values():  # each model option's flag, as the registry declares it
        model.add_argument(option.flag, dest=option.dest, default=None, type=option.type, metavar=option.metavar,
                           help=option.help)
    add_switch(model, "--SaveModel", False, "save the best epoch as a checkpoint, DATADIR/model_<stem>.pth, that "
               "predict.py and export.py use without the training command (<stem> as the .metric file's)")
    model.add_argument("--save_label", default=None, metavar="LABEL",
                       help="seed 004's flag (best model to LABEL.pth): here --SaveModel in the run directory "
                            "DATADIR/LABEL")

    train = parser.add_argument_group("training")
    train.add_argument("--seed", default=987654, type=int, help="seeds the split, initialisation and shuffling")
    train.add_argument("-e", "--epochs", "--num_epochs", default=50, type=int,
                       help="training epochs; the selection set is scored after each (--num_epochs: seed 004's "
                            "spelling)")
    train.add_argument("-b", "--batch_size", default=32, type=int,
                       help="training segments per step; at most the number of training segments")
    train.add_argument("-l", "--learning_rate", "--lr", default=0.001, type=float,
                       help="initial learning rate (--lr: seed 004's spelling)")
    train.add_argument("--lr_min", default=1e-6, type=float, help="the schedule stops once the lr falls below this")
    train.add_argument("--lr_schedule", default="exp", choices=LR_SCHEDULES,
                       help="exp: ×0.95 per epoch; step/warmstep: ×0.1 every 10; cosine: T_max 10")
    train.add_argument("--optimizer", default="adam", choices=OPTIMIZERS,
                       help="adam (weight decay 1e-6), sgd (momentum 0.9, Nesterov, weight decay 1e-4) or "
                            "adamw (weight decay 0.01, seed 004)")
    train.add_argument("--iter", default=1, type=int, help="train this many times and keep the best")
    add_switch(train, "--weight", False, "weight the loss by inverse class frequency")
    train.add_argument("--alpha", default=0.5, type=float, help="mixup Beta(α, α); 0 turns mixup off")
    train.add_argument("--mixup", default="glam", choices=augment.MIXUP_MODES,
                       help="glam: one λ per batch; seed004: one λ per sample, folded to >= 0.5 (use --alpha 0.4)")
    train.add_argument("--stability_weight", default=0.0, type=float,
                       help="stability training (Zheng et al. 2016) weight; 0 turns it off")
    train.add_argument("--stability_loss", default="kl", choices=augment.STABILITY_LOSSES,
                       help="kl: KL(p(x) || p(x')); ce: -sum p(x) log p(x')")
    train.add_argument("--stability_source", default="gaussian", choices=augment.STABILITY_SOURCES,
                       help="the noisy copy x': gaussian noise on the input, or the white-noise / reverb version "
                            "of the wav (spectrogram features only)")
    train.add_argument("--stability_sigma", default=0.04, type=float, help="σ of the gaussian copy")
    train.add_argument("--oversample", default=None, nargs="?", const="all", choices=augment.OVERSAMPLE_MODES,
                       help="random oversampling of training segments: all (every class to the largest) or "
                            "seed004 (its two 'minority' passes)")
    train.add_argument("--oversampling", dest="oversample", action="store_const", const="seed004",
                       help="seed 004's spelling of --oversample seed004")
    train.add_argument("--minmax", default=None, nargs="?", const=True, type=str2bool, metavar="BOOL",
                       help="per-bin min-max scaling fitted on training data (default None: on for alexnet models)")
    train.add_argument("--no-minmax", dest="minmax", action="store_false", help=argparse.SUPPRESS)
    train.add_argument("--select_on", default="WA_UA_mean", choices=SELECTIONS,
                       help="epoch selection: (WA+UA)/2 (GLAM) or WA (seed 004)")
    train.add_argument("--pooling", default="logits", choices=POOLINGS,
                       help="utterance score: mean segment logits (GLAM) or log-softmax (seed 004)")

    run = parser.add_argument_group("run")
    run.add_argument("-g", "--gpu", default=None, type=int,
                     help="CUDA device index; -1 forces the CPU (default: GPU 0 when there is one)")
    run.add_argument("-c", "--config", default=None,
                     help="JSON object of long flag names and values; flags on the command line win over it")
    run.add_argument("-d", "--datadir", default="data/", help="run directory; results collect in its parent")
    run.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    run.add_argument("--force", action="store_true",
                     help="train even if this seed already has a line in the results file (another line is "
                          "appended); without it such a run is skipped")

    speed = parser.add_argument_group("speed (off by default: the paper's runs are fp32, eager)")
    speed.add_argument("--amp", action="store_true",
                       help="bf16 autocast for forward passes and losses (GPU tensor cores; results change "
                            "within bf16 precision)")
    speed.add_argument("--compile", action="store_true",
                       help="train and score through torch.compile(model) (first epoch slower; checkpoints unchanged)")
    speed.add_argument("--seeds", default=1, type=int, metavar="N",
                       help="train the next N seeds of --seeds_file neither finished nor being trained, together in "
                            "this process on one device (one copy of the features; each kernel does every seed's "
                            "work), each in DATADIR/<seed> (-d names the model folder) with exactly the files "
                            "--seed S -d DATADIR/S writes alone; runs the multi-seed engine does not cover train one "
                            "process per seed")
    speed.add_argument("--seeds_file", default=SEEDS_FILE,
                       help="the seeds --seeds takes in order (written with the paper's 100 when missing, as seeds.py "
                            "does)")
    speed.add_argument("--seed_list", default=None, type=_seed_list, metavar="S1,S2,...",
                       help="the seeds --seeds takes, instead of --seeds_file's (--seeds defaults to their number)")

    state = parser.add_argument_group("interruption and logs")
    state.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from its last completed epoch (DATADIR/resume_<stem>.pt); "
                            "the result equals an uninterrupted run's. Without the file it starts afresh")
    add_switch(state, "--save_resume_state", True, "after every epoch write DATADIR/resume_<stem>.pt (the "
               "weights, optimizer, schedule, random streams and best so far; removed when the run finishes)")
    state.add_argument("--tensorboard", action="store_true",
                       help="also log every epoch's loss, lr and scores for TensorBoard in DATADIR/tensorboard "
                            "(needs the tensorboard package); DATADIR/<stem>_epochs.csv is always written")
    return parser


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one run, resolved and checked (:func:`resolve_args`). Field names are
    the flags' (the original's spellings), in the order ``last.json`` has always listed them."""
    # corpus, labels, split
    data: str | None
    impro_or_script: str
    labels: str
    split_rate: float
    protocol: str
    fold: int | None
    aug: str | None
    padding: bool
    # GLAM features and their cache
    features_to_use: str
    upstream: str | None
    layer: int | None
    sample_rate: int
    nmfcc: int
    segment_length: float
    train_overlap: float
    test_overlap: float
    cache_dir: str
    loadFeatures: bool
    toSaveFeatures: bool
    featuresFileName: str | None
    feature_backend: str
    # model
    model: str
    head: int | None
    attn_hidden: int | None
    SaveModel: bool
    # training
    seed: int
    batch_size: int
    learning_rate: float
    lr_min: float
    lr_schedule: str
    optimizer: str
    epochs: int
    iter: int
    weight: bool
    alpha: float
    # run
    gpu: int | None
    config: str | None
    datadir: str
    quiet: bool
    force: bool
    amp: bool
    compile: bool
    seeds: int
    seeds_file: str
    seed_list: tuple[int, ...] | None
    resume: bool
    save_resume_state: bool
    tensorboard: bool
    # seed 004: corpus, speaker pair, spectrogram features, AlexNet, training options
    features_file: str | None
    corpus: str
    emodb_files: int | None
    val_id: str | None
    test_id: str | None
    segment_size: int
    nfreq: int
    nmel: int
    pad: str
    reverb_rate: int
    pretrained: str | None
    image_size: int | None
    save_label: str | None
    mixup: str
    stability_weight: float
    stability_loss: str
    stability_source: str
    stability_sigma: float
    oversample: str | None
    minmax: bool | None
    select_on: str
    pooling: str
    # any corpus: the folder reader's manifest, speaker folds, published folds, cross-corpus testing
    manifest: str | None = None
    folds: int | None = None
    fold_seed: int = 0
    folds_from: str | None = None
    allow_missing_listed: bool = False
    test_corpus: str | None = None
    test_data: str | None = None
    classes: tuple[str, ...] = ()  # --labels folder/files: the label tokens of the classes, in class order
    folds_from_sha256: str = ""  # --folds_from: the digest of the fold files' content (foldfiles.fold_files_identity)
    user_config: bool = False  # -c was given: results go to .same files, as the original's
    default_iemocap: str = ""  # a caller's IEMOCAP root standing in for --data ("": ser.runs.roots decides)
    given: tuple[str, ...] = ()  # the settings the command line or the config file set
    notes: tuple[str, ...] = ()  # what the resolution decided that a user should hear about

    def resolved_args(self) -> dict:
        """The arguments as ``last.json`` and ``results.json`` record them."""
        return {k: v for k, v in dataclasses.asdict(self).items()
                if k not in ("config", "user_config", "default_iemocap", "given", "notes")}

    def resume_args(self) -> dict:
        """The arguments an interrupted run must share with its resumption."""
        return {k: v for k, v in self.resolved_args().items() if k not in RESUME_FREE_ARGS}

    @property
    def class_names(self) -> list[str]:
        if self.labels in (FOLDER_LABELS, FILES_LABELS):
            return [TOKENS.get(token, token) for token in self.classes]
        return CLASS_NAMES[self.labels]

    def label_map(self) -> dict[str, int]:
        """Label token -> class index of the run's label set."""
        if self.labels in (FOLDER_LABELS, FILES_LABELS):
            return {token: index for index, token in enumerate(self.classes)}
        return LABEL_SETS[self.labels]

    @property
    def suffix(self) -> str:
        return result_naming(self)["suffix"]

    def files(self, fold: int | None = None) -> RunFiles:
        """The files of this run (of fold ``fold``; default: this config's own fold)."""
        fold = self.fold if fold is None else fold
        return RunFiles.of(self.datadir, self.model, run_feature_name(self), self.impro_or_script, self.labels,
                           self.protocol, fold, self.suffix, self.seed, corpus=self.corpus, folds=self.folds,
                           test_corpus=self.test_corpus)

    @property
    def features_pickle(self) -> str:
        """The original's features pickle of this run (``--featuresFileName``)."""
        return self.featuresFileName or f"{self.datadir}/features_{self.features_to_use}_{self.impro_or_script}.pkl"

    def feature_settings(self) -> Settings:
        """The settings of the run's feature kind (its registry entry's family), from the flags."""
        return feature_kind(self.features_to_use).settings.from_flags(self.features_to_use, self)

    def feature_backend_on(self, device: torch.device) -> str:
        """``librosa`` or ``torch``: ``--feature_backend``, with ``auto`` resolved for ``device``
        (torch on a CUDA device for a kind that has a torch computation)."""
        if self.feature_backend == "auto":
            computed_by_torch = feature_kind(self.features_to_use).torch is not None
            return "torch" if device.type == "cuda" and computed_by_torch else "librosa"
        return self.feature_backend

    def given_model_options(self) -> dict:
        """The model options set by flags (None: not given), by the builder's option names."""
        return _given_model_options(self)

    def model_options(self) -> dict:
        """The keyword arguments of ``models.create_model`` this run sets: the options given
        and, for a model that takes it, the input's channel count."""
        options = {k: v for k, v in self.given_model_options().items() if v is not None}
        if "in_channels" in models.model_options(self.model):
            options["in_channels"] = feature_kind(self.features_to_use).channels
        return options

    def effective_model_options(self) -> dict:
        """Every option of the model with the value this run builds it with (results.json)."""
        return {**models.model_defaults(self.model), **self.model_options()}

    def fit_options(self) -> FitOptions:
        return FitOptions(epochs=self.epochs, batch_size=self.batch_size, lr=self.learning_rate, lr_min=self.lr_min,
                          optimizer=self.optimizer, lr_schedule=self.lr_schedule, selection=self.select_on,
                          pooling=self.pooling, keep_best_state=self.SaveModel, amp=self.amp, compile=self.compile)

    def identity_settings(self) -> dict:
        """Every setting that changes this run's result, but the seed and the corpus (which the
        data stage identifies): what makes two runs of one seed the same run. How a run is
        watched or where it runs (devices, logs, caches, --compile, --seeds) is left out."""
        spectral_kind = is_spectral(self.features_to_use)
        settings = {
            "corpus": self.corpus, "subset": self.impro_or_script, "labels": self.labels,
            "protocol": self.protocol, "fold": self.fold, "aug": self.aug,
            "model": self.model, "model_options": self.effective_model_options(),
            "features": dataclasses.asdict(self.feature_settings()),
            "epochs": self.epochs, "batch_size": self.batch_size, "learning_rate": self.learning_rate,
            "lr_min": self.lr_min, "lr_schedule": self.lr_schedule, "optimizer": self.optimizer, "iter": self.iter,
            "weight": self.weight, "alpha": self.alpha, "mixup": self.mixup, "oversample": self.oversample,
            "minmax": self.minmax, "select_on": self.select_on, "pooling": self.pooling, "amp": self.amp,
        }
        if not spectral_kind:  # seed 004's kinds cut whole utterances: no overlaps
            settings.update(train_overlap=self.train_overlap, test_overlap=self.test_overlap)
        # what makes two splits of the protocol differ (split_rate for the random splits, speaker-kfold's
        # folds, the fold files' digest), then what makes two class sets differ (absent from IEMOCAP's
        # usual runs, whose identities stay as they were)
        protocol = protocols.find(self.protocol)
        for name in protocol.identity_settings if protocol else ():
            settings[name] = getattr(self, name)
        if self.labels in (FOLDER_LABELS, FILES_LABELS):
            settings["classes"] = list(self.classes)
        if self.test_corpus is not None:
            settings["test_corpus"] = self.test_corpus
        if self.stability_weight > 0:
            settings.update(stability_weight=self.stability_weight, stability_loss=self.stability_loss,
                            stability_source=self.stability_source)
            if self.stability_source == "gaussian":
                settings["stability_sigma"] = self.stability_sigma
        return settings

    @property
    def stability_from_wavs(self) -> bool:
        """Stability training on the white-noise or reverb version of each wav, which only a
        corpus has (features files do not keep their wavs)."""
        return self.stability_weight > 0 and self.stability_source != "gaussian"

    @property
    def runs_every_fold(self) -> bool:
        """A multi-fold protocol without ``--fold``: every fold, then their mean (a speaker pair's
        protocol is one split)."""
        return self.fold is None and is_multi_fold(self.protocol)


def result_naming(flags) -> dict:
    """What the flags (a parsed namespace or a RunConfig) decide of a run's result-file name
    beyond model, subset, protocol and fold: the feature kind; the corpus (the one ``--data``
    shows when not given) and the test corpus; the label set (the corpus's default when not
    given, shared4 across corpora); the subset, which only IEMOCAP has (``all`` for the
    others; None: the one given); speaker-kfold's fold count; and ``.same`` instead of
    ``.metric`` for runs on a features pickle or a config file, as the original names them."""
    corpus = flags.corpus or (None if flags.features_file or not flags.data else registry.guess(flags.data))
    corpus = corpus or "iemocap"
    test_corpus = flags.test_corpus or (registry.guess(flags.test_data) if flags.test_data else None)
    labels = flags.labels or ("shared4" if test_corpus else default_label_set(corpus))
    return dict(features=run_feature_name(flags), labels=labels,
                suffix=".same" if (flags.featuresFileName or flags.config) else ".metric",
                subset=None if registry.corpus(corpus).subsets else "all", corpus=corpus, test_corpus=test_corpus,
                folds=flags.folds or DEFAULT_SPEAKER_FOLDS)


def _read_config_file(path: str, parser: argparse.ArgumentParser) -> dict:
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config {path} must hold a JSON object of argument names and values")
    known = {action.dest for action in parser._actions} - {"help"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"config {path} has unknown keys: {', '.join(unknown)}; "
                          f"valid keys are the long flag names of train.py --help")
    # The file's values become defaults, which argparse neither converts (unless strings) nor
    # checks against choices: check those here.
    for action in parser._actions:
        value = values.get(action.dest)
        if action.choices is not None and value is not None and value not in action.choices:
            raise ConfigError(f"config {path} sets {action.dest} to {value!r}; "
                              f"choose one of: {', '.join(map(str, action.choices))}")
    return values


def parse_namespace(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line with ``-c CONFIG`` laid under it (see the module doc); ``given`` lists
    the destinations the command line or the config file set."""
    parser = get_args_parser()
    args = parser.parse_args(argv)
    file_values = {}
    if args.config:
        file_values = _read_config_file(args.config, parser)
        parser.set_defaults(**file_values)
        args = parser.parse_args(argv)
    args.user_config = bool(args.config)
    args.given = sorted(set(file_values) | _given_on_the_command_line(argv))
    return args


def _given_on_the_command_line(argv: list[str] | None) -> set[str]:
    """The destinations ``argv`` sets itself (a parse in which nothing has a default)."""
    parser = get_args_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def _model_help() -> str:
    """``-m``'s help, from the model registry: the names, the aliases, whose recipe a model trains with."""
    aliases = ", ".join(f"{alias} (= {models.resolve_name(alias)})"
                        for alias in sorted(set(models.list_models(include_aliases=True)) - set(models.list_models())))
    recipes = {}
    for name in models.list_models():
        recipe = models.model_entry(name).recipe
        if recipe is not None:
            recipes.setdefault(recipe.source, []).append(name)
    trained = "; ".join(f"{', '.join(names)}: {source}" for source, names in recipes.items())
    return (f"one of: {', '.join(models.list_models())}; also accepted: {aliases}; any case (--ser_model: seed "
            f"004's spelling). These train with their source's recipe where no flag says otherwise: {trained}")


def _given_model_options(flags) -> dict:
    """The model options set by flags (None: not given), by the builder's option names."""
    return {option: getattr(flags, flag.dest) for option, flag in models.option_flags().items()}


def _apply_model_recipe(a: argparse.Namespace) -> None:
    """A model with a recipe in its registry entry (seed 004's AlexNets, the downstreams of
    models.ssl) trains with it unless a flag sets another value; its labels are per corpus."""
    recipe = models.model_entry(a.model).recipe
    if recipe is None:
        return
    flags = dict(recipe.flags)
    if recipe.labels and a.test_corpus is None:  # across corpora the labels are shared4's
        flags["labels"] = recipe.labels.get(a.corpus) or default_label_set(a.corpus)
    taken = {dest: value for dest, value in flags.items() if dest not in a.given}
    for dest, value in taken.items():
        setattr(a, dest, value)
    if taken:
        a.notes.append(f"-m {a.model} trains with {recipe.source} where no flag says otherwise: "
                       + ", ".join(f"--{dest} {value}" for dest, value in taken.items()))


def resolve_args(argv: list[str] | None = None, default_iemocap: str = "") -> RunConfig:
    """Parse ``argv``, apply ``-c``, resolve and check everything; ConfigError says what to
    change. ``default_iemocap``, when given, is the IEMOCAP root when ``--data`` is not; otherwise
    the root comes from the environment or path.py (``ser.runs.roots.root_of``, when the corpus is read)."""
    a = parse_namespace(argv)
    a.default_iemocap, a.notes = default_iemocap, []
    a.datadir = a.datadir.rstrip("/") or "."
    a.model = _model_name(a)
    a.classes, a.folds_from_sha256 = (), ""
    try:
        layout = _resolve_corpus(a)
    except corpora.CorpusError as error:  # a tree that shows several layouts, an unreadable manifest
        raise ConfigError(str(error)) from None
    _apply_model_recipe(a)
    if a.seed_list is not None:
        if "seeds" not in a.given:
            a.seeds = len(a.seed_list)
        bad = [seed for seed in a.seed_list if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]]
        if bad:
            raise ConfigError(f"--seed_list: seeds must be between {SEED_RANGE[0]} and {SEED_RANGE[1]}, not {bad[0]}")
    _check_numbers(a)
    if a.segment_length <= a.train_overlap:
        raise ConfigError(f"--train_overlap ({a.train_overlap}) must be smaller than --segment_length "
                          f"({a.segment_length}): segments would never advance")
    if a.test_overlap >= a.segment_length:
        a.test_overlap = a.segment_length / 2  # the original's rule
    _check_feature_kind(a)
    _resolve_labels(a, layout)
    _resolve_corpus_and_split(a, layout)
    _resolve_training_options(a)
    _check_model_options(a)
    config = RunConfig(**{**vars(a), "given": tuple(a.given), "notes": tuple(a.notes)})
    if config.features_file is None:  # a features file's maps are checked once it is read
        check_input_shape(config, config.feature_settings().shape())
    return config


# Per flag: (the smallest allowed value, whether the smallest itself is allowed). Every one
# must also be a finite number: NaN passes every comparison and would train on garbage.
_NUMBER_RANGES = {
    "segment_length": (0.0, False), "train_overlap": (0.0, True), "test_overlap": (0.0, True),
    "split_rate": (0.0, False), "learning_rate": (0.0, False), "lr_min": (0.0, True), "alpha": (0.0, True),
    "stability_weight": (0.0, True), "stability_sigma": (0.0, True), "sample_rate": (1, True),
    "epochs": (1, True), "batch_size": (1, True), "iter": (1, True), "seeds": (1, True),
    "segment_size": (1, True), "nfreq": (1, True), "nmel": (1, True), "reverb_rate": (0, True),
}
SEED_RANGE = (0, 2**32 - 1)  # numpy's legacy generator takes these seeds


def _check_numbers(a: argparse.Namespace) -> None:
    """Each numeric flag on its own, naming the flag: finite, and in its range."""
    for name, (low, inclusive) in _NUMBER_RANGES.items():
        value = getattr(a, name)
        if not math.isfinite(value):
            raise ConfigError(f"--{name} must be a finite number, not {value}")
        if value < low or (value == low and not inclusive):
            bound = f"at least {low}" if inclusive else f"greater than {low}"
            raise ConfigError(f"--{name} must be {bound}, not {value}")
    if not a.split_rate < 1:
        raise ConfigError(f"--split_rate must be below 1 (the rest is the test set), not {a.split_rate}")
    for flag, value in (("--seed", a.seed), ("--fold_seed", a.fold_seed)):
        if not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
            raise ConfigError(f"{flag} must be between {SEED_RANGE[0]} and {SEED_RANGE[1]} (2**32 - 1), not {value}")


def check_input_shape(config: RunConfig, shape: tuple[int, ...]) -> None:
    """Refuse, before anything is written, feature maps the model cannot take, naming the flags
    that set their size."""
    try:
        models.check_input(config.model, shape, len(config.class_names), **config.model_options())
    except models.ModelOptionError as error:
        flags = feature_kind(config.features_to_use).settings.SIZE_FLAGS
        raise ConfigError(f"{error}: these maps come from -f {config.features_to_use} with {flags}; "
                          f"make them larger, or pick another -m") from None


def _features_help() -> str:
    """``-f``'s help, from the feature kind registry: each kind with its help line."""
    kinds = "; ".join(f"{name}: {feature_kind(name).help}" for name in feature_kind_names())
    return (f"feature kind (--features: the same flag): {kinds}. GLAM's kinds are computed per segment "
            "(ser/features/glam.py), seed 004's on the whole utterance (ser/features/spectral.py)")


def _check_feature_kind(a: argparse.Namespace) -> None:
    """What the run's feature kind refuses (its registry entry): parameters it cannot take, a
    backend it has no computation for, a model that reads another kind of input."""
    kind = feature_kind(a.features_to_use)
    problem = kind.check(kind.settings.from_flags(kind.name, a)) if kind.check else None
    if problem:
        raise ConfigError(problem)
    if a.feature_backend == "torch" and kind.torch is None:
        raise ConfigError(f"-f {kind.name} has no torch computation: use --feature_backend librosa (or auto)")
    reads = models.model_entry(a.model).inputs
    if kind.gives not in reads:
        raise ConfigError(f"-m {a.model} reads {' or '.join(reads)} inputs, which -f {kind.name} does not give "
                          f"(it gives {kind.gives}); pick a model that reads {kind.gives}, e.g. -m GLAM")


def _model_name(a: argparse.Namespace) -> str:
    """The registered name of ``-m``: exact, an alias, or the one name that matches it in
    another case (with a note); else one line with the closest names."""
    names = models.list_models(include_aliases=True)
    if a.model in names:
        return models.resolve_name(a.model)
    folded = [name for name in names if name.lower() == a.model.lower()]
    if len(folded) == 1:
        a.notes.append(f"-m {a.model}: taken as {folded[0]}")
        return models.resolve_name(folded[0])
    near = difflib.get_close_matches(a.model, names, n=3, cutoff=0.5) or difflib.get_close_matches(
        a.model.lower(), [n.lower() for n in names], n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise ConfigError(f"unknown model {a.model!r}{hint} (choose one of: {', '.join(names)})")


def _resolve_corpus(a: argparse.Namespace) -> folder.FolderLayout | None:
    """The corpus and test corpus (the ones their trees show when not named), checked against
    the flags that need them; a folder corpus's layout (its labels and columns, no audio read)."""
    if a.corpus is None:
        found = None if a.features_file is not None or not a.data else registry.guess(a.data)
        a.corpus = found or "iemocap"
        if a.corpus != "iemocap":
            a.notes.append(f"--data {a.data} holds {registry.TITLES[a.corpus]}: read with --corpus {a.corpus} "
                           "(pass --corpus to choose another reader)")
    if a.test_data is not None and a.test_corpus is None:
        a.test_corpus = registry.guess(a.test_data)
        if a.test_corpus is None:
            raise ConfigError(f"--test_data {a.test_data} shows no known corpus layout; name its reader with "
                              f"--test_corpus ({', '.join(registry.CORPORA)})")
        a.notes.append(f"--test_data {a.test_data} holds {registry.TITLES[a.test_corpus]}: tested with --test_corpus "
                       f"{a.test_corpus}")
    if a.test_corpus is not None and a.test_data is None:
        raise ConfigError(f"--test_corpus {a.test_corpus} needs --test_data PATH, the root of the corpus to test on")
    if a.features_file is None:
        for flag, name, root in (("--data", a.corpus, a.data), ("--test_data", a.test_corpus, a.test_data)):
            entry = None if name is None else registry.corpus(name)
            if entry is not None and root is None and not (entry.environment or entry.path_setting):
                raise ConfigError(f"--corpus {name} needs {flag} PATH: {registry.LAYOUTS[name]}")
    if a.manifest is not None and a.corpus != "folder":
        raise ConfigError(f"--manifest names a folder corpus's manifest; --corpus is {a.corpus} (use --corpus folder)")
    if not registry.corpus(a.corpus).subsets:
        a.impro_or_script = "all"  # only IEMOCAP has improvised and scripted subsets
    return folder.describe(a.data, a.manifest) if a.corpus == "folder" and a.features_file is None else None


def _resolve_labels(a: argparse.Namespace, layout: folder.FolderLayout | None) -> None:
    """The label set: the corpus's own unless given (shared4 across corpora); refused with the
    corpus's sets when it does not fit."""
    allowed = label_sets_for(a.corpus)
    if a.test_corpus is not None:
        if a.labels not in (None, "shared4"):
            raise ConfigError(f"--test_corpus compares two corpora through --labels shared4 (neutral, sad, angry, "
                              f"happy), not --labels {a.labels}; drop --labels or pass --labels shared4")
        if a.labels is None:
            a.notes.append("cross-corpus: both corpora are read with --labels shared4 (the default in this mode)")
        a.labels = "shared4"
        if "shared4" not in label_sets_for(a.test_corpus):
            raise ConfigError(f"--test_corpus {a.test_corpus} has no shared4 classes")
    a.labels = a.labels or allowed[0]
    if a.labels == FILES_LABELS and a.folds_from is None:
        raise ConfigError(f"--labels {FILES_LABELS} takes the classes of --folds_from's files; pass --folds_from PATH "
                          f"or one of {a.corpus}'s label sets ({', '.join(allowed)})")
    if a.labels not in allowed and a.labels != FILES_LABELS:
        owners = [name for name in registry.CORPORA if a.labels in label_sets_for(name)]
        raise ConfigError(f"--labels {a.labels} does not fit --corpus {a.corpus}; its label sets are "
                          f"{', '.join(allowed)} ({a.labels} is a set of {', '.join(owners)})")
    if a.labels == FOLDER_LABELS and layout is not None:
        a.classes = tuple(tokens_label_set(layout.tokens)[0])
        if len(a.classes) < 2:
            raise ConfigError(f"--corpus folder at {a.data} names {len(a.classes)} class(es) "
                              f"({', '.join(a.classes) or 'none'}); a classifier needs two or more")


def _folder_protocol(layout: folder.FolderLayout | None) -> str:
    """A folder corpus's default protocol: its manifest's split, else its folds, else folds of
    its speakers, else (no speakers known) the random utterance split."""
    if layout is None:
        return "paper"
    if layout.split:
        return "official"
    if layout.fold:
        return "manifest-folds"
    return "speaker-kfold" if layout.speakers else "paper"


def corpus_facts(name: str, layout: folder.FolderLayout | None) -> CorpusFacts:
    """What a protocol may ask of corpus ``name`` (a folder corpus's from its manifest's columns)."""
    entry = registry.corpus(name)
    return CorpusFacts(name=name, title=entry.title, iemocap_speakers=entry.session_speakers,
                       official_split=entry.official_split or bool(layout is not None and layout.split),
                       manifest_folds=bool(layout is not None and layout.fold),
                       speakers=layout is None or bool(layout.speakers))


def _resolve_corpus_and_split(a: argparse.Namespace, layout: folder.FolderLayout | None) -> None:
    given_protocol = a.protocol
    if a.features_file is not None:
        _check_features_file(a)
    if a.save_label is not None:
        # seed 004 saved its best model as <save_label>.pth; here the label names the run directory
        a.datadir, a.SaveModel = f"{a.datadir}/{a.save_label}", True
    if (a.val_id is None) != (a.test_id is None):
        raise ConfigError("--val_id and --test_id go together: the validation and the test speaker")
    if a.val_id is not None:
        if not registry.corpus(a.corpus).session_speakers:
            styled = ", ".join(c.name for c in registry.entries() if c.session_speakers)
            raise ConfigError(f"--val_id/--test_id name IEMOCAP-style speakers ({styled}); for --corpus "
                              f"{a.corpus} use --protocol leave-one-speaker-out (or speaker-kfold)")
        for flag, value in (("--val_id", a.val_id), ("--test_id", a.test_id)):
            if not SPEAKER_ID.fullmatch(value):
                raise ConfigError(f"{flag} {value}: speakers are 1F, 1M, ..., 5F, 5M (emoDB's are mapped onto them)")
        if a.val_id == a.test_id:
            raise ConfigError("--val_id and --test_id must be two different speakers")
        if a.protocol not in (None, "paper") or a.fold is not None or a.folds_from is not None:
            raise ConfigError("--val_id/--test_id choose the split themselves; drop --protocol/--fold/--folds_from")
        fold = fold_of(a.val_id, a.test_id)
        # a session pair is a loso-speaker fold: the same run, the same result files
        a.protocol, a.fold = ("loso-speaker", fold) if fold else (pair_protocol(a.val_id, a.test_id), None)
    if a.folds_from is not None:
        if a.protocol not in (None, FOLD_FILES):
            raise ConfigError(f"--folds_from gives the folds itself (--protocol {FOLD_FILES}); drop --protocol "
                              f"{a.protocol}")
        a.protocol = FOLD_FILES
        try:
            identity = foldfiles.fold_files_identity(a.folds_from)
            a.folds_from_sha256 = identity["sha256"]
            _follow_fold_files(a, identity["folds"], foldfiles.file_tokens(a.folds_from))
        except foldfiles.FoldFileError as error:
            raise ConfigError(f"--folds_from: {error}") from None
    elif a.protocol == FOLD_FILES:
        raise ConfigError(f"--protocol {FOLD_FILES} reads published folds: pass --folds_from PATH")
    if a.protocol is None:
        # the corpus's own default (its registry entry's); a folder corpus's follows its manifest
        a.protocol = registry.corpus(a.corpus).default_protocol or _folder_protocol(layout)
        if a.protocol != "paper":
            a.notes.append(f"--corpus {a.corpus}: --protocol {a.protocol} (its default; README, Corpora)")
        elif a.corpus == "folder":
            a.notes.append("--corpus folder without speakers: --protocol paper, a random utterance split "
                           "(speaker-dependent)")
    if a.val_id is None and a.protocol in protocols.names():
        refusal = protocols.refusal(a.protocol, corpus_facts(a.corpus, layout))
        if refusal:
            raise ConfigError(refusal)
    _resolve_folds(a, given_protocol)
    if a.protocol != "paper" and (a.featuresFileName or a.toSaveFeatures):
        raise ConfigError("--featuresFileName and --toSaveFeatures hold the paper protocol's fixed "
                          "train/test split; use them with --protocol paper only")
    if a.test_corpus is not None:
        if a.features_file is not None or a.featuresFileName:
            raise ConfigError("--test_corpus reads both corpora's wavs; drop the features file")
        if a.protocol == "paper":
            raise ConfigError("--test_corpus chooses the epoch on the training corpus's validation part and tests on "
                              "the other corpus; --protocol paper has no validation part: use 811, speaker-kfold, "
                              "leave-one-speaker-out or official")
        if a.test_corpus == a.corpus and os.path.realpath(a.test_data) == os.path.realpath(a.data or ""):
            raise ConfigError("--test_data is the training corpus itself; cross-corpus testing needs another corpus")


def _follow_fold_files(a: argparse.Namespace, folds: list[int], tokens: tuple[str, ...]) -> None:
    """--folds_from: a fold the files have; the settings that decide which rows and labels a run
    keeps follow the files (IEMOCAP's whole corpus, the label set of their classes, short clips
    tiled) unless given; a label set given that would leave out or merge their labels is refused
    (a subset or --padding false given is checked against the rows, ser.protocols.foldfiles.listed_rows)."""
    if a.fold is not None and a.fold not in folds:
        raise ConfigError(f"--fold {a.fold}: the fold files at {a.folds_from} have folds {', '.join(map(str, folds))}")
    followed = []
    if a.impro_or_script != "all" and "impro_or_script" not in a.given:
        a.impro_or_script = "all"
        followed.append("-i all")
    if not a.padding and "padding" not in a.given and not is_spectral(a.features_to_use):
        a.padding = True
        followed.append("--padding (clips shorter than one segment are tiled, not dropped)")
    if a.labels in (FOLDER_LABELS, FILES_LABELS):
        a.classes = tuple(tokens_label_set(tokens, every=True)[0])
    elif a.test_corpus is None and not keeps_apart(LABEL_SETS[a.labels], tokens, exactly="labels" not in a.given):
        fitting = [name for name in label_sets_for(a.corpus)
                   if name in LABEL_SETS and keeps_apart(LABEL_SETS[name], tokens, exactly=True)]
        chosen = fitting[0] if fitting else FILES_LABELS
        if "labels" in a.given:
            raise ConfigError(f"--labels {a.labels} leaves out or merges labels the fold files at {a.folds_from} give "
                              f"their rows ({', '.join(tokens)}); drop --labels (the run then uses --labels {chosen}"
                              f"{'' if fitting else ', one class per label they use'})")
        a.labels = chosen
        if chosen == FILES_LABELS:
            a.classes = tuple(tokens_label_set(tokens, every=True)[0])
        followed.append(f"--labels {chosen} (their labels: {', '.join(tokens)})")
    if followed:
        a.notes.append(f"--folds_from: every row the fold files list, with their labels: {'; '.join(followed)}")


def _resolve_folds(a: argparse.Namespace, given_protocol: str | None) -> None:
    """--folds (speaker-kfold's fold count) and --fold (one fold), checked against the protocol."""
    protocol = protocols.find(a.protocol)  # None: seed 004's speaker pair
    takes_folds = protocol is not None and protocol.folds_flag
    if a.folds is not None and not takes_folds:
        a.notes.append(f"--folds {a.folds} sets speaker-kfold's fold count; --protocol {a.protocol} ignores it")
        a.folds = None
    if takes_folds:
        a.folds = DEFAULT_SPEAKER_FOLDS if a.folds is None else a.folds
        if a.folds < 2:
            raise ConfigError(f"--folds {a.folds}: {a.protocol} needs at least 2 folds")
    if a.fold is None or a.val_id is not None:
        return
    count = protocol.fold_count if protocol.fold_count is not None else a.folds  # None: the corpus decides
    if not protocol.multi_fold:
        multi = protocols.multi_fold_names()
        raise ConfigError(f"--fold applies to the protocols with folds ({', '.join(multi)}), not "
                          f"{a.protocol}" + ("" if given_protocol else " (--corpus " + a.corpus + "'s default)"))
    if a.fold < 1 or (count is not None and a.fold > count):
        raise ConfigError(f"--fold {a.fold}: --protocol {a.protocol} has folds 1..{count or 'N'}")


def _check_features_file(a: argparse.Namespace) -> None:
    """What a seed-004 features file needs (see ser.features.speaker_file)."""
    if not is_spectral(a.features_to_use):
        raise ConfigError(f"{a.features_file} holds spectrogram segments: name their kind with -f "
                          f"({', '.join(spectral.KINDS)})")
    if a.labels in ("glam", "merge"):
        raise ConfigError("extract_features.py writes the labels seed004 (IEMOCAP; seed004exc with --scripted) or "
                          "emodb (EMODB): pass --labels seed004, --labels seed004exc or --corpus emodb")
    if a.featuresFileName:
        raise ConfigError("give seed 004's features file or --featuresFileName (the GLAM pickle), not both")
    if a.stability_weight > 0 and a.stability_source != "gaussian":
        raise ConfigError(f"--stability_source {a.stability_source} recomputes the noisy version of each wav; "
                          f"a features file has no wavs: use --stability_source gaussian")


def _resolve_training_options(a: argparse.Namespace) -> None:
    if a.stability_source != "gaussian" and not is_spectral(a.features_to_use):
        raise ConfigError(f"--stability_source {a.stability_source} needs a spectrogram feature kind "
                          f"({', '.join(spectral.KINDS)}); with -f {a.features_to_use} use gaussian")
    if a.stability_weight < 0 or a.stability_sigma < 0:
        raise ConfigError("--stability_weight and --stability_sigma must be >= 0")
    if a.minmax is None:  # a recipe's own scaling (AlexNet's images need [0, 1] inputs)
        recipe = models.model_entry(a.model).recipe
        a.minmax = recipe is not None and recipe.minmax


def _check_model_options(a: argparse.Namespace) -> None:
    """The model's own check of the options given (models.check_options), as flags."""
    given, flags = _given_model_options(a), models.option_flags()
    accepted = models.model_options(a.model)
    for option, value in given.items():
        if value is not None and option not in accepted:
            having = [m for m in models.list_models() if option in models.model_options(m)]
            raise ConfigError(f"{flags[option].flag} sets {flags[option].what}; -m {a.model} has none (models with "
                              f"it: {', '.join(having)})")
    try:
        models.check_options(a.model, **given)
    except models.ModelOptionError as error:
        raise ConfigError(f"{error} (change {flags[error.option].flag})") from None


def resolve_device(gpu: int | None) -> torch.device:
    """The run's one device: ``-g K`` (checked against this machine), ``-1`` the CPU, default
    the first GPU when there is one."""
    if gpu is None:
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if gpu < 0:
        return torch.device("cpu")
    available = torch.cuda.device_count()
    if gpu >= available:
        raise ConfigError(f"-g {gpu}: this machine has {available} CUDA device(s)"
                          + (f"; use 0..{available - 1}" if available else "; use -g -1 for the CPU"))
    return torch.device(f"cuda:{gpu}")
