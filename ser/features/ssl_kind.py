"""``--features ssl``: the hidden states of a self-supervised upstream (``ser.features.upstream``) as a
feature kind, one "segment" per utterance.

    python train.py --features ssl --upstream models/wavlm-base-plus -m ssl_linear
    python train.py --features ssl --upstream models/wavlm-base-plus -m ssl_mlp --layer 6

What is cached is what the downstream (``models.ssl``) reads, chosen by ``-m``:

- ``ssl_linear`` only mean-pools, so each utterance keeps every hidden state's mean over its
  frames, ``(L + 1, D)`` float32 (``output="pooled"``); its model input is that map, one per
  utterance.
- ``ssl_mlp`` puts a ReLU before its pooling, so each utterance keeps one hidden state's frames,
  ``(T, D)`` float16 (``output="frames"``; ``--layer``, default the last). Its model input is
  ``(T, D + 1)``: the frames in float32 and a last channel of 1 on each real frame. The split
  keeps each utterance's frames as cached, of its own length (:attr:`SslSettings.ragged`, a
  ``ser.training.frames.FrameSequences``: the sum of the utterances' frames × D × 2
  bytes), and the engines pad each batch with zero frames (mask 0) to its longest utterance,
  which the model's masked mean ignores.

The cache key holds the upstream's identity (family, sha256 of the weights, layers, width; not
the folder, so a moved folder keeps its entries), the preprocessor's settings, the chunk limit,
the output and layer, and the transformers version. The folder's path is kept with the settings
(a run's results.json and its checkpoint name it), and a checkpoint whose upstream's weights
have changed since training is refused (:func:`loaded_upstream`). Features are computed in this
process, :data:`BATCH_UTTERANCES` utterances per cache batch, each batch written before the next
is computed, so an interrupted extraction resumes at the batch it stopped in.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from ser.errors import UserError
from ser.features.audio import UnusableAudio
from ser.features.registry import FeatureKind, register_feature_kind
from ser.features.upstream import (
    MAX_SECONDS,
    SAMPLE_RATE,
    Upstream,
    UpstreamError,
    load_upstream,
    upstream_identity,
)

FAMILY = KIND = "ssl"
POOLED, FRAMES = "pooled", "frames"
# The downstream that reads one layer's frames (models.ssl); every other reads the pooled layers.
FRAMES_MODEL = "ssl_mlp"
# Bump when the computation of an entry changes.
CODE_VERSION = 1
# Utterances per cache batch: each batch is written before the next is computed (the resume grain).
BATCH_UTTERANCES = 16
R_NO_FRAME = "too short for one upstream frame"

_LOADED: dict[tuple[str, str, str], Upstream] = {}


def loaded_upstream(settings: SslSettings, device: str = "cpu") -> Upstream:
    """The upstream of ``settings``, loaded once per process and device; refused with one line
    when its folder is missing or broken, or its weights are not the ones ``settings`` were made with."""
    if settings.upstream is None:
        raise UpstreamError("-f ssl needs --upstream DIR, a Hugging Face-layout folder of a wav2vec 2.0, HuBERT, "
                            "WavLM or data2vec-audio model")
    identity = upstream_identity(settings.upstream)
    if identity.weights_sha256 != settings.weights_sha256:
        raise UpstreamError(f"the upstream in {settings.upstream} has changed since these features were made: its "
                            f"weights' sha256 is {identity.weights_sha256[:12]}…, not {settings.weights_sha256[:12]}…; "
                            "put the original weights back, or train again on this upstream")
    key = (str(settings.upstream), settings.weights_sha256, str(device))
    if key not in _LOADED:
        _LOADED[key] = load_upstream(settings.upstream, device, settings.max_seconds)
    return _LOADED[key]


@dataclass(frozen=True)
class SslSettings:
    """An upstream and what of its hidden states a run uses (see the module doc)."""
    kind: str = KIND
    upstream: str | None = None       # the folder, resolved (where it lay; not in the cache key)
    name: str = ""                    # the folder's name
    family: str = ""
    weights_sha256: str = ""
    num_layers: int = 0
    hidden_size: int = 0
    do_normalize: bool = True
    return_attention_mask: bool = False
    output: str = POOLED              # POOLED (every layer's mean) or FRAMES (one layer's frames)
    layer: int | None = None          # FRAMES: the hidden state (0 to num_layers)
    max_seconds: float = MAX_SECONDS  # longer utterances are cut into chunks (ser.features.upstream)
    sample_rate: int = SAMPLE_RATE

    uses_name = False
    whole_utterance = True  # one input per utterance, scored whole (predict)
    SIZE_FLAGS = "--upstream and --layer"

    @classmethod
    def from_flags(cls, kind: str, flags) -> SslSettings:
        """The settings a run's flags give: the upstream's identity (its weights hashed) and, by
        ``-m``, pooled layers or one layer's frames."""
        folder = getattr(flags, "upstream", None)
        layer = getattr(flags, "layer", None)
        if folder is None:
            return cls(kind=kind, layer=layer, sample_rate=flags.sample_rate)
        from ser.features.upstream import check_upstream_folder
        checked = check_upstream_folder(folder)
        identity = upstream_identity(folder)
        frames = getattr(flags, "model", None) == FRAMES_MODEL
        if frames and layer is None:
            layer = identity.num_layers
        return cls(kind=kind, upstream=str(Path(folder).resolve()), name=identity.name, family=identity.family,
                   weights_sha256=identity.weights_sha256, num_layers=identity.num_layers,
                   hidden_size=identity.hidden_size, do_normalize=checked.inputs.do_normalize,
                   return_attention_mask=checked.inputs.return_attention_mask,
                   output=FRAMES if frames else POOLED, layer=layer, sample_rate=flags.sample_rate)

    @classmethod
    def run_name(cls, flags) -> str:
        """The feature part of a run's name: ``ssl-<folder>-<all|L<k>>-<sha256[:8]>`` (no ``_``:
        the result stem's separator)."""
        settings = cls.from_flags(KIND, flags)
        if settings.upstream is None:
            return KIND
        choice = "all" if settings.output == POOLED else f"L{settings.layer}"
        return f"{KIND}-{settings.name.replace('_', '-')}-{choice}-{settings.weights_sha256[:8]}"

    @property
    def layer_choice(self) -> str:
        return "every layer, pooled" if self.output == POOLED else f"layer {self.layer}'s frames"

    def key(self, overlap: float | None = None) -> str:
        """The cache folder: a hash of everything that changes the numbers (see the module doc)."""
        described = {k: v for k, v in asdict(self).items() if k not in ("upstream", "name")}
        described.update(transformers=version("transformers"), code=CODE_VERSION)
        digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
        part = "all" if self.output == POOLED else f"L{self.layer}"
        return f"ssl_{self.family}_{self.output}-{part}_{digest}"

    @property
    def entry_dtype(self) -> type:
        return np.float16 if self.output == FRAMES else np.float32

    def entry_shape(self) -> tuple[int, ...]:
        """An entry is (1, L + 1, D) pooled, or (T, D) frames."""
        return (self.num_layers + 1, self.hidden_size) if self.output == POOLED else (self.hidden_size,)

    def shape(self) -> tuple[int, int]:
        """(F, T) of a model input: (L + 1, D); frames (1, D + 1), the length a model is built
        for (``ssl_mlp`` takes any number of frames)."""
        return (self.num_layers + 1, self.hidden_size) if self.output == POOLED else (1, self.hidden_size + 1)

    def on_device(self, device) -> SslExtractor:
        """What the cache computes these settings with on ``device`` (the upstream loaded there)."""
        return SslExtractor(self, str(device))

    def compute(self, wav: np.ndarray, overlap: float | None = None, name: str = "") -> np.ndarray:
        return self.on_device("cpu").compute_many([wav], overlap, [name])[0]

    def model_input(self, entry: np.ndarray) -> np.ndarray:
        """A cached entry as one utterance's model input: (1, L + 1, D), or (1, T, D + 1) with the mask channel."""
        if self.output == POOLED:
            return entry
        packed = np.ones((1, len(entry), entry.shape[1] + 1), np.float32)
        packed[0, :, :-1] = entry
        return packed

    @property
    def ragged(self) -> bool:
        """Whether the split keeps the cached entries as they are, each utterance's frames of its own
        length (``ser.training.frames``, padded per batch to :meth:`model_input`'s values), instead
        of model inputs of one shape."""
        return self.output == FRAMES

    def prediction_input(self, wav: np.ndarray, overlap: float | None = None, name: str = "") -> np.ndarray:
        """The model input of a new recording (the upstream run on it, on the CPU)."""
        return self.on_device("cpu").prediction_input(wav, overlap, name)

    def is_tiled(self, samples: int) -> bool:
        return False

    def describe_segmentation(self, overlap: float | None = None) -> dict:
        return {"rule": "the whole recording is one input", "max_seconds": self.max_seconds}


class SslExtractor:
    """:class:`SslSettings` bound to a device: the feature cache's batched computation of them."""

    def __init__(self, settings: SslSettings, device: str):
        self.settings, self.device = settings, device
        self.kind, self.sample_rate, self.uses_name = settings.kind, settings.sample_rate, False
        self.entry_dtype, self.batch_utterances = settings.entry_dtype, BATCH_UTTERANCES

    def check(self) -> SslExtractor:
        """Load the upstream now (a missing or changed one is refused before any work)."""
        loaded_upstream(self.settings, self.device)
        return self

    @property
    def upstream(self) -> Upstream:
        """Loaded on first use: a run whose features are all cached never loads it."""
        return loaded_upstream(self.settings, self.device)

    def key(self, overlap: float | None = None) -> str:
        return self.settings.key(overlap)

    def entry_shape(self) -> tuple[int, ...]:
        return self.settings.entry_shape()

    def compute(self, wav: np.ndarray, overlap: float | None = None, name: str = "") -> np.ndarray:
        return self.compute_many([wav], overlap, [name])[0]

    def prediction_input(self, wav: np.ndarray, overlap: float | None = None, name: str = "") -> np.ndarray:
        """The model input of a new recording, the upstream run on this extractor's device."""
        return self.settings.model_input(self.compute(wav, overlap, name))

    def compute_many(self, wavs: list[np.ndarray], overlap: float | None, names: list[str]) -> list[np.ndarray]:
        """Per utterance (1, L + 1, D) float32 or (T, D) float16; an utterance without a frame is
        refused (the cache then computes the batch one by one and leaves that one out)."""
        least = self.upstream.min_samples
        for wav in wavs:
            if len(wav) < least:
                raise UnusableAudio(R_NO_FRAME, f"{len(wav)} samples, under the {least} of one frame")
        if self.settings.output == POOLED:
            return [p[None] for p in self.upstream.pooled(wavs)]
        return self.upstream.frames(wavs, self.settings.layer)


def _check(settings: SslSettings) -> str | None:
    if settings.upstream is None:
        return ("-f ssl needs --upstream DIR, a Hugging Face-layout folder (config.json, model.safetensors or "
                "pytorch_model.bin, preprocessor_config.json) of a wav2vec 2.0, HuBERT, WavLM or data2vec-audio model")
    if settings.sample_rate != SAMPLE_RATE:
        return f"-f ssl reads audio at {SAMPLE_RATE} Hz (the upstream's rate); drop -s {settings.sample_rate}"
    if settings.output == POOLED and settings.layer is not None:
        return "--layer picks ssl_mlp's hidden state; ssl_linear weighs every layer (drop --layer, or use -m ssl_mlp)"
    if settings.output == FRAMES and not 0 <= settings.layer <= settings.num_layers:
        return (f"--layer {settings.layer}: the upstream {settings.name} has hidden states 0 to "
                f"{settings.num_layers}")
    return None


def _describe(settings: SslSettings) -> dict:
    """Export's recipe: the steps inside its graph (``ser.serving.export_ssl``), which starts from samples."""
    return {"steps": [("zero mean, unit variance over the recording's samples (+1e-7 under the root)"
                       if settings.do_normalize else "the samples as they are"),
                      f"the {settings.family} upstream {settings.name} (sha256 {settings.weights_sha256})",
                      (f"every hidden state's mean over frames, ({settings.num_layers + 1}, {settings.hidden_size})"
                       if settings.output == POOLED else
                       f"hidden state {settings.layer}'s frames rounded to float16, and a mask channel of ones")],
            "in_the_graph": True}


class NotExportable(UserError):
    """A checkpoint whose feature kind export.py cannot write."""


register_feature_kind(FeatureKind(
    KIND, FAMILY, SslSettings, shape=SslSettings.shape, compute=SslSettings.compute, describe=_describe,
    help="hidden states of a self-supervised upstream (--upstream DIR, a local Hugging Face folder of wav2vec 2.0, "
         "HuBERT, WavLM or data2vec-audio): every layer pooled for -m ssl_linear, one layer's frames (--layer, "
         "default the last) for -m ssl_mlp", gives=KIND, check=_check))
