"""Seed 004's spectrogram-image models: AlexNet finetuning and FCN+GAP.

Seed 004 is the spectrogram-image system of samsudinng/speech_emo_recognition.

Both are torchvision's AlexNet (the "one weird trick" variant) built here layer by layer,
under torchvision's attribute names (``features.0`` ... ``features.10``, ``classifier.1/4/6``),
so an ImageNet AlexNet state dict in torchvision's key layout loads as it is:

- ``alexnet`` ("AlexNet Finetuning"): conv stack → AdaptiveAvgPool 6×6 → Dropout → 9216→4096
  → ReLU → Dropout → 4096→4096 → ReLU → 4096→num_classes. 57,020,228 parameters with 4 classes.
- ``alexnet_gap`` ("FCN+GAP"): conv stack → AdaptiveAvgPool 6×6 → 1×1 conv 256→num_classes
  → AvgPool 6 (the seed averages the 6×6 grid, not the native map; ``native_gap=True``
  averages the conv stack's own map instead). 2,470,724 parameters with 4 classes.

Input: the registry's ``(B, 1, F, T)`` maps, scaled to [0, 1] (``ser.training.augment.MinMaxScaler``);
a C-channel feature arrives with its channels stacked along F (``ser.features.spectral.pack``, F = C·F₀)
and ``in_channels=C``; ``(B, C, F₀, T)`` is accepted too. The model turns it into the image the
seed fed AlexNet, inside ``forward`` so every training loop gets it:

1. clip to [0, 1]; with ``quantize`` (default, as the seed) truncate to 256 grey levels;
2. flip frequency, so the highest frequency is the top row;
3. a 1-channel map becomes R = G = B; a 3-channel feature supplies R, G, B itself (the seed
   repeated each channel 3 times and broke);
4. bilinear resize of the shorter side to ``image_size`` (256), aspect kept: 200×300 → 256×384,
   128×300 → 256×600 (with ``quantize``, rounded to 256 levels again, as PIL's uint8 resize);
5. ImageNet mean/std normalisation.

Initialisation: Xavier-uniform weights and zero biases on every new layer (the last layer
always; every conv and FC layer without pretrained weights). ``pretrained=PATH`` loads a local
ImageNet AlexNet state dict (torchvision's ``alexnet-owt-7be5be79.pth``); nothing is ever
downloaded, and a missing or wrong file raises :class:`PretrainedWeightsError` with what to do.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import Shape
from .registry import ModelOptionError, ModelRecipe, OptionFlag, register_model, register_option_flag

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CONV_INDICES = (0, 3, 6, 8, 10)
FC_INDICES = (1, 4)  # the 4096-unit layers; classifier.6 is always new
# The smallest image side AlexNet's feature extractor maps to at least one pixel (its three
# stride-2 max pools after the stride-4 first convolution).
MIN_IMAGE_SIZE = 63


class PretrainedWeightsError(ValueError):
    """The ``pretrained`` file is missing or is not an ImageNet AlexNet state dict."""


def alexnet_features() -> nn.Sequential:
    """torchvision's AlexNet conv stack (2,469,696 parameters), indices as there."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def xavier_(layer: nn.Module) -> None:
    """The seed's init helper: Xavier-uniform (gain 1) weight, zero bias."""
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)


def image_size_for(bins: int, frames: int, short_side: int) -> tuple[int, int]:
    """torchvision ``Resize(short_side)`` on an image of height ``bins`` and width ``frames``."""
    if bins <= frames:
        return short_side, int(short_side * frames / bins)
    return int(short_side * bins / frames), short_side


def load_imagenet_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A torchvision-layout AlexNet state dict from a local file (never downloads)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise PretrainedWeightsError(
            f"pretrained weights {file} not found; this project never downloads weights: copy torchvision's "
            f"ImageNet AlexNet file (alexnet-owt-7be5be79.pth) to this machine and pass its path")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a file that is not a checkpoint
        raise PretrainedWeightsError(f"cannot read pretrained weights {file} ({type(error).__name__}: {error}); "
                                     f"pass a torchvision AlexNet state dict (.pth)") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise PretrainedWeightsError(f"{file} does not hold a state dict; pass a torchvision AlexNet .pth file")
    return state


def imagenet_tensors(path: str | os.PathLike, head: str = "fc") -> dict[str, torch.Tensor]:
    """The pretrained tensors a model with ``head`` takes from an ImageNet AlexNet file: the
    conv stack, and for ``fc`` the two 4096-unit layers; PretrainedWeightsError if absent."""
    state = load_imagenet_state(path)
    expected = {f"features.{key}": tuple(value.shape) for key, value in alexnet_features().state_dict().items()}
    if head == "fc":
        expected.update({"classifier.1.weight": (4096, 256 * 6 * 6), "classifier.1.bias": (4096,),
                         "classifier.4.weight": (4096, 4096), "classifier.4.bias": (4096,)})
    missing = [key for key in expected if key not in state]
    wrong = [f"{key} {tuple(state[key].shape)} (expected {shape})" for key, shape in expected.items()
             if key in state and tuple(state[key].shape) != shape]
    if missing or wrong:
        raise PretrainedWeightsError(
            f"{path} is not an ImageNet AlexNet state dict in torchvision's layout: "
            + "; ".join(([f"missing {', '.join(missing)}"] if missing else [])
                        + ([f"wrong shape {', '.join(wrong)}"] if wrong else [])))
    return {key: state[key] for key in expected}


class SpectrogramAlexNet(nn.Module):
    """AlexNet on spectrogram images; ``head`` is ``"fc"`` (alexnet) or ``"gap"`` (alexnet_gap).

    Args:
        shape: (F, T) of the input maps; F = in_channels · bins per channel.
        num_classes: logits (4 for seed 004's IEMOCAP set, 7 for emoDB).
        in_channels: feature channels stacked along F (1 or 3).
        head: ``"fc"`` or ``"gap"``.
        pretrained: path of an ImageNet AlexNet state dict, or None.
        image_size: the image's shorter side (256 in the seed).
        quantize: truncate to 256 grey levels before resizing, as the seed's uint8 image.
        native_gap: ``gap`` head only: average the conv stack's own map, not the 6×6 grid.
    """

    def __init__(self, shape: Shape, num_classes: int = 4, *, in_channels: int = 1, head: str = "fc",
                 pretrained: str | os.PathLike | None = None, image_size: int = 256, quantize: bool = True,
                 native_gap: bool = False):
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 (grey image) or 3 (one channel per colour), got {in_channels}")
        if shape[0] % in_channels:
            raise ValueError(f"input height {shape[0]} is not a multiple of in_channels {in_channels}")
        if head not in ("fc", "gap"):
            raise ValueError(f"head must be 'fc' or 'gap', got {head!r}")
        self.shape = tuple(int(n) for n in shape)
        self.in_channels, self.head, self.quantize, self.native_gap = in_channels, head, quantize, native_gap
        self.bins = self.shape[0] // in_channels
        self.image_shape = image_size_for(self.bins, self.shape[1], image_size)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.features = alexnet_features()
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        if head == "fc":
            self.classifier = nn.Sequential(
                nn.Dropout(p=0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
                nn.Dropout(p=0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
                nn.Linear(4096, num_classes))
            new_layers = [self.classifier[6]]
        else:
            self.classifier_conv = nn.Conv2d(256, num_classes, kernel_size=1)
            new_layers = [self.classifier_conv]
        if pretrained is None:
            new_layers += [self.features[i] for i in CONV_INDICES]
            if head == "fc":
                new_layers += [self.classifier[i] for i in FC_INDICES]
        else:
            self.load_imagenet(pretrained)
        for layer in new_layers:
            xavier_(layer)

    def load_imagenet(self, path: str | os.PathLike) -> None:
        """Copy the conv stack (and, for ``fc``, the two 4096-unit layers) from an ImageNet file."""
        self.load_state_dict(imagenet_tensors(path, self.head), strict=False)

    def to_image(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, C·F, T) or (B, C, F, T) scaled maps -> (B, 3, H, W) normalised images."""
        b, t = x.shape[0], x.shape[-1]
        x = x.reshape(b, self.in_channels, self.bins, t).clamp(0.0, 1.0)
        if self.quantize:
            x = torch.floor(x * 255) / 255  # the seed's uint8 cast truncates
        x = x.flip(2).expand(b, 3, self.bins, t) if self.in_channels == 1 else x.flip(2)
        x = F.interpolate(x, size=self.image_shape, mode="bilinear", align_corners=False, antialias=True)
        if self.quantize:
            x = torch.round(x * 255) / 255  # PIL resizes uint8 images to uint8
        return (x - self.mean) / self.std

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Maps -> the classifier's input: (B, 9216) for ``fc``; (B, 256, 6, 6), or the native
        (B, 256, h, w) with ``native_gap``, for ``gap``."""
        z = self.features(self.to_image(x))
        if self.head == "gap" and self.native_gap:
            return z
        z = self.avgpool(z)
        return torch.flatten(z, 1) if self.head == "fc" else z

    def forward_head(self, z: torch.Tensor) -> torch.Tensor:
        if self.head == "fc":
            return self.classifier(z)
        # a 1×1 conv commutes with averaging, so averaging last equals the seed's AvgPool2d(6)
        return self.classifier_conv(z).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _checker(head: str):
    """The options check of an AlexNet model with ``head`` (see ``models.check_options``)."""
    def check(*, image_size: int | None = None, pretrained: str | None = None, **_) -> None:
        if image_size is not None and image_size < MIN_IMAGE_SIZE:
            raise ModelOptionError("image_size", f"image size {image_size}: AlexNet's feature extractor needs "
                                                 f"images of at least {MIN_IMAGE_SIZE} pixels on the shorter side")
        if pretrained is not None:
            try:
                imagenet_tensors(pretrained, head)
            except PretrainedWeightsError as error:
                raise ModelOptionError("pretrained", str(error)) from None
    return check


# Seed 004's own training recipe (its train_ser.py defaults: AdamW, lr 1e-4 without a schedule,
# no mixup, the epoch chosen on validation WA, utterances scored by their segments' mean
# log-softmax, 200 epochs of batch 32, its own label set per corpus, logspec images scaled to
# [0, 1]), which its models train with unless a flag says otherwise.
SEED004_RECIPE = ModelRecipe(
    source="seed 004's own recipe",
    flags={"features_to_use": "logspec", "optimizer": "adamw", "learning_rate": 1e-4, "lr_schedule": "constant",
           "alpha": 0.0, "select_on": "WA", "pooling": "log_softmax", "epochs": 200, "batch_size": 32},
    labels={"iemocap": "seed004", "emodb": "emodb"}, minmax=True)

register_option_flag("pretrained", OptionFlag(
    "--pretrained", "pretrained", "ImageNet AlexNet weights", None,
    "alexnet models: local ImageNet AlexNet state dict (torchvision's alexnet-owt-7be5be79.pth); never downloaded",
    metavar="PATH"))
register_option_flag("image_size", OptionFlag(
    "--image_size", "image_size", "an image size", int,
    "alexnet models: shorter side of the input image (default: the model's, 256)"))


# Not stackable: their recipe scales each seed's inputs with a min-max scaler fitted on that
# seed's training set, so one shared copy of the features cannot serve K seeds, and their
# image resizing is not checked under vmap.
@register_model("alexnet", check=_checker("fc"), recipe=SEED004_RECIPE)
def alexnet(*, shape: Shape, num_classes: int = 4, in_channels: int = 1, pretrained: str | None = None,
            image_size: int = 256, quantize: bool = True) -> SpectrogramAlexNet:
    """Seed 004's ``alexnet`` ("AlexNet Finetuning", ``SER_AlexNet``; README: WA 74.0 %, UA 64.4 %
    with stability training): AlexNet with a new 4096→num_classes last layer."""
    return SpectrogramAlexNet(shape, num_classes, in_channels=in_channels, head="fc", pretrained=pretrained,
                              image_size=image_size, quantize=quantize)


@register_model("alexnet_gap", check=_checker("gap"), recipe=SEED004_RECIPE)
def alexnet_gap(*, shape: Shape, num_classes: int = 4, in_channels: int = 1, pretrained: str | None = None,
                image_size: int = 256, quantize: bool = True, native_gap: bool = False) -> SpectrogramAlexNet:
    """Seed 004's ``alexnet_gap`` ("FCN+GAP", ``SER_AlexNet_GAP``; README: WA 73.2 %, UA 62.6 %):
    AlexNet's conv stack, a 1×1 conv to the classes and global average pooling."""
    return SpectrogramAlexNet(shape, num_classes, in_channels=in_channels, head="gap", pretrained=pretrained,
                              image_size=image_size, quantize=quantize, native_gap=native_gap)
