"""The package's shape: imports go one way down the pipeline, with no circle, the report
renders without computing, and Markdown is made only in the rendering layer.

The import graph is read from the source (``ast``): every ``import`` and ``from … import``
anywhere in a module, inside functions too (the package imports lazily so that the command
line starts at once), relative imports resolved."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "pacbound"

#: Each module's stage, lowest first: the order of the package docstring. A module may import
#: only from its own stage or below, except as ``NEVER`` and ``CLI_IMPORTS`` say.
STAGES = (
    # leaves: which code computed a result; a user's files read; how a model is trained; a
    # bound's inputs and options, as data
    ("provenance", "inputs", "recipe", "bound_options"),
    ("symbolic",),
    ("numeric",),
    ("tasks", "model"),
    ("train",),
    ("config", "limits"),  # limits: what a config's values must satisfy beyond their types
    ("store",),
    ("run",),
    ("analysis",),
    ("report",),
    ("pipeline",),
    ("cli", "__main__"),  # ``python -m pacbound`` is the command line
)
#: Lower stages that a stage may not import all the same.
NEVER = {
    # An experiment's tables are data: the trainer's settings are ``recipe``'s, not the trainer.
    "config": {"train"},
    "limits": {"train"},
    # Data in, data out, from a store or from the pilot runs of any training stack.
    "analysis": {"run", "train"},
}
#: All the command line imports: one pipeline call per command, printed by the renderers, and
#: the ``bound`` command's options (standard library only, so --help stays quick).
CLI_IMPORTS = {"", "cli", "__main__", "bound_options", "config", "pipeline", "report", "store"}
#: Imports that break the order, each with its reason; a fixed one must leave this list.
KNOWN: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    """The top-level part of the package a module is in ("" for pacbound itself)."""
    return module.split(".")[1] if "." in module else ""


def stage(module: str) -> int:
    for index, names in enumerate(STAGES):
        if layer(module) in names:
            return index
    return -1  # pacbound itself (its __init__)


def imports(source: str, package: str, modules: set[str]) -> set[str]:
    """Every pacbound module that ``source``, a module of ``package``, imports, at the top or
    inside a function: ``from M import n`` counts as M.n where that is one of ``modules``
    (a submodule), else as M."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: level 1 is ``package`` itself
                parts = package.split(".")[: package.count(".") + 2 - node.level]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return {name for name in found if name == "pacbound" or name.startswith("pacbound.")}


def violations(module: str, imported: set[str]) -> list[str]:
    """The modules of ``imported`` that ``module`` may not import: a later stage, a stage its
    own may not reach (``NEVER``), or for the command line anything but ``CLI_IMPORTS``."""
    own = layer(module)
    return sorted(
        target
        for target in imported
        if stage(target) > stage(module)
        or layer(target) in NEVER.get(own, ())
        or (own in ("cli", "__main__") and layer(target) not in CLI_IMPORTS)
    )


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def package_of(name: str) -> str:
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


GRAPH = {
    name: imports(path.read_text(), package_of(name), set(MODULES)) - {name}
    for name, path in MODULES.items()
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_import_follows_the_order(name):
    wrong = [t for t in violations(name, GRAPH[name]) if (name, t) not in KNOWN]
    assert not wrong, f"{name} (stage {stage(name)}) imports {wrong}"


def test_every_known_exception_still_occurs():
    """An exception that was fixed leaves ``KNOWN`` (and ``REPORT_COMPUTES``), so that it
    cannot come back unnoticed."""
    assert not [(a, b) for a, b in KNOWN if b not in violations(a, GRAPH.get(a, set()))]
    stale = {m: names - report_calls(m) for m, names in REPORT_COMPUTES.items()}
    assert not {m: names for m, names in stale.items() if names}


@pytest.mark.parametrize(
    ("source", "package", "expected"),
    [
        # a later stage, imported inside a function
        ("def f():\n    from pacbound.store import Store\n", "pacbound.numeric", "store"),
        # a lower stage that analysis may not reach
        ("from pacbound.run.sweep import batches\n", "pacbound.analysis", "run.sweep"),
        ("import pacbound.train as t\n", "pacbound.analysis", "train"),
        ("from pacbound.train import pretrain\n", "pacbound.config", "train"),
        # a relative import, resolved
        ("from ..pipeline import sweep\n", "pacbound.run", "pipeline"),
        # the command line past the pipeline
        ("from pacbound.symbolic import bounds\n", "pacbound.cli", "symbolic.bounds"),
    ],
)
def test_the_checker_finds_an_import_against_the_order(source, package, expected):
    module = f"{package}.synthetic"
    assert violations(module, imports(source, package, set(MODULES))) == [f"pacbound.{expected}"]


def test_the_checker_passes_an_import_down_the_order():
    source = "from pacbound.numeric.argmin import lowest\nfrom . import table\n"
    imported = imports(source, "pacbound.analysis", set(MODULES))
    assert imported == {"pacbound.numeric.argmin", "pacbound.analysis.table"}
    assert violations("pacbound.analysis.synthetic", imported) == []


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
    if name.startswith("pacbound.report"):
        return  # the rendering layer
    assert not MARKDOWN.search(MODULES[name].read_text()), f"{name} renders a Markdown table"


#: The analysis functions that report modules still call, computing while they render; the
#: report should receive their results in the analysis's data instead. No new ones.
REPORT_COMPUTES = {
    "pacbound.report.difficulty": {"switch_scale"},
    "pacbound.report.exact": {"budget_runs"},
}


def report_calls(name: str) -> set[str]:
    """The functions (lower-case names) ``name`` imports from analysis modules; its types and
    constants (capitalised) are what a renderer may take from there."""
    return {
        alias.name
        for node in ast.walk(ast.parse(MODULES[name].read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pacbound.analysis")
        for alias in node.names
        if alias.name[0].islower() and f"{node.module}.{alias.name}" not in MODULES
    }


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m.startswith("pacbound.report")))
def test_the_report_computes_nothing(name):
    new = report_calls(name) - REPORT_COMPUTES.get(name, set())
    assert not new, f"{name} calls the analysis functions {sorted(new)}"
