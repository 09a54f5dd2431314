"""Resolving a parsed command line, one concern per function: numbers in range, the corpus
and its layout, the label set, the protocol and its folds (published fold files included), the
feature kind, the model's name, recipe and options. Each reads and completes the namespace and
raises a ``ConfigError`` that names the flag to change; ``ser.runs.config.resolve_args`` calls
them in order and builds the ``RunConfig`` from the result."""
from __future__ import annotations

import argparse
import difflib
import math
import os

import models
from ser.corpora import folder, registry
from ser.corpora.iemocap import SPEAKER_ID
from ser.corpora.labels import (
    FILES_LABELS,
    FOLDER_LABELS,
    LABEL_SETS,
    default_label_set,
    keeps_apart,
    label_sets_for,
    tokens_label_set,
)
from ser.features import spectral
from ser.features.kinds import feature_kind, is_spectral
from ser.protocols import foldfiles
from ser.protocols import registry as protocols
from ser.protocols.base import CorpusFacts
from ser.protocols.registry import FOLD_FILES
from ser.protocols.splits import DEFAULT_SPEAKER_FOLDS, fold_of, pair_protocol
from ser.runs.flags import ConfigError, given_model_options


def apply_model_recipe(a: argparse.Namespace) -> None:
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


def check_numbers(a: argparse.Namespace) -> None:
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


def check_feature_kind(a: argparse.Namespace) -> None:
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


def model_name(a: argparse.Namespace) -> str:
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


def resolve_corpus(a: argparse.Namespace) -> folder.FolderLayout | None:
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


def resolve_labels(a: argparse.Namespace, layout: folder.FolderLayout | None) -> None:
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


def resolve_corpus_and_split(a: argparse.Namespace, layout: folder.FolderLayout | None) -> None:
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


def resolve_training_options(a: argparse.Namespace) -> None:
    if a.stability_source != "gaussian" and not is_spectral(a.features_to_use):
        raise ConfigError(f"--stability_source {a.stability_source} needs a spectrogram feature kind "
                          f"({', '.join(spectral.KINDS)}); with -f {a.features_to_use} use gaussian")
    if a.stability_weight < 0 or a.stability_sigma < 0:
        raise ConfigError("--stability_weight and --stability_sigma must be >= 0")
    if a.minmax is None:  # a recipe's own scaling (AlexNet's images need [0, 1] inputs)
        recipe = models.model_entry(a.model).recipe
        a.minmax = recipe is not None and recipe.minmax
    if a.minmax and getattr(feature_kind(a.features_to_use).settings.from_flags(a.features_to_use, a), "output",
                            None) == "frames":
        raise ConfigError(f"--minmax scales each input position over the training set, but -m {a.model} reads an "
                          "upstream's frames, padded per utterance to different lengths; drop --minmax")


def check_model_options(a: argparse.Namespace) -> None:
    """The model's own check of the options given (models.check_options), as flags."""
    given, flags = given_model_options(a), models.option_flags()
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


