"""The paper's 100 run seeds, ``seeds.txt``: one integer per line, read in order by the sweeps.

A table row's ten runs are the first ten seeds not yet in its ``.metric`` file. The file is
the original's bit for bit: numpy's legacy generator seeded with 2021, 100 draws from
[0, 2**32 - 1).
"""
from __future__ import annotations

import os

import numpy as np

from ser.errors import UserError
from ser.io import write_text

SEEDS_FILE = "seeds.txt"


class SeedsFileError(UserError):
    """The seeds file cannot be read as integers."""


def paper_seeds(count: int = 100) -> list[int]:
    """The GLAM seeds; the first three are 2602656884, 3431165269, 3149797433."""
    rng = np.random.RandomState(2021)
    return [int(s) for s in rng.randint(0, 2**32 - 1, count, dtype=np.int64)]


def write_seeds(path: str | os.PathLike = SEEDS_FILE) -> None:
    write_text(path, "".join(f"{seed}\n" for seed in paper_seeds()))


def read_seeds(path: str | os.PathLike = SEEDS_FILE) -> list[int]:
    """The seeds of ``path`` in order; the file is written first when it is missing."""
    if not os.path.exists(path):
        write_seeds(path)
    try:
        with open(path) as f:
            return [int(word) for word in f.read().split()]
    except (OSError, ValueError) as error:
        raise SeedsFileError(f"cannot read seeds from {path} ({error}); delete it to have it written again") from None
