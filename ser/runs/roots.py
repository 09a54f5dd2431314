"""Where a corpus's root comes from: one rule for train.py, the cross-validation and the sweeps.

``--data`` when given, else the corpus's environment variable (``IEMOCAP_DIR``, ``EMODB_DIR``:
its entry's ``environment``), else the repository's ``path.py`` for the corpus it configures
(IEMOCAP's ``DEFAULT_IEMOCAP_DIR``: the entry's ``path_setting``). The package never imports a
top-level script, so ``path.py`` is read as text and its assignment evaluated with ``ast``: an
edited ``path.py`` counts for every entry point, not only for the one that imports it.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

from ser.corpora.entry import corpus
from ser.errors import UserError

# The repository's path.py (absent when the package is installed without the repository).
PATH_PY = Path(__file__).resolve().parents[2] / "path.py"


class PathSettingError(UserError):
    """path.py cannot be read as the plain assignment of a folder name."""


def path_py_value(variable: str, path_py: Path | None = None) -> str:
    """The string path.py assigns to ``variable`` ("" when the file or the assignment is absent)."""
    path_py = PATH_PY if path_py is None else path_py
    try:
        tree = ast.parse(path_py.read_text(encoding="utf-8"), filename=str(path_py))
    except FileNotFoundError:
        return ""
    except (OSError, SyntaxError, ValueError) as error:
        raise PathSettingError(f"cannot read {path_py} ({error}); fix it, or set the corpus's environment variable "
                               "or pass --data PATH") from None
    value = ""
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and any(
                isinstance(target, ast.Name) and target.id == variable
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                value = None
            if not isinstance(value, str):
                raise PathSettingError(f"{path_py}: {variable} must be a folder name in quotes, e.g. "
                                       f'{variable} = "/data/IEMOCAP_full_release"')
    return value


def root_of(name: str, given: str | None) -> str:
    """The root of corpus ``name``: ``given`` (``--data``), else its environment variable, else
    path.py's setting for it; "" when none is set (the corpus's reader says how to set one)."""
    if given:
        return given
    entry = corpus(name)
    if entry.environment and entry.environment in os.environ:
        return os.environ[entry.environment]  # set, even empty, it wins over path.py (as path.py reads it)
    return path_py_value(entry.path_setting) if entry.path_setting else ""
