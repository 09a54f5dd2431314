"""Write the paper's 100 run seeds to ``seeds.txt`` (one integer per line).

    python seeds.py [-o seeds.txt]

The sweep scripts take their seeds from this file in order, so a table row's ten runs are
the first ten seeds not yet in its ``.metric`` file. The file is the original's bit for bit:
numpy's legacy generator seeded with 2021, 100 draws from [0, 2**32 - 1).
"""
import argparse
import os

import numpy as np

from ser.results import write_atomic

SEEDS_FILE = "seeds.txt"


def paper_seeds(count: int = 100) -> list[int]:
    """The GLAM seeds; the first three are 2602656884, 3431165269, 3149797433."""
    rng = np.random.RandomState(2021)
    return [int(s) for s in rng.randint(0, 2**32 - 1, count, dtype=np.int64)]


def write_seeds(path: str = SEEDS_FILE) -> None:
    write_atomic(path, "".join(f"{seed}\n" for seed in paper_seeds()))


def read_seeds(path: str = SEEDS_FILE) -> list[int]:
    """The seeds of ``path`` in order; the file is written first when it is missing.
    ValueError names the file when it cannot be read as integers."""
    if not os.path.exists(path):
        write_seeds(path)
    try:
        with open(path) as f:
            return [int(word) for word in f.read().split()]
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read seeds from {path} ({error}); delete it to have it written again")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=SEEDS_FILE, help="file to write (default: %(default)s)")
    write_seeds(parser.parse_args(argv).output)


if __name__ == "__main__":
    main()
