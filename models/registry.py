"""Name -> builder registry for the models (style guide rule 3; after torchvision's ``_api.py``
and timm's ``create_model``).

Builders register under the paper's / original code's exact names. Old spellings that the
original README and scripts use (``MACNN``, ``APCNN``, ``MAResMultiConv3``) are aliases: they
resolve in ``create_model`` but ``list_models`` shows only canonical names.

A model owns its options: :func:`check_options` refuses an option its builder does not take,
a count option (heads, hidden size, area width) below 1, and whatever the builder's own check
(given at registration, e.g. AlexNet's image size and pretrained file) refuses, with a
:class:`ModelOptionError` that names the option.
"""
from __future__ import annotations

import inspect
from typing import Callable, TypeVar

import torch
import torch.nn as nn

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_ALIASES: dict[str, str] = {}
_CHECKS: dict[str, Callable[..., None]] = {}
# Integer options that count something (attention heads, hidden channels, area width).
_COUNTS = ("num_heads", "attn_hidden", "max_area_width")


class ModelOptionError(ValueError):
    """An option a model cannot take; ``option`` names it and the message says why."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


def register_model(name: str, aliases: tuple[str, ...] = (),
                   check: Callable[..., None] | None = None) -> Callable[[Builder], Builder]:
    """Decorator registering a builder under ``name`` (and ``aliases``); names must be new.
    ``check(**options)`` raises ModelOptionError for option values the model cannot take."""
    def add(builder: Builder) -> Builder:
        for key in (name, *aliases):
            if key in _BUILDERS or key in _ALIASES:
                raise ValueError(f"model name {key!r} is already registered")
        _BUILDERS[name] = builder
        _ALIASES.update(dict.fromkeys(aliases, name))
        if check is not None:
            _CHECKS[name] = check
        return builder
    return add


def list_models(include_aliases: bool = False) -> list[str]:
    """Sorted registered names; aliases too if asked."""
    return sorted([*_BUILDERS, *(_ALIASES if include_aliases else ())])


def resolve_name(name: str) -> str:
    """Canonical name for ``name``, a registered name or an alias; an unknown name raises
    ValueError listing all known names."""
    name = _ALIASES.get(name, name)
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models(True))}")
    return name


def model_options(name: str) -> list[str]:
    """Keyword options the builder of ``name`` takes besides ``shape`` and ``num_classes``
    (e.g. ``["num_heads", "attn_hidden"]`` for MHCNN), so a CLI can pass only those."""
    parameters = inspect.signature(_BUILDERS[resolve_name(name)]).parameters
    return [key for key in parameters if key not in ("shape", "num_classes")]


def model_defaults(name: str) -> dict:
    """The builder's own value of every option of :func:`model_options`."""
    parameters = inspect.signature(_BUILDERS[resolve_name(name)]).parameters
    return {key: p.default for key, p in parameters.items() if key not in ("shape", "num_classes")}


def check_options(name: str, **options) -> None:
    """Refuse options model ``name`` cannot take (see the module doc); None values are unset."""
    name = resolve_name(name)
    given = {key: value for key, value in options.items() if value is not None}
    accepted = model_options(name)
    for key in given:
        if key not in accepted:
            raise ModelOptionError(key, f"{name} takes no option {key!r} (its options: "
                                        f"{', '.join(accepted) or 'none'})")
    for key in _COUNTS:
        if key in given and given[key] < 1:
            raise ModelOptionError(key, f"{name}: {key} must be at least 1, not {given[key]}")
    if name in _CHECKS:
        _CHECKS[name](**given)


def check_input(name: str, shape: tuple[int, ...], num_classes: int = 4, **options) -> None:
    """Refuse an input shape the model cannot take, by building it on the meta device (no
    memory, no random numbers) and passing a batch of that shape through it; the
    ModelOptionError (option ``shape``) carries the model's own complaint."""
    try:
        with torch.device("meta"):
            model = create_model(name, shape=shape, num_classes=num_classes, **options)
            model.eval()(torch.empty(2, 1, *shape))
    except NotImplementedError:
        return  # an operator without a meta kernel: nothing can be said without real tensors
    except (RuntimeError, ValueError, IndexError, ZeroDivisionError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelOptionError("shape", f"{resolve_name(name)} cannot take {'×'.join(map(str, shape))} "
                                        f"inputs ({first})") from None


def create_model(name: str, shape: tuple[int, int] = (26, 57), num_classes: int = 4,
                 **kwargs) -> nn.Module:
    """Build model ``name`` for (F, T) inputs. Keyword arguments that are None are dropped, so
    a CLI option left unset falls back to the builder's default; unknown ones raise TypeError.
    (Building does not run :func:`check_options`: a caller may build a model it only probes.)"""
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    return _BUILDERS[resolve_name(name)](shape=shape, num_classes=num_classes, **kwargs)
