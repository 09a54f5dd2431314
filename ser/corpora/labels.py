"""Label sets: which label tokens of a corpus train as which class, one name per set.

A corpus declares the label sets it defines and the ones valid on it in its registry entry
(``ser.corpora.entry.Corpus``); only the sets no corpus owns (``shared4``) are declared here.
:data:`LABEL_SETS` is the one live view of them all: ``train.py --labels``, ``report.py --labels``,
the result-file names (``ser.records.results``) and ``extract_features.py`` all read it, so a set a
corpus declares is accepted, named and reported everywhere.

Every reader writes its labels in one shared vocabulary of three-letter tokens
(:data:`TOKENS`: neu, cal, hap, sad, ang, fea, dis, sur, bor, con, exc, fru, oth, xxx), so a
label set is only a map from tokens to class indices and one set can serve several corpora.

IEMOCAP (``ser.corpora.iemocap``; tokens as in its EmoEvaluation files):

- ``glam``: the GLAM paper's 4 classes; excited stands in for happy and the real ``hap`` is
  dropped.
- ``merge``: the common alternative that folds ``hap`` into the same class.
- ``seed004``: seed 004's map, ang 0, sad 1, hap 2, neu 3; excited is
  *not* merged into happy.
- ``seed004exc``: the seed's commented-out alternative (the 5531-utterance set with scripted
  dialogs): ``exc`` joins ``hap`` as class 2.

emoDB (``ser.corpora.emodb``; tokens from the file names' emotion letters):

- ``emodb``: neutral 0, happy 1, sad 2, angry 3, bored 4, fear 5, disgust 6 (all 7 trainable;
  the seed's training code was hard-wired to 4 classes).

Each further corpus has a set of all its own emotion classes, in the order its documentation
lists them: ``ravdess`` (8, calm kept apart from neutral), ``cremad`` (6), ``esd`` (5) and
``msppodcast`` (its 8 emotions; "other" and "no agreement" are left out, as is usual).

A "folder" corpus (``ser.corpora.folder``) has whatever classes its manifest or label folders name,
so its own set, ``folder`` (:data:`FOLDER_LABELS`), is not a fixed map: it is one class per
label token the tree names, numbered by :func:`tokens_label_set`, and only known once the
tree has been looked at.

Published fold files (``train.py --folds_from``) label every row they list; a run on them
keeps those labels. Its label set is the corpus's first set that gives each label the files
use a class of its own and has no other class (:func:`keeps_apart`), else ``files``
(:data:`FILES_LABELS`): one class per label the files use, numbered as the folder set's.

``shared4`` is the one set for comparing corpora: neutral 0, sad 1, angry 2, happy 3, so a
model trained on one corpus scores another with the same class numbers. IEMOCAP's excited
joins its happy there (the usual IEMOCAP 4-class set, ``merge`` in other words); every other
class of every corpus is left out.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from ser.corpora.entry import FactView, LabelSet, entries

# The shared vocabulary of label tokens and what each means.
TOKENS: dict[str, str] = {
    "neu": "neutral", "cal": "calm", "hap": "happy", "sad": "sad", "ang": "angry", "fea": "fear",
    "dis": "disgust", "sur": "surprise", "bor": "bored", "con": "contempt", "exc": "excited",
    "fru": "frustrated", "oth": "other", "xxx": "no agreement",
}

# The label sets no single corpus owns. Every other set is declared by its corpus's module
# (ser.corpora.entry.Corpus.own_label_sets): IEMOCAP's four in ser.corpora.iemocap, emoDB's in
# ser.corpora.emodb, and so on.
SHARED_LABEL_SETS: dict[str, LabelSet] = {
    "shared4": LabelSet({"neu": 0, "sad": 1, "ang": 2, "hap": 3, "exc": 3},
                        ("neutral", "sad", "angry", "happy(+excited)")),
}

# The label set of a "folder" corpus: one class per label its tree names (tokens_label_set).
FOLDER_LABELS = "folder"
# The label set of a run on fold files none of whose corpus's sets fits: one class per label they use.
FILES_LABELS = "files"


def _fixed_label_sets() -> dict[str, LabelSet]:
    """Every fixed label set: the registered corpora's own, in registry order, then the shared ones."""
    return {**{name: one for c in entries() for name, one in c.own_label_sets.items()}, **SHARED_LABEL_SETS}


class _LabelSetView(Mapping):
    """A live ``{label-set name: fact}`` view of the fixed label sets (it follows the registry)."""

    def __init__(self, fact: Callable[[LabelSet], object]):
        self._fact = fact

    def __getitem__(self, name: str):
        return self._fact(_fixed_label_sets()[name])

    def __iter__(self) -> Iterator[str]:
        return iter(_fixed_label_sets())

    def __len__(self) -> int:
        return len(_fixed_label_sets())

    def __repr__(self) -> str:
        return repr(dict(self))


class _Names(Sequence):
    """Every name ``--labels`` takes, live: the fixed maps and the two sets whose classes a run finds."""

    def _names(self) -> tuple[str, ...]:
        return (*_fixed_label_sets(), FOLDER_LABELS, FILES_LABELS)

    def __getitem__(self, index):
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return repr(self._names())


# token -> class index, and the class names, of every fixed label set.
LABEL_SETS: Mapping[str, dict[str, int]] = _LabelSetView(lambda one: dict(one.classes))
CLASS_NAMES: Mapping[str, list[str]] = _LabelSetView(lambda one: list(one.names))
LABEL_SET_NAMES: Sequence[str] = _Names()
# The label sets that make sense on each corpus, its default first (its entry's label_sets).
CORPUS_LABEL_SETS: Mapping[str, tuple[str, ...]] = FactView(lambda c: c.label_sets)

# Spellings of emotion names met in folder names, manifests and fold files, lower-cased,
# each mapped to its token ("boredem" is how one public fold-file set spells boredom).
ALIASES: dict[str, str] = {
    **{token: token for token in TOKENS},
    **{name: token for token, name in TOKENS.items()},
    "anger": "ang", "angry": "ang", "mad": "ang", "happiness": "hap", "joy": "hap", "sadness": "sad",
    "fearful": "fea", "afraid": "fea", "disgusted": "dis", "surprised": "sur", "boredom": "bor",
    "boredem": "bor", "contemptuous": "con", "excitement": "exc", "frustration": "fru",
    "no agreement": "xxx",
}


class LabelError(ValueError):
    """A label set or corpus name is unknown; the message lists the valid ones."""


def normalise_token(name: str) -> str:
    """The shared token of an emotion name in any case ("Angry", "ANG", "anger" -> "ang");
    a name outside the vocabulary comes back lower-cased and stripped, as its own token."""
    key = " ".join(name.strip().lower().replace("_", " ").split())
    return ALIASES.get(key, key)


def default_label_set(corpus: str) -> str:
    """The label set a corpus trains with unless told otherwise (for "folder", the classes its
    tree names: :data:`FOLDER_LABELS`)."""
    return label_sets_for(corpus)[0]


def label_sets_for(corpus: str) -> tuple[str, ...]:
    """The label-set names valid for ``corpus`` (its registry entry's), its default first."""
    if corpus not in CORPUS_LABEL_SETS:
        raise LabelError(f"unknown corpus {corpus!r}; choose one of: {', '.join(CORPUS_LABEL_SETS)}")
    return CORPUS_LABEL_SETS[corpus]


def tokens_label_set(tokens: Iterable[str], every: bool = False) -> tuple[dict[str, int], list[str]]:
    """A label set with one class per distinct token, for a corpus whose classes are not
    known in advance: tokens of the shared vocabulary first in its order, then the others
    alphabetically, so the same classes always get the same numbers. Returns (token -> class,
    class names). "oth" and "xxx" (no single emotion) never become classes unless ``every``
    (fold files that list rows with them)."""
    present = set(tokens) - (set() if every else {"oth", "xxx"})
    order = [t for t in TOKENS if t in present] + sorted(present - set(TOKENS))
    return {t: i for i, t in enumerate(order)}, [TOKENS.get(t, t) for t in order]


def keeps_apart(label_set: dict[str, int], tokens: Iterable[str], exactly: bool = False) -> bool:
    """True if ``label_set`` gives each of ``tokens`` a class, and distinct tokens distinct
    classes (no row of them is left out or relabelled); with ``exactly``, also no class that
    none of them has."""
    tokens = set(tokens)
    classes = {label_set.get(t) for t in tokens}
    return None not in classes and len(classes) == len(tokens) and (
        not exactly or len(set(label_set.values())) == len(tokens))
