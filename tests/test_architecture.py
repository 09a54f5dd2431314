"""The package's shape: it imports without the top-level scripts, has no import cycle, its
sub-packages import only the stages below them, and the readers never reach the training
engine (docs/design.md)."""
import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ser", "models")
TOP_LEVEL = sorted(p.stem for p in ROOT.glob("*.py"))
READERS = ("ser.reporting.report", "ser.reporting.plots", "ser.reporting.demo", "ser.records.checkpoint",
           "ser.serving.inference", "ser.serving.export", "ser.serving.timeline")
# What each sub-package of ser may import besides itself and the shared modules at ser's top
# (errors, io, machine, seeds): the stages before it in the flow of data. models is the model
# zoo of the paper's repository, below training.
MAY_IMPORT = {
    "corpora": set(),
    "features": {"corpora"},
    "protocols": {"corpora"},
    "synthetic": {"corpora", "features"},
    "training": {"models"},
    "records": {"corpora", "features", "protocols", "training", "models"},
    "runs": {"corpora", "features", "protocols", "training", "records", "models"},
    "runners": {"corpora", "features", "protocols", "synthetic", "training", "records", "runs", "models"},
    "reporting": {"corpora", "features", "protocols", "records", "models"},
    "serving": {"corpora", "features", "training", "records", "models"},
}
SHARED = {"ser", "ser.errors", "ser.io", "ser.machine", "ser.seeds"}
ENTRY_POINTS = ("train.py", "predict.py", "export.py", "report.py", "seeds.py", "handleIEMOCAP.py",
                "extract_features.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports at its top level or inside functions, relative imports resolved."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([package, base]) if base else package
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def test_every_module_imports_without_the_top_level_scripts(tmp_path):
    """A fresh interpreter that sees the two packages but none of the files beside them."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    modules = sorted(package_modules())
    code = (f"import importlib, sys\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
            f"leaked = sorted(set(sys.modules) & set({TOP_LEVEL!r}))\nassert not leaked, leaked\n")
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                               env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_the_package_never_imports_a_top_level_script():
    for name, path in package_modules().items():
        assert not (imports_of(path) & set(TOP_LEVEL)), f"{name} imports {imports_of(path) & set(TOP_LEVEL)}"


def test_no_import_cycles():
    edges = graph()
    visiting, done, cycles = [], set(), []

    def visit(node):
        if node in visiting:
            cycles.append(visiting[visiting.index(node):] + [node])
            return
        if node in done:
            return
        visiting.append(node)
        for target in sorted(edges[node]):
            visit(target)
        visiting.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)
    assert cycles == []


def reaches(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in edges[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def stage(module: str) -> str | None:
    """The sub-package of ser a module belongs to ("models" for the model zoo), None for ser's shared modules."""
    parts = module.split(".")
    if parts[0] == "models":
        return "models"
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in MAY_IMPORT) else None


def test_every_stage_imports_only_the_stages_below_it():
    assert set(MAY_IMPORT) == {p.name for p in (ROOT / "ser").iterdir() if (p / "__init__.py").exists()}
    wrong = []
    for module, targets in graph().items():
        own = stage(module)
        if own is None or own == "models":
            continue
        for target in targets:
            theirs = stage(target)
            if theirs is None:
                assert target in SHARED, f"{module} imports {target}, which no stage holds"
            elif theirs != own and theirs not in MAY_IMPORT[own]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the flow of data: " + ", ".join(sorted(wrong))


def test_shared_modules_import_no_stage():
    for module in sorted(SHARED - {"ser"}):
        assert all(stage(target) is None for target in graph()[module]), module


@pytest.mark.parametrize("reader", READERS)
def test_readers_never_reach_the_training_engine(reader):
    trainers = {"ser.training.engine", "ser.training.stacked", "ser.training.stacked_step", "ser.training.seed_runs",
                "ser.training.augment", "ser.runs.pipeline"}
    assert not (trainers & reaches(reader, graph()))


@pytest.mark.parametrize("script", ENTRY_POINTS)
def test_entry_points_are_thin(script):
    """An entry point parses, calls the package and prints one line per problem: no pipeline of
    its own (train.py in particular is at most 100 lines), and only it may call sys.exit."""
    lines = (ROOT / script).read_text().splitlines()
    assert len(lines) <= (100 if script == "train.py" else 160), f"{script} has {len(lines)} lines"


def test_only_entry_points_exit():
    for name, path in package_modules().items():
        calls = [node for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "exit"
                 and isinstance(node.func.value, ast.Name) and node.func.value.id == "sys"]
        body = ast.parse(path.read_text()).body
        own_main = any(isinstance(n, ast.If) and "__main__" in ast.unparse(n.test) for n in body)
        if calls:
            assert own_main, f"{name} calls sys.exit but is not a command-line module"
