"""The package's shape: imports go one way down the pipeline, with no circle, and Markdown is
made only in the rendering layer."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "pacbound"

#: Each module's stage, lowest first; a module may import only from its own stage or below.
STAGES = (
    ("provenance", "inputs"),  # leaves: which code computed a result; a user's files read
    ("symbolic",),
    ("numeric",),
    ("tasks", "model"),
    ("train",),
    ("config",),
    ("store",),
    ("run",),
    ("analysis",),
    ("report",),
    ("pipeline",),
    ("cli", "__main__"),  # ``python -m pacbound`` is the command line
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for index, names in enumerate(STAGES):
        if top in names:
            return index
    return -1  # pacbound itself (its __init__)


def imports(path: Path) -> set[str]:
    """Every pacbound module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pacbound"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(
                    candidate
                    if (PACKAGE.parent / candidate.replace(".", "/")).exists()
                    or (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                    else node.module
                )
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pacbound")}
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: imports(path) & set(MODULES) - {name} for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_later_stage(name):
    later = sorted(m for m in GRAPH[name] if stage(m) > stage(name))
    assert not later, f"{name} (stage {stage(name)}) imports {later}"


def test_no_import_circle():
    """Depth-first search for a back edge over every import, lazy ones included."""
    state: dict[str, int] = {}

    def visit(name, path):
        state[name] = 1
        for child in sorted(GRAPH[name]):
            if state.get(child) == 1:
                raise AssertionError("import circle: " + " → ".join([*path, child]))
            if child not in state:
                visit(child, [*path, child])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


def test_every_module_has_a_stage():
    unplaced = [name for name in MODULES if name != "pacbound" and stage(name) < 0]
    assert not unplaced


MARKDOWN = re.compile(r"\|---\|")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_markdown_tables_only_in_the_rendering_layer(name):
    if name.startswith("pacbound.report") or name == "pacbound.symbolic.render":
        return  # the rendering layer, and the theory pages' own renderer
    assert not MARKDOWN.search(MODULES[name].read_text()), f"{name} renders a Markdown table"


#: train.py keeps its bytes: the cached bases are keyed by its source (provenance.BASE_MODULES).
LONG_AS_THEY_ARE = {"pacbound.train"}


@pytest.mark.parametrize("name", sorted(set(MODULES) - LONG_AS_THEY_ARE))
def test_no_module_is_too_long(name):
    lines = len(MODULES[name].read_text().splitlines())
    limit = 350 if name.startswith("pacbound.cli") else 520
    assert lines <= limit, f"{name}: {lines} lines"
