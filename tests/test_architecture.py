"""The package's shape: one-way imports, small modules, the core apart from ReactDiff.

The import graph covers reactbench, its baselines (``baselines/``) and ReactDiff
(``models/reactdiff/``), module-level and in-function imports alike.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# installed package -> folder in the repository (pyproject.toml's package-dir)
PACKAGES = {
    "reactbench": ROOT / "reactbench",
    "reactbench.baselines": ROOT / "baselines",
    "reactbench.reactdiff": ROOT / "models" / "reactdiff",
}
# numerical kernels may be long: their loops are written out for the compiler
KERNELS = {"reactbench.metrics.dtw_engine", "reactbench.reactdiff.kernels"}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            out[".".join([pkg, *parts])] = path
    return out


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Project modules an import statement loads (the longest known module prefix)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                 for a in node.names]
    found = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            found.append(name)
    return found


@functools.cache
def _imports() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Edges module -> imported project modules, and private names imported across modules
    (parsed when a test first asks, not while the tests are collected)."""
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    private = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            targets = [t for t in _resolve(module, path, node) if t != module]
            edges[module].update(targets)
            if isinstance(node, ast.ImportFrom) and targets:
                private += [(module, targets[0], a.name) for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")]
    return edges, private



def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_import_graph_has_no_cycle():
    assert len(MODULES) > 50
    assert _cycles(_imports()[0]) == []


def test_no_private_name_is_imported_across_modules():
    assert _imports()[1] == []


def test_the_core_does_not_import_reactdiff():
    core = [m for m in MODULES if not m.startswith("reactbench.reactdiff")]
    edges = _imports()[0]
    assert [(m, t) for m in core for t in edges[m] if t.startswith("reactbench.reactdiff")] == []
    for path in (ROOT / "reactbench").rglob("*.py"):
        assert "reactdiff" not in path.read_text().replace("reactdiff-", ""), path


@pytest.mark.parametrize("module", sorted(set(MODULES) - KERNELS))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines (split it by job)"


def test_no_generic_top_level_package_is_installed(tmp_path):
    """Outside the repository (no checkout on sys.path), only reactbench's namespace exists."""
    code = ("import importlib.util as u; "
            "print([n for n in ('models', 'baselines') if u.find_spec(n)]); "
            "print(u.find_spec('reactbench.baselines') is not None, "
            "u.find_spec('reactbench.reactdiff') is not None)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split("\n")[:2] == ["[]", "True True"], done.stdout + done.stderr


def _uncommented_lazy_imports(path: Path) -> list[str]:
    """Imports inside functions without a comment saying why: on the import's line, on another
    import of its block, or on the first line above the block (blank lines skipped)."""
    lines = path.read_text().splitlines()
    found = []
    for fn in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or "#" in lines[node.lineno - 1]:
                continue
            i = node.lineno - 2
            while i >= fn.lineno and "#" not in lines[i] and (
                    not lines[i].strip() or lines[i].strip().startswith(("import ", "from "))):
                i -= 1
            if "#" not in lines[i]:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1]}")
    return found


def test_every_import_inside_a_function_says_why():
    assert [f for path in MODULES.values() for f in _uncommented_lazy_imports(path)] == []
