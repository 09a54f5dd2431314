"""ONNX export of a checkpoint's segment classifier, with what it takes to feed it beside it.

The ONNX graph maps a batch of feature maps ``features`` (B, 1, F, T) float32 to ``logits``
(B, classes); the batch size is dynamic. Turning audio into those maps (segmentation,
features) and averaging segment logits per recording stay outside the graph, so the JSON
file written next to the model (``<name>.json``, :func:`sidecar`) spells out every step and
parameter needed to compute them without this package (:func:`input_recipe`): the audio's
rate and channels, how a recording is cut into segments at the test overlap and what happens
to its tail, each feature kind's STFT or framing, filterbank, dB and DCT parameters, seed
004's pre-emphasis, deltas, padding and channel stacking, the min-max scaling, the utterance
scoring, class names and input shape.
Needs the optional packages ``onnx`` and ``onnxscript`` (``onnxruntime`` to run the result).
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ser.errors import UserError
from ser.features import glam, spectral
from ser.features.kinds import settings_from_dict
from ser.io import write_text, write_via_temporary
from ser.records import checkpoint as ckpt
from ser.serving.inference import check_output_path


class ExportError(UserError):
    """The export cannot run as asked (a missing optional package, an unusable output name)."""


@dataclass(frozen=True)
class Stft:
    """A short-time Fourier transform as librosa computes it: frames of ``n_fft`` samples every
    ``hop_length``, each multiplied by a ``win_length`` window centred in ``n_fft`` with zeros
    either side; with ``center`` the signal is first padded by ``n_fft // 2`` samples at each
    end (``pad_mode`` is numpy.pad's mode), so a signal of N samples gives 1 + N // hop_length
    frames. ``power``: the magnitude's exponent (1 magnitude, 2 power)."""
    n_fft: int
    hop_length: int
    win_length: int
    window: str
    window_periodic: bool
    center: bool
    pad_mode: str
    power: float


@dataclass(frozen=True)
class Framing:
    """python_speech_features' framing: frames of ``frame_length`` samples every ``frame_step``,
    1 + ceil((N - frame_length) / frame_step) of them (1 when N <= frame_length), the signal
    zero padded at its end to fill the last; rectangular window; each frame zero padded to
    ``n_fft`` for a real FFT."""
    frame_length: int
    frame_step: int
    n_fft: int
    window: str = "rectangular"


@dataclass(frozen=True)
class MelFilters:
    """A mel filterbank over the ``n_fft // 2 + 1`` FFT bins, as ``librosa.filters.mel(sr, n_fft,
    n_mels, fmin, fmax, htk, norm)`` builds it (``fmax`` in Hz, the Nyquist rate when none was set)."""
    n_mels: int
    fmin: float
    fmax: float
    htk: bool
    norm: str | None


@dataclass(frozen=True)
class Decibels:
    """``factor * log10(max(amin, x)) - factor * log10(max(amin, reference))``, then every value
    below the maximum minus ``top_db`` raised to it; the reference and the maximum are taken
    over ``over`` (``reference`` "max": the maximum of x there)."""
    factor: float
    amin: float
    reference: float | str
    top_db: float | None
    over: str


@dataclass(frozen=True)
class Dct:
    """A DCT along the mel axis (scipy.fft.dct's ``type`` and ``norm``), keeping the first ``keep``."""
    type: int
    norm: str
    keep: int


@dataclass(frozen=True)
class Segmentation:
    """How one recording becomes the model's batch of segments."""
    segment_samples: int | None
    hop_samples: int | None
    frames_per_segment: int | None
    rule: str
    tail: str
    short_recording: str


def _glam_kind(settings: glam.FeatureSettings) -> dict:
    """The steps of one GLAM feature map, computed on one segment of ``segment_samples``."""
    sr, kind = settings.sample_rate, settings.kind
    if kind == "mfcc":
        p = glam.MFCC_PARAMS
        return {
            "steps": ["power STFT", "mel filterbank @ power", "decibels", "DCT"],
            "stft": asdict(Stft(p["n_fft"], p["hop_length"], p["win_length"] or p["n_fft"], p["window"], True,
                                p["center"], p["pad_mode"], p["power"])),
            "mel_filters": asdict(MelFilters(p["n_mels"], p["fmin"], p["fmax"] or sr / 2, p["htk"], p["norm"])),
            "decibels": asdict(Decibels(10.0, glam.DB_AMIN, glam.DB_REF, glam.DB_TOP, "segment")),
            "dct": asdict(Dct(2, "ortho", min(settings.n_mfcc, p["n_mels"]))),
            "layout": "(coefficients, frames)",
        }
    if kind in ("spectrogram", "interspeech2018"):
        framing = asdict(Framing(640, 160, glam.SPECTROGRAM_NFFT))
        if kind == "spectrogram":
            return {"steps": ["framing", "power (1 / n_fft) * |rfft|^2", "10*log10(max(power, 1e-30))",
                              "minus its maximum over the segment", "the lowest bins"],
                    "framing": framing, "bins": glam.SPECTROGRAM_BINS, "layout": "(bins, frames)"}
        return {"steps": ["framing", "magnitude |rfft|", "x / max over the segment * 2 - 1",
                          "mu-law: sign(x) * log(1 + 255 |x|) / log(256)", "the lowest bins"],
                "framing": framing, "bins": glam.SPECTROGRAM_BINS, "layout": "(bins, frames)"}
    if kind in glam.FILTERBANK_KINDS:
        bank = glam.FILTERBANK_KINDS[kind]
        filters, high = bank.nfilt, bank.high or sr / 2
        return {"steps": ["pre-emphasis", "framing", "power (1 / n_fft) * |rfft|^2", "filterbank @ power",
                          "zero energies replaced by float64 eps"] + (["natural log"] if bank.log else []),
                "preemphasis": {"coefficient": 0.97, "rule": "y[0] = x[0], y[n] = x[n] - 0.97 x[n-1]"},
                "framing": asdict(Framing(round(0.040 * sr), round(0.010 * sr), 1024)),
                "filterbank": {"filters": filters, "low_hz": 0.0, "high_hz": high,
                               "rule": "python_speech_features' get_filterbanks: HTK mel (2595 log10(1 + f/700)) "
                                       "points evenly spaced from low to high, bin = floor((n_fft + 1) * hz / "
                                       "sample_rate), triangles rising over [bin[j], bin[j+1]) and falling over "
                                       "[bin[j+1], bin[j+2])"},
                "layout": "(frames, filters)"}
    p = glam.MELSPECTROGRAM_PARAMS
    return {"steps": ["power STFT", "mel filterbank @ power", "log10 (no floor)"],
            "stft": asdict(Stft(p["n_fft"], p["hop_length"], p["win_length"] or p["n_fft"], p["window"], True,
                                p["center"], p["pad_mode"], p["power"])),
            "mel_filters": asdict(MelFilters(p["n_mels"], p["fmin"], p["fmax"] or sr / 2, p["htk"], p["norm"])),
            "layout": "(mel bands, frames)"}


def _glam_segmentation(settings: glam.FeatureSettings, overlap: float) -> Segmentation:
    sr, length = settings.sample_rate, settings.segment_length
    return Segmentation(
        segment_samples=int(length * sr), hop_samples=glam.segment_hop(length, overlap, sr),
        frames_per_segment=None,
        rule=(f"segment k covers samples [k * hop_samples, k * hop_samples + segment_samples) for every k with "
              f"k * hop_samples + {length} * {sr} <= N (the product taken in floating point), N the "
              "recording's length; the waveform is cut first, then each segment's map is computed alone"),
        tail="the samples after the last whole segment are dropped",
        short_recording=("a recording shorter than segment_length_s is repeated end to end "
                         "ceil(segment_length_s * sample_rate / N) times first, so that one segment fits"))


_SPECTRAL_CHANNELS = {
    "logspec": ["logspec"],
    "logmelspec": ["logmelspec"],
    "logmeldeltaspec": ["logmelspec", "delta of channel 0", "delta of channel 1"],
    "lognrevspec": ["logspec", "logspec of the pre-emphasised signal plus white noise",
                    "logspec of the pre-emphasised signal through the reverb"],
    "logdeltaspec": ["logspec", "first derivative of channel 0", "second derivative of channel 0"],
}


def _spectral_kind(s: spectral.SpectralSettings) -> dict:
    """The steps of one seed-004 map, computed once on the whole recording, then cut."""
    recipe = {
        "preemphasis": {"coefficient": s.preemphasis,
                        "rule": f"y[0] = x[0], y[n] = x[n] - {s.preemphasis} x[n-1], on the whole recording"},
        "stft": asdict(Stft(s.n_fft, s.hop_length, s.win_length, s.window, True, True, "reflect", 1.0)),
        "channels": _SPECTRAL_CHANNELS[s.kind],
        "logspec": {"of": "the STFT magnitude",
                    "decibels": asdict(Decibels(20.0, 1e-5, "max", spectral.TOP_DB, "the whole recording, all bins")),
                    "bins": f"the lowest {s.n_freq} of n_fft // 2 + 1, kept after the dB step"},
        "layout": "(channels, bins, frames)",
    }
    if s.kind in ("logmelspec", "logmeldeltaspec"):
        recipe["logmelspec"] = {
            "of": "mel_filters @ magnitude ** 2",
            "mel_filters": asdict(MelFilters(s.n_mels, 0.0, s.sample_rate / 2, False, "slaney")),
            "decibels": asdict(Decibels(10.0, 1e-10, "max", spectral.TOP_DB, "the whole recording, all bands"))}
        del recipe["logspec"]
    if s.kind == "logmeldeltaspec":
        recipe["delta"] = {"rule": "scipy.signal.savgol_filter along frames", "window_length": 5, "polyorder": 1,
                           "deriv": 1, "mode": "nearest"}
    if s.kind == "logdeltaspec":
        recipe["delta"] = {"rule": "scipy.signal.savgol_filter along frames, polyorder = deriv",
                           "window_length": 9, "derivs": [1, 2], "mode": "interp"}
    if s.kind == "lognrevspec":
        # the reverb's settings are sox_reverb's defaults, read from it so that they cannot drift
        parameters = inspect.signature(spectral.sox_reverb).parameters.items()
        reverb = {name: p.default for name, p in parameters if p.default is not inspect.Parameter.empty}
        recipe["noise"] = {"distribution": "normal", "mean": 0.0, "std": s.noise_std,
                           "note": "drawn per recording by this package; any draw serves outside it"}
        recipe["reverb"] = {"effect": "SoX reverb, its two wet channels averaged and added to the dry signal, "
                                      "clipped to [-1, 1]",
                            "rate_told_to_sox": s.reverb_rate or s.sample_rate, **reverb}
    return recipe


def _spectral_segmentation(s: spectral.SpectralSettings) -> Segmentation:
    pads = spectral.pad_values(s).tolist()
    return Segmentation(
        segment_samples=None, hop_samples=None, frames_per_segment=s.segment_size,
        rule=(f"the recording's map of 1 + N // {s.hop_length} frames is cut into max(1, ceil(frames / "
              f"{s.segment_size})) consecutive segments of {s.segment_size} frames, without overlap; each "
              "segment's (channels, bins, frames) is then stacked channel after channel into "
              "(channels * bins, frames)"),
        tail=f"the last segment is padded at its end, channel c with {pads}[c]",
        short_recording="one segment, padded as the tail")


def input_recipe(checkpoint: dict) -> dict:
    """Every step and parameter that turns a recording into the exported model's inputs."""
    settings = settings_from_dict(checkpoint["features"])
    sr = settings.sample_rate
    audio = {"sample_rate": sr, "channels": "mono: the mean of the channels",
             "resampling": "to sample_rate (this package uses soxr's high-quality resampler)",
             "samples": "float32 in [-1, 1]"}
    if isinstance(settings, spectral.SpectralSettings):
        family, kind, segmentation = "seed004", _spectral_kind(settings), _spectral_segmentation(settings)
    else:
        family, kind = "glam", _glam_kind(settings)
        segmentation = _glam_segmentation(settings, checkpoint["test_overlap"])
    return {"family": family, "kind": settings.kind, "audio": audio,
            "segmentation": {"segment_length_s": getattr(settings, "segment_length", None),
                             "test_overlap_s": checkpoint["test_overlap"], **asdict(segmentation)},
            "features": kind,
            "model_input": "each segment's map as float32 (1, F, T), min-max scaled first when min_max_scaling is set"}


def sidecar(checkpoint: dict) -> dict:
    """What a consumer of the ONNX model needs to know about its inputs and outputs."""
    return {
        "model": checkpoint["model"],
        "input": {"name": "features", "shape": ["batch", 1, *checkpoint["input_shape"]], "dtype": "float32"},
        "output": {"name": "logits", "shape": ["batch", checkpoint["num_classes"]]},
        "class_names": checkpoint["class_names"],
        "features": checkpoint["features"],
        "test_overlap": checkpoint["test_overlap"],
        "preprocessing": input_recipe(checkpoint),
        "min_max_scaling": None if checkpoint.get("scaler") is None else {
            "rule": "features[..., f, :] = (features[..., f, :] - minimum[f]) * scale[f], before the model",
            **{k: checkpoint["scaler"][k].tolist() for k in ("minimum", "scale")}},
        "scoring": ("average the log-softmax of a recording's segments, then take the argmax"
                    if checkpoint.get("pooling") == "log_softmax"
                    else "average the logits of a recording's segments, then take the argmax"),
        "versions": checkpoint["versions"],
    }


def export_onnx(checkpoint_path: str | os.PathLike, out_path: str | os.PathLike,
                verbose: bool = True) -> tuple[Path, Path]:
    """Write ``out_path`` (ONNX) and ``out_path`` with a ``.json`` suffix; returns both paths.
    The checkpoint and the output folder are checked before the export starts.
    ``verbose``: the exporter's progress lines."""
    checkpoint = ckpt.load(checkpoint_path)
    out_path = check_output_path(out_path)
    json_path = out_path.with_suffix(".json")
    if json_path == out_path:
        raise ExportError(f"-o {out_path}: the settings are written to NAME.json beside the model, so the model "
                          "cannot be NAME.json itself; use a name ending in .onnx")
    try:
        import onnx  # noqa: F401  (checked here to fail with an actionable message)
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ExportError(f"ONNX export needs the optional packages onnx and onnxscript "
                          f"(pip install onnx onnxscript): {error}") from None
    model = ckpt.build_model(checkpoint)
    example = torch.zeros(2, 1, *checkpoint["input_shape"])
    # The exporter warns about optional torchvision operators it cannot find (unused here) and
    # about its own use of a deprecated pytree class: nothing a user can act on.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        program = torch.onnx.export(model, (example,), dynamo=True, verbose=verbose, input_names=["features"],
                                    output_names=["logits"], external_data=False,
                                    dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    write_via_temporary(out_path, lambda tmp: program.save(str(tmp)))
    write_text(json_path, json.dumps(sidecar(checkpoint), indent=2) + "\n")
    return out_path, json_path
