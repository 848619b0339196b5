"""The package's shape: no import circles (lazy imports included), no reaching into private names."""

# DESIGN.md: data flows one way (manifests -> model -> routing/proxy/dns -> trace/diagnose ->
# draw/widgets/exercises/cli); no two modules import each other; no module takes another's
# `_underscore` names. These tests read every module's source, imports inside functions
# included, so the rule holds as the package grows.
from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "k8slab"


def _module_name(path: pathlib.Path) -> str:
    parts = ["k8slab", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> list[tuple[str, list[str], int]]:
    """[(imported k8slab module, names taken from it, line)] for every import statement."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("k8slab"):
                    found.append((a.name, [], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if not target.startswith("k8slab"):
                continue
            names = []
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:            # `from . import routing`: the module itself
                    found.append((sub, [], node.lineno))
                else:
                    names.append(a.name)
            if names:
                found.append((target, names, node.lineno))
    return found


def graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imports_of(m) if t in MODULES and t != m} for m in MODULES}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                cycle = visit(m)
                if cycle:
                    return cycle
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state:
            cycle = visit(n)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_walk_sees_lazy_imports():
    # routing is imported inside a function in k8slab/shortcuts.py: the walk must see it.
    assert "k8slab.routing" in graph()["k8slab.shortcuts"]


def test_no_import_circles():
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_model_imports_nothing_of_k8slab():
    assert graph()["k8slab.model"] == set()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_takes_another_modules_private_names(module):
    bad = []
    for target, names, line in imports_of(module):
        for name in names:
            if name.startswith("_") and not name.startswith("__"):
                bad.append(f"line {line}: {name} from {target}")
    assert not bad, f"{module} imports private names: {bad}"


def test_private_modules_have_one_owner():
    owners: dict[str, set[str]] = {}
    for m in MODULES:
        for target, _, _ in imports_of(m):
            if target in MODULES and target.rsplit(".", 1)[-1].startswith("_") and target != m:
                owners.setdefault(target, set()).add(m)
    shared = {t: sorted(o) for t, o in owners.items() if len(o) > 1}
    assert not shared, f"private modules imported by more than one module: {shared}"


def test_every_module_says_what_it_owns():
    for name, path in MODULES.items():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and doc.strip(), f"{name} has no docstring"
        assert "\n" not in doc.strip().splitlines()[0] and len(doc.splitlines()[0]) <= 120, name
