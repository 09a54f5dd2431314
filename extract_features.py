"""Write seed 004's per-speaker features file from IEMOCAP or emoDB.

    python extract_features.py IEMOCAP /path/IEMOCAP_full_release --save_dir data/features
    python extract_features.py EMODB /path/emodb/wav --features logmelspec --save_dir data/features
    python extract_features.py IEMOCAP ROOT --features lognrevspec --pad floor --save_dir out
    python extract_features.py IEMOCAP ROOT --mixnoise --noise_dir noise_wav --save_dir out

The file ``<save_dir>/<DATASET>_<save_label>.pkl`` (default label: kind and bin count, e.g.
``IEMOCAP_logspec200.pkl``) holds a dict in the seed's layout::

    {speaker_id: (segments, utterance_labels, segment_labels, segments_per_utterance)}

with float32 segments (N, C, F, T) (or (V, N, C, F, T) with ``--mixnoise``: clean, one
version per noise, reverb), int8 labels (U,) and (N,), and int8 counts (U,) summing to N
(int16 if an utterance ever has more than 127 segments, which int8 cannot hold).
Speakers are keyed ``1M, 1F, ..., 5M, 5F`` in that order; utterances in sorted path order.
Without ``--save_dir`` nothing is written and only the per-speaker table is printed, as in
the seed. Flags and defaults are the seed's extraction script's; the feature parameters are
documented in ``ser/features/spectral.py``, the file format in ``ser/speaker_file.py``. The default
corpus subset and labels are the seed's: IEMOCAP's improvised dialogs with ang/sad/hap/neu
(``--scripted`` adds scripted dialogs and counts exc as hap, the seed's commented-out
alternative), emoDB's 7 emotions.

``--mixnoise`` needs one wav per noise of the seed's list (cafetaria, kitchen, park,
traffic, presto, river, square), named ``<noise>.wav`` in ``--noise_dir``; they are not part
of this project (the seed used DEMAND recordings).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ser import corpora
from ser.corpora import CorpusError
from ser.corpora.labels import LABEL_SETS
from ser.errors import UserError
from ser.features import speaker_file, spectral
from ser.features.cache import FeatureCache
from ser.io import write_pickle

DEFAULT_CACHE_DIR = os.environ.get("SER_CACHE_DIR", "data/cache")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Extract seed 004's spectrogram features into a per-speaker pickle.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("dataset", choices=speaker_file.DATASETS, help="corpus layout")
    parser.add_argument("dataset_dir", help="IEMOCAP_full_release root, or the folder of emoDB's wavs")
    corpus = parser.add_argument_group("corpus")
    corpus.add_argument("--scripted", action="store_true",
                        help="IEMOCAP: also scripted dialogs, with exc counted as hap (the seed's alternative)")
    corpus.add_argument("--emodb_files", type=int, default=None,
                        help="emoDB: expected number of wavs (default 535, or a synthetic corpus's own count; "
                             "0: no check)")
    feats = parser.add_argument_group("features")
    feats.add_argument("--features", default="logspec", choices=spectral.KINDS, help="feature kind")
    feats.add_argument("--window", default="hamming", help="any scipy window name")
    feats.add_argument("--win_length", type=float, default=40.0, help="window length (ms)")
    feats.add_argument("--hop_length", type=float, default=10.0, help="hop length (ms)")
    feats.add_argument("--ndft", type=int, default=800, help="FFT size")
    feats.add_argument("--nfreq", type=int, default=200, help="lowest linear bins kept")
    feats.add_argument("--nmel", type=int, default=128, help="mel bands")
    feats.add_argument("--segment_size", type=int, default=300, help="frames per segment")
    feats.add_argument("--pad", default="max", choices=spectral.PAD_MODES,
                       help="max: pad the last segment with 0 dB, the utterance maximum (the seed); "
                            "floor: with the -80 dB floor (silence) and 0 for delta channels")
    feats.add_argument("--reverb_rate", type=int, default=44100,
                       help="sample rate SoX's reverb is told; 44100 is the seed's (pysndfx default), "
                            "0 uses the true rate")
    feats.add_argument("--seed", type=int, default=spectral.SEED, help="seeds white noise and noise positions")
    noise = parser.add_argument_group("noise")
    noise.add_argument("--mixnoise", action="store_true",
                       help="also store a version per noise of --noise_dir and a reverb version: (V, N, C, F, T)")
    noise.add_argument("--noise_dir", default=None,
                       help="folder with cafetaria.wav, kitchen.wav, park.wav, traffic.wav, presto.wav, river.wav, "
                            "square.wav (for --mixnoise)")
    out = parser.add_argument_group("output")
    out.add_argument("--save_dir", default=None, help="where to write the file; nothing is written without it")
    out.add_argument("--save_label", default=None, help="file name label (default: <features><bins>)")
    out.add_argument("--cache_dir", default=DEFAULT_CACHE_DIR, help="feature cache shared with train.py")
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def settings_from_args(args) -> spectral.SpectralSettings:
    return spectral.SpectralSettings(kind=args.features, window=args.window, win_length_ms=args.win_length,
                                     hop_length_ms=args.hop_length, n_fft=args.ndft, n_freq=args.nfreq,
                                     n_mels=args.nmel, segment_size=args.segment_size, pad=args.pad,
                                     reverb_rate=args.reverb_rate or None, seed=args.seed)


def main(argv: list[str] | None = None) -> dict:
    """Extract, print the table, write the file; returns the per-speaker dict."""
    args = get_args_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        if args.mixnoise and not args.noise_dir:
            raise CorpusError("--mixnoise needs --noise_dir, the folder with the seven noise wavs")
        root, utterances, label_set, skipped = speaker_file.select_utterances(
            args.dataset, args.dataset_dir, args.scripted, args.emodb_files)
        if not utterances:
            raise CorpusError(f"no utterances with labels {sorted(LABEL_SETS[label_set])} under {root}")
        if args.mixnoise:
            segments, unusable = speaker_file.mixnoise_segments(root, utterances, settings, args.noise_dir,
                                                                    not args.quiet)
        else:
            per_overlap, report = FeatureCache(args.cache_dir).load(
                [root / u.path for u in utterances], settings, progress=not args.quiet,
                names=[u.path for u in utterances])
            segments = per_overlap[None]
            unusable = [(utterances[i].path, reason) for i, reason, _ in report.skipped]
    except (UserError, ValueError) as error:
        sys.exit(f"error: {error}")
    features = speaker_file.build(utterances, segments, LABEL_SETS[label_set])
    print(speaker_file.table(features, speaker_file.class_names_of(label_set)))
    left_out = list(skipped) + unusable
    if left_out:
        print(f"left out {len(left_out)}:\n" + "\n".join(corpora.format_skipped(left_out)))
    if args.save_dir is None:
        print("nothing written: pass --save_dir to write the features file")
        return features
    label = args.save_label or f"{args.features}{settings.bins}"
    target = Path(args.save_dir) / f"{args.dataset}_{label}.pkl"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_pickle(target, features)
    except OSError as error:
        sys.exit(f"error: cannot write {target} ({error}); pass --save_dir a writable folder")
    print(f"wrote {target}")
    return features


if __name__ == "__main__":
    main()
