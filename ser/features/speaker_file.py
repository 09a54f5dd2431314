"""Seed 004's per-speaker features file: written by ``extract_features.py``, trained on by ``train.py``.

The file is a pickle of a dict in the seed's layout::

    {speaker_id: (segments, utterance_labels, segment_labels, segments_per_utterance)}

with float32 segments (N, C, F, T) (or (V, N, C, F, T) with ``--mixnoise``: clean, one
version per noise, reverb), int8 labels (U,) and (N,), and int8 counts (U,) summing to N
(int16 if an utterance ever has more than 127 segments, which int8 cannot hold). Speakers
are keyed ``1M, 1F, ..., 5M, 5F`` in that order; utterances in sorted path order.

:func:`select_utterances`, :func:`build`, :func:`mixnoise_segments` and :func:`table` make
the file from a corpus; :func:`read_speaker_file` reads one back as the rows and features a
run splits, so every protocol applies to it. The file keeps no utterance names: utterance k
of speaker S is named ``S_k``.
"""
from __future__ import annotations

import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ser.corpora import CorpusError, Utterance, emodb, iemocap
from ser.corpora.iemocap import SPEAKER_ID
from ser.corpora.labels import CLASS_NAMES, LABEL_SETS
from ser.features import spectral
from ser.features.audio import UnusableAudio, load_audio

DATASETS = ("IEMOCAP", "EMODB")


def select_utterances(dataset: str, root: str, scripted: bool = False,
                      emodb_files: int | None = None) -> tuple[Path, list[Utterance], str, list[tuple[str, str]]]:
    """(corpus root, the seed's utterances, label set name, skipped items) of a corpus: IEMOCAP's
    improvised dialogs with ang/sad/hap/neu (``scripted``: all dialogs, exc counted as hap, the
    seed's commented-out alternative), or emoDB's 7 emotions."""
    if dataset == "EMODB":
        scan = emodb.scan_emodb(root, emodb_files)
        return scan.root, scan.utterances, "emodb", scan.skipped
    labels = "seed004exc" if scripted else "seed004"
    scan = iemocap.scan_iemocap(root)
    subset = iemocap.select(scan.utterances, "all" if scripted else "impro")
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
    """(V, S, C, F, T) per utterance: clean, the seed's seven noises, reverb (``--mixnoise``)."""
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


@dataclass
class SpeakerFeatures:
    """A features file read back: one row, label and (S, C·F, T) map per utterance."""
    utterances: list[Utterance]
    labels: np.ndarray
    feats: list[np.ndarray]
    shape: tuple[int, int]
    summary: dict


def read_speaker_file(path: str | Path, label_set: str, kind: str, subset: str, sample_rate: int,
                      log) -> SpeakerFeatures:
    """Read a features file whose segments are of ``kind`` and labels of ``label_set``; of a
    ``--mixnoise`` file, (V, N, C, F, T), the clean version (the first) is used."""
    path = Path(path)
    label_map, channels = LABEL_SETS[label_set], spectral.CHANNELS[kind]
    token_of = {index: token for token, index in reversed(label_map.items())}  # a class's first token
    remedy = "write it with extract_features.py"
    try:
        with open(path, "rb") as f:
            saved = pickle.load(f)
        speakers = dict(saved)
    except (OSError, EOFError, TypeError, ValueError, AttributeError, ImportError, pickle.UnpicklingError) as error:
        raise CorpusError(f"cannot read the features file {path} ({type(error).__name__}: {error}); {remedy}") from None
    utterances, labels, feats = [], [], []
    for speaker, entry in speakers.items():
        where = f"{path}, speaker {speaker!r}"
        if not (SPEAKER_ID.fullmatch(str(speaker)) and isinstance(entry, (tuple, list)) and len(entry) == 4):
            raise CorpusError(f"{where}: not seed 004's layout ({{speaker id: (segments, utterance labels, "
                              f"segment labels, segments per utterance)}}); {remedy}")
        segments, utterance_labels, _, counts = (np.asarray(part) for part in entry)
        if segments.ndim == 5:
            log(f"{where}: --mixnoise versions found; training on the clean one")
            segments = segments[0]
        if segments.ndim != 4 or segments.shape[1] != channels:
            raise CorpusError(f"{where}: segments of shape {segments.shape}, expected (N, {channels}, F, T) "
                              f"for -f {kind}")
        if len(counts) != len(utterance_labels) or counts.sum() != len(segments) or (counts < 1).any():
            raise CorpusError(f"{where}: the segment counts do not add up to the {len(segments)} segments; {remedy}")
        unknown = sorted(set(utterance_labels.tolist()) - set(token_of))
        if unknown:
            raise CorpusError(f"{where}: labels {unknown} are no class of --labels {label_set} "
                              f"({'/'.join(CLASS_NAMES[label_set])})")
        if not np.isfinite(segments).all():
            raise CorpusError(f"{where}: the segments hold NaN/Inf values; {remedy}")
        per_utterance = np.split(spectral.pack(segments.astype(np.float32)), np.cumsum(counts)[:-1])
        for k, (label, utterance) in enumerate(zip(utterance_labels.tolist(), per_utterance)):
            # the file keeps no dialog, kind or times
            utterances.append(Utterance(f"{speaker}_{k}", f"{speaker}_{k}", int(speaker[0]), speaker, "", "",
                                        token_of[label], 0.0, 0.0, 0.0))
            labels.append(label)
            feats.append(utterance)
    if not feats:
        raise CorpusError(f"{path} holds no speakers; {remedy}")
    shapes = {f.shape[1:] for f in feats}
    if len(shapes) != 1:
        raise CorpusError(f"{path}: speakers have segments of different shapes {sorted(shapes)}; {remedy}")
    summary = {"corpus": str(path), "labelled_turns": len(utterances), "subset": subset,
               "classes": sorted(label_map), "selected": len(utterances), "used": len(utterances), "skipped": [],
               "tiled": 0, "sample_rate": sample_rate, "resampled": {}, "downmixed": 0}
    return SpeakerFeatures(utterances, np.array(labels, dtype=np.int64), feats, shapes.pop(), summary)
