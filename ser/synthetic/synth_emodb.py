"""Synthetic speech-emotion corpus in emoDB's layout, for tests and demos.

    python -m ser.synthetic.synth_emodb OUT [--scale S] [--seed N] [--quiet]

Layout (as the emoDB download's ``wav/`` folder)::

    OUT/<SS><TTT><E><V>.wav     16 kHz, mono, PCM_16, e.g. 03a01Fa.wav
    OUT/SYNTHETIC_CORPUS.txt    notice + generator parameters (``files: N``)

``--scale 1`` gives emoDB's 535 files with its emotion counts (anger 127, boredom 81,
disgust 46, fear 69, happiness 71, neutral 79, sadness 62); smaller scales shrink every
emotion proportionally but keep at least one utterance per speaker and emotion, so every
speaker can be a test speaker. Utterances go round the 10 speakers and 10 texts; repeats of a
(speaker, text, emotion) get versions b, c, ... Durations are lognormal around 2.5 s.

The audio is ``ser.synthetic.synth_voice``'s voice model, reused as it is: each speaker is a
``ser.synthetic.synth_voice`` speaker (session = the seed-004 id's digit, gender = its letter), the whole
corpus shares one recording channel (one studio), and each utterance is rendered with the emotion's voice.
``ser.synthetic.synth_voice`` has no bored voice, so boredom uses its ``oth`` voice (a mild, neutral-ish
one); the 7 classes still differ in pitch, tempo, loudness and timbre.

THIS IS NOT emoDB. Numbers obtained on it say nothing about emoDB. Like ``ser.synthetic.synth``, the
corpus is written to ``OUT.partial`` and renamed when complete; an existing complete corpus
with the same parameters is reused, anything else in OUT is refused.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import wave
from collections import Counter
from pathlib import Path

import numpy as np

from ser.corpora.emodb import EMODB_FILES, EMOTION_LETTERS, MARKER_NAME, SPEAKER_IDS, TEXTS
from ser.synthetic import synth, synth_voice

GENERATOR_VERSION = 1
SAMPLE_RATE = synth_voice.SAMPLE_RATE
# emoDB's utterances per emotion letter (535 in all).
EMOTION_COUNTS = {"W": 127, "L": 81, "E": 46, "A": 69, "F": 71, "N": 79, "T": 62}
# ser.synthetic.synth's voice for each emoDB emotion token (it has no boredom voice).
VOICE_OF = {"ang": "ang", "bor": "oth", "dis": "dis", "fea": "fea", "hap": "hap", "sad": "sad", "neu": "neu"}
_DURATION_MEDIAN_S, _DURATION_SIGMA, _DURATION_RANGE_S = 2.5, 0.3, (1.2, 6.0)
IN_PROGRESS_NAME = ".synth-emodb-in-progress"


def plan(scale: float, seed: int) -> list[tuple[str, str, int]]:
    """(file name, synth voice, samples) of every utterance, in file-name order."""
    rng = synth_voice._rng(seed, "emodb", "plan")
    codes = list(SPEAKER_IDS)
    names = []
    used: Counter = Counter()
    for e_index, (letter, count) in enumerate(EMOTION_COUNTS.items()):
        total = max(len(codes), round(count * scale))
        for k in range(total):
            code = codes[(k + e_index) % len(codes)]
            text = TEXTS[(k // len(codes) + 3 * e_index) % len(TEXTS)]
            stem = f"{code}{text}{letter}"
            used[stem] += 1
            names.append(f"{stem}{'abcdefghijklmnopqrstuvwxyz'[used[stem] - 1]}.wav")
    names.sort()
    low, high = _DURATION_RANGE_S
    durations = np.clip(rng.lognormal(math.log(_DURATION_MEDIAN_S), _DURATION_SIGMA, len(names)), low, high)
    return [(name, VOICE_OF[EMOTION_LETTERS[name[5]]], int(seconds * SAMPLE_RATE))
            for name, seconds in zip(names, durations)]


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.astype("<i2").tobytes())


def _same_parameters(root: Path, scale: float, seed: int) -> bool:
    fields = synth.read_marker(root) or {}
    try:
        return (fields.get("generator") == "ser.synth_emodb" and int(fields["version"]) == GENERATOR_VERSION
                and float(fields["scale"]) == scale and int(fields["seed"]) == seed)
    except (KeyError, ValueError):
        return False


def generate(out_dir: str | os.PathLike, scale: float = 1.0, seed: int = 0, progress: bool = True) -> Path:
    """Write the corpus into ``out_dir`` (see the module doc) and return it."""
    scale, out, partial = synth.destination(out_dir, scale, seed)
    if out.exists():
        if _same_parameters(out, scale, seed):
            return out
        if not out.is_dir() or any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not this synthetic emoDB corpus (scale {scale}, seed "
                                  f"{seed}); delete it or choose another folder")
        out.rmdir()
    if partial.exists():
        if not (partial / IN_PROGRESS_NAME).is_file():
            raise FileExistsError(f"{partial} exists but was not left by ser.synthetic.synth_emodb; refusing to "
                                  "delete it")
        shutil.rmtree(partial)  # an interrupted earlier generation
    partial.mkdir(parents=True)
    (partial / IN_PROGRESS_NAME).write_text(f"ser.synthetic.synth_emodb in progress (scale {scale!r}, seed {seed})\n")

    utterances = plan(scale, seed)
    channel = synth_voice._channel(seed, "emodb-studio")
    speakers = {code: synth_voice._speaker(seed, int(sid[0]), sid[1]) for code, sid in SPEAKER_IDS.items()}
    for done, (name, voice, n_samples) in enumerate(utterances, 1):
        turn = synth_voice._Turn(name=f"emodb_{name[:-4]}", label=voice, start=0.0, n_samples=n_samples)
        _write_wav(partial / name, synth_voice._render_turn(seed, turn, speakers[name[:2]], channel))
        if progress and (done == len(utterances) or done * 10 // len(utterances) != (done - 1) * 10 // len(utterances)):
            print(f"ser.synthetic.synth_emodb: {done}/{len(utterances)} files", file=sys.stderr, flush=True)

    counts = Counter(EMOTION_LETTERS[name[5]] for name, _, _ in utterances)
    (partial / MARKER_NAME).write_text(
        "SYNTHETIC CORPUS - NOT emoDB\n"
        "Generated by ser.synthetic.synth_emodb in emoDB's file layout so that the pipeline can run without\n"
        "the corpus. Numbers obtained on it say nothing about emoDB.\n\n"
        "generator: ser.synth_emodb\n"
        f"version: {GENERATOR_VERSION}\n"
        f"scale: {scale!r}\n"
        f"seed: {seed}\n"
        f"sample_rate: {SAMPLE_RATE}\n"
        f"files: {len(utterances)}\n"
        f"labels: {' '.join(f'{label}={counts[label]}' for label in sorted(counts))}\n", encoding="utf-8")
    (partial / IN_PROGRESS_NAME).unlink()
    partial.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser.synthetic.synth_emodb",
                                     description="Generate a synthetic emotional-speech corpus in emoDB's layout "
                                                 "(NOT emoDB; results on it say nothing about emoDB).")
    parser.add_argument("out", metavar="OUT", type=Path, help="folder to create")
    parser.add_argument("--scale", type=float, default=1.0,
                        help=f"files relative to emoDB (1 = {EMODB_FILES}; every speaker keeps every emotion)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    try:
        root = generate(args.out, args.scale, args.seed, progress=not args.quiet)
    except (FileExistsError, ValueError) as error:
        print(f"ser.synthetic.synth_emodb: error: {error}", file=sys.stderr)
        return 1
    print(f"synthetic emoDB corpus {root}: {len(list(root.glob('*.wav')))} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
