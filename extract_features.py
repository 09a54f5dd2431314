"""Write seed 004's per-speaker features file from IEMOCAP or emoDB (seed004-spec 1.8, 5.1).

    python extract_features.py IEMOCAP /path/IEMOCAP_full_release --save_dir data/features
    python extract_features.py EMODB /path/emodb/wav --features logmelspec --save_dir data/features
    python extract_features.py IEMOCAP ROOT --features lognrevspec --pad floor --save_dir out
    python extract_features.py IEMOCAP ROOT --mixnoise --noise_dir noise_wav --save_dir out

The file ``<save_dir>/<DATASET>_<save_label>.pkl`` (default label: kind and bin count, e.g.
``IEMOCAP_logspec200.pkl``) holds a dict in the seed's layout::

    {speaker_id: (segments, utterance_labels, segment_labels, segments_per_utterance)}

with float32 segments (N, C, F, T) (or (V, N, C, F, T) with ``--mixnoise``: clean, one
version per noise, reverb), int8 labels (U,) and (N,), and int8 counts (U,) summing to N
(int16 if an utterance ever has more than 127 segments, which int8 cannot hold, B25).
Speakers are keyed ``1M, 1F, ..., 5M, 5F`` in that order; utterances in sorted path order.
Without ``--save_dir`` nothing is written and only the per-speaker table is printed, as in
the seed. Flags and defaults are the seed's (spec 5.1); the feature parameters are documented
in ``ser/spectral.py``. The default corpus subset and labels are the seed's: IEMOCAP's
improvised dialogs with ang/sad/hap/neu (``--scripted`` adds scripted dialogs and counts
exc as hap, the seed's commented-out alternative), emoDB's 7 emotions.

``--mixnoise`` needs one wav per noise of the seed's list (cafetaria, kitchen, park,
traffic, presto, river, square), named ``<noise>.wav`` in ``--noise_dir``; they are not part
of this project (the seed used DEMAND recordings).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ser import corpora, emodb, spectral
from ser.corpora import CorpusError, Utterance
from ser.dataset import CacheError, UnusableAudio, load_audio
from ser.labels import LABEL_SETS
from ser.results import write_pickle

DATASETS = ("IEMOCAP", "EMODB")
DEFAULT_CACHE_DIR = os.environ.get("SER_CACHE_DIR", "data/cache")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Extract seed 004's spectrogram features into a per-speaker pickle.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("dataset", choices=DATASETS, help="corpus layout")
    parser.add_argument("dataset_dir", help="IEMOCAP_full_release root, or the folder of emoDB's wavs")
    corpus = parser.add_argument_group("corpus")
    corpus.add_argument("--scripted", action="store_true",
                        help="IEMOCAP: also scripted dialogs, with exc counted as hap (the seed's alternative)")
    corpus.add_argument("--emodb_files", type=int, default=None,
                        help="emoDB: expected number of wavs (default 535, or a synthetic corpus's own count; 0: no check)")
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


def select_utterances(dataset: str, root: str, scripted: bool = False,
                      emodb_files: int | None = None) -> tuple[Path, list[Utterance], str, list[tuple[str, str]]]:
    """(corpus root, the seed's utterances, label set name, skipped items) of a corpus."""
    if dataset == "EMODB":
        scan = emodb.scan_emodb(root, emodb_files)
        return scan.root, scan.utterances, "emodb", scan.skipped
    labels = "seed004exc" if scripted else "seed004"
    scan = corpora.scan_iemocap(root)
    subset = corpora.select(scan.utterances, "all" if scripted else "impro")
    return scan.root, [u for u in subset if u.label in LABEL_SETS[labels]], labels, scan.skipped


def speaker_order(speakers: set[str]) -> list[str]:
    """1M, 1F, 2M, ...: session order, M before F, as the seed inserts them."""
    return sorted(speakers, key=lambda s: (s[:-1], s[-1] != "M", s))


def build(utterances: list[Utterance], segments: list[np.ndarray | None], label_map: dict[str, int]) -> dict:
    """The seed's per-speaker dict from per-utterance segments ((S, C, F, T), or (V, S, C, F, T));
    utterances without segments (None) are left out."""
    features = {}
    for speaker in speaker_order({u.speaker for u in utterances}):
        chosen = [(u, s) for u, s in zip(utterances, segments) if u.speaker == speaker and s is not None]
        if not chosen:
            continue
        counts = np.array([s.shape[-4] for _, s in chosen])
        count_type = np.int8 if counts.max() <= np.iinfo(np.int8).max else np.int16
        labels = np.array([label_map[u.label] for u, _ in chosen], dtype=np.int8)
        data = np.concatenate([s for _, s in chosen], axis=-4).astype(np.float32)
        features[speaker] = (data, labels, np.repeat(labels, counts).astype(np.int8), counts.astype(count_type))
    return features


def table(features: dict, class_names: list[str]) -> str:
    """Per speaker: id, data shape and segments per class (the seed's printout)."""
    lines = [f"{'speaker':8} {'shape':28} " + " ".join(f"{name:>14}" for name in class_names)]
    for speaker, (data, _, segment_labels, _) in features.items():
        per_class = Counter(segment_labels.tolist())
        lines.append(f"{speaker:8} {str(tuple(data.shape)):28} "
                     + " ".join(f"{per_class.get(c, 0):>14}" for c in range(len(class_names))))
    return "\n".join(lines)


def class_names_of(label_set: str) -> list[str]:
    """Class names; merged labels joined with '+', as the seed prints them."""
    tokens: dict[int, list[str]] = {}
    for token, index in LABEL_SETS[label_set].items():
        tokens.setdefault(index, []).append(token)
    return ["+".join(tokens[i]) for i in sorted(tokens)]


def mixnoise_segments(root: Path, utterances: list[Utterance], settings: spectral.SpectralSettings,
                      noise_dir: str, progress: bool) -> tuple[list[np.ndarray | None], list[tuple[str, str]]]:
    """(V, S, C, F, T) per utterance: clean, the seed's seven noises, reverb (spec 1.6)."""
    noises = []
    for name, snr in spectral.MIXNOISE:
        path = Path(noise_dir) / f"{name}.wav"
        if not path.is_file():
            raise CorpusError(f"--mixnoise needs {path}; put one wav per noise "
                              f"({', '.join(n for n, _ in spectral.MIXNOISE)}) in --noise_dir")
        noises.append((load_audio(path, settings.sample_rate).samples, snr))
    segments, skipped = [], []
    for u in tqdm(utterances, desc="mixnoise", unit="utt", disable=not progress):
        try:
            wav = load_audio(root / u.path, settings.sample_rate).samples
        except UnusableAudio as error:
            segments.append(None)
            skipped.append((u.path, error.reason))
            continue
        segments.append(np.stack(spectral.mixnoise_versions(wav, settings, noises,
                                                            spectral.utterance_rng(settings.seed, u.path))))
    return segments, skipped


def main(argv: list[str] | None = None) -> dict:
    """Extract, print the table, write the file; returns the per-speaker dict."""
    args = get_args_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        if args.mixnoise and not args.noise_dir:
            raise CorpusError("--mixnoise needs --noise_dir, the folder with the seven noise wavs")
        root, utterances, label_set, skipped = select_utterances(args.dataset, args.dataset_dir, args.scripted,
                                                                 args.emodb_files)
        if not utterances:
            raise CorpusError(f"no utterances with labels {sorted(LABEL_SETS[label_set])} under {root}")
        if args.mixnoise:
            segments, unusable = mixnoise_segments(root, utterances, settings, args.noise_dir, not args.quiet)
        else:
            segments, report = spectral.load_corpus_features([root / u.path for u in utterances],
                                                             [u.path for u in utterances], settings,
                                                             args.cache_dir, progress=not args.quiet)
            unusable = [(utterances[i].path, reason) for i, reason, _ in report.skipped]
    except (CorpusError, CacheError, ValueError) as error:
        sys.exit(f"error: {error}")
    features = build(utterances, segments, LABEL_SETS[label_set])
    print(table(features, class_names_of(label_set)))
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
