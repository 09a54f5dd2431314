"""Self-supervised speech upstreams (wav2vec 2.0, HuBERT, WavLM, data2vec-audio) from a local folder.

    upstream = load_upstream("models/wavlm-base-plus")        # a Hugging Face-layout folder
    upstream.identity        # UpstreamIdentity: folder name, family, sha256 of the weights, layers, width
    upstream.pooled(wavs)    # per utterance: (L + 1, D) float32, every hidden state's mean over frames
    upstream.frames(wavs, layer=12)   # per utterance: (T, D) float16, one hidden state's frames

**The folder** holds ``config.json`` (its ``model_type`` names the family), the weights
(``model.safetensors`` or ``pytorch_model.bin``; transformers prefers the former, and so does
the hash) and ``preprocessor_config.json``. It is read through ``transformers`` with
``local_files_only=True`` and the hub's offline switches set, so nothing is ever downloaded or
asked of a server. Everything that can be wrong with the folder (a missing file, a config of
another model, a preprocessor at another rate, a truncated or foreign weights file) is checked
before any weight is read and raises one :class:`UpstreamError` that names the file and what to do.

**The identity** (:class:`UpstreamIdentity`) is what a run, a cache key and a checkpoint record:
the folder's name, the family, the sha256 of the weights file (hashed once per file and
process: the hash is kept under the file's path, size, inode and modification time), the
number of transformer layers and the hidden size. :func:`upstream_identity` computes it
without building the model, to check that a checkpoint's upstream is unchanged.

**Input**, as the checkpoint's preprocessor config says: 16 kHz mono (other rates are
refused); with ``do_normalize`` every utterance is scaled to zero mean and unit variance over
its own samples, ``(x - mean) / sqrt(var + 1e-7)`` in float32, exactly as transformers'
``Wav2Vec2FeatureExtractor`` does for one utterance; the attention mask is passed only when the
config sets ``return_attention_mask`` (all ones for a batch of equal lengths).

**Hidden states**: transformers' ``hidden_states``, ``L + 1`` of them: index 0 is the input of
the first transformer layer (the convolutional features, projected to D, plus the convolutional
positional embedding), index k the output of layer k. For checkpoints with
``do_stable_layer_norm`` (the large models) index L is the last layer's output before the
encoder's final layer norm, as transformers 5 returns it (``last_hidden_state`` is after it).
Asking for layer k runs only the first k transformer layers (bitwise what the full model gives
for them).

**Batching never changes a value.** The base models (``feat_extract_norm == "group"``) normalise
each convolution channel over the whole input in their first layer, so zero padding changes
every frame of a padded utterance: they batch only utterances of equal length. A layer-norm
front end with an attention mask is exact under padding for wav2vec 2.0, HuBERT and WavLM
(their frames see only their own samples, and the encoder zeroes padded frames before its one
positional convolution; ``tests/test_upstream.py`` shows it within 1e-5); data2vec-audio
stacks five positional convolutions, the second of which reads what the first wrote into
padded frames, so it batches equal lengths only, as does any checkpoint without the mask.
Batched and one-at-a-time extraction agree within 1e-5 (float32 rounding of batched matrix
products) for every family.

**Long utterances**: one longer than ``max_seconds`` (30 s unless set) is normalised as a
whole, then cut into the fewest chunks of equal length (to a sample) that each fit the limit;
each chunk goes through the model on its own and their hidden states are concatenated along
time (so a 70 s utterance is three chunks of 23.3 s and has slightly fewer frames than one
pass would give). An utterance shorter than the convolutional receptive field
(:attr:`Upstream.min_samples`, 400 samples = 25 ms for every released model) gives no frame
and is refused with :class:`UpstreamInputError`.

The two outputs match the two downstreams (``models.ssl``): :meth:`Upstream.pooled` for
SUPERB's ``ssl_linear``, which only mean-pools (its softmax-weighted layer sum and its
linear projector commute with the mean, so the mean of every layer is all it needs), and
:meth:`Upstream.frames` for EmoBox's ``ssl_mlp``, whose ReLU comes before its pooling.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import struct
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ser.errors import UserError

# model_type in config.json -> the transformers class of the bare encoder.
FAMILIES = {"wav2vec2": "Wav2Vec2Model", "hubert": "HubertModel", "wavlm": "WavLMModel",
            "data2vec-audio": "Data2VecAudioModel"}
# Families whose layer-norm front end is exact under padding with an attention mask (see the module doc).
MASK_EXACT_FAMILIES = ("wav2vec2", "hubert", "wavlm")
CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # transformers' order of preference
SAMPLE_RATE = 16000
MAX_SECONDS = 30.0
# transformers' Wav2Vec2FeatureExtractor adds this to the variance before the square root.
NORM_EPS = 1e-7
# Parameters a checkpoint may lack: pre-training's learned mask embedding, never used to extract.
OPTIONAL_PARAMETERS = ("masked_spec_embed",)
# Audio per batch of padded input (samples of the longest times the batch size); one chunk at
# the limit always fits.
BATCH_SECONDS = 2 * MAX_SECONDS
FOLDER_LAYOUT = f"{CONFIG_FILE}, {' or '.join(WEIGHT_FILES)}, and {PREPROCESSOR_FILE}"

_DIGESTS: dict[tuple, str] = {}


class UpstreamError(UserError):
    """The upstream folder cannot be used; the message names the file and what is wrong."""


class UpstreamInputError(UserError):
    """Audio the upstream cannot take (another rate, too short for one frame)."""


@dataclass(frozen=True)
class UpstreamIdentity:
    """What names an upstream in a run, a cache key and a checkpoint (not where it lies)."""
    name: str              # the folder's name
    family: str            # config.json's model_type: wav2vec2, hubert, wavlm or data2vec-audio
    weights_sha256: str    # of the weights file transformers loads
    num_layers: int        # transformer layers; hidden states are num_layers + 1
    hidden_size: int       # D

    def as_dict(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        """Short form for run names and tables: ``wavlm-base-plus (wavlm, 1a2b3c4d)``."""
        return f"{self.name} ({self.family}, {self.weights_sha256[:8]})"


@dataclass(frozen=True)
class InputSettings:
    """The preprocessor config's three facts that change the numbers (transformers' defaults)."""
    sampling_rate: int = SAMPLE_RATE
    do_normalize: bool = True
    return_attention_mask: bool = False


@dataclass(frozen=True)
class UpstreamFolder:
    """A checked folder: its two configs and the weights file transformers will load."""
    path: Path
    config: dict
    inputs: InputSettings
    weights: Path

    @property
    def family(self) -> str:
        return self.config["model_type"]


def _read_json(path: Path) -> dict:
    try:
        described = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise UpstreamError(f"cannot read {path} ({error})") from None
    except json.JSONDecodeError as error:
        raise UpstreamError(f"{path} is not valid JSON (line {error.lineno}: {error.msg})") from None
    if not isinstance(described, dict):
        raise UpstreamError(f"{path} does not hold a JSON object")
    return described


def _check_safetensors(path: Path) -> None:
    """The header's promise against the file's size: 8 bytes of header length, the JSON
    header, then the tensors up to the largest end offset the header names."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        header_length = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 0 < header_length <= size - 8:
            raise UpstreamError(f"{path} is not a safetensors file or is truncated ({size} bytes); "
                                "copy the weights file again")
        try:
            header = json.loads(f.read(header_length))
            end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"), default=0)
        except (ValueError, TypeError, KeyError, IndexError):
            raise UpstreamError(f"{path} has a damaged safetensors header; copy the weights file again") from None
    expected = 8 + header_length + end
    if size < expected:
        raise UpstreamError(f"{path} is truncated: {size} bytes where its header promises {expected}; "
                            "copy the weights file again")


def _check_torch_zip(path: Path) -> None:
    """A torch checkpoint is a zip archive whose directory sits at its end: truncation loses it."""
    if not zipfile.is_zipfile(path):
        raise UpstreamError(f"{path} is truncated or is not a PyTorch checkpoint (no zip directory at its end); "
                            "copy the weights file again")


def check_upstream_folder(folder: str | os.PathLike) -> UpstreamFolder:
    """The folder's files checked without reading a weight (see the module doc); raises
    :class:`UpstreamError` naming the first problem."""
    path = Path(folder)
    if not path.is_dir():
        raise UpstreamError(f"upstream folder {path} does not exist" if not path.exists()
                            else f"upstream {path} is not a folder (it should hold {FOLDER_LAYOUT})")
    for name in (CONFIG_FILE, PREPROCESSOR_FILE):
        if not (path / name).is_file():
            raise UpstreamError(f"upstream folder {path} has no {name} (a Hugging Face model folder holds "
                                f"{FOLDER_LAYOUT})")
    config = _read_json(path / CONFIG_FILE)
    family = config.get("model_type")
    if family not in FAMILIES:
        raise UpstreamError(f"{path / CONFIG_FILE} describes a {family!r} model, not a speech upstream this "
                            f"toolkit reads ({', '.join(sorted(FAMILIES))})")
    for key in ("num_hidden_layers", "hidden_size"):
        if not isinstance(config.get(key), int) or config[key] < 1:
            raise UpstreamError(f"{path / CONFIG_FILE} has no valid {key}")
    described = _read_json(path / PREPROCESSOR_FILE)
    defaults = InputSettings()
    inputs = InputSettings(**{key: described.get(key, getattr(defaults, key)) for key in asdict(defaults)})
    if inputs.sampling_rate != SAMPLE_RATE:
        raise UpstreamError(f"{path / PREPROCESSOR_FILE} says sampling_rate {inputs.sampling_rate}; the upstreams "
                            f"here take {SAMPLE_RATE} Hz audio (every released wav2vec 2.0, HuBERT, WavLM and "
                            "data2vec-audio checkpoint does)")
    weights = next((path / name for name in WEIGHT_FILES if (path / name).is_file()), None)
    if weights is None:
        sharded = sorted(p.name for p in path.glob("*.index.json"))
        hint = (f" ({sharded[0]} names a sharded checkpoint; save it as one file with "
                "save_pretrained(..., max_shard_size='100GB'))" if sharded else "")
        raise UpstreamError(f"upstream folder {path} has no weights file ({' or '.join(WEIGHT_FILES)}){hint}")
    (_check_safetensors if weights.suffix == ".safetensors" else _check_torch_zip)(weights)
    return UpstreamFolder(path=path, config=config, inputs=inputs, weights=weights)


def weights_digest(path: str | os.PathLike) -> str:
    """sha256 of a file, computed once per process for the same file (same path, size, inode
    and modification time); a rewritten file is hashed again."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_ino, stat.st_mtime_ns)
    if key not in _DIGESTS:
        with open(path, "rb") as f:
            _DIGESTS[key] = hashlib.file_digest(f, "sha256").hexdigest()
    return _DIGESTS[key]


def _identity(checked: UpstreamFolder) -> UpstreamIdentity:
    return UpstreamIdentity(name=checked.path.resolve().name, family=checked.family,
                            weights_sha256=weights_digest(checked.weights),
                            num_layers=checked.config["num_hidden_layers"], hidden_size=checked.config["hidden_size"])


def upstream_identity(folder: str | os.PathLike) -> UpstreamIdentity:
    """The identity of the upstream in ``folder`` without building its model."""
    return _identity(check_upstream_folder(folder))


def normalize(wav: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance over the utterance's samples, in float32, as transformers'
    feature extractor computes it for one unpadded utterance."""
    wav = np.asarray(wav, dtype=np.float32)
    return (wav - wav.mean()) / np.sqrt(wav.var() + NORM_EPS)


def chunk_bounds(samples: int, max_samples: int) -> list[tuple[int, int]]:
    """The fewest consecutive chunks of equal length (to a sample) that each fit ``max_samples``."""
    count = max(1, math.ceil(samples / max_samples))
    edges = [round(i * samples / count) for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


@contextlib.contextmanager
def transformers_offline() -> Iterator[None]:
    """The hub's offline switches for the first import of transformers (later imports keep
    them; ``local_files_only`` is what holds then), no progress bar or warnings while loading."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from transformers.utils import logging as hf_logging
    bar, verbosity = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def load_upstream(folder: str | os.PathLike, device: str | torch.device = "cpu",
                  max_seconds: float = MAX_SECONDS) -> Upstream:
    """Check ``folder``, hash its weights and load its encoder in float32, in eval mode, on
    ``device``. Raises :class:`UpstreamError` for any problem with the folder."""
    checked = check_upstream_folder(folder)
    identity = _identity(checked)
    with transformers_offline():
        import transformers
        model_class = getattr(transformers, FAMILIES[identity.family])
        try:
            # transformers initialises the model before it loads the weights: on a generator of
            # its own, so that a run extracting features draws what the same run draws when it
            # reads them from the cache (the downstream's initial weights, its batches)
            with torch.random.fork_rng(devices=[]):
                model, info = model_class.from_pretrained(checked.path, local_files_only=True, dtype=torch.float32,
                                                          output_loading_info=True)
        except Exception as error:  # transformers, safetensors and torch each raise their own kinds
            raise UpstreamError(f"cannot load the {identity.family} upstream in {checked.path} from "
                                f"{checked.weights.name}: {_first_line(error)}") from None
    missing = sorted(key for key in info["missing_keys"] if key.split(".")[-1] not in OPTIONAL_PARAMETERS)
    if missing or info["mismatched_keys"]:
        wrong = missing or sorted(str(key) for key in info["mismatched_keys"])
        how = "missing" if missing else "of another shape"
        raise UpstreamError(f"{checked.weights} does not hold the weights of the {identity.family} model "
                            f"{CONFIG_FILE} describes ({len(wrong)} parameters {how}, e.g. {wrong[0]}); "
                            "is it the weights file of another model?")
    return Upstream(checked.path, model.eval().to(device), identity, checked.inputs, max_seconds)


class Upstream:
    """A loaded upstream (see the module doc); build it with :func:`load_upstream`."""

    def __init__(self, folder: Path, model: torch.nn.Module, identity: UpstreamIdentity, inputs: InputSettings,
                 max_seconds: float = MAX_SECONDS):
        self.folder, self.model, self.identity, self.inputs = folder, model, identity, inputs
        self.device = next(model.parameters()).device
        # "group" (the base models) or "layer"; data2vec-audio has only the layer-norm front end
        self.front_end = getattr(model.config, "feat_extract_norm", "layer")
        self.pads_exactly = (self.front_end == "layer" and inputs.return_attention_mask
                             and identity.family in MASK_EXACT_FAMILIES)
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        receptive = 1
        for kernel, stride in zip(reversed(model.config.conv_kernel), reversed(model.config.conv_stride)):
            receptive = (receptive - 1) * stride + kernel
        self.min_samples = receptive
        if self.max_samples < self.min_samples:
            raise ValueError(f"max_seconds={max_seconds} is shorter than one frame's {self.min_samples} samples")

    @property
    def num_hidden_states(self) -> int:
        return self.identity.num_layers + 1

    def key_fields(self) -> dict:
        """Everything that changes the numbers, for a cache key: the identity, the preprocessor's
        settings, the chunk limit and the transformers version (the model code)."""
        import transformers
        return {**self.identity.as_dict(), **asdict(self.inputs), "max_samples": self.max_samples,
                "transformers": transformers.__version__}

    def frames_for(self, samples: int) -> int:
        """Frames the convolutional front end makes of ``samples`` samples (one chunk)."""
        return int(self.model._get_feat_extract_output_lengths(torch.tensor(samples)))

    # -- input ------------------------------------------------------------------------------

    def _chunks(self, wavs: Sequence[np.ndarray], sample_rate: int) -> list[list[np.ndarray]]:
        """Each utterance normalised (if the checkpoint says so) and cut into its chunks."""
        if sample_rate != SAMPLE_RATE:
            raise UpstreamInputError(f"audio at {sample_rate} Hz: the {self.identity.family} upstream takes "
                                     f"{SAMPLE_RATE} Hz; resample it first")
        chunked = []
        for wav in wavs:
            wav = np.asarray(wav, dtype=np.float32)
            if wav.ndim != 1:
                raise UpstreamInputError(f"a recording must be one channel of samples, not an array of "
                                         f"shape {wav.shape}")
            if len(wav) < self.min_samples:
                raise UpstreamInputError(f"a recording of {len(wav)} samples ({1000 * len(wav) / SAMPLE_RATE:.1f} ms) "
                                         f"is shorter than the {self.min_samples} samples of one "
                                         f"{self.identity.family} frame")
            if self.inputs.do_normalize:
                wav = normalize(wav)
            chunked.append([wav[start:end] for start, end in chunk_bounds(len(wav), self.max_samples)])
        return chunked

    def _batches(self, lengths: list[int], batch_samples: int) -> list[list[int]]:
        """Indices of chunks batched without changing a value: sorted longest first, then equal
        lengths together, or (``pads_exactly``) any lengths padded to the batch's longest."""
        order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
        batches: list[list[int]] = []
        for i in order:
            batch = batches[-1] if batches else None
            fits = (batch is not None and (len(batch) + 1) * lengths[batch[0]] <= batch_samples
                    and (self.pads_exactly or lengths[i] == lengths[batch[0]]))
            if fits:
                batch.append(i)
            else:
                batches.append([i])
        return batches

    @contextlib.contextmanager
    def _depth(self, layers: int) -> Iterator[None]:
        """Run only the first ``layers`` transformer layers (at least one: transformers records
        hidden state 0 as the first layer's input)."""
        encoder = self.model.encoder
        full = encoder.layers
        encoder.layers = torch.nn.ModuleList(list(full)[:max(layers, 1)])
        try:
            yield
        finally:
            encoder.layers = full

    def _hidden(self, chunks: list[np.ndarray], keep: Sequence[int],
                batch_samples: int) -> Iterator[tuple[int, torch.Tensor]]:
        """(chunk index, (len(keep), T, D) float32 CPU tensor) for every chunk, batch by batch."""
        lengths = [len(c) for c in chunks]
        with torch.inference_mode(), self._depth(max(keep)), warnings.catch_warnings():
            # WavLM's attention hands torch a boolean padding mask beside a float bias
            warnings.filterwarnings("ignore", message="Support for mismatched key_padding_mask")
            for batch in self._batches(lengths, batch_samples):
                longest = lengths[batch[0]]
                inputs = torch.zeros(len(batch), longest)
                mask = torch.zeros(len(batch), longest, dtype=torch.long)
                for row, i in enumerate(batch):
                    inputs[row, :lengths[i]] = torch.from_numpy(chunks[i])
                    mask[row, :lengths[i]] = 1
                out = self.model(inputs.to(self.device), output_hidden_states=True,
                                 attention_mask=mask.to(self.device) if self.inputs.return_attention_mask else None)
                for row, i in enumerate(batch):
                    frames = self.frames_for(lengths[i])
                    yield i, torch.stack([out.hidden_states[k][row, :frames] for k in keep]).float().cpu()

    def hidden_states(self, wavs: Sequence[np.ndarray], layers: Sequence[int] | None = None,
                      sample_rate: int = SAMPLE_RATE, batch_seconds: float = BATCH_SECONDS) -> list[torch.Tensor]:
        """Per utterance, the hidden states ``layers`` (default all, 0 to L) as one float32
        tensor ``(len(layers), T, D)``, chunks concatenated along time."""
        keep = list(range(self.num_hidden_states)) if layers is None else [self._check_layer(k) for k in layers]
        chunked = self._chunks(wavs, sample_rate)
        flat = [chunk for chunks in chunked for chunk in chunks]
        parts: list[torch.Tensor | None] = [None] * len(flat)
        for i, states in self._hidden(flat, keep, int(batch_seconds * SAMPLE_RATE)):
            parts[i] = states
        out, start = [], 0
        for chunks in chunked:
            out.append(torch.cat(parts[start:start + len(chunks)], dim=1))
            start += len(chunks)
        return out

    def pooled(self, wavs: Sequence[np.ndarray], sample_rate: int = SAMPLE_RATE,
               batch_seconds: float = BATCH_SECONDS) -> list[np.ndarray]:
        """Per utterance, every hidden state's mean over the utterance's frames: ``(L + 1, D)``
        float32 (the input of ``models.ssl``'s ``ssl_linear``)."""
        chunked = self._chunks(wavs, sample_rate)
        owner = [u for u, chunks in enumerate(chunked) for _ in chunks]
        flat = [chunk for chunks in chunked for chunk in chunks]
        sums = [torch.zeros(self.num_hidden_states, self.identity.hidden_size, dtype=torch.float64) for _ in chunked]
        counts = [0] * len(chunked)
        for i, states in self._hidden(flat, range(self.num_hidden_states), int(batch_seconds * SAMPLE_RATE)):
            sums[owner[i]] += states.sum(dim=1, dtype=torch.float64)
            counts[owner[i]] += states.shape[1]
        return [(total / count).float().numpy() for total, count in zip(sums, counts)]

    def frames(self, wavs: Sequence[np.ndarray], layer: int, sample_rate: int = SAMPLE_RATE,
               batch_seconds: float = BATCH_SECONDS) -> list[np.ndarray]:
        """Per utterance, hidden state ``layer``'s frames: ``(T, D)`` float16 (the input of
        ``models.ssl``'s ``ssl_mlp``, with a mask channel added by ``models.ssl.pack_frames``)."""
        states = self.hidden_states(wavs, [layer], sample_rate, batch_seconds)
        return [s[0].to(torch.float16).numpy() for s in states]

    def _check_layer(self, layer: int) -> int:
        if not 0 <= layer < self.num_hidden_states:
            raise UpstreamInputError(f"layer {layer} does not exist: the {self.identity.family} upstream "
                                     f"{self.identity.name} has hidden states 0 to {self.identity.num_layers}")
        return int(layer)
