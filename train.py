"""Train and evaluate one model on IEMOCAP, as the GLAM paper does.

    python train.py                          # GLAM, improvised subset, the paper's protocol
    python train.py -m MHCNN --segment_length 2 --train_overlap 1 --alpha 0 --lr_schedule step
    python train.py --data /path/to/IEMOCAP_full_release -e 2 -d data/try/GLAM/1

Every flag of the original ``train.py`` is accepted with its name, short form and default.
With no flags this is the paper's protocol (glam-spec sections 2-7): MFCC segments of 1.8 s
with 1.6 s overlap, a seeded random 80/20 utterance split, 50 epochs of Adam with mixup
α = 0.5, utterance-level evaluation after every epoch and the epoch with the best
(WA + UA) / 2 on the test set reported. Results go where the original's sweep scripts expect
them (see ``ser/results.py``); ``results.json`` in the run directory holds everything.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import models
import path as corpus_path
import ser
from ser import corpora, results
from ser.dataset import FeatureCache, FeatureSettings, TestUtterances, TrainSegments, stack_segments
from ser.engine import LR_SCHEDULES, OPTIMIZERS, fit, inverse_frequency_weights, seed_everything
from ser.features import FEATURE_KINDS
from ser.metrics import confusion, report_text
from ser.splits import paper_split

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
                       metavar="BOOL", help=f"{help} (default: {default})")
    group.add_argument(f"--no-{dest}", dest=dest, action="store_false", help=argparse.SUPPRESS)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train a speech emotion recogniser on IEMOCAP (GLAM protocol).",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = parser.add_argument_group("corpus")
    data.add_argument("--data", default=None, metavar="PATH",
                      help="IEMOCAP_full_release root; overrides IEMOCAP_DIR and path.py")
    data.add_argument("-i", "--impro_or_script", default="impro", choices=corpora.SUBSETS,
                      help="subset: improvised, scripted or all dialogs")
    data.add_argument("--labels", default="glam", choices=sorted(corpora.LABEL_SETS),
                      help="glam: neu/sad/ang/exc (exc as happy, hap dropped); merge: hap folded into exc")
    data.add_argument("--split_rate", default=0.8, type=float, help="fraction of utterances used for training")
    data.add_argument("--aug", default=None, choices=["upsampling"],
                      help="upsampling: repeat training utterances until every class is as large as the largest")
    add_switch(data, "--padding", False, "tile utterances shorter than one segment instead of dropping them")

    feats = parser.add_argument_group("features")
    feats.add_argument("-f", "--features_to_use", default="mfcc", choices=FEATURE_KINDS, help="feature kind")
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
    model.add_argument("-m", "--model", default="GLAM", help=f"one of: {', '.join(models.list_models())}")
    model.add_argument("--head", default=4, type=int, help="attention heads (multi-head models)")
    model.add_argument("--attn_hidden", default=64, type=int, help="attention hidden size (multi-head models)")
    add_switch(model, "--SaveModel", False, "save the best epoch's weights to DATADIR/model_<MODEL>_<kind>_<subset>.pth")

    train = parser.add_argument_group("training")
    train.add_argument("--seed", default=987654, type=int, help="seeds the split, initialisation and shuffling")
    train.add_argument("-b", "--batch_size", default=32, type=int)
    train.add_argument("-l", "--learning_rate", default=0.001, type=float)
    train.add_argument("--lr_min", default=1e-6, type=float, help="the schedule stops once the lr falls below this")
    train.add_argument("--lr_schedule", default="exp", choices=LR_SCHEDULES,
                       help="exp: ×0.95 per epoch; step/warmstep: ×0.1 every 10; cosine: T_max 10")
    train.add_argument("--optimizer", default="adam", choices=OPTIMIZERS,
                       help="adam (weight decay 1e-6) or sgd (momentum 0.9, Nesterov, weight decay 1e-4)")
    train.add_argument("-e", "--epochs", default=50, type=int)
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
        unknown = sorted(set(overrides) - set(vars(args)))
        if unknown:
            raise ConfigError(f"config {args.config} has unknown keys: {', '.join(unknown)}")
        for key, value in overrides.items():
            if value:
                setattr(args, key, value)
    args.datadir = args.datadir.rstrip("/") or "."
    args.model = models.resolve_name(args.model) if args.model in models.list_models(include_aliases=True) else args.model
    if args.model not in models.list_models():
        raise ConfigError(f"unknown model {args.model!r}; choose one of: {', '.join(models.list_models(include_aliases=True))}")
    if args.segment_length <= args.train_overlap:
        raise ConfigError(f"--train_overlap ({args.train_overlap}) must be smaller than --segment_length "
                          f"({args.segment_length}): segments would never advance")
    if args.test_overlap >= args.segment_length:
        args.test_overlap = args.segment_length / 2  # the original's rule
    for name in ("epochs", "batch_size", "iter"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be at least 1")
    if not 0 < args.split_rate < 1:
        raise ConfigError("--split_rate must be between 0 and 1")
    if args.alpha < 0:
        raise ConfigError("--alpha must be >= 0")
    return args


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
    root = args.data or corpus_path.IEMOCAP_DIR
    if not root:
        raise corpora.CorpusError(
            "no IEMOCAP corpus configured: set IEMOCAP_DIR, edit path.py, or pass --data PATH "
            "(the IEMOCAP_full_release folder holding Session1..Session5). "
            "./run trains on a synthetic demo corpus when none is set.")
    return corpora.validate_root(root)


def feature_settings(args) -> FeatureSettings:
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


def load_corpus_data(args, log) -> dict:
    """Scan the corpus, compute/cache features, split: everything the training loop needs."""
    root = corpus_root(args)
    scan = corpora.scan_iemocap(root)
    label_map = corpora.LABEL_SETS[args.labels]
    chosen = [u for u in corpora.select(scan.utterances, args.impro_or_script) if u.label in label_map]
    if not chosen:
        raise corpora.CorpusError(f"no utterances with labels {sorted(label_map)} in subset "
                                  f"{args.impro_or_script!r} under {root}")
    settings = feature_settings(args)
    cache = FeatureCache(args.cache_dir)
    per_overlap, unreadable = cache.load([root / u.path for u in chosen], settings,
                                         (args.train_overlap, args.test_overlap), progress=not args.quiet)
    train_feats, test_feats = per_overlap[args.train_overlap], per_overlap[args.test_overlap]
    # As in the original, utterances shorter than one segment leave before the split.
    usable = [i for i, f in enumerate(train_feats) if f is not None and len(f) > 0]
    too_short = sum(1 for f in train_feats if f is not None and len(f) == 0)
    labels = np.array([label_map[chosen[i].label] for i in usable], dtype=np.int64)
    log(f"Corpus {root}: {len(scan.utterances)} labelled turns, {len(chosen)} in subset "
        f"{args.impro_or_script!r} with classes {sorted(label_map)}; {len(usable)} usable, "
        f"{too_short} shorter than {args.segment_length} s dropped, {len(unreadable)} unreadable.")
    if scan.skipped or unreadable:
        log(scan.summary())
        for item, reason in unreadable:
            log(f"  unreadable: {item}: {reason}")
    return dict(root=root, utterances=[chosen[i] for i in usable], labels=labels,
                train_feats=[train_feats[i] for i in usable], test_feats=[test_feats[i] for i in usable],
                shape=settings.shape(), synthetic=(root / "SYNTHETIC_CORPUS.txt").exists())


def split_data(args, data: dict, rng: np.random.RandomState):
    """The paper's split of the usable utterances into training segments and test utterances."""
    split = paper_split(len(data["labels"]), rng, args.split_rate)
    labels = data["labels"]
    train_order = upsample(split.train, labels, rng) if args.aug == "upsampling" else split.train
    train = stack_segments([data["train_feats"][i] for i in train_order], labels[train_order], data["shape"])
    test = TestUtterances.from_lists([data["test_feats"][i] for i in split.test], labels[split.test],
                                     [data["utterances"][i].turn for i in split.test], data["shape"])
    info = {"train": json.dumps(Counter(labels[split.train].tolist())),
            "test": json.dumps(Counter(labels[split.test].tolist())),
            "train_seg": f"{Counter(train.y.tolist()).items()}"}
    return train, test, split.protocol, info


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
    tmp = f"{file}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        pickle.dump({"train_X": train.X, "train_y": train.y, "val_dict": val_dict, "info": info}, f)
    os.replace(tmp, file)


def build_model(args, shape, num_classes: int) -> torch.nn.Module:
    options = {"num_heads": args.head, "attn_hidden": args.attn_hidden}
    accepted = models.model_options(args.model)
    return models.create_model(args.model, shape=shape, num_classes=num_classes,
                               **{k: v for k, v in options.items() if k in accepted})


def epoch_log_text(record, best, class_names: list[str], y_true) -> str:
    """The original's per-epoch block in ``<MODEL>_train.log``."""
    s = best.scores
    return (f"epoch: {record.epoch}, lr: {record.lr:.4}, loss: {record.loss:.4}\n{record.seconds}\n"
            f"{report_text(y_true, record.predictions, class_names)}\n"
            f"{confusion(y_true, record.predictions, len(class_names))}\n"
            "The best result ----------\n"
            f"WA: {s.WA:.4f}%, UA: {s.UA:.4f}%, macro f1: {s.macro_f1:.4f}%, weighted f1: {s.weighted_f1:.4f}%\n"
            "--------------------------\n")


def main(argv=None) -> dict:
    try:
        args = resolve_args(argv)
        device = select_device(args.gpu)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    quiet = args.quiet
    log = (lambda *a: None) if quiet else print
    rng = seed_everything(args.seed)

    features_file = args.featuresFileName or f"{args.datadir}/features_{args.features_to_use}_{args.impro_or_script}.pkl"
    suffix = ".same" if (args.featuresFileName or args.user_config) else ".metric"
    datadir = Path(args.datadir)
    datadir.mkdir(parents=True, exist_ok=True)
    parent = datadir.parent if os.path.dirname(args.datadir) else datadir
    stem = results.result_stem(args.model, args.features_to_use, args.impro_or_script)
    resolved = {k: v for k, v in vars(args).items() if k not in ("config", "user_config")}
    results.write_json(datadir / "last.json", resolved)

    class_names = corpora.CLASS_NAMES[args.labels]
    log("Load features...")
    started = time.perf_counter()
    corpus = None
    if args.loadFeatures and os.path.exists(features_file):
        train, test, info = load_original_pickle(features_file)
        protocol = f"features loaded from {features_file}"
    else:
        try:
            corpus = load_corpus_data(args, log)
            train, test, protocol, info = split_data(args, corpus, rng)
        except corpora.CorpusError as error:
            sys.exit(f"error: {error}")
        if corpus["synthetic"]:
            log("NOTE: this is the synthetic demo corpus; its numbers say nothing about IEMOCAP.")
    if args.toSaveFeatures:
        save_original_pickle(features_file, train, test, info)
    if len(train.y) == 0 or len(test.y) == 0:
        sys.exit("error: the split left no training segments or no test utterances; use a larger corpus or subset")
    shape = tuple(train.X.shape[1:])
    log(f"Training segments: {len(train.y)}, test utterances: {len(test.y)}, features {shape}, device {device}")
    feature_seconds = time.perf_counter() - started

    num_classes = len(class_names)
    weights = inverse_frequency_weights(train.y, num_classes) if args.weight else None
    best, best_history, best_state = None, [], None
    train_log = open(datadir / f"{args.model}_train.log", "a")
    t0 = time.perf_counter()
    for iteration in range(args.iter):
        log(f"Model: {args.model}")
        model = build_model(args, shape, num_classes)
        if not quiet:
            models.print_summary(model, shape)  # eval-mode pass: draws nothing, changes nothing
        model.to(device)
        bar = tqdm(total=args.epochs, desc=f"{args.model} seed {args.seed}", unit="epoch", disable=quiet)

        def on_epoch(record, best_so_far):
            train_log.write(epoch_log_text(record, best_so_far, class_names, test.y))
            train_log.flush()
            bar.set_postfix(loss=f"{record.loss:.4f}", WA=f"{record.scores.WA:.2f}",
                            UA=f"{record.scores.UA:.2f}", best=f"{best_so_far.scores.selection:.2f}")
            bar.update()

        outcome = fit(model, train, test, device, epochs=args.epochs, batch_size=args.batch_size,
                      lr=args.learning_rate, lr_min=args.lr_min, optimizer=args.optimizer,
                      lr_schedule=args.lr_schedule, alpha=args.alpha, rng=rng, class_weights=weights,
                      keep_best_state=args.SaveModel, on_epoch=on_epoch)
        bar.close()
        if best is None or outcome.best.scores.selection > best.scores.selection:
            best, best_history, best_state = outcome.best, outcome.history, outcome.best_state
    train_log.close()
    running_time = time.perf_counter() - t0

    s = best.scores
    report = report_text(test.y, best.predictions, class_names)
    matrix = confusion(test.y, best.predictions, num_classes)
    if args.SaveModel:
        target = datadir / f"model_{stem}.pth"
        torch.save(best_state, f"{target}.tmp")
        os.replace(f"{target}.tmp", target)
    results.append_line(parent / f"{stem}{suffix}",
                        results.metric_line(args.seed, s.selection, s.WA, s.UA, s.macro_f1, s.weighted_f1))
    results.append_line(parent / f"{stem}.log",
                        f"-------------------------------------------\n{args.seed}\n{report}\n{matrix}\n{info}\n"
                        f"Running time with {args.iter} iterations: {running_time}\n"
                        "-------------------------------------------\n\n")
    results.append_line(parent / f"{stem}.loss",
                        f"{args.seed}\t" + "\t".join(str(r.loss) for r in best_history) + "\n")
    summary = {
        "args": resolved,
        "protocol": protocol,
        "corpus": None if corpus is None else {"root": str(corpus["root"]), "synthetic": corpus["synthetic"]},
        "class_names": class_names,
        "split": {"train_segments": int(len(train.y)), "test_utterances": int(len(test.y)), "info": info},
        "feature_shape": list(shape),
        "best_epoch": best.epoch,
        "best": s.as_dict(),
        "confusion_matrix": {"rows_true_columns_predicted": class_names, "counts": matrix.tolist()},
        "classification_report": report,
        "epochs": [{"epoch": r.epoch, "lr": r.lr, "loss": r.loss, "seconds": r.seconds, **r.scores.as_dict()}
                   for r in best_history],
        "timing": {"features_and_split_s": feature_seconds, "training_s": running_time},
        "device": str(device),
        "versions": {"ser": ser.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
    }
    results.write_json(datadir / "results.json", summary)
    log(f"{args.model} seed {args.seed}: best epoch {best.epoch}: WA {s.WA:.2f}%, UA {s.UA:.2f}%, "
        f"macro F1 {s.macro_f1:.2f}%, weighted F1 {s.weighted_f1:.2f}%  [{protocol}]")
    return summary


if __name__ == "__main__":
    main()
