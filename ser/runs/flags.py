"""train.py's command line: its flags grouped by concern, their choices and help from the
registries (corpora, feature kinds, protocols, models) built when the parser is, and ``-c CONFIG``
laid under the command line (``ser.runs.config`` says why). Parsing only: what a combination of
flags means is resolved by ``ser.runs.checks`` and ``ser.runs.config.resolve_args``."""
from __future__ import annotations

import argparse
import difflib
import json
import os
import re
from pathlib import Path

import models
from ser.corpora import iemocap, registry
from ser.corpora.labels import (
    LABEL_SET_NAMES,
)
from ser.errors import UserError
from ser.features import spectral
from ser.features.kinds import feature_kind, feature_kind_names
from ser.protocols import registry as protocols
from ser.protocols.splits import DEFAULT_SPEAKER_FOLDS
from ser.seeds import SEEDS_FILE
from ser.training import augment
from ser.training.engine import LR_SCHEDULES, OPTIMIZERS, POOLINGS, SELECTIONS

DEFAULT_CACHE_DIR = os.environ.get("SER_CACHE_DIR", "data/cache")
FEATURE_BACKENDS = ("auto", "librosa", "torch")
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


def _features_help() -> str:
    """``-f``'s help, from the feature kind registry: each kind with its help line."""
    kinds = "; ".join(f"{name}: {feature_kind(name).help}" for name in feature_kind_names())
    return (f"feature kind (--features: the same flag): {kinds}. GLAM's kinds are computed per segment "
            "(ser/features/glam.py), seed 004's on the whole utterance (ser/features/spectral.py)")


def given_model_options(flags) -> dict:
    """The model options set by flags (None: not given), by the builder's option names."""
    return {option: getattr(flags, flag.dest) for option, flag in models.option_flags().items()}
