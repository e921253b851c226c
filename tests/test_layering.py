"""The package's layering: no first-party import cycle, leaf records, first-party imports at the top.

Read from the source with `ast` (no import runs): every ``import itprobe...`` / ``from itprobe... import``
anywhere in a module, at the top or inside a function, is an edge. Importing ``a.b.c`` also runs the
``__init__`` of ``a.b``, so an edge to a module adds edges to its packages (except the importer's own).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LEAVES = ("itprobe.records", "itprobe.tasks.types", "itprobe.errors")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "itprobe").rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        out[name] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, list[str], bool]]:
    """(statement, first-party modules it imports, inside a function?) for every import statement."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.stmt, list[str], bool]]:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if (
                isinstance(child, ast.ImportFrom)
                and child.level == 0
                and (child.module or "").startswith("itprobe")
            ):
                mod = child.module or ""
                yield child, [_resolve(f"{mod}.{a.name}") for a in child.names], in_function
            elif isinstance(child, ast.Import):
                names = [_resolve(a.name) for a in child.names if a.name.split(".")[0] == "itprobe"]
                if names:
                    yield child, names, in_function
            yield from walk(child, nested)

    yield from walk(tree, False)


def _packages(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        own = set(_packages(name))
        for _, targets, _ in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            for target in targets:
                for dep in [*_packages(target), target]:
                    if dep != name and dep not in own and dep in MODULES:
                        graph[name].add(dep)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
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
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_first_party_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_records_are_leaves() -> None:
    graph = _graph()
    for leaf in LEAVES:
        assert graph[leaf] == set(), f"{leaf} imports {sorted(graph[leaf])}"


def test_first_party_imports_inside_functions_are_few_and_explained() -> None:
    """Lazy first-party imports only where the target pulls a heavy library, each saying so."""
    lazy = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for stmt, _, in_function in _imports(ast.parse("\n".join(lines))):
            if in_function:
                lazy.append(f"{name}:{stmt.lineno}")
                assert "# lazy:" in lines[stmt.end_lineno - 1], (
                    f"{name}:{stmt.lineno} lacks a '# lazy:' reason"
                )
    assert len(lazy) <= 16, lazy
