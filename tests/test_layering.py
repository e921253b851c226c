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
    # 16 on main, + the two commands of cli/gate.py (itprobe gate, itprobe compare), which load the audit
    # package (numpy, matplotlib) only when run
    assert len(lazy) <= 18, lazy


DESIGN = SRC.parent / "docs" / "design.md"


def _layer_table() -> list[list[str]]:
    """The layers of docs/design.md's "Layers" block, bottom first, each a list of its entries as written
    (``records.py``, ``tasks/types.py``, ``tasks/``, ``fsio``); a line without a description continues the
    layer above it."""
    text = DESIGN.read_text(encoding="utf-8")
    block = text.split("### Layers (checked by `tests/test_layering.py`)", 1)[1]
    block = block.split("```", 2)[1]
    layers: list[list[str]] = []
    continues = False
    for line in block.strip("\n").splitlines():
        names, _, description = line.strip().partition("  ")
        entries = [e.strip() for e in names.split(",") if e.strip()]
        if continues:
            layers[-1] += entries
        else:
            layers.append(entries)
        continues = names.rstrip().endswith(",")
    return layers


def _module_of(entry: str) -> str:
    return "itprobe." + entry.removesuffix("/").removesuffix(".py").replace("/", ".")


def _layer_of(name: str, table: list[list[str]]) -> int | None:
    """The layer of a module: that of the longest table entry naming it or a package above it."""
    best: tuple[int, int] | None = None  # (length of the entry's module name, layer)
    for layer, entries in enumerate(table):
        for entry in entries:
            module = _module_of(entry)
            named = name == module or name.startswith(module + ".")
            if named and (best is None or len(module) > best[0]):
                best = (len(module), layer)
    return None if best is None else best[1]


def _layer_violations(graph: dict[str, set[str]], table: list[list[str]]) -> list[str]:
    out = []
    for name, deps in sorted(graph.items()):
        own = _layer_of(name, table)
        for dep in sorted(deps):
            theirs = _layer_of(dep, table)
            if own is not None and theirs is not None and theirs > own:
                out.append(f"{name} (layer {own}) imports {dep} (layer {theirs})")
    return out


def test_the_layer_table_is_read_from_the_design() -> None:
    table = _layer_table()
    assert table[0] == ["records.py", "tasks/types.py", "errors.py"]
    assert table[-1][0] == "cli/"
    assert "cache" in table[1]  # a continuation line stays in its layer
    # the checker finds an arrow running back up
    assert _layer_violations({"itprobe.records": {"itprobe.cli"}, "itprobe.cli": set()}, table) == [
        f"itprobe.records (layer 0) imports itprobe.cli (layer {len(table) - 1})"
    ]


def test_every_module_sits_in_a_layer_of_the_design() -> None:
    table = _layer_table()
    assert [name for name in MODULES if name != "itprobe" and _layer_of(name, table) is None] == []


def _direct_graph() -> dict[str, set[str]]:
    """The modules each module names in its imports (no package ``__init__`` edges: importing the leaf
    ``tasks/types.py`` runs ``tasks/__init__``, but the layer table speaks of the module imported)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for _, targets, _ in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            graph[name] |= {t for t in targets if t != name and t in MODULES}
    return graph


def test_imports_follow_the_layer_order_of_the_design() -> None:
    """No module imports one of a higher layer of docs/design.md (imports inside functions included)."""
    assert _layer_violations(_direct_graph(), _layer_table()) == []


def _past_init(package: str) -> list[str]:
    """``module:line imports target`` for each import, by a module outside ``package``, of one of the
    package's submodules: the package's ``__init__`` is its one public API."""
    out = []
    for name, path in MODULES.items():
        if name == package or name.startswith(package + "."):
            continue
        for stmt, targets, _ in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            out += [f"{name}:{stmt.lineno} imports {t}" for t in targets if t.startswith(package + ".")]
    return out


def test_report_is_imported_only_through_its_public_api() -> None:
    """Every module outside ``itprobe/report/`` imports ``itprobe.report``, never ``itprobe.report.<module>``
    (at the top, under TYPE_CHECKING or inside a function alike)."""
    assert _past_init("itprobe.report") == []
