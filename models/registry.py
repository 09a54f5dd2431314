"""Name -> entry registry for the models (style guide rule 3; after torchvision's ``_api.py``
and timm's ``create_model``).

Builders register under the paper's / original code's exact names. Old spellings that the
original README and scripts use (``MACNN``, ``APCNN``, ``MAResMultiConv3``) are aliases: they
resolve in ``create_model`` but ``list_models`` shows only canonical names.

An entry (:class:`ModelEntry`) holds every fact the pipeline needs about a model: its builder
and options, whether it is one of the GLAM paper's 21 models, whether the K-seed engine
(``ser.training.stacked``) trains it, the training recipe its source trains it with
(:class:`ModelRecipe`: the defaults a run takes unless a flag sets another value), what kind of
input it reads, and a line of help for ``train.py --help``. The flag of each model option is
declared here once (:func:`register_option_flag`), so the command line and its messages come
from the registry.

A model owns its options: :func:`check_options` refuses an option its builder does not take,
a count option (heads, hidden size, area width) below 1, and whatever the builder's own check
(given at registration, e.g. AlexNet's image size and pretrained file) refuses, with a
:class:`ModelOptionError` that names the option.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable, TypeVar

import torch
import torch.nn as nn

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])

# Integer options that count something (attention heads, hidden channels, area width).
_COUNTS = ("num_heads", "attn_hidden", "max_area_width")
# What a model reads: "maps" are the (F, T) segment maps of the GLAM and seed 004 feature kinds
# (``ser.features.kinds``); other inputs come from the feature kinds that give them.
MAPS = "maps"


class ModelOptionError(ValueError):
    """An option a model cannot take; ``option`` names it and the message says why."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class ModelRecipe:
    """The training settings a model's source trains it with: ``flags`` by train.py's flag
    destinations (e.g. ``{"optimizer": "adamw"}``), taken by a run wherever no flag sets them;
    ``labels`` the recipe's label set per corpus; ``minmax`` whether its inputs are min-max
    scaled by default (``--minmax``); ``source`` names the recipe in ``--help`` and run notes."""
    source: str
    flags: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    minmax: bool = False


@dataclass(frozen=True)
class ModelEntry:
    """Everything the pipeline knows about one registered model (see the module doc)."""
    name: str
    builder: Callable[..., nn.Module]
    aliases: tuple[str, ...] = ()
    check: Callable[..., None] | None = None
    paper: bool = False       # one of the 21 models of the GLAM paper's models.py
    stackable: bool = False   # ser.training.stacked trains K seeds of it in one process
    recipe: ModelRecipe | None = None
    inputs: tuple[str, ...] = (MAPS,)  # what it reads (MAPS, or what a feature kind gives)
    help: str = ""


@dataclass(frozen=True)
class OptionFlag:
    """The train.py flag of a model option: ``--flag`` stores into ``dest``; ``what`` is what it
    sets (for messages), ``help`` its help line."""
    flag: str
    dest: str
    what: str
    type: Callable[[str], object] | None
    help: str
    metavar: str | None = None


_ENTRIES: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}
_OPTION_FLAGS: dict[str, OptionFlag] = {}


def register_model(name: str, aliases: tuple[str, ...] = (), check: Callable[..., None] | None = None, *,
                   paper: bool = False, stackable: bool = False, recipe: ModelRecipe | None = None,
                   inputs: tuple[str, ...] = (MAPS,), help: str = "") -> Callable[[Builder], Builder]:
    """Decorator registering a builder under ``name`` (and ``aliases``); names must be new.
    ``check(**options)`` raises ModelOptionError for option values the model cannot take; the
    other arguments are the entry's facts (:class:`ModelEntry`)."""
    def add(builder: Builder) -> Builder:
        for key in (name, *aliases):
            if key in _ENTRIES or key in _ALIASES:
                raise ValueError(f"model name {key!r} is already registered")
        _ENTRIES[name] = ModelEntry(name, builder, tuple(aliases), check, paper, stackable, recipe, tuple(inputs),
                                    help or (inspect.getdoc(builder) or "").split("\n")[0])
        _ALIASES.update(dict.fromkeys(aliases, name))
        return builder
    return add


def unregister_model(name: str) -> None:
    """Remove model ``name`` and its aliases (a test's toy model, once the test is done)."""
    entry = _ENTRIES.pop(resolve_name(name))
    for alias in entry.aliases:
        _ALIASES.pop(alias, None)


def register_option_flag(option: str, flag: OptionFlag) -> None:
    """Declare the train.py flag that sets builder option ``option`` (once per option)."""
    if option in _OPTION_FLAGS and _OPTION_FLAGS[option] != flag:
        raise ValueError(f"model option {option!r} already has the flag {_OPTION_FLAGS[option].flag}")
    _OPTION_FLAGS[option] = flag


def option_flags() -> dict[str, OptionFlag]:
    """Builder option -> its train.py flag, for every option a flag sets."""
    return dict(_OPTION_FLAGS)


def list_models(include_aliases: bool = False, paper_only: bool = False, reads: str | None = None) -> list[str]:
    """Sorted registered names; aliases too if asked; only the GLAM paper's 21 with ``paper_only``;
    only the models that read ``reads`` (e.g. :data:`MAPS`) when given."""
    names = [name for name, entry in _ENTRIES.items()
             if (entry.paper or not paper_only) and (reads is None or reads in entry.inputs)]
    aliases = [alias for alias, name in _ALIASES.items() if name in names] if include_aliases else []
    return sorted([*names, *aliases])


def resolve_name(name: str) -> str:
    """Canonical name for ``name``, a registered name or an alias; an unknown name raises
    ValueError listing all known names."""
    name = _ALIASES.get(name, name)
    if name not in _ENTRIES:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models(True))}")
    return name


def model_entry(name: str) -> ModelEntry:
    """The entry of model ``name`` (a registered name or an alias)."""
    return _ENTRIES[resolve_name(name)]


def model_options(name: str) -> list[str]:
    """Keyword options the builder of ``name`` takes besides ``shape`` and ``num_classes``
    (e.g. ``["num_heads", "attn_hidden"]`` for MHCNN), so a CLI can pass only those."""
    parameters = inspect.signature(model_entry(name).builder).parameters
    return [key for key in parameters if key not in ("shape", "num_classes")]


def model_defaults(name: str) -> dict:
    """The builder's own value of every option of :func:`model_options`."""
    parameters = inspect.signature(model_entry(name).builder).parameters
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
    check = _ENTRIES[name].check
    if check is not None:
        check(**given)


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
    return model_entry(name).builder(shape=shape, num_classes=num_classes, **kwargs)


# The attention options that several families' builders take (glam, macnn).
register_option_flag("num_heads", OptionFlag("--head", "head", "attention heads", int,
                                             "attention heads (multi-head models; default: the model's, 4)"))
register_option_flag("attn_hidden", OptionFlag("--attn_hidden", "attn_hidden", "an attention hidden size", int,
                                               "attention hidden size (multi-head models; default: the model's, 64)"))
