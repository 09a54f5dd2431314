"""Property tests (hypothesis) for segmentation and the IEMOCAP label parsers.

Segmentation (ser.features.glam.segment) must, for any utterance length,
segment length, overlap and sample rate, give the count the original's loop gives, cover the
utterance up to a tail shorter than one hop, and never slice out of range. The evaluation
file parser (ser.corpora.label_lines) must read label lines whatever the spacing, line
endings and label tokens, and the manifest CSV must round-trip any printable field values.

    .venv/bin/python -m pytest tests/test_properties.py -q
"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ser import corpora
from ser.corpora import Utterance, iemocap
from ser.features import glam

# Few enough examples to keep the suite fast on 2 cores, enough to reach the float edges.
# derandomize: the same examples on every run (seeded, like everything else); database=None:
# no failing examples are replayed from an earlier run, so every run tests the same thing.
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
FILES = settings(max_examples=25, deadline=None, derandomize=True, database=None)

sample_rates = st.sampled_from([8000, 16000, 22050, 44100])
# Segment lengths as a user types them (two decimals) and as arbitrary floats.
segment_lengths = st.one_of(st.integers(5, 400).map(lambda c: c / 100),
                            st.floats(0.05, 4.0, allow_nan=False))


def expected_starts(n: int, sr: int, length: float, overlap: float) -> list[int]:
    """The original's rule: starts 0, hop, 2·hop, … while start + L·sr <= n (in floating point,
    as the original compares them)."""
    hop = int((length - overlap) * sr)
    seg_len = length * sr
    starts, index = [], 0
    while index + seg_len <= n:
        starts.append(index)
        index += hop
    return starts


@FAST
@given(n=st.integers(0, 3 * 44100), sr=sample_rates, length=segment_lengths,
       overlap_fraction=st.floats(0.0, 0.999))
# 2.01 s × 16 kHz is 32159.999999999996 samples in floating point: slices ending at
# int(start + L·sr) came out 32159 or 32160 long, and stacking them failed.
@example(n=100_000, sr=16000, length=2.01, overlap_fraction=0.5)
def test_segments_follow_the_spec_and_stay_in_range(n, sr, length, overlap_fraction):
    overlap = length * overlap_fraction
    assume(int((length - overlap) * sr) > 0)
    wav = np.arange(n, dtype=np.float64)  # each sample's value is its index
    segments = glam.segment(wav, sr, length, overlap)
    starts = expected_starts(n, sr, length, overlap)
    width = int(length * sr)
    assert segments.shape == (len(starts), width)
    for start, seg in zip(starts, segments):
        # a contiguous in-range slice starting where the original's loop says
        np.testing.assert_array_equal(seg, np.arange(start, start + width))
    if starts:
        hop = int((length - overlap) * sr)
        # coverage: what is left after the last segment is too short for another one
        assert starts[-1] + hop + length * sr > n


@FAST
@given(n=st.integers(1, 3 * 16000), length=segment_lengths, overlap_fraction=st.floats(0.0, 0.999))
def test_padding_always_gives_a_segment_made_of_the_utterance(n, length, overlap_fraction):
    overlap = length * overlap_fraction
    assume(int((length - overlap) * 16000) > 0)
    wav = np.arange(n, dtype=np.float64)
    segments = glam.segment(wav, 16000, length, overlap, padding=True)
    assert len(segments) >= 1
    # tiling repeats the utterance end to end: sample j of a segment is index (start + j) mod n
    np.testing.assert_array_equal(segments[0], np.arange(int(length * 16000)) % n)


@FAST
@given(length=st.floats(0.05, 4.0), overlap=st.floats(-1.0, 5.0), sr=sample_rates)
def test_hop_is_positive_or_refused(length, overlap, sr):
    if int((length - overlap) * sr) > 0:
        assert glam.segment_hop(length, overlap, sr) == int((length - overlap) * sr)
    else:
        with pytest.raises(ValueError, match="overlap"):
            glam.segment_hop(length, overlap, sr)


# --- EmoEvaluation label lines -------------------------------------------------------------

blanks = st.text(alphabet=" \t", min_size=0, max_size=4)
gaps = st.text(alphabet=" \t", min_size=1, max_size=4)
times = st.decimals(min_value=0, max_value=10000, places=4, allow_nan=False, allow_infinity=False)
turns = st.from_regex(r"Ses0[1-5][FM]_(impro0[1-8]|script0[1-3]_[12])_[FM]0[0-9]{2}", fullmatch=True)
# Real tokens, then anything a damaged or foreign file could hold (no spaces, no brackets).
tokens = st.one_of(st.sampled_from(iemocap.EMO_TOKENS),
                   st.text(st.characters(categories=["L", "N", "P"], exclude_characters="[]"),
                           min_size=1, max_size=6))
endings = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def label_line(draw, turn: str | None = None) -> tuple[str, tuple[float, float, str, str]]:
    """A label line with random spacing and optional V/A/D part, and what it must parse to."""
    start, end, token = draw(times), draw(times), draw(tokens)
    turn = turn or draw(turns)
    vad = draw(st.sampled_from(["", "[2.5000, 2.5000, 2.5000]", "[1, 5, 3]"]))
    line = (f"{draw(blanks)}[{draw(blanks)}{start}{draw(blanks)}-{draw(blanks)}{end}{draw(blanks)}]"
            f"{draw(gaps)}{turn}{draw(gaps)}{token}" + (f"{draw(gaps)}{vad}" if vad else "") + draw(blanks))
    return line, (float(start), float(end), turn, token)


annotator_lines = st.sampled_from(["C-E2:\tNeutral;\t()", "A-E3:\tval 3; act 2; dom  2;\t()", ""])


def evaluation_text(blocks: list[tuple[str, list[str]]], ending: str) -> str:
    """A file body: header, then each label line followed by its annotator lines."""
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    for line, detail in blocks:
        lines += [line, *detail]
    return ending.join(lines) + ending


@FAST
@given(blocks=st.lists(st.tuples(label_line(), st.lists(annotator_lines, max_size=3)), max_size=8),
       ending=endings)
def test_label_lines_survive_spacing_line_endings_and_unknown_tokens(blocks, ending):
    text = evaluation_text([(line, detail) for (line, _), detail in blocks], ending)
    assert [parsed for _, parsed in iemocap.label_lines(text)] == [expected for (_, expected), _ in blocks]


@FILES
@given(data=st.data(), count=st.integers(1, 6), ending=endings, bom=st.booleans())
def test_scanned_labels_match_the_file_whatever_its_format(tmp_path_factory, data, count, ending, bom):
    """Through the whole reader: the file as bytes (BOM, CR/CRLF), a wav per labelled turn."""
    root = tmp_path_factory.mktemp("tree")
    for s in range(1, 6):
        (root / f"Session{s}/dialog/EmoEvaluation").mkdir(parents=True)
        (root / f"Session{s}/sentences/wav").mkdir(parents=True)
    dialog = "Ses01F_impro01"
    blocks, expected = [], {}
    for i in range(count):
        turn = f"{dialog}_{'FM'[i % 2]}{i:03d}"
        line, (_, _, _, token) = data.draw(label_line(turn))
        blocks.append((line, data.draw(st.lists(annotator_lines, max_size=2))))
        expected[turn] = token
        wav = root / f"Session1/sentences/wav/{dialog}/{turn}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        sf.write(wav, np.full(80, 0.1), 16000)
    (root / f"Session1/dialog/EmoEvaluation/{dialog}.txt").write_bytes(
        (b"\xef\xbb\xbf" if bom else b"") + evaluation_text(blocks, ending).encode())
    scan = iemocap.scan_iemocap(root)
    assert {u.turn: u.label for u in scan.utterances} == expected
    assert scan.skipped == []
    # Unknown tokens are kept as read; the label set decides what trains.
    glam = corpora.LABEL_SETS["glam"]
    assert {u.turn for u in scan.utterances if u.label in glam} == {t for t, e in expected.items() if e in glam}


@FAST
@given(line=label_line(), cut=st.integers(1, 40))
def test_a_truncated_label_line_is_rejected_not_misread(line, cut):
    text, (start, end, turn, token) = line
    stripped = text.strip()
    assume(cut < len(stripped))
    broken = stripped[:-cut]
    parsed = iemocap.parse_label_line(broken)
    # Cutting may only ever shorten the optional V/A/D part or the token itself.
    assert parsed is None or parsed[:3] == (start, end, turn)


# --- manifest CSV ------------------------------------------------------------------------------

field_text = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
utterances = st.builds(Utterance, path=field_text, turn=field_text, session=st.integers(-9, 99),
                       speaker=field_text, dialog=field_text, kind=field_text, label=field_text,
                       start=finite, end=finite, duration=finite, gender=st.sampled_from(corpora.GENDERS),
                       official_split=st.sampled_from(["", *corpora.OFFICIAL_SPLITS]))


@FILES
@given(rows=st.lists(utterances, max_size=6))
def test_manifest_round_trips_any_values(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("manifest") / "m.csv"
    corpora.write_manifest(rows, path)
    assert corpora.read_manifest(path) == rows
