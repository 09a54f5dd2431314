"""Synthetic speech-emotion corpus in the exact IEMOCAP_full_release layout.

Used as the demo corpus when no real IEMOCAP is configured, by the tests (tiny scales) and
by the benchmark (``--scale 1`` is IEMOCAP-sized: 10,039 turns, about 12.4 hours).

    python -m ser.synthetic.synth OUT [--scale S] [--seed N] [--profile iemocap|demo] [--quiet]

Layout (as in the real release)::

    OUT/Session{1..5}/sentences/wav/<dialog>/<turn>.wav    16 kHz, mono, PCM_16
    OUT/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt    labels, real line format
    OUT/SYNTHETIC_CORPUS.txt                               notice + generator parameters

Dialogs per session N and recording actor G in {F, M}: ``SesNNG_impro01`` ... ``impro08``
(Session 3's male improvisations 05 and 08 come as ``a``/``b`` recordings, as such splits do
in the real release) and ``SesNNG_script01_1``, ``_script01_2``, ``_script01_3``,
``_script02_1``, ``_script02_2``, ``_script03_1``, ``_script03_2``. Both actors speak in
every dialog, turns named ``<dialog>_<F|M><NNN>``; the speaker of a turn is the
session plus that letter, so there are 10 speakers. Each EmoEvaluation file starts with the
header line ``% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]`` and has one block per
turn in time order: the turn line (times consistent with the wav lengths), categorical
evaluator lines ``C-E1..C-E4`` plus the actor's self rating ``C-F1``/``C-M1``, and
dimensional lines ``A-E*``/``A-F1``/``A-M1``. The label is the evaluators' majority;
``xxx`` means no majority. All 11 tokens (neu fru hap sad ang fea exc sur xxx dis oth)
occur at every scale (missing rare ones are forced onto one turn each); proportions follow
IEMOCAP's (xxx 25%, fru 18%, neu 17%, ang 11%, sad 11%, exc 10%, hap 6%, sur 1%, ...), with
improvisations richer in neu/sad/exc and scripts richer in ang/fru. Turn durations are
lognormal (median 3.5 s, mean 4.5 s, clipped to 0.6-30 s).

What the audio encodes, and how each emotion, speaker and recording sounds, is described in
``ser.synthetic.synth_voice``, which renders every utterance; this module plans the corpus,
writes its label files and wavs, and makes the folder complete or absent.

Profiles (``--profile``): ``iemocap`` (the default) is all of the above. ``demo`` is ./run's
demo corpus: its improvised dialogs hold only the four classes GLAM's recipe trains on (neu,
sad, ang and exc, whose voice is its own: high, wide-ranged, breathy and lax, where the
default's excitement sounds much like anger), every emotion's voice lies 2.5 times as far
from the neutral one and each utterance strays 0.3 times as far from its emotion's, and
turns are shorter (median 2.3 s, 1.9-8 s, so none falls under the 1.8 s segment). The recipe then learns the
classes within a few epochs whatever the arithmetic of the machine (threads change the
rounding, and with it the training path), and the test set is large enough that one
utterance is a small step of the scores. The scripted dialogs are the default's.

THIS IS NOT IEMOCAP. It exists so the pipeline can run end to end without the licensed
corpus. Numbers obtained on it say nothing about performance on IEMOCAP.

Completeness: the corpus is generated into the sibling folder ``OUT.partial`` (tagged by
an in-progress file), ``SYNTHETIC_CORPUS.txt`` is written last, and the folder is then
renamed to OUT in one step, so OUT exists only complete. A leftover ``OUT.partial`` from an
interrupted run is deleted and regenerated. If OUT already holds a corpus with the same
(version, scale, seed, profile), ``generate`` returns at once; any other non-empty OUT is refused.

Determinism: every random draw comes from a generator seeded from (seed, stable name of
what is drawn), e.g. (seed, "turn", turn name), so the output is byte-identical for a
given (scale, seed) whatever the number of worker processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import multiprocessing
import os
import shutil
import sys
import wave
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ser.synthetic.synth_voice import (
    _COMMON,
    _LABEL_PROBS,
    DEFAULT_PROFILE,
    PROFILES,
    SAMPLE_RATE,
    Profile,
    _channel,
    _render_turn,
    _rng,
    _speaker,
    _Turn,
)

# Bump whenever the output for a given (scale, seed) changes, so that stale corpora are
# refused instead of silently reused.
GENERATOR_VERSION = 1
# ./run's scale and the default: about 900 turns (1.1 h of audio and 43 improvised test
# utterances under the paper's split with the default profile; 0.8 h and 98 with the demo's).
DEMO_SCALE = 0.09
MARKER_NAME = "SYNTHETIC_CORPUS.txt"
PARTIAL_SUFFIX = ".partial"
IN_PROGRESS_NAME = ".synth-in-progress"

LABELS = ("neu", "fru", "hap", "sad", "ang", "fea", "exc", "sur", "xxx", "dis", "oth")
SESSIONS = (1, 2, 3, 4, 5)
IEMOCAP_TURNS = 10_039
# Two turns, one per actor, keep both speakers in every dialog at the smallest scales.
MIN_TURNS_PER_DIALOG = 2

_SCRIPTS = ("script01_1", "script01_2", "script01_3", "script02_1", "script02_2",
            "script03_1", "script03_2")
_SPLIT_IMPROS = {(3, "M"): ("05", "08")}

_CATEGORY_NAMES = {"neu": "Neutral", "fru": "Frustration", "hap": "Happiness",
                   "sad": "Sadness", "ang": "Anger", "fea": "Fear", "exc": "Excited",
                   "sur": "Surprise", "dis": "Disgust", "oth": "Other"}
_SELF_RATING_NOTES = ("curious", "annoyed", "tired", "amused", "nervous", "calm")
# Mean (valence, activation, dominance) on the 1-5 scale of the A- lines.
_VAD_MEANS = {"neu": (3.0, 2.5, 2.8), "fru": (2.0, 3.2, 3.3), "hap": (4.0, 3.0, 3.0),
              "sad": (2.0, 2.3, 2.3), "ang": (1.8, 3.9, 3.9), "fea": (2.1, 3.4, 2.4),
              "exc": (3.9, 3.6, 3.4), "sur": (3.4, 3.5, 3.0), "dis": (1.9, 3.0, 3.2),
              "oth": (2.8, 3.0, 3.0), "xxx": (2.7, 3.0, 3.0)}

# Turn duration: lognormal with median 3.5 s and mean 4.5 s (sigma^2 = 2 ln(4.5/3.5)),
# clipped to 0.6-30 s (Profile's defaults).
_DURATION_SIGMA = math.sqrt(2 * math.log(4.5 / 3.5))


@dataclass
class _Dialog:
    session: int
    name: str
    evaluators: tuple[str, ...]
    turns: list[_Turn]


def dialog_names(session: int) -> list[str]:
    """The dialogs of one session, as named in IEMOCAP_full_release."""
    names = []
    for gender in "FM":
        prefix = f"Ses{session:02d}{gender}_"
        for number in (f"{k:02d}" for k in range(1, 9)):
            if number in _SPLIT_IMPROS.get((session, gender), ()):
                names += [f"{prefix}impro{number}a", f"{prefix}impro{number}b"]
            else:
                names.append(f"{prefix}impro{number}")
        names += [prefix + script for script in _SCRIPTS]
    return names


# ---------------------------------------------------------------------------------------
# Corpus plan: turns, labels, speakers and times (cheap, in the main process)


def _apportion(total: int, weights: np.ndarray) -> list[int]:
    """Integers proportional to weights summing exactly to total (largest remainder)."""
    raw = total * weights / weights.sum()
    counts = np.floor(raw).astype(int)
    counts[np.argsort(counts - raw, kind="stable")[: total - counts.sum()]] += 1
    return counts.tolist()


def _plan_dialog(seed: int, session: int, name: str, n_turns: int, profile: Profile = PROFILES[DEFAULT_PROFILE]
                 ) -> _Dialog:
    rng = _rng(seed, "dialog", name)
    probs = profile.impro_labels if "_impro" in name else _LABEL_PROBS["script"]
    p = np.array([probs.get(label, 0.0) for label in LABELS])
    labels = rng.choice(len(LABELS), size=n_turns, p=p / p.sum())
    # Mostly alternating turns with occasional runs; turn 1 always switches speaker so
    # both actors speak even in two-turn dialogs.
    switches = rng.random(n_turns) < 0.85
    switches[0] = False
    switches[1:2] = True
    letters = ["FM"[k] for k in (rng.integers(2) + np.cumsum(switches)) % 2]
    durations = np.clip(rng.lognormal(math.log(profile.median_duration_s), _DURATION_SIGMA, n_turns),
                        *profile.duration_range_s)
    gaps = rng.uniform(0.15, 2.0, n_turns)
    evaluators = tuple(sorted(rng.choice(["E1", "E2", "E3", "E4"], 3, replace=False)))

    turns, numbers, clock = [], Counter(), rng.uniform(1.0, 8.0)
    for letter, label, duration, gap in zip(letters, labels, durations, gaps):
        start = round(clock, 4)
        n_samples = int(round(duration * SAMPLE_RATE))
        turns.append(_Turn(f"{name}_{letter}{numbers[letter]:03d}", LABELS[label], start,
                           n_samples))
        numbers[letter] += 1
        clock = start + n_samples / SAMPLE_RATE + gap
    return _Dialog(session, name, evaluators, turns)


def _plan_corpus(scale: float, seed: int, profile: Profile = PROFILES[DEFAULT_PROFILE]) -> list[_Dialog]:
    names = [(session, name) for session in SESSIONS for name in dialog_names(session)]
    rng = _rng(seed, "corpus")
    # Dialog lengths vary (0.6-1.4x the mean); at scale 1 they add up to IEMOCAP's count.
    base_counts = _apportion(IEMOCAP_TURNS, rng.uniform(0.6, 1.4, len(names)))
    dialogs = [_plan_dialog(seed, session, name, max(MIN_TURNS_PER_DIALOG, round(scale * count)), profile)
               for (session, name), count in zip(names, base_counts)]
    _force_every_label(dialogs, rng)
    return dialogs


def _force_every_label(dialogs: list[_Dialog], rng: np.random.Generator) -> None:
    """Relabel one turn per missing label, taken from a label that occurs more than once."""
    counts = Counter(turn.label for dialog in dialogs for turn in dialog.turns)
    for label in LABELS:
        if counts[label]:
            continue
        candidates = [(dialog, k) for dialog in dialogs for k, turn in enumerate(dialog.turns)
                      if counts[turn.label] > 1]
        dialog, k = candidates[rng.integers(len(candidates))]
        counts[dialog.turns[k].label] -= 1
        counts[label] += 1
        dialog.turns[k] = dataclasses.replace(dialog.turns[k], label=label)


# ---------------------------------------------------------------------------------------
# EmoEvaluation files


def _evaluation_block(seed: int, turn: _Turn, evaluators: tuple[str, ...]) -> str:
    rng = _rng(seed, "annotation", turn.name)
    letter = turn.name[-4]
    if turn.label == "xxx":  # no majority: every evaluator names a different emotion
        choices = rng.choice(_COMMON, len(evaluators), replace=False)
        categories = [[_CATEGORY_NAMES[c]] for c in choices]
    else:
        agreeing = int(rng.integers(2, len(evaluators) + 1))
        others = [c for c in _COMMON if c != turn.label]
        categories = [[_CATEGORY_NAMES[turn.label]] if k < agreeing
                      else [_CATEGORY_NAMES[others[rng.integers(len(others))]]]
                      for k in rng.permutation(len(evaluators))]
        # A second category cannot create a tie only when the vote was unanimous.
        if agreeing == len(evaluators) and rng.random() < 0.2:
            categories[rng.integers(len(evaluators))].append(
                _CATEGORY_NAMES[others[rng.integers(len(others))]])
    self_label = turn.label if turn.label != "xxx" and rng.random() < 0.6 else \
        _COMMON[rng.integers(len(_COMMON))]
    self_note = _SELF_RATING_NOTES[rng.integers(len(_SELF_RATING_NOTES))] \
        if rng.random() < 0.15 else ""

    raters = sorted(rng.choice(evaluators, 2, replace=False))
    means = np.array(_VAD_MEANS[turn.label])
    ratings = np.clip(np.rint(means + rng.normal(0, 0.7, (3, 3))), 1, 5).astype(int)
    vad = ratings[:2].mean(axis=0)  # the turn line averages the evaluators, not the actor

    lines = [f"[{turn.start:.4f} - {turn.end:.4f}]\t{turn.name}\t{turn.label}\t"
             f"[{vad[0]:.4f}, {vad[1]:.4f}, {vad[2]:.4f}]"]
    lines += [f"C-{evaluator}:\t{' '.join(name + ';' for name in names)}\t()"
              for evaluator, names in zip(evaluators, categories)]
    lines.append(f"C-{letter}1:\t{_CATEGORY_NAMES[self_label]};\t({self_note})")
    for rater, (val, act, dom) in zip([*raters, f"{letter}1"], ratings):
        lines.append(f"A-{rater}:\tval {val}; act {act}; dom  {dom};\t()")
    return "\n".join(lines) + "\n\n"


def _write_evaluation(root: Path, seed: int, dialog: _Dialog) -> None:
    folder = root / f"Session{dialog.session}" / "dialog" / "EmoEvaluation"
    text = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n" + "".join(
        _evaluation_block(seed, turn, dialog.evaluators) for turn in dialog.turns)
    (folder / f"{dialog.name}.txt").write_text(text, encoding="ascii")


# ---------------------------------------------------------------------------------------
# Wav files


def _render_dialog(root: Path, seed: int, dialog: _Dialog, profile: Profile = PROFILES[DEFAULT_PROFILE]) -> str:
    """Write the wavs of one dialog (worker entry point); returns the dialog name."""
    folder = root / f"Session{dialog.session}" / "sentences" / "wav" / dialog.name
    folder.mkdir(parents=True, exist_ok=True)
    channel = _channel(seed, dialog.name)
    speakers = {letter: _speaker(seed, dialog.session, letter) for letter in "FM"}
    for turn in dialog.turns:
        samples = _render_turn(seed, turn, speakers[turn.name[-4]], channel, profile)
        # The stdlib writer produces the same 44-byte-header PCM_16 WAV as soundfile, in one
        # write instead of libsndfile's small chunks (10x faster, a third of the run time).
        with wave.open(str(folder / f"{turn.name}.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(samples.astype("<i2").tobytes())
    return dialog.name


# ---------------------------------------------------------------------------------------
# Corpus folder: marker, completeness, idempotence


def read_marker(root: str | os.PathLike) -> dict[str, str] | None:
    """The ``key: value`` parameters of a synthetic corpus's marker file, None if absent."""
    path = Path(root) / MARKER_NAME
    if not path.is_file():
        return None
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, separator, value = line.partition(": ")
        if separator and key.isidentifier():
            fields[key] = value
    return fields


def _same_parameters(fields: dict[str, str], scale: float, seed: int, profile: str) -> bool:
    try:
        return (fields.get("generator") == "ser.synth"
                and int(fields["version"]) == GENERATOR_VERSION
                and float(fields["scale"]) == scale and int(fields["seed"]) == seed
                and fields.get("profile", DEFAULT_PROFILE) == profile)
    except (KeyError, ValueError):
        return False


def _marker_text(dialogs: list[_Dialog], scale: float, seed: int, profile: str) -> str:
    turns = [turn for dialog in dialogs for turn in dialog.turns]
    counts = Counter(turn.label for turn in turns)
    hours = sum(turn.n_samples for turn in turns) / SAMPLE_RATE / 3600
    return (
        "SYNTHETIC CORPUS - NOT IEMOCAP\n"
        "Generated by ser.synthetic.synth in the IEMOCAP_full_release folder layout so that the\n"
        "pipeline can run without the licensed corpus. The audio is synthesised speech-like\n"
        "sound whose pitch, tempo, loudness and timbre depend on the emotion label.\n"
        "Numbers obtained on this corpus say nothing about performance on IEMOCAP.\n"
        "\n"
        "generator: ser.synth\n"
        f"version: {GENERATOR_VERSION}\n"
        f"scale: {scale!r}\n"
        f"seed: {seed}\n"
        f"profile: {profile}\n"
        f"sample_rate: {SAMPLE_RATE}\n"
        f"dialogs: {len(dialogs)}\n"
        f"turns: {len(turns)}\n"
        f"hours: {hours:.3f}\n"
        f"labels: {' '.join(f'{label}={counts[label]}' for label in LABELS)}\n"
    )


def _check_destination(out: Path, partial: Path, scale: float, seed: int, profile: str) -> bool:
    """True if out already holds this corpus; clears what may be cleared; raises otherwise."""
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        fields = read_marker(out)
        if fields is not None:
            if _same_parameters(fields, scale, seed, profile):
                return True
            raise FileExistsError(
                f"{out} holds a synthetic corpus with other parameters (version "
                f"{fields.get('version')}, scale {fields.get('scale')}, seed {fields.get('seed')}, "
                f"profile {fields.get('profile', DEFAULT_PROFILE)}); delete it or choose another folder")
        if any(out.iterdir()):
            raise FileExistsError(f"{out} is not empty and is not a synthetic corpus; "
                                  f"refusing to overwrite it")
        out.rmdir()
    if partial.exists():
        if not (partial / IN_PROGRESS_NAME).is_file():
            raise FileExistsError(f"{partial} exists but was not left by ser.synthetic.synth; "
                                  f"refusing to delete it")
        shutil.rmtree(partial)  # an interrupted earlier generation
    return False


def destination(out_dir: str | os.PathLike, scale: float, seed: int) -> tuple[float, Path, Path]:
    """Checked generator parameters: (scale as a float, the corpus folder, the folder it is
    written in before being renamed into place)."""
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    out = Path(out_dir)
    return float(scale), out, out.with_name(out.name + PARTIAL_SUFFIX)


def generate(out_dir: str | os.PathLike, scale: float = DEMO_SCALE, seed: int = 0,
             progress: bool = True, *, workers: int | None = None, profile: str = DEFAULT_PROFILE) -> Path:
    """Generate the synthetic corpus into out_dir and return its root.

    scale multiplies the number of turns per dialog (1 = IEMOCAP-sized; each dialog keeps
    at least MIN_TURNS_PER_DIALOG). Idempotent: an existing complete corpus with the same
    parameters is returned untouched. workers (default: CPU count) only changes speed.
    profile names a :data:`PROFILES` entry (the improvised dialogs' labels and spread).
    """
    scale, out, partial = destination(out_dir, scale, seed)
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    if _check_destination(out, partial, scale, seed, profile):
        return out

    partial.mkdir(parents=True)
    (partial / IN_PROGRESS_NAME).write_text(
        f"ser.synthetic.synth generation in progress (scale {scale!r}, seed {seed})\n", encoding="utf-8")
    dialogs = _plan_corpus(scale, seed, PROFILES[profile])
    for session in SESSIONS:
        (partial / f"Session{session}" / "dialog" / "EmoEvaluation").mkdir(parents=True)
    for dialog in dialogs:
        _write_evaluation(partial, seed, dialog)

    workers = min(workers or os.cpu_count() or 1, len(dialogs))
    # Longest dialogs first balances the workers; the order does not affect the output.
    ordered = sorted(dialogs, key=lambda d: -sum(turn.n_samples for turn in d.turns))
    if workers == 1:
        for done, dialog in enumerate(ordered, 1):
            _render_dialog(partial, seed, dialog, PROFILES[profile])
            _report(progress, done, len(ordered))
    else:
        # fork (Linux): unlike spawn it never re-runs the caller's __main__ (an unguarded
        # script or stdin would break or recurse) and starts instantly; the workers use
        # only numpy, scipy and the stdlib, which are fork-safe.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(_render_dialog, partial, seed, dialog, PROFILES[profile]) for dialog in ordered]
            for done, future in enumerate(as_completed(futures), 1):
                future.result()
                _report(progress, done, len(ordered))

    (partial / MARKER_NAME).write_text(_marker_text(dialogs, scale, seed, profile), encoding="utf-8")
    (partial / IN_PROGRESS_NAME).unlink()
    partial.rename(out)
    return out


def _report(progress: bool, done: int, total: int) -> None:
    # One line per tenth keeps logs readable when stderr is not a terminal.
    if progress and (done == total or done * 10 // total != (done - 1) * 10 // total):
        print(f"ser.synthetic.synth: {done}/{total} dialogs", file=sys.stderr, flush=True)


def summary(root: str | os.PathLike) -> str:
    """One line describing the synthetic corpus at root (from its marker file)."""
    fields = read_marker(root) or {}
    return (f"synthetic corpus {root}: {fields.get('turns')} turns, {fields.get('hours')} h "
            f"(scale {fields.get('scale')}, seed {fields.get('seed')}); {fields.get('labels')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ser.synthetic.synth",
        description="Generate a synthetic emotional-speech corpus in the IEMOCAP_full_release "
                    "layout (NOT IEMOCAP; results on it say nothing about IEMOCAP).")
    parser.add_argument("out", metavar="OUT", type=Path, help="corpus root to create")
    parser.add_argument("--scale", type=float, default=DEMO_SCALE,
                        help=f"turns per dialog relative to IEMOCAP (1 = 10,039 turns, ~12 h); "
                             f"default {DEMO_SCALE} (demo)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                        help="iemocap (default): IEMOCAP's label mix, turn lengths and spread; demo: ./run's demo "
                             "corpus, improvised dialogs of the four classes GLAM trains on, spoken far apart, in "
                             "short turns")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines (the final summary line is still printed)")
    args = parser.parse_args(argv)
    try:
        root = generate(args.out, args.scale, args.seed, progress=not args.quiet, profile=args.profile)
    except (FileExistsError, ValueError) as error:
        print(f"ser.synthetic.synth: error: {error}", file=sys.stderr)
        return 1
    print(summary(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
