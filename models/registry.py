"""Name -> builder registry for the models (style guide rule 3; after torchvision's ``_api.py``
and timm's ``create_model``).

Builders register under the paper's / original code's exact names. Old spellings that the
original README and scripts use (``MACNN``, ``APCNN``, ``MAResMultiConv3``) are aliases: they
resolve in ``create_model`` but ``list_models`` shows only canonical names.
"""
from __future__ import annotations

import inspect
from typing import Callable, TypeVar

import torch.nn as nn

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_ALIASES: dict[str, str] = {}


def register_model(name: str, aliases: tuple[str, ...] = ()) -> Callable[[Builder], Builder]:
    """Decorator registering a builder under ``name`` (and ``aliases``); names must be new."""
    def add(builder: Builder) -> Builder:
        for key in (name, *aliases):
            if key in _BUILDERS or key in _ALIASES:
                raise ValueError(f"model name {key!r} is already registered")
        _BUILDERS[name] = builder
        _ALIASES.update(dict.fromkeys(aliases, name))
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


def create_model(name: str, shape: tuple[int, int] = (26, 57), num_classes: int = 4,
                 **kwargs) -> nn.Module:
    """Build model ``name`` for (F, T) inputs. Keyword arguments that are None are dropped, so
    a CLI option left unset falls back to the builder's default; unknown ones raise TypeError."""
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    return _BUILDERS[resolve_name(name)](shape=shape, num_classes=num_classes, **kwargs)
