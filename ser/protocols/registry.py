"""Every protocol by name: the modules that register them, and what the package asks of them.

A protocol is one module that builds a ``ser.protocols.base.Protocol`` and registers it; the
import lines below load them, in the order tables and ``--help`` list them. The lookups read
:data:`ser.protocols.base.REGISTERED` when called, so an entry registered later (a plug-in, a
test) is a ``--protocol`` choice, splits, names its results and has its report tables like the
others.

    from ser.protocols import registry
    registry.get("loso").fold_count                         # 5
    registry.refusal("loso", facts)                         # why a corpus cannot have it, or None
"""
from __future__ import annotations

import ser.protocols.published as published
import ser.protocols.splits as splits
from ser.protocols.base import REGISTERED, CorpusFacts, Protocol, SplitError

FOLD_FILES = published.FOLD_FILES


def names() -> tuple[str, ...]:
    """Every protocol ``train.py --protocol`` takes, in the order tables list them."""
    return tuple(REGISTERED)


def get(name: str) -> Protocol:
    if name not in REGISTERED:
        raise SplitError(f"unknown protocol {name!r}; choose one of: {', '.join(REGISTERED)}")
    return REGISTERED[name]


def find(name: str) -> Protocol | None:
    """The entry of ``name``; None for a name no entry has (seed 004's speaker pairs)."""
    return REGISTERED.get(name)


def is_multi_fold(name: str) -> bool:
    """Whether ``name`` has several folds (run one by one, then their mean); a speaker pair is one split."""
    protocol = find(name)
    return protocol is not None and protocol.multi_fold


def multi_fold_names() -> list[str]:
    return [name for name, protocol in REGISTERED.items() if protocol.multi_fold]


def description(name: str) -> str:
    """The description of a registered protocol, or of seed 004's speaker pair ``pair-val<V>-test<T>``."""
    if name in REGISTERED:
        return REGISTERED[name].description
    if splits.PAIR_PROTOCOL.fullmatch(name):
        return f"{name}: seed 004's speaker pair (validation speaker, test speaker)"
    return get(name).description  # refuses the unknown name


def rank(name: str) -> int:
    """A protocol's place in tables: registration order, seed 004's speaker pairs after all."""
    order = names()
    return order.index(name) if name in order else len(order)


def help_text() -> str:
    """``--protocol``'s help: each entry's summary."""
    return "; ".join(f"{p.name}: {p.summary}" for p in REGISTERED.values())


def refusal(name: str, facts: CorpusFacts) -> str | None:
    """None when protocol ``name`` fits the corpus, else why not and the protocols that do."""
    why = get(name).fits(facts)
    if why is None:
        return None
    fitting = [p.name for p in REGISTERED.values() if not p.needs_flag and p.fits(facts) is None]
    flagged = [f"{p.name} with {p.needs_flag}" for p in REGISTERED.values() if p.needs_flag]
    return (f"--protocol {name} does not fit --corpus {facts.name}: {why}; protocols that fit: "
            f"{', '.join(fitting)}" + "".join(f", or {text}" for text in flagged))
