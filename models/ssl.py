"""Downstream models on frozen self-supervised features (``ser.features.upstream``) and on eGeMAPS
functionals (``ser.features.egemaps``), in the registry's input convention ``(B, 1, F, T)``:

- ``ssl_linear`` (SUPERB's emotion downstream, s3prl): ``(B, 1, L, D)``, every hidden state's
  mean over frames (``Upstream.pooled``). A softmax over L learned layer weights (zeros at
  start) mixes the hidden states, a linear projector maps D to 256, and a linear layer gives the
  classes. s3prl mixes and projects every frame, then mean-pools; both are linear, so mixing and
  projecting the means is the same function, and the pooled means are all this model needs.
- ``ssl_mlp`` (EmoBox's and emotion2vec's IEMOCAP downstream): ``(B, 1, T, D + 1)``, one hidden
  state's frames (``Upstream.frames``) with a last channel that is 1 on a real frame and 0 on
  padding (:func:`pack_frames`; training pads each batch to its longest utterance,
  ``ser.training.frames``). Linear(D, 256), ReLU, the mean over the real frames, linear.
  The ReLU comes before the pooling, which is why this one needs the frames. With
  ``utterance_norm`` each utterance's frames are first scaled to zero mean and unit variance
  over all its real frames and channels (EmoBox's ``--output_norm``, which its README's recipe
  sets: ``F.layer_norm`` over the utterance's (T, D) at extraction).
- ``mlp`` and ``linear`` (eGeMAPS heads): ``(B, 1, 88, 1)`` as ``--features egemaps`` gives them
  (``ser.features.egemaps_kind``), one utterance's functionals, min-max scaled per functional on
  the training part (the pipeline's ``--minmax``, which their recipes set; Nkululeko z-scores).
  ``mlp``: Linear → ReLU per hidden size (64 then 16, Nkululeko's example configuration), then
  linear; ``linear``: one linear layer (multinomial logistic regression). Any (F, T) input is
  flattened, so a map works too.

Each model has ``forward_features`` (the pooled representation before the classifier),
``forward_head`` and the classifier ``fc``, as the GLAM family does. :data:`RECIPES` holds each
model's published training recipe as data (see :class:`Recipe`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import Shape
from .registry import ModelOptionError, ModelRecipe, register_model

# F.layer_norm's default epsilon, which EmoBox's --output_norm uses.
UTTERANCE_NORM_EPS = 1e-5


@dataclass(frozen=True)
class Recipe:
    """A downstream's published training recipe, as its source code sets it."""
    source: str                     # where the numbers are (repository and file)
    optimizer: str                  # "adam": torch.optim.Adam with PyTorch's defaults unless weight_decay says
    lr: float
    batch_size: int
    epochs: int
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    grad_clip: float | None = None  # max gradient norm
    mixup: bool = False
    layer: str = "all"              # the hidden states it reads: "all" (pooled) or "last" (one layer's frames)
    notes: str = ""


RECIPES: dict[str, Recipe] = {
    "ssl_linear": Recipe(
        source="s3prl/s3prl: s3prl/downstream/emotion/config.yaml, expert.py; s3prl/downstream/model.py "
               "(UtteranceLevel, MeanPooling); the runner's featurizer (softmax-weighted sum of all hidden states)",
        optimizer="adam", lr=1e-4, batch_size=32, epochs=271, grad_clip=1.0, layer="all",
        notes="s3prl trains 30,000 updates of 4 utterances x 8 accumulated steps (32 per update, the same "
              "gradient as a batch of 32 here: no layer depends on the batch); 271 epochs is that on IEMOCAP's "
              "~3,540 training utterances of a leave-one-session-out fold. Model selection: the best accuracy "
              "on 20 % of the training sessions' utterances (torch seed 0), checked every 1,000 updates. "
              "No scheduler (the config's linear warm-up is commented out); upstream_feature_normalize off."),
    "ssl_mlp": Recipe(
        source="emo-box/EmoBox: examples/sb/hparams/wav2vec2-base_freeze.yaml, examples/sb/train.py, "
               "examples/sb/classifier_head.py (SuperbBaseModel), examples/sb/speech_feature_extraction.py",
        optimizer="adam", lr=1e-4, batch_size=32, epochs=20, lr_schedule="linear warm-up", layer="last",
        notes="SpeechBrain's LinearWarmupScheduler(initial lr, 10 warm-up steps, 20 training steps), stepped "
              "once per epoch; the README's example command overrides 100 epochs and hidden size 128, and "
              "extracts with --output_norm (utterance_norm here). Features: last_hidden_state of the upstream "
              "(utterances over 30 s are skipped there; chunked here). emotion2vec's own IEMOCAP downstream "
              "(ddlBoJack/emotion2vec iemocap_downstream/main.py, train.sh): the same model with RMSprop "
              "(lr 5e-4, momentum 0.9), CyclicLR 5e-4 to 1e-3 (10 epochs up), batch 128, 100 epochs, best "
              "validation WA, seed 42."),
    "mlp": Recipe(
        source="felixbur/nkululeko: nkululeko/models/model_mlp.py; feat_extract/feats_opensmile.py "
               "(eGeMAPSv02 functionals); the example exp_emodb_compare_os.ini (layers {'l1':64, 'l2':16}, "
               "scale = standard, epochs 50, patience 5)",
        optimizer="adam", lr=1e-4, batch_size=8, epochs=50, layer="all",
        notes="Nkululeko sorts the layer sizes ascending before building (88 -> 16 -> 64 -> classes); the "
              "sizes here are in the order its configuration writes them (88 -> 64 -> 16). Inputs z-scored "
              "on the training set (ser.features.egemaps.Standardiser)."),
    "linear": Recipe(
        source="the mlp recipe (felixbur/nkululeko) without hidden layers",
        optimizer="adam", lr=1e-4, batch_size=8, epochs=50, layer="all",
        notes="Inputs z-scored on the training set (ser.features.egemaps.Standardiser)."),
}


def _check_input(name: str, x: torch.Tensor, shape: tuple[int, int], what: str) -> None:
    if x.dim() != 4 or x.shape[1] != 1 or tuple(x.shape[2:]) != shape:
        raise ValueError(f"{name} takes (B, 1, {shape[0]}, {shape[1]}) inputs ({what}), "
                         f"not {tuple(x.shape)}")


class SslLinear(nn.Module):
    """SUPERB's emotion downstream on pooled hidden states (see the module doc)."""

    def __init__(self, shape: Shape, num_classes: int, projector_dim: int = 256):
        super().__init__()
        self.shape = tuple(shape)
        layers, width = self.shape
        self.layer_weights = nn.Parameter(torch.zeros(layers))
        self.projector = nn.Linear(width, projector_dim)
        self.fc = nn.Linear(projector_dim, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        _check_input("ssl_linear", x, self.shape, "every hidden state's mean over frames")
        mixed = torch.einsum("l,bld->bd", F.softmax(self.layer_weights, dim=0), x[:, 0])
        return self.projector(mixed)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class SslMlp(nn.Module):
    """EmoBox's downstream on one hidden state's frames and a mask channel (see the module doc).
    The frame count T of the registry's shape is only the length it was built for: any T works."""

    def __init__(self, shape: Shape, num_classes: int, hidden_dim: int = 256, utterance_norm: bool = False):
        super().__init__()
        self.shape = tuple(shape)
        self.utterance_norm = utterance_norm
        self.pre_net = nn.Linear(self.shape[1] - 1, hidden_dim)
        self.fc = nn.Linear(hidden_dim, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[3] != self.shape[1]:
            raise ValueError(f"ssl_mlp takes (B, 1, T, {self.shape[1]}) inputs (frames of {self.shape[1] - 1} "
                             f"channels and a mask channel), not {tuple(x.shape)}")
        frames, real = x[:, 0, :, :-1], (x[:, 0, :, -1:] > 0.5).to(x.dtype)  # real: (B, T, 1)
        count = real.sum(dim=1).clamp_min(1)  # (B, 1); an utterance without frames pools to zeros
        if self.utterance_norm:
            values = count * frames.shape[2]
            mean = (frames * real).sum(dim=(1, 2), keepdim=True) / values[:, :, None]
            var = (((frames - mean) * real) ** 2).sum(dim=(1, 2), keepdim=True) / values[:, :, None]
            frames = (frames - mean) / torch.sqrt(var + UTTERANCE_NORM_EPS)
        hidden = F.relu(self.pre_net(frames)) * real
        return hidden.sum(dim=1) / count

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class FunctionalsMlp(nn.Module):
    """An MLP on one vector per utterance (eGeMAPS): Linear → ReLU (→ Dropout) per hidden size,
    then the classifier ``fc``; no hidden size is a linear classifier."""

    def __init__(self, shape: Shape, num_classes: int, hidden_dims: Sequence[int] = (64, 16), dropout: float = 0.0):
        super().__init__()
        self.shape = tuple(shape)
        width, body = int(np.prod(self.shape)), []
        for size in hidden_dims:
            body += [nn.Linear(width, size), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
            width = size
        self.body = nn.Sequential(*body)
        self.fc = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        _check_input("this model", x, self.shape, "one vector per utterance")
        return self.body(x.flatten(1))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def pack_frames(frames: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
    """Utterances' ``(T_i, D)`` frames as ``ssl_mlp``'s input ``(N, T, D + 1)`` float32: zero
    padding to ``length`` (default: the longest) and a last channel of 1 on real frames."""
    longest = max((len(f) for f in frames), default=0)
    length = longest if length is None else length
    if length < longest:
        raise ValueError(f"pack_frames: length {length} is shorter than an utterance of {longest} frames")
    width = frames[0].shape[1] if frames else 0
    packed = np.zeros((len(frames), length, width + 1), np.float32)
    for row, f in zip(packed, frames):
        row[:len(f), :width] = f
        row[:len(f), width] = 1.0
    return packed


def _positive(**options) -> None:
    for key, value in options.items():
        values = value if isinstance(value, (tuple, list)) else (value,)
        if key in ("projector_dim", "hidden_dim", "hidden_dims") and any(v < 1 for v in values):
            raise ModelOptionError(key, f"{key} must be at least 1, not {value}")
        if key == "dropout" and not 0 <= value < 1:
            raise ModelOptionError(key, f"dropout must be in [0, 1), not {value}")


# What each downstream reads, as the feature kinds of issue 27 give it: the hidden states of a
# self-supervised upstream (``--features ssl``), or eGeMAPS functionals (``--features egemaps``).
SSL_INPUTS = ("ssl",)
FUNCTIONALS_INPUTS = ("egemaps",)


def _recipe(name: str, known_as: str, minmax: bool = False) -> ModelRecipe:
    """:data:`RECIPES`' ``name`` as the defaults of a run (train.py's flags): what the engine
    has of it (Adam, lr, batch, epochs, no mixup, a constant lr); the rest (gradient clipping,
    a warm-up) is named in ``source``, which ``--help`` and the run's notes show."""
    recipe = RECIPES[name]
    flags = {"optimizer": recipe.optimizer, "learning_rate": recipe.lr, "batch_size": recipe.batch_size,
             "epochs": recipe.epochs, "alpha": 0.5 if recipe.mixup else 0.0}
    missing = []
    if recipe.lr_schedule == "constant":
        flags["lr_schedule"] = "constant"
    else:
        missing.append(f"its {recipe.lr_schedule}")
    if recipe.grad_clip is not None:
        missing.append(f"gradient clipping at norm {recipe.grad_clip}")
    if minmax:
        missing.append("z-scoring (the functionals are min-max scaled on the training part instead, --minmax)")
    return ModelRecipe(source=known_as + (f" (not here: {', '.join(missing)})" if missing else ""), flags=flags,
                       minmax=minmax)


@register_model("ssl_linear", check=_positive, stackable=True,
                recipe=_recipe("ssl_linear", "SUPERB's emotion recipe (s3prl)"), inputs=SSL_INPUTS)
def ssl_linear(*, shape: Shape, num_classes: int = 4, projector_dim: int = 256) -> SslLinear:
    """SUPERB's emotion downstream (s3prl): learned softmax weights over every hidden state,
    Linear(D, 256), mean pooling, linear; on ``(L + 1, D)`` pooled hidden states."""
    return SslLinear(shape, num_classes, projector_dim)


@register_model("ssl_mlp", check=_positive, stackable=True, recipe=_recipe("ssl_mlp", "EmoBox's recipe"),
                inputs=SSL_INPUTS)
def ssl_mlp(*, shape: Shape, num_classes: int = 4, hidden_dim: int = 256, utterance_norm: bool = False) -> SslMlp:
    """EmoBox's / emotion2vec's downstream: one hidden state's frames, Linear(D, 256), ReLU, masked
    mean, linear; on ``(T, D + 1)`` frames with a mask channel."""
    return SslMlp(shape, num_classes, hidden_dim, utterance_norm)


@register_model("mlp", check=_positive, stackable=True,
                recipe=_recipe("mlp", "Nkululeko's eGeMAPS recipe", minmax=True), inputs=FUNCTIONALS_INPUTS)
def mlp(*, shape: Shape, num_classes: int = 4, hidden_dims: tuple[int, ...] = (64, 16),
        dropout: float = 0.0) -> FunctionalsMlp:
    """eGeMAPS MLP (Nkululeko's): 88 → 64 → 16 → classes with ReLUs, on standardised functionals."""
    return FunctionalsMlp(shape, num_classes, hidden_dims, dropout)


@register_model("linear", check=_positive, stackable=True,
                recipe=_recipe("linear", "Nkululeko's eGeMAPS recipe", minmax=True), inputs=FUNCTIONALS_INPUTS)
def linear(*, shape: Shape, num_classes: int = 4) -> FunctionalsMlp:
    """eGeMAPS linear classifier: one Linear(88, classes) on standardised functionals."""
    return FunctionalsMlp(shape, num_classes, hidden_dims=())
