"""The package's import graph points down its layers, and has no cycle between its parts.

Every ``import`` and ``from ... import`` of every module under rfemu/ counts, at any level
(inside functions too: a lazy import is still a dependency). The layers, lowest first
(docs/architecture.md#layers):

0. kernel and devices: the Cython kernel, the device models, the random streams, and the data
   sets with their encoding onto tones (``rfemu.tasks``: leaves that need nothing above numpy);
1. the medium (the RF line);
2. the network (descriptions, graphs, compiled arrays);
3. the engines (compiled, event);
4. learning rules and studies (projections, sweep definitions);
5. the ways in: ``api`` (a run's stages), ``results`` (run folders), ``scenario`` (reading and
   checking scenario files, which names the device, network, engine and learning settings),
   ``plots`` (figures of traces) and ``sweep`` (running a sweep's points, each a whole run);
6. the command line.

A module may import from its own layer or below. Edges that break the rule today, in files their
owners are changing, are listed in :data:`PENDING` (importer prefix, imported prefix) with the
owner; the test fails both on a new violation and on a listed one that no edge matches any more
(take it off the list).
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "rfemu"

#: module prefix -> layer (the longest matching prefix wins)
LAYERS = {
    "rfemu": 0, "rfemu._core": 0, "rfemu._kernel": 0, "rfemu._version": 0, "rfemu.rng": 0,
    "rfemu.devices": 0, "rfemu.tasks": 0,
    "rfemu.medium": 1,
    "rfemu.network": 2,
    "rfemu.engines": 3,
    "rfemu.learning": 4, "rfemu.study": 4,
    "rfemu.api": 5, "rfemu.checkpoint": 5, "rfemu.results": 5, "rfemu.scenario": 5, "rfemu.plots": 5, "rfemu.sweep": 5,
    "rfemu.cli": 6,
}
LAYER_NAMES = ("kernel and devices", "medium", "network", "engines", "learning and studies",
               "api, results, scenario, plots", "cli")

#: (importer prefix, imported prefix) -> who removes them: upward edges being fixed by the owner
PENDING = {}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    rel = pathlib.Path(*name.split(".")[1:]) if "." in name else pathlib.Path()
    base = ROOT / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file() or \
        any(ROOT.glob(f"{rel}.*.so")) if name != "rfemu" else True


def _imports(path: pathlib.Path):
    """The rfemu modules a file imports (at any depth of its syntax tree)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "rfemu":
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "rfemu":
                continue
            subs = [f"{module}.{a.name}" for a in node.names if _is_module(f"{module}.{a.name}")]
            yield from subs
            if len(subs) < len(node.names):
                yield module


def _graph():
    edges = set()
    for path in ROOT.rglob("*.py"):
        importer = _module_name(path)
        for imported in _imports(path):
            if imported != importer:
                edges.add((importer, imported))
    return edges


def _layer(module: str):
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:n]))
        if layer is not None:
            return layer
    return None


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _pending(edge) -> bool:
    return any(_within(edge[0], a) and _within(edge[1], b) for a, b in PENDING)


def _part(module: str) -> str:
    """The package part a module belongs to (``rfemu.X``)."""
    return ".".join(module.split(".")[:2])


EDGES = _graph()


def test_the_graph_was_read():
    # the reader finds what is certainly there: the compiled engine imports the medium
    assert ("rfemu.engines.compiled", "rfemu.medium") in EDGES
    assert ("rfemu.learning.rules", "rfemu.learning.backprop") in EDGES
    assert len({a for a, _ in EDGES}) > 40


def test_every_module_has_a_layer():
    modules = {_module_name(p) for p in ROOT.rglob("*.py")}
    assert [m for m in sorted(modules) if _layer(m) is None] == []


def test_imports_point_down_the_layers():
    upward = {}
    for importer, imported in sorted(EDGES):
        a, b = _layer(importer), _layer(imported)
        if b is not None and a is not None and b > a and not _pending((importer, imported)):
            upward[(importer, imported)] = f"{LAYER_NAMES[a]} imports {LAYER_NAMES[b]}"
    assert upward == {}


def test_the_pending_list_holds_only_edges_that_still_exist():
    gone = [(a, b) for a, b in PENDING
            if not any(_within(x, a) and _within(y, b) and _layer(y) > _layer(x) for x, y in EDGES)]
    assert gone == []


def test_no_cycle_between_the_package_parts():
    graph = {}
    for importer, imported in EDGES:
        if _pending((importer, imported)):
            continue
        a, b = _part(importer), _part(imported)
        if a != b and b != "rfemu":
            graph.setdefault(a, set()).add(b)
    cycles = []

    def visit(node, path):
        for nxt in graph.get(node, ()):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif len(path) < 12:
                visit(nxt, path + [nxt])

    for start in graph:
        visit(start, [start])
    assert cycles == []


@pytest.mark.parametrize("module", ["rfemu.devices.oscillator", "rfemu.devices.resonator", "rfemu.medium"])
def test_the_physics_modules_import_only_below_the_network(module):
    # the shared physics (a neuron's target, a line's response) is below both engines
    assert {b for a, b in EDGES if a == module and _layer(b) >= 2} == set()
