"""Synthetic corpora in the layouts of RAVDESS, CREMA-D, ESD, MSP-Podcast and of folder trees,
for tests and demos.

    python -m ser.synthetic.synth_corpora NAME OUT [--scale S] [--seed N] [--quiet]

NAME is one of :data:`CORPORA`. ``--scale`` is the size relative to the real corpus (1 =
its number of files); the default (:data:`DEFAULT_SCALES`) is a tiny tree of a few dozen
files that still has every class and enough speakers for 3-6 speaker folds. Layouts:

- ``ravdess``: ``OUT/Actor_XX/03-01-EE-II-SS-RR-XX.wav``; at least 6 actors (odd male),
  every emotion for every actor.
- ``cremad``: ``OUT/AudioWAV/AAAA_SSS_EEE_LL.wav`` and ``OUT/VideoDemographics.csv`` (the
  real columns; ages, races and ethnicities are made up); at least 6 actors of both sexes.
- ``esd``: ``OUT/<speaker>/<Emotion>/{train,evaluation,test}/<speaker>_<NNNNNN>.wav`` and
  ``OUT/<speaker>/<speaker>.txt``; at least 6 speakers, half Mandarin (0001..) and half
  English (0011..), each emotion with at least one utterance in each part, numbered by the
  real partition rule.
- ``msppodcast``: ``OUT/Audios/MSP-PODCAST_<podcast>_<segment>.wav`` and
  ``OUT/Labels/labels_consensus.csv`` (the real header); speakers disjoint across
  Train/Development/Test1/Test2, some Train segments of "Unknown" speakers, every class
  including O (other) and X (no agreement).
- ``folder``: ``OUT/audio/<speaker>/<name>.wav`` with ``OUT/manifest.csv``
  (path,label,speaker,gender,split; labels spelt like "Angry" or "happy"; speaker-disjoint
  train/validation/test).
- ``folder-labels``: ``OUT/<label>/<name>.wav``, one folder per label, no manifest.

Each tree also holds ``SYNTHETIC_CORPUS.txt`` (a notice and the generator's parameters).
The audio is ``ser.synthetic.synth_voice``'s voice model reused as ``ser.synthetic.synth_emodb`` does: 16 kHz
mono PCM_16 (whatever the real corpus's rate), each speaker a ``ser.synthetic.synth_voice`` speaker of its
gender (every corpus its own speakers), one recording channel per studio corpus and one per
podcast, each utterance rendered with its emotion's voice. ``ser.synthetic.synth_voice`` has no calm,
contempt or other voice of its own: calm and other use its mild ``oth`` voice, contempt its
frustrated one; X uses its no-agreement blend.

THESE ARE NOT THE REAL CORPORA. Numbers obtained on them say nothing about the real ones.
Output is byte-identical for a given (corpus, scale, seed); it is written to ``OUT.partial``
and renamed when complete; an existing complete tree with the same parameters is reused,
anything else in OUT is refused.
"""
from __future__ import annotations

import argparse
import csv
import functools
import importlib
import io
import math
import shutil
import sys
import wave
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ser.corpora import cremad, esd, msppodcast, ravdess, registry
from ser.corpora.labels import normalise_token
from ser.synthetic import synth, synth_voice

GENERATOR_VERSION = 1
SAMPLE_RATE = synth_voice.SAMPLE_RATE
MARKER_NAME = synth.MARKER_NAME
IN_PROGRESS_NAME = ".synth-corpora-in-progress"
CORPORA = ("ravdess", "cremad", "esd", "msppodcast", "folder", "folder-labels")
# The real corpora's titles are their registry entries'; the two folder layouts are named by what they hold.
TITLES = {**{name: registry.title(name) for name in CORPORA[:4]},
          "folder": "a folder corpus with a manifest", "folder-labels": "a folder corpus with label folders"}
# Real sizes in files (the folder layouts have none: 1000 stands in).
FULL_SIZES = {"ravdess": ravdess.SPEECH_FILES, "cremad": 7442, "esd": 35000, "msppodcast": 151654,
              "folder": 1000, "folder-labels": 1000}
DEFAULT_SCALES = {"ravdess": 0.03, "cremad": 0.005, "esd": 0.005, "msppodcast": 0.0003, "folder": 0.03,
                  "folder-labels": 0.012}
# Median and range of the utterance durations in seconds, near the real corpora's.
DURATIONS = {"ravdess": (3.6, 2.8, 5.0), "cremad": (2.5, 1.3, 5.0), "esd": (2.8, 1.2, 6.0),
             "msppodcast": (5.5, 2.75, 11.0), "folder": (2.5, 1.0, 6.0), "folder-labels": (2.5, 1.0, 6.0)}
# ser.synthetic.synth's voice for each shared label token.
VOICE_OF = {"neu": "neu", "cal": "oth", "hap": "hap", "sad": "sad", "ang": "ang", "fea": "fea", "dis": "dis",
            "sur": "sur", "bor": "oth", "con": "fru", "exc": "exc", "fru": "fru", "oth": "oth", "xxx": "xxx"}
# Offsets that give each corpus its own ser.synthetic.synth speakers.
SPEAKER_OFFSETS = {"ravdess": 100, "cremad": 0, "esd": 200, "msppodcast": 10_000, "folder": 400,
                   "folder-labels": 500}
MIN_SPEAKERS = 6


@dataclass(frozen=True)
class _File:
    rel: str        # posix path below the root
    label: str      # shared token
    speaker: int    # speaker number (before the corpus's offset)
    gender: str     # "F" or "M"
    channel: str    # recording channel key


@dataclass(frozen=True)
class _Plan:
    files: list[_File]
    texts: dict[str, str]  # rel -> content of the non-audio files


def _scaled(scale: float, full: int, minimum: int) -> int:
    return min(full, max(minimum, round(full * scale)))


def _interleave(groups: list[list]) -> list:
    """Round-robin over the groups, so any prefix holds every group as soon as it can."""
    return [g[j] for j in range(max(map(len, groups))) for g in groups if j < len(g)]


def _csv(rows: list[list], quoting: int = csv.QUOTE_MINIMAL) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=quoting).writerows(rows)
    return buffer.getvalue()


def _plan_ravdess(scale: float, seed: int) -> _Plan:
    actors = _scaled(scale, ravdess.ACTORS, MIN_SPEAKERS)
    per_actor = _scaled(scale, ravdess.SPEECH_FILES // ravdess.ACTORS, len(ravdess.EMOTIONS))
    files = []
    for actor in range(1, actors + 1):
        groups = [[(code, intensity, statement, repetition) for intensity in (("01",) if code == "01" else ("01", "02"))
                   for statement in ("01", "02") for repetition in ("01", "02")] for code in ravdess.EMOTIONS]
        for code, intensity, statement, repetition in _interleave(groups)[:per_actor]:
            name = f"03-01-{code}-{intensity}-{statement}-{repetition}-{actor:02d}.wav"
            files.append(_File(f"Actor_{actor:02d}/{name}", ravdess.EMOTIONS[code], actor,
                               "M" if actor % 2 else "F", "ravdess-studio"))
    return _Plan(files, {})


def _plan_cremad(scale: float, seed: int) -> _Plan:
    actors = [1000 + k for k in range(1, _scaled(scale, len(cremad.ACTOR_IDS), MIN_SPEAKERS) + 1)]
    per_actor = _scaled(scale, 82, len(cremad.EMOTIONS))
    rng = synth_voice._rng(seed, "cremad", "demographics")
    sexes = rng.permutation(["Female", "Male"] * (len(actors) // 2) + ["Female"] * (len(actors) % 2))
    ages = rng.integers(20, 75, len(actors))
    files = []
    for actor, sex in zip(actors, sexes):
        # Every sentence in every emotion at an unspecified level, but IEO at three levels.
        groups = [[(s, level) for s in cremad.SENTENCES
                   for level in (("LO", "MD", "HI") if s == "IEO" and code != "NEU" else ("XX",))]
                  for code in cremad.EMOTIONS]
        shift = actor % len(cremad.SENTENCES)  # actors start on different sentences
        groups = [g[shift:] + g[:shift] for g in groups]
        chosen = _interleave([[(code, *v) for v in g] for code, g in zip(cremad.EMOTIONS, groups)])[:per_actor]
        for code, sentence, level in chosen:
            files.append(_File(f"{cremad.AUDIO_DIR}/{actor}_{sentence}_{code}_{level}.wav", cremad.EMOTIONS[code],
                               actor, cremad.SEXES[str(sex)], "cremad-studio"))
    rows = [["ActorID", "Age", "Sex", "Race", "Ethnicity"]]
    rows += [[actor, int(age), str(sex), "Unknown", "Unknown"] for actor, sex, age in zip(actors, sexes, ages)]
    return _Plan(files, {cremad.DEMOGRAPHICS: _csv(rows, csv.QUOTE_NONNUMERIC)})


def _plan_esd(scale: float, seed: int) -> _Plan:
    count = _scaled(scale, len(esd.SPEAKERS), MIN_SPEAKERS)
    mandarin, english = esd.SPEAKERS[:10], esd.SPEAKERS[10:]
    speakers = sorted([*mandarin[:(count + 1) // 2], *english[:count // 2]])
    per_emotion = _scaled(scale, esd.PER_EMOTION, len(esd.PART_POSITIONS))
    taken = {"evaluation": max(1, round(per_emotion * 20 / esd.PER_EMOTION)),
             "test": max(1, round(per_emotion * 30 / esd.PER_EMOTION))}
    taken["train"] = per_emotion - taken["evaluation"] - taken["test"]
    files, texts = [], {}
    for speaker in speakers:
        lines = []
        for e, (emotion, token) in enumerate(esd.EMOTIONS.items()):
            for part, (first, _) in esd.PART_POSITIONS.items():
                for k in range(taken[part]):
                    number = e * esd.PER_EMOTION + first + k
                    stem = f"{speaker}_{number:06d}"
                    files.append(_File(f"{speaker}/{emotion}/{part}/{stem}.wav", token, int(speaker),
                                       esd.GENDERS[speaker], "esd-studio"))
                    lines.append(f"{stem}\tsynthetic sentence {first + k}\t{emotion}")
        texts[f"{speaker}/{speaker}.txt"] = "\n".join(sorted(lines)) + "\n"
    return _Plan(sorted(files, key=lambda f: f.rel), texts)


_MSP_CODES = ("N", "H", "A", "S", "C", "U", "F", "D", "O", "X")
_MSP_PROBS = (0.28, 0.14, 0.07, 0.07, 0.05, 0.04, 0.02, 0.02, 0.06, 0.25)
_MSP_PARTS = (("Train", 0.5), ("Development", 0.2), ("Test1", 0.2), ("Test2", 0.1))


def _plan_msppodcast(scale: float, seed: int) -> _Plan:
    total = _scaled(scale, FULL_SIZES["msppodcast"], 48)
    speakers = max(10, round(total / 60))
    counts = [round(speakers * share) for _, share in _MSP_PARTS[:-1]]
    counts.append(speakers - sum(counts))
    part_of_speaker = [part for (part, _), n in zip(_MSP_PARTS, counts) for _ in range(n)]
    rng = synth_voice._rng(seed, "msppodcast", "plan")
    codes = list(rng.choice(_MSP_CODES, total, p=_MSP_PROBS))
    codes[:len(_MSP_CODES)] = _MSP_CODES  # every class at least once, spoken by Train speakers
    sex_names = {letter: name for name, letter in msppodcast.SEXES.items()}
    files, rows = [], []
    for index, code in enumerate(codes):
        # Segments go round the speakers; every 8th Train segment is of an unknown speaker,
        # each with a voice (and podcast) of its own.
        speaker = index % counts[0] if index < len(_MSP_CODES) else index % speakers
        part = part_of_speaker[speaker]
        unknown = part == "Train" and index % 8 == 7
        voice = speakers + index if unknown else speaker
        podcast = voice + 1
        stem = f"MSP-PODCAST_{podcast:04d}_{index + 1:04d}"
        gender = "F" if voice % 2 else "M"
        files.append(_File(f"Audios/{stem}.wav", msppodcast.EMOTIONS[code], voice, gender, f"msp-podcast-{podcast}"))
        activation, valence, dominance = np.clip(rng.normal(4.0, 1.2, 3), 1.0, 7.0)
        rows.append([f"{stem}.wav", code, f"{activation:.4f}", f"{valence:.4f}", f"{dominance:.4f}",
                     "Unknown" if unknown else str(100 + speaker), "Unknown" if unknown else sex_names[gender], part])
    header = ["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"]
    return _Plan(sorted(files, key=lambda f: f.rel),
                 {"Labels/labels_consensus.csv": _csv([header, *sorted(rows)])})


_FOLDER_LABELS = ("Neutral", "sad", "Angry", "happy", "Surprised")


def _plan_folder(scale: float, seed: int) -> _Plan:
    per_pair = max(1, round(FULL_SIZES["folder"] * scale / (MIN_SPEAKERS * len(_FOLDER_LABELS))))
    speakers = [f"spk{k + 1:02d}" for k in range(MIN_SPEAKERS)]
    parts = ["train"] * (MIN_SPEAKERS - 2) + ["validation", "test"]
    files, rows = [], [["path", "label", "speaker", "gender", "split"]]
    for k, (speaker, part) in enumerate(zip(speakers, parts)):
        gender = "F" if k % 2 else "M"
        for label in _FOLDER_LABELS:
            for n in range(per_pair):
                rel = f"audio/{speaker}/{speaker}_{label.lower()}_{n + 1}.wav"
                files.append(_File(rel, normalise_token(label), k, gender, "folder-room"))
                rows.append([rel, label, speaker, "female" if gender == "F" else "male", part])
    return _Plan(sorted(files, key=lambda f: f.rel), {"manifest.csv": _csv(rows)})


def _plan_folder_labels(scale: float, seed: int) -> _Plan:
    per_label = max(3, round(FULL_SIZES["folder-labels"] * scale / 4))
    files = []
    for label in ("angry", "happy", "neutral", "sad"):
        for n in range(per_label):
            speaker = n % MIN_SPEAKERS
            files.append(_File(f"{label}/clip_{n + 1:03d}.wav", normalise_token(label), speaker,
                               "F" if speaker % 2 else "M", "folder-room"))
    return _Plan(files, {})


_PLANS = {"ravdess": _plan_ravdess, "cremad": _plan_cremad, "esd": _plan_esd, "msppodcast": _plan_msppodcast,
          "folder": _plan_folder, "folder-labels": _plan_folder_labels}


def plan(corpus: str, scale: float, seed: int) -> _Plan:
    """Every file of the synthetic ``corpus`` at (scale, seed), in path order."""
    if corpus not in _PLANS:
        raise ValueError(f"unknown synthetic corpus {corpus!r}; choose one of: {', '.join(CORPORA)}")
    return _PLANS[corpus](scale, seed)


def _durations(corpus: str, seed: int, count: int) -> np.ndarray:
    median, low, high = DURATIONS[corpus]
    rng = synth_voice._rng(seed, corpus, "durations")
    return np.clip(rng.lognormal(math.log(median), 0.25, count), low, high)


def _write_wav(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.astype("<i2").tobytes())


def _marker(corpus: str, scale: float, seed: int, files: list[_File]) -> str:
    counts = Counter(f.label for f in files)
    return (f"SYNTHETIC CORPUS - NOT {TITLES[corpus]}\n"
            f"Generated by ser.synthetic.synth_corpora in the layout of {TITLES[corpus]} so that the pipeline can run\n"
            "without the real corpus. Numbers obtained on it say nothing about the real corpus.\n\n"
            "generator: ser.synth_corpora\n"
            f"corpus: {corpus}\n"
            f"version: {GENERATOR_VERSION}\n"
            f"scale: {scale!r}\n"
            f"seed: {seed}\n"
            f"sample_rate: {SAMPLE_RATE}\n"
            f"files: {len(files)}\n"
            f"labels: {' '.join(f'{label}={counts[label]}' for label in sorted(counts))}\n")


def _same_parameters(root: Path, corpus: str, scale: float, seed: int) -> bool:
    fields = synth.read_marker(root) or {}
    try:
        return (fields.get("generator") == "ser.synth_corpora" and fields.get("corpus") == corpus
                and int(fields["version"]) == GENERATOR_VERSION and float(fields["scale"]) == scale
                and int(fields["seed"]) == seed)
    except (KeyError, ValueError):
        return False


def generate(corpus: str, out_dir: str | Path, scale: float | None = None, seed: int = 0,
             progress: bool = True) -> Path:
    """Write the synthetic ``corpus`` into ``out_dir`` (see the module doc) and return it;
    ``scale`` defaults to the corpus's tiny :data:`DEFAULT_SCALES` entry."""
    if corpus not in CORPORA:
        raise ValueError(f"unknown synthetic corpus {corpus!r}; choose one of: {', '.join(CORPORA)}")
    scale, out, partial = synth.destination(out_dir, DEFAULT_SCALES[corpus] if scale is None else scale, seed)
    if out.exists():
        if _same_parameters(out, corpus, scale, seed):
            return out
        if not out.is_dir() or any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not this synthetic {corpus} corpus (scale {scale}, seed "
                                  f"{seed}); delete it or choose another folder")
        out.rmdir()
    if partial.exists():
        if not (partial / IN_PROGRESS_NAME).is_file():
            raise FileExistsError(f"{partial} exists but was not left by ser.synthetic.synth_corpora; refusing to "
                                  "delete it")
        shutil.rmtree(partial)  # an interrupted earlier generation
    partial.mkdir(parents=True)
    (partial / IN_PROGRESS_NAME).write_text(
        f"ser.synthetic.synth_corpora {corpus} in progress (scale {scale!r}, seed {seed})\n")

    layout = plan(corpus, scale, seed)
    durations = _durations(corpus, seed, len(layout.files))
    voices = {}
    for done, (f, seconds) in enumerate(zip(layout.files, durations), 1):
        key = (f.speaker, f.gender)
        if key not in voices:
            voices[key] = synth_voice._speaker(seed, SPEAKER_OFFSETS[corpus] + f.speaker, f.gender)
        turn = synth_voice._Turn(name=f"{corpus}/{f.rel}", label=VOICE_OF[f.label], start=0.0,
                                 n_samples=int(seconds * SAMPLE_RATE))
        channel = synth_voice._channel(seed, f.channel)
        _write_wav(partial / f.rel, synth_voice._render_turn(seed, turn, voices[key], channel))
        total = len(layout.files)
        if progress and (done == total or done * 10 // total != (done - 1) * 10 // total):
            print(f"ser.synthetic.synth_corpora {corpus}: {done}/{total} files", file=sys.stderr, flush=True)
    for rel, text in layout.texts.items():
        (partial / rel).parent.mkdir(parents=True, exist_ok=True)
        (partial / rel).write_text(text, encoding="utf-8", newline="")
    (partial / MARKER_NAME).write_text(_marker(corpus, scale, seed, layout.files), encoding="utf-8")
    (partial / IN_PROGRESS_NAME).unlink()
    partial.rename(out)
    return out


# The generators the corpus entries name (ser.corpora.entry.Corpus.synthetic), one per layout.
generate_ravdess = functools.partial(generate, "ravdess")
generate_cremad = functools.partial(generate, "cremad")
generate_esd = functools.partial(generate, "esd")
generate_msppodcast = functools.partial(generate, "msppodcast")
generate_folder = functools.partial(generate, "folder")


def generator_of(corpus: str) -> Callable[..., Path]:
    """The synthetic generator corpus ``corpus``'s registry entry names ("module:function",
    resolved here so that ser.corpora, the first stage, never imports this one)."""
    entry = registry.corpus(corpus)
    if not entry.synthetic:
        raise ValueError(f"corpus {corpus!r} names no synthetic generator")
    module, _, function = entry.synthetic.partition(":")
    return getattr(importlib.import_module(module), function)


def synthesize(corpus: str, out_dir: str | Path, scale: float | None = None, seed: int = 0,
               progress: bool = True) -> Path:
    """A synthetic tree of any registered corpus in ``out_dir``, written by its entry's generator
    (``generator(out_dir, [scale=scale,] seed=seed, progress=progress)``; no ``scale``: the
    generator's own default size)."""
    sized = {} if scale is None else {"scale": scale}
    return Path(generator_of(corpus)(out_dir, **sized, seed=seed, progress=progress))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser.synthetic.synth_corpora",
                                     description="Generate a synthetic emotional-speech corpus in the layout of a real "
                                                 "one (NOT that corpus; results on it say nothing about it).")
    parser.add_argument("corpus", metavar="NAME", choices=CORPORA, help=f"layout: {', '.join(CORPORA)}")
    parser.add_argument("out", metavar="OUT", type=Path, help="folder to create")
    parser.add_argument("--scale", type=float, default=None,
                        help="files relative to the real corpus (1 = its size); default: a tiny tree")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    try:
        root = generate(args.corpus, args.out, args.scale, args.seed, progress=not args.quiet)
    except (FileExistsError, ValueError) as error:
        print(f"ser.synthetic.synth_corpora: error: {error}", file=sys.stderr)
        return 1
    fields = synth.read_marker(root) or {}
    print(f"synthetic {args.corpus} corpus {root}: {fields.get('files')} files ({fields.get('labels')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
