"""Label sets: which label tokens of a corpus train as which class, one name per set.

This is the only list of label-set names. ``train.py --labels``, ``report.py --labels``, the
result-file names (``ser.results``) and ``extract_features.py`` all read it, so a set added
here is accepted, named and reported everywhere.

IEMOCAP (``ser.corpora``; tokens as in its EmoEvaluation files):

- ``glam``: the GLAM paper's 4 classes; excited stands in for happy and the real ``hap`` is
  dropped.
- ``merge``: the common alternative that folds ``hap`` into the same class.
- ``seed004``: seed 004's map, ang 0, sad 1, hap 2, neu 3; excited is
  *not* merged into happy.
- ``seed004exc``: the seed's commented-out alternative (the 5531-utterance set with scripted
  dialogs): ``exc`` joins ``hap`` as class 2.

emoDB (``ser.emodb``; tokens from the file names' emotion letters):

- ``emodb``: neutral 0, happy 1, sad 2, angry 3, bored 4, fear 5, disgust 6 (all 7 trainable;
  the seed's training code was hard-wired to 4 classes).
"""
from __future__ import annotations

LABEL_SETS: dict[str, dict[str, int]] = {
    "glam": {"neu": 0, "sad": 1, "ang": 2, "exc": 3},
    "merge": {"neu": 0, "sad": 1, "ang": 2, "exc": 3, "hap": 3},
    "seed004": {"ang": 0, "sad": 1, "hap": 2, "neu": 3},
    "seed004exc": {"ang": 0, "sad": 1, "hap": 2, "exc": 2, "neu": 3},
    "emodb": {"neu": 0, "hap": 1, "sad": 2, "ang": 3, "bor": 4, "fea": 5, "dis": 6},
}
CLASS_NAMES: dict[str, list[str]] = {
    "glam": ["neutral", "sad", "angry", "happy(excited)"],
    "merge": ["neutral", "sad", "angry", "happy+excited"],
    "seed004": ["angry", "sad", "happy", "neutral"],
    "seed004exc": ["angry", "sad", "happy+excited", "neutral"],
    "emodb": ["neutral", "happy", "sad", "angry", "bored", "fear", "disgust"],
}
