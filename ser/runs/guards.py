"""What guards a run before and while it trains: its identity, whether it is finished
already, the claim that keeps a second run of the same seed out, the corpus that is never
written to, and the run folder whose ``last.json`` says the run has started."""
from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from pathlib import Path

from ser.errors import UserError
from ser.io import Busy, Claim, write_json
from ser.records import results
from ser.runs.config import RunConfig


class RunError(UserError):
    """A run cannot start or finish as asked; the message says what to change."""


def run_identity(config: RunConfig, data_identity: dict) -> dict:
    """What makes this run this run (``results.json`` and the results index): the seed, every
    setting that changes the result, and the data's identity; compared as JSON."""
    return json.loads(json.dumps({"seed": config.seed, "settings": config.identity_settings(),
                                  "corpus": data_identity}))


def already_finished(config: RunConfig, files: results.RunFiles, identity: dict, quiet: bool = False) -> bool:
    """Whether a finished run of this seed with this identity is in the results file already
    (skip it), None-identity lines (the original code's) counting as the same. The same seed
    with other settings is refused unless --force, which appends a second line on purpose."""
    if config.force:
        return False
    same, other = [], []
    for run in results.finished_runs(files.metric):
        if run.seed == config.seed:
            recorded = None if run.identity is None else {k: run.identity.get(k) for k in ("settings", "corpus")}
            (same if recorded in (None, {k: identity[k] for k in ("settings", "corpus")}) else other).append(run)
    if same:
        if not quiet:
            print(f"seed {config.seed} is already in {files.metric}: skipped (--force trains it again)")
        return True
    if other:
        changed = results.differences({k: other[-1].identity[k] for k in ("settings", "corpus")},
                                      {k: identity[k] for k in ("settings", "corpus")})
        raise RunError(f"seed {config.seed} is already in {files.metric} with other settings ("
                       + "; ".join(changed) + "); give these settings a results folder of their own (another "
                       "-d, or RESULTS_DIR for the scripts), or pass --force to append a second line on purpose")
    return False


def claim_holder(what: str = "") -> str:
    """What a claim says of the run holding it (shown to a run that finds the seed busy)."""
    return f"{what}pid {os.getpid()} on {platform.node()}, since {time.ctime()}"


@contextlib.contextmanager
def claimed(config: RunConfig, files: results.RunFiles):
    """Hold this seed's claim from the "already finished?" check to its ``.metric`` line, so a
    second run of the same seed refuses instead of training it twice."""
    try:
        files.parent.mkdir(parents=True, exist_ok=True)
        with Claim(files.claim(config.seed), claim_holder()):
            yield
    except Busy as busy:
        raise RunError(f"seed {config.seed} of {files.metric} is being trained right now by another run "
                       f"({busy.holder}); wait for it, or give this one another -d") from None
    except OSError as error:
        raise RunError(f"cannot write to the results folder {files.parent} ({error}); pass -d a writable "
                       "path") from None


def refuse_writing_into_the_corpus(config: RunConfig, files: results.RunFiles, root: Path | None) -> None:
    """The corpus is read, never written: refuse results or a feature cache inside it (links
    resolved, so a symlinked results folder cannot sneak in)."""
    if root is None:
        return
    corpus = root.resolve()
    for flag, where in (("-d", files.parent), ("-d", files.run_dir), ("--cache_dir", Path(config.cache_dir))):
        if where.resolve().is_relative_to(corpus):
            raise RunError(f"{flag} {where} is inside the corpus {root}: the corpus is only read, so results and "
                           f"feature caches go elsewhere; pass {flag} a folder outside it")


def open_run_dir(files: results.RunFiles, config: RunConfig) -> None:
    """Create a run's folder and write its ``last.json``: the run has started."""
    try:
        files.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(files.last_json, config.resolved_args())
    except OSError as error:
        raise RunError(f"cannot write the run directory {files.run_dir} ({error}); pass -d a writable "
                       "path") from None
