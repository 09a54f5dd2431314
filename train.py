"""Train and evaluate one model on IEMOCAP, as the GLAM paper does.

    python train.py                          # GLAM, improvised subset, the paper's protocol
    python train.py -m MHCNN --segment_length 2 --train_overlap 1 --alpha 0 --lr_schedule step
    python train.py --data /path/to/IEMOCAP_full_release -e 2 -d data/try/GLAM/1
    python train.py --protocol loso -d data/loso/GLAM/1     # 5 folds in data/loso/GLAM/1/fold1..5, then mean ± std
    python train.py --protocol loso-speaker --fold 3 -d data/ls/GLAM/1   # one fold of ten
    python train.py -m alexnet_gap -f logspec --val_id 1F --test_id 1M    # seed 004: speaker pair (README)
    python train.py IEMOCAP_logspec200.pkl -m alexnet_gap -f logspec --labels seed004 --val_id 1F --test_id 1M
    python train.py --data /data/RAVDESS -m MHCNN -d data/ravdess/MHCNN/1   # any corpus (README, Corpora)
    python train.py --data /data/RAVDESS --test_data /data/CREMA-D --protocol 811   # cross-corpus, shared4

Every flag of the original ``train.py`` is accepted with its name, short form and default
(``python train.py --help``; ``ser/runs/config.py``). With no flags this is the paper's protocol:
MFCC segments of 1.8 s with 1.6 s overlap, a seeded random 80/20 utterance split, 50 epochs of
Adam with mixup α = 0.5, utterance-level evaluation after every epoch and the epoch with the
best (WA + UA) / 2 on the test set reported. Results go where the original's sweep scripts
expect them (``ser/records/results.py``); ``results.json`` in the run directory holds everything.
``--protocol`` adds the honest protocols of ``ser/protocols/splits.py`` (8:1:1, leave one session or
speaker out, speaker folds, a corpus's official split, published fold files), which choose
the epoch on a validation set and score the test set once. ``--corpus`` (or a ``--data`` tree
of another layout) trains on RAVDESS, CREMA-D, ESD, MSP-Podcast, emoDB or any labelled folder. The
pipeline itself is ``ser/runs/pipeline.py``; this file parses, runs it, and turns any problem with
the input into one ``error: ...`` line.
"""
from __future__ import annotations

import sys

from ser.errors import UserError
from ser.runs import pipeline
from ser.runs.config import resolve_args


def main(argv: list[str] | None = None) -> dict | None:
    """Run one training job (every fold of ``--protocol loso``/``loso-speaker`` unless ``--fold``;
    N seeds with ``--seeds N``); returns the results.json summary, or None when the seed is
    already finished (see ``--force``). Problems end it with one ``error: ...`` line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        config = resolve_args(argv)  # the corpus root: --data, the environment, path.py (ser.runs.roots)
        return pipeline.run(config)
    except UserError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # every file is whole (written atomically); the resume state holds the last epoch
        sys.exit("interrupted: nothing of this epoch was recorded; rerun the command with --resume to continue "
                 "from the last finished epoch")
