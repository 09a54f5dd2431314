"""Train and evaluate one model on IEMOCAP, as the GLAM paper does.

    python train.py                          # GLAM, improvised subset, the paper's protocol
    python train.py -m MHCNN --segment_length 2 --train_overlap 1 --alpha 0 --lr_schedule step
    python train.py --data /path/to/IEMOCAP_full_release -e 2 -d data/try/GLAM/1
    python train.py --protocol loso -d data/loso/GLAM/1     # 5 folds in data/loso/GLAM/1/fold1..5, then mean ± std
    python train.py --protocol loso-speaker --fold 3 -d data/ls/GLAM/1   # one fold of ten
    python train.py -m alexnet_gap -f logspec --val_id 1F --test_id 1M    # seed 004: speaker pair (README)
    python train.py IEMOCAP_logspec200.pkl -m alexnet_gap -f logspec --labels seed004 --val_id 1F --test_id 1M

Every flag of the original ``train.py`` is accepted with its name, short form and default.
With no flags this is the paper's protocol (glam-spec sections 2-7): MFCC segments of 1.8 s
with 1.6 s overlap, a seeded random 80/20 utterance split, 50 epochs of Adam with mixup
α = 0.5, utterance-level evaluation after every epoch and the epoch with the best
(WA + UA) / 2 on the test set reported. Results go where the original's sweep scripts expect
them (see ``ser/results.py``); ``results.json`` in the run directory holds everything.
``--protocol`` adds the honest protocols of ``ser/splits.py`` (8:1:1, leave one session or
speaker out), which choose the epoch on a validation set and score the test set once.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import models
import path as corpus_path
import seeds
import ser
from models.alexnet import MIN_IMAGE_SIZE, PretrainedWeightsError, imagenet_tensors
from ser import augment, corpora, crossval, emodb, results, spectral
from ser.dataset import (CacheError, FeatureCache, FeatureSettings, TestUtterances, TrainSegments,
                         stack_segments)
from ser.checkpoint import CheckpointError, build_checkpoint, load_resume_state, save_resume_state
from ser.checkpoint import save as save_checkpoint
from ser.engine import (LR_SCHEDULES, OPTIMIZERS, capture_rng, fit, inverse_frequency_weights, restore_rng,
                        seed_everything)
from ser.features import FEATURE_KINDS, MFCC_PARAMS
from ser.labels import CLASS_NAMES, LABEL_SETS
from ser.metrics import confusion, report_text
from ser.splits import (PROTOCOL_DESCRIPTIONS, PROTOCOLS, SPEAKER_ID, SplitError, fold_count, make_split,
                        pair_protocol)
from ser.sweep import threads_per_process

DEFAULT_CACHE_DIR = os.environ.get("SER_CACHE_DIR", "data/cache")


class ConfigError(Exception):
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


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train a speech emotion recogniser on IEMOCAP (GLAM protocol).",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = parser.add_argument_group("corpus")
    data.add_argument("--data", default=None, metavar="PATH",
                      help="IEMOCAP_full_release root; overrides IEMOCAP_DIR and path.py")
    data.add_argument("-i", "--impro_or_script", default="impro", choices=corpora.SUBSETS,
                      help="subset: improvised, scripted or all dialogs")
    data.add_argument("--labels", default="glam", choices=sorted(LABEL_SETS),
                      help="glam: neu/sad/ang/exc (exc as happy, hap dropped); merge: hap folded into exc; "
                           "seed004: ang/sad/hap/neu (exc dropped); seed004exc: exc as hap; emodb: 7 emotions")
    data.add_argument("--split_rate", default=0.8, type=float, help="fraction of utterances used for training")
    data.add_argument("--protocol", default="paper", choices=PROTOCOLS,
                      help="paper: random 80/20 split, epoch chosen on test (the paper's tables); 811: random "
                           "8:1:1 train/validation/test; loso: leave one session out (5 folds); loso-speaker: "
                           "leave one speaker out (10 folds); the last three choose the epoch on validation")
    data.add_argument("--fold", default=None, type=int, metavar="K",
                      help="run only fold K (loso: 1-5, loso-speaker: 1-10) in DATADIR/foldK; "
                           "default: every fold, then their mean ± std")
    data.add_argument("--aug", default=None, choices=["upsampling"],
                      help="upsampling: repeat training utterances until every class is as large as the largest")
    add_switch(data, "--padding", False, "tile utterances shorter than one segment instead of dropping them")

    feats = parser.add_argument_group("features")
    feats.add_argument("-f", "--features_to_use", default="mfcc", choices=FEATURE_KINDS + spectral.KINDS,
                       help="feature kind")
    feats.add_argument("-s", "--sample_rate", default=16000, type=int, help="audio is resampled to this rate")
    feats.add_argument("-n", "--nmfcc", default=26, type=int, help="MFCC coefficients")
    feats.add_argument("--segment_length", default=1.8, type=float, help="segment length in seconds")
    feats.add_argument("--train_overlap", default=1.6, type=float, help="overlap of training segments (s)")
    feats.add_argument("--test_overlap", default=1.6, type=float,
                       help="overlap of test segments (s); values >= the segment length become half of it")
    feats.add_argument("--cache_dir", default=DEFAULT_CACHE_DIR,
                       help="feature cache shared by all runs (env SER_CACHE_DIR)")
    add_switch(feats, "--loadFeatures", True, "reuse cached features; false recomputes them")
    add_switch(feats, "--toSaveFeatures", False,
               "also write the split's features as the original's pickle (--featuresFileName)")
    feats.add_argument("--featuresFileName", default=None,
                       help="the original's features pickle: loaded when it exists (and --loadFeatures), "
                            "written with --toSaveFeatures; default DATADIR/features_<kind>_<subset>.pkl")

    model = parser.add_argument_group("model")
    model.add_argument("-m", "--model", "--ser_model", default="GLAM",
                       help=f"one of: {', '.join(models.list_models())} (--ser_model: seed 004's spelling)")
    model.add_argument("--head", default=4, type=int, help="attention heads (multi-head models)")
    model.add_argument("--attn_hidden", default=64, type=int, help="attention hidden size (multi-head models)")
    add_switch(model, "--SaveModel", False, "save the best epoch as a checkpoint, DATADIR/model_<stem>.pth, that "
               "predict.py and export.py use without the training command (<stem> as the .metric file's)")

    train = parser.add_argument_group("training")
    train.add_argument("--seed", default=987654, type=int, help="seeds the split, initialisation and shuffling")
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
    train.add_argument("-e", "--epochs", "--num_epochs", default=50, type=int,
                       help="training epochs; the test set is scored after each (--num_epochs: seed 004's spelling)")
    train.add_argument("--iter", default=1, type=int, help="train this many times and keep the best")
    add_switch(train, "--weight", False, "weight the loss by inverse class frequency")
    train.add_argument("--alpha", default=0.5, type=float, help="mixup Beta(α, α); 0 turns mixup off")

    run = parser.add_argument_group("run")
    run.add_argument("-g", "--gpu", default=None, type=int, help="CUDA device index; -1 forces the CPU "
                     "(default: GPU 0 when there is one)")
    run.add_argument("-c", "--config", default=None,
                     help="JSON of argument values; as in the original, its non-empty values override the command line")
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
                       help="train the next N seeds of --seeds_file without a line in the results file at once, one "
                            "process each on the same device, in DATADIR/<seed> (-d names the model folder); each "
                            "trains exactly what --seed S -d DATADIR/S trains alone; features are computed once")
    speed.add_argument("--seeds_file", default=seeds.SEEDS_FILE,
                       help="the seeds --seeds takes in order (written with the paper's 100 when missing, as seeds.py does)")
    state = parser.add_argument_group("interruption and logs")
    state.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from its last completed epoch (DATADIR/resume_<stem>.pt); "
                            "the result equals an uninterrupted run's. Without the file it starts afresh")
    add_switch(state, "--save_resume_state", True, "after every epoch write DATADIR/resume_<stem>.pt (the "
               "weights, optimizer, schedule, random streams and best so far; removed when the run finishes)")
    state.add_argument("--tensorboard", action="store_true",
                       help="also log every epoch's loss, lr and scores for TensorBoard in DATADIR/tensorboard "
                            "(needs the tensorboard package); DATADIR/<stem>_epochs.csv is always written")
    add_seed004_arguments(parser)
    return parser


def resolve_args(argv=None) -> argparse.Namespace:
    """Parse, apply ``-c``, and check the combinations argparse cannot."""
    parser = get_args_parser()
    args = parser.parse_args(argv)
    args.user_config = bool(args.config)
    if args.config:
        try:
            overrides = json.loads(Path(args.config).read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read config {args.config}: {error}")
        if not isinstance(overrides, dict):
            raise ConfigError(f"config {args.config} must hold a JSON object of argument names and values")
        unknown = sorted(set(overrides) - set(vars(args)))
        if unknown:
            raise ConfigError(f"config {args.config} has unknown keys: {', '.join(unknown)}; "
                              f"valid keys are the long flag names of train.py --help")
        for key, value in overrides.items():
            if value:
                setattr(args, key, value)
        # Config values bypass argparse, so check the ones with a fixed set of choices here.
        for action in parser._actions:
            value = getattr(args, action.dest, None)
            if action.choices is not None and value is not None and value not in action.choices:
                raise ConfigError(f"config {args.config} sets {action.dest} to {value!r}; "
                                  f"choose one of: {', '.join(map(str, action.choices))}")
    args.datadir = args.datadir.rstrip("/") or "."
    args.model = models.resolve_name(args.model) if args.model in models.list_models(include_aliases=True) else args.model
    if args.model not in models.list_models():
        raise ConfigError(f"unknown model {args.model!r}; choose one of: {', '.join(models.list_models(include_aliases=True))}")
    if args.segment_length <= args.train_overlap:
        raise ConfigError(f"--train_overlap ({args.train_overlap}) must be smaller than --segment_length "
                          f"({args.segment_length}): segments would never advance")
    if args.test_overlap >= args.segment_length:
        args.test_overlap = args.segment_length / 2  # the original's rule
    for name in ("epochs", "batch_size", "iter", "seeds"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be at least 1")
    if not 0 < args.split_rate < 1:
        raise ConfigError("--split_rate must be between 0 and 1")
    folds = fold_count(args.protocol)
    if args.fold is not None and folds == 1:
        raise ConfigError(f"--fold applies to --protocol loso (folds 1-5) and loso-speaker (1-10), "
                          f"not {args.protocol}")
    if args.fold is not None and not 1 <= args.fold <= folds:
        raise ConfigError(f"--fold {args.fold}: --protocol {args.protocol} has folds 1..{folds}")
    if args.protocol != "paper" and (args.featuresFileName or args.toSaveFeatures):
        raise ConfigError("--featuresFileName and --toSaveFeatures hold the paper protocol's fixed "
                          "train/test split; use them with --protocol paper only")
    if args.alpha < 0:
        raise ConfigError("--alpha must be >= 0")
    if args.seeds > 1 and args.user_config:
        raise ConfigError("--seeds gives each process its own --seed and -d, which a -c config would override; "
                          "put the config's values on the command line")
    if args.sample_rate <= 0 or args.segment_length <= 0 or args.learning_rate <= 0:
        raise ConfigError("--sample_rate, --segment_length and --learning_rate must be positive")
    if args.features_to_use == "mfcc" and not 1 <= args.nmfcc <= MFCC_PARAMS["n_mels"]:
        raise ConfigError(f"--nmfcc must be between 1 and {MFCC_PARAMS['n_mels']} "
                          f"(the number of mel bands it is computed from)")
    check_seed004_args(args)
    return args


# ---------------------------------------------------------------------------------------
# Seed 004 (samsudinng/speech_emo_recognition; seed004-spec.md): emoDB, the spectrogram-image
# features of ser.spectral, --val_id/--test_id speaker pairs and the training options of
# ser.augment. Kept in one place; with none of these flags a run is exactly the GLAM run.

def add_seed004_arguments(parser: argparse.ArgumentParser) -> None:
    corpus = parser.add_argument_group("seed 004: corpus and speaker split")
    corpus.add_argument("features_file", nargs="?", default=None,
                        help="seed 004's per-speaker features file (extract_features.py, e.g. IEMOCAP_logspec200.pkl): "
                             "train on its segments instead of a corpus; name its kind with -f and its labels with "
                             "--labels (or --corpus emodb). Put it first, as the seed's train_ser.py did")
    corpus.add_argument("--corpus", default="iemocap", choices=("iemocap", "emodb"),
                        help="emodb: a folder of emoDB wavs (--data or env EMODB_DIR), its 7 emotions, labels "
                             "'emodb'; speakers 1M..5F as seed 004 maps them")
    corpus.add_argument("--emodb_files", default=None, type=int,
                        help="emoDB: expected number of wavs (None: 535, or a synthetic corpus's own count; 0: no check)")
    corpus.add_argument("--val_id", default=None, metavar="SPEAKER",
                        help="validation speaker (e.g. 1F): chooses the epoch; needs --test_id")
    corpus.add_argument("--test_id", default=None, metavar="SPEAKER",
                        help="test speaker (e.g. 1M), scored once; the other speakers train. A session pair "
                             "is --protocol loso-speaker's fold")
    feats = parser.add_argument_group("seed 004: spectrogram features (-f logspec|logmelspec|logmeldeltaspec|"
                                      "lognrevspec|logdeltaspec; see ser/spectral.py)")
    feats.add_argument("--segment_size", default=300, type=int, help="frames (10 ms) per segment")
    feats.add_argument("--nfreq", default=200, type=int, help="linear frequency bins kept")
    feats.add_argument("--nmel", default=128, type=int, help="mel bands")
    feats.add_argument("--pad", default="max", choices=spectral.PAD_MODES,
                       help="max: pad the last segment with 0 dB, the utterance maximum (seed 004); floor: "
                            "with the -80 dB floor (silence)")
    feats.add_argument("--reverb_rate", default=44100, type=int,
                       help="rate SoX's reverb is told (44100: seed 004's quirk; 0: the true rate)")
    model = parser.add_argument_group("seed 004: models alexnet, alexnet_gap")
    model.add_argument("--pretrained", default=None, metavar="PATH",
                       help="local ImageNet AlexNet state dict (torchvision's alexnet-owt-7be5be79.pth); never "
                            "downloaded")
    model.add_argument("--image_size", default=256, type=int, help="shorter side of the AlexNet input image")
    model.add_argument("--save_label", default=None, metavar="LABEL",
                       help="seed 004's flag (best model to LABEL.pth): here --SaveModel in the run directory "
                            "DATADIR/LABEL")
    train = parser.add_argument_group("seed 004: training options (every model)")
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
    train.add_argument("--select_on", default="WA_UA_mean", choices=augment.SELECTIONS,
                       help="epoch selection: (WA+UA)/2 (GLAM) or WA (seed 004)")
    train.add_argument("--pooling", default="logits", choices=augment.POOLINGS,
                       help="utterance score: mean segment logits (GLAM) or log-softmax (seed 004)")


def check_seed004_args(args) -> None:
    """Resolve and check the seed-004 flags (after the GLAM checks); ConfigError says what to change."""
    if args.corpus == "emodb":
        if args.labels != "emodb" and args.labels not in ("glam", "merge"):
            raise ConfigError(f"--labels {args.labels} is an IEMOCAP label set; emoDB has only 'emodb'")
        args.labels, args.impro_or_script = "emodb", "all"  # emoDB has one label set and no subsets
    elif args.labels == "emodb":
        raise ConfigError("--labels emodb needs --corpus emodb")
    if args.features_file is not None:
        check_features_file_args(args)
    if args.save_label is not None:
        # seed 004 saved its best model as <save_label>.pth; here the label names the run directory
        args.datadir, args.SaveModel = f"{args.datadir}/{args.save_label}", True
    spectral_kind = args.features_to_use in spectral.KINDS
    if args.stability_source != "gaussian" and not spectral_kind:
        raise ConfigError(f"--stability_source {args.stability_source} needs a spectrogram feature kind "
                          f"({', '.join(spectral.KINDS)}); with -f {args.features_to_use} use gaussian")
    if args.stability_weight < 0 or args.stability_sigma < 0:
        raise ConfigError("--stability_weight and --stability_sigma must be >= 0")
    if min(args.segment_size, args.nfreq, args.nmel, args.image_size) < 1:
        raise ConfigError("--segment_size, --nfreq, --nmel and --image_size must be positive")
    if "image_size" in models.model_options(args.model) and args.image_size < MIN_IMAGE_SIZE:
        raise ConfigError(f"--image_size {args.image_size}: AlexNet's feature extractor needs images of at least "
                          f"{MIN_IMAGE_SIZE} pixels on the shorter side")
    if args.pretrained is not None:
        if "pretrained" not in models.model_options(args.model):
            raise ConfigError(f"--pretrained loads ImageNet AlexNet weights; -m {args.model} has none "
                              f"(use alexnet or alexnet_gap)")
        try:
            imagenet_tensors(args.pretrained, "fc" if args.model == "alexnet" else "gap")
        except PretrainedWeightsError as error:
            raise ConfigError(str(error)) from None
    if args.minmax is None:
        args.minmax = args.model in ("alexnet", "alexnet_gap")  # their images need [0, 1] inputs
    if (args.val_id is None) != (args.test_id is None):
        raise ConfigError("--val_id and --test_id go together: the validation and the test speaker")
    if args.val_id is not None:
        for flag, value in (("--val_id", args.val_id), ("--test_id", args.test_id)):
            if not SPEAKER_ID.fullmatch(value):
                raise ConfigError(f"{flag} {value}: speakers are 1F, 1M, ..., 5F, 5M (emoDB's are mapped onto them)")
        if args.val_id == args.test_id:
            raise ConfigError("--val_id and --test_id must be two different speakers")
        if args.protocol != "paper" or args.fold is not None:
            raise ConfigError("--val_id/--test_id choose the split themselves; drop --protocol/--fold")
        fold = crossval.fold_of(args.val_id, args.test_id)
        # a session pair is a loso-speaker fold: the same run, the same result files
        args.protocol, args.fold = ("loso-speaker", fold) if fold else (pair_protocol(args.val_id, args.test_id), None)


def check_features_file_args(args) -> None:
    """What a seed-004 features file needs (see :func:`load_speaker_features`)."""
    if args.features_to_use not in spectral.KINDS:
        raise ConfigError(f"{args.features_file} holds spectrogram segments: name their kind with -f "
                          f"({', '.join(spectral.KINDS)})")
    if args.labels in ("glam", "merge"):
        raise ConfigError("extract_features.py writes the labels seed004 (IEMOCAP; seed004exc with --scripted) or "
                          "emodb (EMODB): pass --labels seed004, --labels seed004exc or --corpus emodb")
    if args.featuresFileName:
        raise ConfigError("give seed 004's features file or --featuresFileName (the GLAM pickle), not both")
    if stability_from_wavs(args):
        raise ConfigError(f"--stability_source {args.stability_source} recomputes the noisy version of each wav; "
                          f"a features file has no wavs: use --stability_source gaussian")


def scan_corpus(args, root: Path) -> corpora.CorpusScan:
    return emodb.scan_emodb(root, args.emodb_files) if args.corpus == "emodb" else corpora.scan_iemocap(root)


def emodb_root(args) -> Path:
    return emodb.validate_root(args.data or os.environ.get("EMODB_DIR"))


def load_features(args, root: Path, chosen: list[corpora.Utterance], settings):
    """``FeatureCache.load``'s result for the GLAM kinds; the spectrogram kinds come from
    ser.spectral, one packed (S, C·F, T) array per utterance and the same for both overlaps."""
    paths = [root / u.path for u in chosen]
    if isinstance(settings, spectral.SpectralSettings):
        feats, report = spectral.load_corpus_features(paths, [u.path for u in chosen], settings, args.cache_dir,
                                                      progress=not args.quiet)
        packed = [None if f is None else spectral.pack(f) for f in feats]
        return {args.train_overlap: packed, args.test_overlap: packed}, report
    return FeatureCache(args.cache_dir).load(paths, settings, (args.train_overlap, args.test_overlap),
                                             progress=not args.quiet)


def run_split(args, data: dict, rng: np.random.RandomState):
    """``make_split`` for the protocols, or seed 004's speaker pair (--val_id/--test_id)."""
    speakers = [u.speaker for u in data["utterances"]]
    if args.val_id is not None and args.fold is None:
        return crossval.pair_split(speakers, args.val_id, args.test_id)
    return make_split(args.protocol, speakers, rng, args.split_rate, args.fold)


def stability_from_wavs(args) -> bool:
    """Stability training on the white-noise or reverb version of each wav, which only a corpus
    has (features files do not keep their wavs)."""
    return args.stability_weight > 0 and args.stability_source != "gaussian"


def noisy_copies(args, data: dict, order: list[int]) -> np.ndarray:
    """Training segments of the white-noise or reverb version of each wav (stability training)."""
    settings = dataclasses.replace(feature_settings(args), perturbation=args.stability_source)
    chosen = [data["utterances"][i] for i in order]
    feats, report = spectral.load_corpus_features([data["root"] / u.path for u in chosen], [u.path for u in chosen],
                                                  settings, args.cache_dir, progress=not args.quiet)
    if report.skipped:
        raise CacheError(f"the {args.stability_source} version of {chosen[report.skipped[0][0]].path} cannot be "
                         f"computed ({report.skipped[0][1]}); use --stability_source gaussian")
    return np.concatenate([spectral.pack(f) for f in feats])


def apply_training_options(args, train: TrainSegments, test: TestUtterances, validation: TestUtterances | None,
                           rng: np.random.RandomState):
    """Oversampling, then min-max scaling fitted on the training segments, whichever way the
    split was made (from the corpus, or loaded from --protocol paper's features file).

    Returns the three parts and the fitted ``augment.MinMaxScaler`` (None without --minmax),
    which checkpoints keep so that predictions scale new audio the same way."""
    scaler = None
    if args.oversample:
        train = augment.take(train, augment.oversample_indices(train.y, rng, args.oversample))
    if args.minmax:
        scaler = augment.MinMaxScaler().fit(train.X)
        if isinstance(train, augment.PairedSegments):
            train = augment.PairedSegments(X=scaler.transform(train.X), y=train.y, noisy=scaler.transform(train.noisy))
        else:
            train = TrainSegments(X=scaler.transform(train.X), y=train.y)
        test, validation = (None if part is None else dataclasses.replace(part, X=scaler.transform(part.X))
                            for part in (test, validation))
    return train, test, validation, scaler


def seed004_model_options(args) -> dict:
    return {"in_channels": spectral.CHANNELS.get(args.features_to_use, 1), "pretrained": args.pretrained,
            "image_size": args.image_size}


def training_loop(args):
    """(fit function, its extra keyword arguments): ser.engine's fit unless an option of
    ser.augment is on, whose fit equals the engine's when none is."""
    extras = dict(mixup=args.mixup, stability_weight=args.stability_weight, stability_loss=args.stability_loss,
                  stability_sigma=args.stability_sigma, selection=args.select_on, pooling=args.pooling)
    engine_like = (args.mixup == "glam" and args.stability_weight == 0 and args.select_on == "WA_UA_mean"
                   and args.pooling == "logits")
    return (fit, {}) if engine_like else (augment.fit, extras)


def select_device(gpu: int | None) -> torch.device:
    if gpu is None:
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if gpu < 0:
        return torch.device("cpu")
    available = torch.cuda.device_count()
    if gpu >= available:
        raise ConfigError(f"-g {gpu}: this machine has {available} CUDA device(s)"
                          + (f"; use 0..{available - 1}" if available else "; use -g -1 for the CPU"))
    return torch.device(f"cuda:{gpu}")


def corpus_root(args) -> Path:
    if args.corpus == "emodb":
        return emodb_root(args)
    root = args.data or corpus_path.IEMOCAP_DIR
    if not root:
        raise corpora.CorpusError(
            "no IEMOCAP corpus configured: set IEMOCAP_DIR, edit path.py, or pass --data PATH "
            "(the IEMOCAP_full_release folder holding Session1..Session5). "
            "./run trains on a synthetic demo corpus when none is set.")
    try:
        return corpora.validate_root(root)
    except corpora.CorpusError as error:
        if emodb.looks_like_emodb(root):
            raise corpora.CorpusError(f"{error}. It holds emoDB wavs: pass --corpus emodb") from None
        raise


def feature_settings(args) -> FeatureSettings | spectral.SpectralSettings:
    if args.features_to_use in spectral.KINDS:
        return spectral.SpectralSettings(kind=args.features_to_use, sample_rate=args.sample_rate, n_freq=args.nfreq,
                                         n_mels=args.nmel, segment_size=args.segment_size, pad=args.pad,
                                         reverb_rate=args.reverb_rate or None)
    return FeatureSettings(kind=args.features_to_use, sample_rate=args.sample_rate, n_mfcc=args.nmfcc,
                           segment_length=args.segment_length, padding=args.padding)


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


def load_speaker_features(args, log) -> dict:
    """Seed 004's per-speaker features file (extract_features.py, seed004-spec 1.8) as
    :func:`load_corpus_data` returns a corpus, so every split and protocol applies to it.

    The file keeps no utterance names: utterance k of speaker S is named ``S_k``. Of a
    ``--mixnoise`` file, (V, N, C, F, T), the clean version (the first) is used.
    """
    path = Path(args.features_file)
    label_map, channels = LABEL_SETS[args.labels], spectral.CHANNELS[args.features_to_use]
    token_of = {index: token for token, index in reversed(label_map.items())}  # a class's first token
    remedy = "write it with extract_features.py"
    try:
        with open(path, "rb") as f:
            saved = pickle.load(f)
        speakers = dict(saved)
    except (OSError, EOFError, TypeError, ValueError, AttributeError, ImportError, pickle.UnpicklingError) as error:
        raise corpora.CorpusError(f"cannot read the features file {path} ({type(error).__name__}: {error}); {remedy}")
    utterances, labels, feats = [], [], []
    for speaker, entry in speakers.items():
        where = f"{path}, speaker {speaker!r}"
        if not (SPEAKER_ID.fullmatch(str(speaker)) and isinstance(entry, (tuple, list)) and len(entry) == 4):
            raise corpora.CorpusError(f"{where}: not seed 004's layout ({{speaker id: (segments, utterance labels, "
                                      f"segment labels, segments per utterance)}}); {remedy}")
        segments, utterance_labels, _, counts = (np.asarray(part) for part in entry)
        if segments.ndim == 5:
            log(f"{where}: --mixnoise versions found; training on the clean one")
            segments = segments[0]
        if segments.ndim != 4 or segments.shape[1] != channels:
            raise corpora.CorpusError(f"{where}: segments of shape {segments.shape}, expected (N, {channels}, F, T) "
                                      f"for -f {args.features_to_use}")
        if len(counts) != len(utterance_labels) or counts.sum() != len(segments) or (counts < 1).any():
            raise corpora.CorpusError(f"{where}: the segment counts do not add up to the {len(segments)} segments; "
                                      f"{remedy}")
        unknown = sorted(set(utterance_labels.tolist()) - set(token_of))
        if unknown:
            raise corpora.CorpusError(f"{where}: labels {unknown} are no class of --labels {args.labels} "
                                      f"({'/'.join(CLASS_NAMES[args.labels])})")
        if not np.isfinite(segments).all():
            raise corpora.CorpusError(f"{where}: the segments hold NaN/Inf values; {remedy}")
        per_utterance = np.split(spectral.pack(segments.astype(np.float32)), np.cumsum(counts)[:-1])
        for k, (label, utterance) in enumerate(zip(utterance_labels.tolist(), per_utterance)):
            # the file keeps no dialog, kind or times
            utterances.append(corpora.Utterance(f"{speaker}_{k}", f"{speaker}_{k}", int(speaker[0]), speaker, "", "",
                                                token_of[label], 0.0, 0.0, 0.0))
            labels.append(label)
            feats.append(utterance)
    if not feats:
        raise corpora.CorpusError(f"{path} holds no speakers; {remedy}")
    shapes = {f.shape[1:] for f in feats}
    if len(shapes) != 1:
        raise corpora.CorpusError(f"{path}: speakers have segments of different shapes {sorted(shapes)}; {remedy}")
    summary = {"corpus": str(path), "labelled_turns": len(utterances), "subset": args.impro_or_script,
               "classes": sorted(label_map), "selected": len(utterances), "used": len(utterances), "skipped": [],
               "tiled": 0, "sample_rate": args.sample_rate, "resampled": {}, "downmixed": 0}
    log(data_summary_text(summary))
    return dict(root=path, utterances=utterances, labels=np.array(labels, dtype=np.int64), train_feats=feats,
                test_feats=feats, shape=shapes.pop(), synthetic=False, data_summary=summary)


def load_corpus_data(args, log) -> dict:
    """Scan the corpus and compute/cache features: everything the split needs (from seed 004's
    features file instead, when train.py is given one).

    What cannot be used (see ser.corpora and ser.dataset) is left out with a reason; one
    summary of it is logged and returned as ``data_summary`` (written to results.json).
    """
    if args.features_file is not None:
        return load_speaker_features(args, log)
    root = corpus_root(args)
    scan = scan_corpus(args, root)
    label_map = LABEL_SETS[args.labels]
    chosen = [u for u in corpora.select(scan.utterances, args.impro_or_script) if u.label in label_map]
    if not chosen:
        raise corpora.CorpusError(f"no utterances with labels {sorted(label_map)} in subset "
                                  f"{args.impro_or_script!r} under {root}")
    settings = feature_settings(args)
    per_overlap, report = load_features(args, root, chosen, settings)
    train_feats, test_feats = per_overlap[args.train_overlap], per_overlap[args.test_overlap]
    # As in the original, utterances shorter than one segment leave before the split
    # (--padding tiles them instead, so none is empty then).
    usable = [i for i, f in enumerate(train_feats) if f is not None and len(f) > 0]
    skipped = list(scan.skipped)
    skipped += [(f"{chosen[i].path} ({detail})" if detail else chosen[i].path, reason)
                for i, reason, detail in report.skipped]
    skipped += [(chosen[i].path, f"shorter than one segment ({args.segment_length} s), dropped as in the paper")
                for i, f in enumerate(train_feats) if f is not None and len(f) == 0]
    segment_samples = args.segment_length * args.sample_rate
    summary = {
        "corpus": str(root), "labelled_turns": len(scan.utterances), "subset": args.impro_or_script,
        "classes": sorted(label_map), "selected": len(chosen), "used": len(usable),
        "skipped": [list(item) for item in skipped],
        "tiled": sum(a is not None and a.samples < segment_samples for a in report.audio) if args.padding else 0,
        "sample_rate": args.sample_rate,
        "resampled": {str(rate): n for rate, n in sorted(report.resampled(args.sample_rate).items())},
        "downmixed": report.downmixed(),
    }
    log(data_summary_text(summary))
    if not usable:
        raise corpora.CorpusError(f"none of the {len(chosen)} selected utterances under {root} can be used "
                                  f"(reasons in the summary above); check the corpus and --segment_length")
    labels = np.array([label_map[chosen[i].label] for i in usable], dtype=np.int64)
    return dict(root=root, utterances=[chosen[i] for i in usable], labels=labels,
                train_feats=[train_feats[i] for i in usable], test_feats=[test_feats[i] for i in usable],
                shape=settings.shape(), synthetic=(root / "SYNTHETIC_CORPUS.txt").exists(),
                data_summary=summary)


def data_summary_text(summary: dict) -> str:
    """The run's one summary of its data: what was used, left out (and why) or repaired."""
    lines = [f"Data: {summary['labelled_turns']} labelled turns under {summary['corpus']}; "
             f"{summary['selected']} in subset {summary['subset']!r} with classes "
             f"{'/'.join(summary['classes'])}; {summary['used']} used."]
    skipped = summary["skipped"]
    lines.append(f"  left out {len(skipped)}:" if skipped else "  left out: none")
    lines += corpora.format_skipped(skipped)
    if summary["tiled"]:
        lines.append(f"  tiled to one segment (--padding): {summary['tiled']}")
    if summary["resampled"]:
        rates = ", ".join(f"{rate} Hz: {n}" for rate, n in summary["resampled"].items())
        lines.append(f"  resampled to {summary['sample_rate']} Hz: {sum(summary['resampled'].values())} "
                     f"(from {rates})")
    if summary["downmixed"]:
        lines.append(f"  down-mixed to mono: {summary['downmixed']}")
    return "\n".join(lines)


def split_data(args, data: dict, rng: np.random.RandomState):
    """Split the usable utterances by ``--protocol`` (and ``--fold``, see ser/splits.py).

    Returns training segments (paired with their noisy copies when stability training takes
    them from the wavs), test utterances, validation utterances (None for ``paper``, which
    chooses the epoch on test), the protocol's description and the parts' class counts.
    Oversampling and min-max scaling come after (:func:`apply_training_options`).
    """
    labels = data["labels"]
    split = run_split(args, data, rng)
    train_order = upsample(split.train, labels, rng) if args.aug == "upsampling" else split.train
    train = stack_segments([data["train_feats"][i] for i in train_order], labels[train_order], data["shape"])

    def scored_utterances(part: list[int]) -> TestUtterances:
        return TestUtterances.from_lists([data["test_feats"][i] for i in part], labels[part],
                                         [data["utterances"][i].turn for i in part], data["shape"])

    test = scored_utterances(split.test)
    validation = scored_utterances(split.validation) if split.validation else None
    info = {"train": json.dumps(Counter(labels[split.train].tolist())),
            "test": json.dumps(Counter(labels[split.test].tolist())),
            "train_seg": f"{Counter(train.y.tolist()).items()}"}
    if validation is not None:
        info["validation"] = json.dumps(Counter(labels[split.validation].tolist()))
    if stability_from_wavs(args):
        train = augment.PairedSegments(X=train.X, y=train.y, noisy=noisy_copies(args, data, train_order))
    return train, test, validation, split.protocol, info


def load_original_pickle(file: str) -> tuple[TrainSegments, TestUtterances, dict]:
    """Features saved by the original ``process.py`` (``train_X, train_y, val_dict, info``)."""
    with open(file, "rb") as f:
        saved = pickle.load(f)
    train = TrainSegments(X=np.asarray(saved["train_X"], dtype=np.float32), y=np.asarray(saved["train_y"], dtype=np.int64))
    val = saved["val_dict"]
    test = TestUtterances.from_lists([np.asarray(v["X"], dtype=np.float32) for v in val], [v["y"] for v in val],
                                     [str(i) for i in range(len(val))], train.X.shape[1:])
    return train, test, saved.get("info", "")


def save_original_pickle(file: str, train: TrainSegments, test: TestUtterances, info) -> None:
    val_dict = [{"X": test.X[test.owner == u], "y": int(test.y[u])} for u in range(len(test.y))]
    results.write_pickle(file, {"train_X": train.X, "train_y": train.y, "val_dict": val_dict, "info": info})


def model_options(args) -> dict:
    """The keyword arguments of ``models.create_model`` this run sets (also in results.json)."""
    options = {"num_heads": args.head, "attn_hidden": args.attn_hidden, **seed004_model_options(args)}
    accepted = models.model_options(args.model)
    return {k: v for k, v in options.items() if k in accepted}


def build_model(args, shape, num_classes: int) -> torch.nn.Module:
    return models.create_model(args.model, shape=shape, num_classes=num_classes, **model_options(args))


def epoch_log_text(record, best, class_names: list[str], y_true) -> str:
    """The original's per-epoch block in ``<MODEL>_train.log``."""
    s = best.scores
    return (f"epoch: {record.epoch}, lr: {record.lr:.4}, loss: {record.loss:.4}\n{record.seconds}\n"
            f"{report_text(y_true, record.predictions, class_names)}\n"
            f"{confusion(y_true, record.predictions, len(class_names))}\n"
            "The best result ----------\n"
            f"WA: {s.WA:.4f}%, UA: {s.UA:.4f}%, macro f1: {s.macro_f1:.4f}%, weighted f1: {s.weighted_f1:.4f}%\n"
            "--------------------------\n")


EPOCH_COLUMNS = ["seed", "iteration", "epoch", "lr", "loss", "seconds", "scored_on", "WA", "UA", "macro_f1",
                 "weighted_f1", "WA_UA_mean", "best_epoch_so_far"]
# Arguments that may differ between an interrupted run and its resumption: they change how a
# run is watched or where it runs, not its numbers.
RESUME_FREE_ARGS = ("resume", "quiet", "gpu", "save_resume_state", "tensorboard", "force")


def epoch_row(seed: int, iteration: int, record, best, validated: bool) -> dict:
    """One line of ``<stem>_epochs.csv``: the epoch's loss, lr and scores on the selection set."""
    return {"seed": seed, "iteration": iteration, "epoch": record.epoch, "lr": record.lr, "loss": record.loss,
            "seconds": round(record.seconds, 3), "scored_on": "validation" if validated else "test",
            **{k: round(v, 4) for k, v in record.scores.as_dict().items()}, "best_epoch_so_far": best.epoch}


def tensorboard_writer(args, datadir: Path, stem: str):
    """A SummaryWriter in DATADIR/tensorboard/<stem>_seed<seed> for ``--tensorboard``, else None."""
    if not args.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        sys.exit(f"error: --tensorboard needs the tensorboard package ({error}); pip install tensorboard, "
                 "or drop --tensorboard (the epochs are in the CSV file anyway)")
    return SummaryWriter(str(datadir / "tensorboard" / f"{stem}_seed{args.seed}"))


def log_epoch_to_tensorboard(writer, step: int, record) -> None:
    writer.add_scalar("train/loss", record.loss, step)
    writer.add_scalar("train/lr", record.lr, step)
    for name, value in record.scores.as_dict().items():
        writer.add_scalar(f"selection_set/{name}", value, step)
    writer.flush()


def run_state(resolved: dict, iteration: int, fit_state: dict | None, best_so_far: tuple, epoch_rows: list,
              rng_state: dict | None, running_time: float) -> dict:
    """What ``--resume`` needs: the iteration, the fit's own state inside it (None at an
    iteration's start, when ``rng_state`` holds the random streams), the best of the earlier
    iterations, the CSV rows so far and the training time spent."""
    return {"args": {k: v for k, v in resolved.items() if k not in RESUME_FREE_ARGS}, "iteration": iteration,
            "fit": fit_state, "best_so_far": best_so_far, "epoch_rows": list(epoch_rows), "rng": rng_state,
            "running_time": running_time}


def resume_state(args, resume_file: Path, resolved: dict, log) -> dict:
    """The saved state to continue from with ``--resume``, or a fresh run's. A state saved by
    a run with other arguments is refused: resuming it would mix two runs."""
    fresh = run_state(resolved, 0, None, (None, [], None, None), [], None, 0.0)
    if not resume_file.exists():
        if args.resume:
            log(f"--resume: no {resume_file.name} in {resume_file.parent}; starting from the first epoch")
        return fresh
    if not args.resume:
        log(f"NOTE: {resume_file} holds an interrupted run; starting afresh and replacing it "
            "(pass --resume to continue it instead)")
        return fresh
    try:
        state = load_resume_state(resume_file)
    except CheckpointError as error:
        sys.exit(f"error: {error}")
    differing = sorted(k for k in set(state["args"]) | set(fresh["args"])
                       if state["args"].get(k) != fresh["args"].get(k))
    if differing:
        sys.exit(f"error: {resume_file} was saved by a run with other arguments ("
                 + ", ".join(f"{k}: {state['args'].get(k)!r} then, {fresh['args'].get(k)!r} now" for k in differing)
                 + "); rerun with those arguments, or without --resume to start afresh")
    epochs_done = 0 if state["fit"] is None else state["fit"]["next_epoch"]
    log(f"Resuming from {resume_file.name}: iteration {state['iteration'] + 1}, {epochs_done} epoch(s) done")
    return state


def main(argv=None) -> dict | None:
    """Run one training job (every fold of ``--protocol loso``/``loso-speaker`` unless ``--fold``);
    returns the results.json summary, or None when the seed is already finished (see
    ``--force``). Problems end it with one ``error: ...`` line."""
    try:
        args = resolve_args(argv)
        device = select_device(args.gpu)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    if args.seeds > 1:
        return run_seeds(args, sys.argv[1:] if argv is None else list(argv))
    if args.fold is None and args.protocol in PROTOCOLS and fold_count(args.protocol) > 1:
        return run_all_folds(args, device)
    return run_training(args, device)


def single_seed_flags(argv: list[str]) -> list[str]:
    """``argv`` without the flags ``--seeds`` sets for each process (seed, run folder, output)."""
    chosen = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for names in (("--seeds",), ("--seed",), ("-d", "--datadir")):
        chosen.add_argument(*names)
    chosen.add_argument("--quiet", action="store_true")
    return chosen.parse_known_args(argv)[1]


def run_seeds(args, argv: list[str]) -> dict:
    """``--seeds N``: the next N unfinished seeds, each a ``train.py --seed S -d DATADIR/S``
    process, all running at once on the same device once this process has computed (and
    cached) the features they share. Returns each seed's results.json summary (None for a
    seed that failed; its output is in DATADIR/S/train_output.log)."""
    log = (lambda *a: None) if args.quiet else print
    stem = results.result_stem(args.model, args.features_to_use, args.impro_or_script, args.labels,
                               args.protocol, args.fold)
    done = results.seeds_done(Path(args.datadir) / f"{stem}{metric_suffix(args)}")
    try:
        candidates = seeds.read_seeds(args.seeds_file)
    except ValueError as error:
        sys.exit(f"error: {error}")
    chosen = [seed for seed in candidates if seed not in done][:args.seeds]
    if not chosen:
        print(f"every seed of {args.seeds_file} is in the results file already: nothing to train")
        return {}
    if not (args.featuresFileName or args.features_file):
        try:
            load_corpus_data(args, log)  # the processes then read the features from the cache
        except (corpora.CorpusError, CacheError) as error:
            sys.exit(f"error: {error}")
    log(f"training seeds {', '.join(map(str, chosen))} at once")
    flags, running = single_seed_flags(argv), {}
    env = dict(os.environ)
    if args.gpu is not None and args.gpu < 0 or not torch.cuda.is_available():
        env["OMP_NUM_THREADS"] = str(threads_per_process(len(chosen)))
    for seed in chosen:
        run_dir = Path(args.datadir) / str(seed)
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / "train_output.log", "w") as output:
            running[seed] = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), *flags, "--seed", str(seed), "-d", str(run_dir),
                 "--quiet"], stdout=output, stderr=subprocess.STDOUT, env=env)
    summaries = {}
    for seed, process in running.items():
        finished = process.wait() == 0
        summaries[seed] = json.loads((Path(args.datadir) / str(seed) / "results.json").read_text()) if finished else None
        log(f"seed {seed}: " + ("done" if finished else f"failed (exit {process.returncode}), see "
                                f"{Path(args.datadir) / str(seed) / 'train_output.log'}"))
    if any(summary is None for summary in summaries.values()):
        sys.exit(f"error: {sum(s is None for s in summaries.values())} of {len(chosen)} seeds failed")
    return summaries


def metric_suffix(args) -> str:
    """``.same`` instead of ``.metric`` for runs on a features file or a config, as the original."""
    return ".same" if (args.featuresFileName or args.user_config) else ".metric"


def run_training(args, device: torch.device, corpus: dict | None = None) -> dict | None:
    """One run on one split (one fold), trained ``--iter`` times; writes its result files.

    ``corpus`` is :func:`load_corpus_data`'s result when the caller has loaded it already.
    """
    quiet = args.quiet
    log = (lambda *a: None) if quiet else print
    rng = seed_everything(args.seed)

    features_file = args.featuresFileName or f"{args.datadir}/features_{args.features_to_use}_{args.impro_or_script}.pkl"
    suffix = metric_suffix(args)
    datadir, parent = results.run_location(args.datadir, args.fold)
    stem = results.result_stem(args.model, args.features_to_use, args.impro_or_script, args.labels,
                               args.protocol, args.fold)
    # A finished seed has its line in the results file (written last, see below): running it
    # again would add a second line that sweeps and tables count twice.
    metric_file = parent / f"{stem}{suffix}"
    if not args.force and args.seed in results.seeds_done(metric_file):
        print(f"seed {args.seed} is already in {metric_file}: skipped (--force trains it again)")
        return None
    try:
        datadir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        sys.exit(f"error: cannot create the run directory {datadir} ({error}); pass -d a writable path")
    resolved = {k: v for k, v in vars(args).items() if k not in ("config", "user_config")}
    results.write_json(datadir / "last.json", resolved)

    class_names = CLASS_NAMES[args.labels]
    log("Load features...")
    started = time.perf_counter()
    validation = None
    if (corpus is None and args.features_file is None and args.protocol == "paper" and args.loadFeatures
            and os.path.exists(features_file)):
        if stability_from_wavs(args):
            sys.exit(f"error: --stability_source {args.stability_source} recomputes the noisy version of each wav; "
                     f"the features file {features_file} has no wavs: use --stability_source gaussian, or "
                     f"--no-loadFeatures to compute features from the corpus")
        try:
            train, test, info = load_original_pickle(features_file)
        except (OSError, EOFError, KeyError, TypeError, ValueError, pickle.UnpicklingError) as error:
            sys.exit(f"error: cannot read the features file {features_file} ({type(error).__name__}: {error}); "
                     f"delete it or pass --no-loadFeatures to compute features from the corpus")
        if not (np.isfinite(train.X).all() and np.isfinite(test.X).all()):
            sys.exit(f"error: the features file {features_file} holds NaN/Inf values; delete it or pass "
                     f"--no-loadFeatures to compute features from the corpus")
        protocol = f"features loaded from {features_file}"
    else:
        try:
            if corpus is None:
                corpus = load_corpus_data(args, log)
            train, test, validation, protocol, info = split_data(args, corpus, rng)
        except (corpora.CorpusError, CacheError, SplitError) as error:
            sys.exit(f"error: {error}")
        if corpus["synthetic"]:
            corpus_name = "emoDB" if args.corpus == "emodb" else "IEMOCAP"
            log(f"NOTE: this is a synthetic corpus; its numbers say nothing about {corpus_name}.")
    if args.toSaveFeatures:
        # the split's own features: a run that loads them applies the training options itself
        save_original_pickle(features_file, train, test, info)
    if len(train.y) == 0 or len(test.y) == 0:
        sys.exit("error: the split left no training segments or no test utterances; use a larger corpus or subset")
    train, test, validation, scaler = apply_training_options(args, train, test, validation, rng)
    if args.batch_size > len(train.y):
        sys.exit(f"error: --batch_size {args.batch_size} is larger than the training set ({len(train.y)} segments); "
                 f"use -b {len(train.y)} or less, or a larger corpus or subset")
    shape = tuple(train.X.shape[1:])
    log(f"Training segments: {len(train.y)}, test utterances: {len(test.y)}"
        + ("" if validation is None else f", validation utterances: {len(validation.y)}")
        + f", features {shape}, device {device}")
    feature_seconds = time.perf_counter() - started

    num_classes = len(class_names)
    weights = inverse_frequency_weights(train.y, num_classes) if args.weight else None
    selection_set = test if validation is None else validation
    resume_file = datadir / f"resume_{stem}.pt"
    state = resume_state(args, resume_file, resolved, log)
    best, best_history, best_state, tested = state["best_so_far"]
    epoch_rows = state["epoch_rows"]
    epochs_csv = datadir / f"{stem}_epochs.csv"
    writer = tensorboard_writer(args, datadir, stem)
    train_log = open(datadir / f"{args.model}_train.log", "a")
    if state["iteration"] or state["fit"]:
        train_log.write(f"resumed from {resume_file}\n")
    t0 = time.perf_counter() - state["running_time"]
    for iteration in range(state["iteration"], args.iter):
        fit_state = state["fit"] if iteration == state["iteration"] else None
        if fit_state is None and state["rng"] is not None:
            restore_rng(state["rng"], rng)  # a resumed run at the start of this iteration
        log(f"Model: {args.model}")
        model = build_model(args, shape, num_classes)
        if not quiet:
            models.print_summary(model, shape)  # eval-mode pass: draws nothing, changes nothing
        model.to(device)
        done = 0 if fit_state is None else fit_state["next_epoch"]
        bar = tqdm(total=args.epochs, initial=done, desc=f"{args.model} seed {args.seed}", unit="epoch",
                   disable=quiet)

        def on_epoch(record, best_so_far):
            train_log.write(epoch_log_text(record, best_so_far, class_names, selection_set.y))
            train_log.flush()
            epoch_rows.append(epoch_row(args.seed, iteration, record, best_so_far, validation is not None))
            results.write_csv(epochs_csv, EPOCH_COLUMNS, epoch_rows)
            if writer is not None:
                log_epoch_to_tensorboard(writer, iteration * args.epochs + record.epoch, record)
            bar.set_postfix(loss=f"{record.loss:.4f}", WA=f"{record.scores.WA:.2f}",
                            UA=f"{record.scores.UA:.2f}", best=f"{best_so_far.scores.selection:.2f}")
            bar.update()

        def on_checkpoint(fit_now):
            if args.save_resume_state:
                save_resume_state(resume_file, run_state(
                    resolved, iteration, fit_now, (best, best_history, best_state, tested), epoch_rows,
                    None, time.perf_counter() - t0))

        fit_function, fit_extras = training_loop(args)
        outcome = fit_function(model, train, test, device, epochs=args.epochs, batch_size=args.batch_size,
                               lr=args.learning_rate, lr_min=args.lr_min, optimizer=args.optimizer,
                               lr_schedule=args.lr_schedule, alpha=args.alpha, rng=rng, class_weights=weights,
                               keep_best_state=args.SaveModel, validation=validation, on_epoch=on_epoch,
                               resume=fit_state, on_checkpoint=on_checkpoint, amp=args.amp, compile=args.compile,
                               **fit_extras)
        bar.close()
        # Iterations compete on the selection set: the test set in the paper protocol, else validation.
        if best is None or outcome.best.scores.selection > best.scores.selection:
            best, best_history, best_state, tested = outcome.best, outcome.history, outcome.best_state, outcome.test
        if args.save_resume_state and iteration + 1 < args.iter:
            save_resume_state(resume_file, run_state(resolved, iteration + 1, None, (best, best_history, best_state,
                                                                                     tested), epoch_rows,
                                                     capture_rng(rng), time.perf_counter() - t0))
    train_log.close()
    if writer is not None:
        writer.close()
    running_time = time.perf_counter() - t0

    s = tested.scores
    report = report_text(test.y, tested.predictions, class_names)
    matrix = confusion(test.y, tested.predictions, num_classes)
    if args.SaveModel:
        checkpoint = build_checkpoint(
            None, model_name=args.model, model_options=model_options(args), features=feature_settings(args),
            train_overlap=args.train_overlap, test_overlap=args.test_overlap, class_names=class_names,
            labels=args.labels, protocol=args.protocol, seed=args.seed, epoch=best.epoch, scores=s.as_dict(),
            state_dict=best_state, scaler=None if scaler is None else (scaler.minimum, scaler.scale),
            pooling=args.pooling)
        save_checkpoint(checkpoint, datadir / f"model_{stem}.pth")
    summary = {
        "args": resolved,
        "protocol": protocol,
        "protocol_name": args.protocol,
        "fold": args.fold,
        # the set each epoch was scored on and the best epoch chosen by ("epochs", "selection_best")
        "selected_on": "test" if validation is None else "validation",
        "labels": args.labels,
        "model": {"name": args.model, "options": model_options(args)},
        "checkpoint": f"model_{stem}.pth" if args.SaveModel else None,
        "corpus": None if corpus is None else {"root": str(corpus["root"]), "synthetic": corpus["synthetic"]},
        "data": None if corpus is None else corpus["data_summary"],
        "class_names": class_names,
        "split": {"train_segments": int(len(train.y)), "test_utterances": int(len(test.y)),
                  "validation_utterances": 0 if validation is None else int(len(validation.y)), "info": info},
        "feature_shape": list(shape),
        # what ser.dataset.FeatureSettings needs to recompute the test features (figures)
        "feature_settings": None if corpus is None else dataclasses.asdict(feature_settings(args)),
        "best_epoch": best.epoch,
        "best": s.as_dict(),
        "selection_best": best.scores.as_dict(),
        "test_utterances": {"turns": list(test.names), "labels": test.y.tolist(),
                            "predictions": tested.predictions.tolist()},
        "validation_turns": None if validation is None else list(validation.names),
        "confusion_matrix": {"rows_true_columns_predicted": class_names, "counts": matrix.tolist()},
        "classification_report": report,
        "epochs": [{"epoch": r.epoch, "lr": r.lr, "loss": r.loss, "seconds": r.seconds, **r.scores.as_dict()}
                   for r in best_history],
        "timing": {"features_and_split_s": feature_seconds, "training_s": running_time},
        "epochs_csv": epochs_csv.name,
        "device": str(device),
        "versions": {"ser": ser.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
    }
    results.write_json(datadir / "results.json", summary)
    results.append_line(parent / f"{stem}.log",
                        f"-------------------------------------------\n{args.seed}\n{report}\n{matrix}\n{info}\n"
                        f"Running time with {args.iter} iterations: {running_time}\n"
                        "-------------------------------------------\n\n")
    results.append_line(parent / f"{stem}.loss",
                        f"{args.seed}\t" + "\t".join(str(r.loss) for r in best_history) + "\n")
    # Last: this line marks the seed finished for sweeps and reruns, so a run killed before
    # it is retried rather than counted with missing files.
    results.append_line(metric_file,
                        results.metric_line(args.seed, s.selection, s.WA, s.UA, s.macro_f1, s.weighted_f1))
    resume_file.unlink(missing_ok=True)
    log(f"{args.model} seed {args.seed}{'' if args.fold is None else f' fold {args.fold}'}: best epoch {best.epoch}: "
        f"WA {s.WA:.2f}%, UA {s.UA:.2f}%, "
        f"macro F1 {s.macro_f1:.2f}%, weighted F1 {s.weighted_f1:.2f}%  [{protocol}]")
    return summary


def run_all_folds(args, device: torch.device) -> dict | None:
    """Every fold of ``--protocol`` in turn (``DATADIR/fold<K>``, the corpus loaded once), then
    their mean ± std (population std, as the tables): ``DATADIR/results.json`` and one line
    per seed in ``PARENT/<stem>_<protocol>.metric``. Returns that summary, or None when this
    seed's line is there already (see ``--force``)."""
    log = (lambda *a: None) if args.quiet else print
    datadir, parent = results.run_location(args.datadir)
    stem = results.result_stem(args.model, args.features_to_use, args.impro_or_script, args.labels, args.protocol)
    metric_file = parent / f"{stem}{metric_suffix(args)}"
    if not args.force and args.seed in results.seeds_done(metric_file):
        print(f"seed {args.seed} is already in {metric_file}: skipped (--force trains it again)")
        return None
    try:
        corpus = load_corpus_data(args, log)
    except (corpora.CorpusError, CacheError) as error:
        sys.exit(f"error: {error}")
    folds = []
    for fold in range(1, fold_count(args.protocol) + 1):
        fold_args = argparse.Namespace(**{**vars(args), "fold": fold})
        # A fold finished earlier is skipped by run_training; its results.json still counts.
        run_training(fold_args, device, corpus)
        fold_json = results.run_location(args.datadir, fold)[0] / "results.json"
        try:
            summary = json.loads(fold_json.read_text())
        except (OSError, ValueError):
            summary = None
        if summary is None or summary["args"]["seed"] != args.seed:
            sys.exit(f"error: fold {fold} of seed {args.seed} is listed as finished but {fold_json} does not "
                     "hold its results; rerun with --force")
        folds.append(summary)

    metrics = ("WA", "UA", "macro_f1", "weighted_f1", "WA_UA_mean")
    values = {m: [f["best"][m] for f in folds] for m in metrics}
    mean = {m: float(np.mean(v)) for m, v in values.items()}
    std = {m: float(np.std(v)) for m, v in values.items()}
    class_names = folds[0]["class_names"]
    counts = np.sum([f["confusion_matrix"]["counts"] for f in folds], axis=0)
    resolved = {k: v for k, v in vars(args).items() if k not in ("config", "user_config")}
    aggregate = {
        "args": resolved,
        "protocol": PROTOCOL_DESCRIPTIONS[args.protocol],
        "protocol_name": args.protocol,
        "fold": None,
        "labels": args.labels,
        "class_names": class_names,
        "folds": [{"fold": f["fold"], "run_dir": str(results.run_location(args.datadir, f["fold"])[0]),
                   "test_utterances": f["split"]["test_utterances"], "best_epoch": f["best_epoch"], **f["best"]}
                  for f in folds],
        "mean": mean,
        "std": std,
        "std_kind": "population (numpy ddof=0) over folds",
        "confusion_matrix": {"rows_true_columns_predicted": class_names, "counts": counts.tolist(),
                             "summed_over_folds": True},
    }
    results.write_json(datadir / "last.json", resolved)
    results.write_json(datadir / "results.json", aggregate)
    results.append_line(metric_file, results.metric_line(args.seed, mean["WA_UA_mean"], mean["WA"], mean["UA"],
                                                         mean["macro_f1"], mean["weighted_f1"]))
    log(f"{args.model} seed {args.seed}, {args.protocol} over {len(folds)} folds: "
        + ", ".join(f"{name} {mean[m]:.2f} ± {std[m]:.2f}%" for name, m in
                    (("WA", "WA"), ("UA", "UA"), ("macro F1", "macro_f1"), ("weighted F1", "weighted_f1"))))
    return aggregate


if __name__ == "__main__":
    main()
