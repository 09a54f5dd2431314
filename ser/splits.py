"""Which utterances train and which test: the evaluation protocols.

``paper`` (spec section 2) is the protocol of the GLAM paper's main tables: a random 80/20
utterance split drawn with numpy's legacy generator right after seeding it with the run
seed, over the utterances long enough for one segment, in sorted path order. Speakers appear
on both sides, and the reported epoch is chosen on the test set; results produced with it say
so. Splits return index lists and never touch features.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAPER_PROTOCOL = ("paper: random utterance-level split (speakers shared between train and "
                  "test), best epoch selected on the test set, as in the GLAM paper")


@dataclass(frozen=True)
class Split:
    train: list[int]  # in the order the original builds its training array
    test: list[int]   # sorted
    protocol: str


def paper_split(n: int, rng: np.random.RandomState, split_rate: float = 0.8) -> Split:
    """``rng.choice(n, int(n * split_rate), replace=False)`` for training, the rest for testing.

    ``rng`` must be the run's legacy RandomState straight after seeding, as in the original,
    whose later mixup draws continue from the same stream.
    """
    train = [int(i) for i in rng.choice(n, int(n * split_rate), replace=False)]
    chosen = set(train)
    return Split(train=train, test=[i for i in range(n) if i not in chosen], protocol=PAPER_PROTOCOL)
