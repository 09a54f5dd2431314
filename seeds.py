"""Write the paper's 100 run seeds to ``seeds.txt`` (one integer per line).

    python seeds.py [-o seeds.txt]

The sweep scripts take their seeds from this file in order, so a table row's ten runs are
the first ten seeds not yet in its ``.metric`` file. The file is the original's bit for bit:
numpy's legacy generator seeded with 2021, 100 draws from [0, 2**32 - 1).
"""
import argparse

from ser.seeds import SEEDS_FILE, paper_seeds, write_seeds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=SEEDS_FILE, help="file to write (default: %(default)s)")
    output = parser.parse_args(argv).output
    write_seeds(output)
    seeds = paper_seeds()
    print(f"wrote {len(seeds)} seeds to {output} (first {seeds[0]}, last {seeds[-1]})")


if __name__ == "__main__":
    main()
