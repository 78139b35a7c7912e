"""The shape of the code: no import cycles, and no reaching into another package's privates.

The import graph is read from the source with :mod:`ast`: every ``import`` and ``from ... import``
of an ``mlsys`` module counts, at module level and inside functions alike (a deferred import is
still a dependency). Imports under ``if TYPE_CHECKING:`` are left out: they never run, and
naming a type is not a dependency on the module's behaviour. ``from package import name``
depends on ``package/__init__.py`` (which imports its submodules), unless ``name`` is itself a
submodule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlsys

pytestmark = pytest.mark.unit

SRC = Path(mlsys.__file__).resolve().parent.parent

#: Cycles that exist today, each with what removing it takes. The test fails when one of them is
#: gone (delete the entry) or when any other cycle appears.
KNOWN_CYCLES: dict[frozenset[str], str] = {}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SRC / "mlsys").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for s in node.orelse for n in _import_nodes_of(s))
            continue
        yield from _import_nodes_of(node)


def _import_nodes_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement names (a submodule when ``name`` is one)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return [
        f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
        for alias in node.names
    ]


def _owner(name: str) -> str | None:
    """The mlsys module a dotted name lives in (``mlsys.a.b.attr`` -> ``mlsys.a.b``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports() -> dict[str, list[tuple[str, int]]]:
    """Module -> (imported dotted name, line) for every mlsys import it makes."""
    found: dict[str, list[tuple[str, int]]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        found[module] = [
            (name, node.lineno)
            for node in _import_nodes(tree)
            for name in _imported(module, node)
            if name == "mlsys" or name.startswith("mlsys.")
        ]
    return found


IMPORTS = _imports()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for module, names in IMPORTS.items():
        for name, _ in names:
            target = _owner(name)
            if target is not None and target != module:
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_graph_sees_function_level_imports() -> None:
    """The reader is not blind to deferred imports (the ones that hid the old cycle)."""
    graph = _graph()
    assert "mlsys.training" in graph["mlsys.config"]  # build_pipeline imports it in the body
    assert "mlsys.evaluation._records" in graph["mlsys.evaluation._report"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def test_no_import_cycles() -> None:
    cycles = set(_cycles(_graph()))
    new = [sorted(c) for c in cycles - KNOWN_CYCLES.keys()]
    gone = [sorted(c) for c in KNOWN_CYCLES.keys() - cycles]
    assert not new, f"import cycles: {new}; move what both sides need into a lower module"
    assert not gone, f"no longer cycles, remove from KNOWN_CYCLES: {gone}"


def _private_package(name: str) -> str | None:
    """``mlsys.x`` for ``mlsys.x._y[...]``: the package whose private module ``name`` is."""
    parts = name.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def test_no_module_imports_another_packages_private_module() -> None:
    offenders = []
    for module, names in IMPORTS.items():
        for name, line in names:
            package = _private_package(name)
            if package in (None, "mlsys"):  # mlsys._paths & co. serve the whole package
                continue
            if module != package and not module.startswith(f"{package}."):
                offenders.append(f"{MODULES[module].relative_to(SRC)}:{line}: {name}")
    assert not offenders, (
        "import these from the package instead (export them in its __init__):\n"
        + "\n".join(offenders)
    )


@pytest.mark.parametrize("module", ["mlsys._rundir", "mlsys.registry._offer", "mlsys.training"])
def test_run_directories_and_the_registry_do_not_build_components(module: str) -> None:
    """They are handed what they need; building from config is the entry points' job."""
    builders = {"mlsys.config", "mlsys._instantiate", "mlsys._rebuild"}
    graph = _graph()
    seen, todo = set(), [module]
    while todo:  # everything the module reaches, at import time or later
        current = todo.pop()
        seen.add(current)
        todo.extend(graph[current] - seen)
    assert not seen & builders, f"{module} reaches {sorted(seen & builders)}"
