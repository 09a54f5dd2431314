"""The one resolved, typed configuration of a run, from ``train.py``'s command line
(``ser.runs.flags`` parses it, ``ser.runs.checks`` resolves each concern).

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

import dataclasses
from dataclasses import dataclass

import torch

import models
from ser import corpora
from ser.corpora import registry
from ser.corpora.labels import (
    CLASS_NAMES,
    FILES_LABELS,
    FOLDER_LABELS,
    LABEL_SETS,
    TOKENS,
    default_label_set,
)
from ser.features.kinds import Settings, feature_kind, is_spectral, run_feature_name
from ser.protocols import registry as protocols
from ser.protocols.registry import is_multi_fold
from ser.protocols.splits import DEFAULT_SPEAKER_FOLDS
from ser.records.results import RunFiles
from ser.runs.checks import (
    SEED_RANGE,
    apply_model_recipe,
    check_feature_kind,
    check_model_options,
    check_numbers,
    model_name,
    resolve_corpus,
    resolve_corpus_and_split,
    resolve_labels,
    resolve_training_options,
)
from ser.runs.flags import ConfigError, given_model_options, parse_namespace
from ser.training.engine import FitOptions

# Flags that change how a run is watched or where it runs, not its numbers.
RESUME_FREE_ARGS = ("resume", "quiet", "gpu", "save_resume_state", "tensorboard", "force")


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
        return given_model_options(self)

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


def resolve_args(argv: list[str] | None = None, default_iemocap: str = "") -> RunConfig:
    """Parse ``argv``, apply ``-c``, resolve and check everything; ConfigError says what to
    change. ``default_iemocap``, when given, is the IEMOCAP root when ``--data`` is not; otherwise
    the root comes from the environment or path.py (``ser.runs.roots.root_of``, when the corpus is read)."""
    a = parse_namespace(argv)
    a.default_iemocap, a.notes = default_iemocap, []
    a.datadir = a.datadir.rstrip("/") or "."
    a.model = model_name(a)
    a.classes, a.folds_from_sha256 = (), ""
    try:
        layout = resolve_corpus(a)
    except corpora.CorpusError as error:  # a tree that shows several layouts, an unreadable manifest
        raise ConfigError(str(error)) from None
    apply_model_recipe(a)
    if a.seed_list is not None:
        if "seeds" not in a.given:
            a.seeds = len(a.seed_list)
        bad = [seed for seed in a.seed_list if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]]
        if bad:
            raise ConfigError(f"--seed_list: seeds must be between {SEED_RANGE[0]} and {SEED_RANGE[1]}, not {bad[0]}")
    check_numbers(a)
    if a.segment_length <= a.train_overlap:
        raise ConfigError(f"--train_overlap ({a.train_overlap}) must be smaller than --segment_length "
                          f"({a.segment_length}): segments would never advance")
    if a.test_overlap >= a.segment_length:
        a.test_overlap = a.segment_length / 2  # the original's rule
    check_feature_kind(a)
    resolve_labels(a, layout)
    resolve_corpus_and_split(a, layout)
    resolve_training_options(a)
    check_model_options(a)
    config = RunConfig(**{**vars(a), "given": tuple(a.given), "notes": tuple(a.notes)})
    if config.features_file is None:  # a features file's maps are checked once it is read
        check_input_shape(config, config.feature_settings().shape())
    return config


def check_input_shape(config: RunConfig, shape: tuple[int, ...]) -> None:
    """Refuse, before anything is written, feature maps the model cannot take, naming the flags
    that set their size."""
    try:
        models.check_input(config.model, shape, len(config.class_names), **config.model_options())
    except models.ModelOptionError as error:
        flags = feature_kind(config.features_to_use).settings.SIZE_FLAGS
        raise ConfigError(f"{error}: these maps come from -f {config.features_to_use} with {flags}; "
                          f"make them larger, or pick another -m") from None


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
