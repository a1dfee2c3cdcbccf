"""The house-in-order measures of the package (issue 25), read from its source with ``ast``.

Prints, for ``monitor/``: import circles between modules, functions over 100 lines,
modules over 800 lines, ``_private`` names imported from another module, ``Any`` in
annotations, imports inside functions (and those of them that load no heavy library even
through the package module they name), and module docstrings whose first line holds "and".

Usage: ``python benchmarks/house.py [--list]``
"""

from __future__ import annotations

import argparse
import ast
import functools
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "monitor"
#: Heavy or optional libraries a function may import lazily (start-up time, extras).
#: numpy is among them for the CLI, whose start-up (``monitor --help``) loads none of them.
LAZY_OK = frozenset(
    {
        "numpy",
        "requests",
        "urllib3",
        "rasterio",
        "geopandas",
        "pyogrio",
        "pyarrow",
        "folium",
        "branca",
        "xstatic",
        "dask",
        "distributed",
        "pystac_client",
        "pystac",
        "skimage",
        "scipy",
        "PIL",
        "shapely",
        "pyproj",
        "playwright",
        "xarray",
        "planetary_computer",
        "rich",
        "lxml",
        "fiona",
        "pandas",
        "smtplib",
        "email",
        "ssl",
        "urllib",
        "http",
        "sqlite3",
        "multiprocessing",
        "concurrent",
        "importlib",
        "cryptography",
    }
)


@dataclass
class Measures:
    modules: dict[str, int] = field(default_factory=dict)
    long_functions: list[tuple[str, str, int]] = field(default_factory=list)
    private_imports: list[tuple[str, str, str]] = field(default_factory=list)
    any_annotations: int = 0
    inner_imports: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    edges: dict[str, set[str]] = field(default_factory=dict)
    and_docstrings: list[tuple[str, str]] = field(default_factory=list)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(mod: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _annotations(tree: ast.AST) -> list[ast.expr]:
    out: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if a is not None and a.annotation is not None:
                    out.append(a.annotation)
            if node.returns is not None:
                out.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            out.append(node.annotation)
    return out


def _counts_any(expr: ast.expr) -> int:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            expr = ast.parse(expr.value, mode="eval").body
        except SyntaxError:
            return 0
    return sum(
        isinstance(n, ast.Name)
        and n.id == "Any"
        or isinstance(n, ast.Attribute)
        and n.attr == "Any"
        for n in ast.walk(expr)
    )


def measure(package: Path = PACKAGE) -> Measures:
    m = Measures()
    names = {module_name(p) for p in package.rglob("*.py")}
    for path in sorted(package.rglob("*.py")):
        mod = module_name(path)
        source = path.read_text()
        tree = ast.parse(source)
        m.modules[mod] = source.count("\n")
        doc = ast.get_docstring(tree)
        if doc and " and " in f" {doc.splitlines()[0]} ":
            m.and_docstrings.append((mod, doc.splitlines()[0]))
        m.edges.setdefault(mod, set())
        is_package = path.name == "__init__.py"
        type_checking: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                type_checking |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 100:
                    m.long_functions.append((mod, node.name, length))
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        target = (
                            _resolve(mod, inner, is_package)
                            if isinstance(inner, ast.ImportFrom)
                            else inner.names[0].name
                        )
                        if target.split(".")[0] not in LAZY_OK:
                            what = tuple(a.name for a in inner.names)
                            m.inner_imports.append((mod, target, what))
            if isinstance(node, ast.ImportFrom):
                target = _resolve(mod, node, is_package)
                if not target.startswith("monitor"):
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    dep = full if full in names else target
                    if id(node) not in type_checking and dep != mod:
                        m.edges[mod].add(dep)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        m.private_imports.append((mod, target, alias.name))
        m.any_annotations += sum(_counts_any(a) for a in _annotations(tree))
    return m


def loads_heavy(target: str, what: tuple[str, ...]) -> bool:
    """Whether importing ``what`` from ``target`` (a package module) loads a library of
    :data:`LAZY_OK`: such an import kept inside a function keeps the CLI's start-up light
    (``monitor --help`` must not load rasterio), so it counts as lazy for a reason. Measured
    by importing it in a fresh interpreter, since ``monitor.detect`` loads its modules on
    first attribute access."""
    if not target.startswith("monitor"):
        return False
    statement = f"from {target} import {', '.join(what)}" if what else f"import {target}"
    probe = (
        "import sys\n"
        f"{statement}\n"
        "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    return bool((set(done.stdout.split()) - _bare_interpreter()) & LAZY_OK)


@functools.cache
def _bare_interpreter() -> frozenset[str]:
    """Top-level modules a bare interpreter has loaded already (``importlib``, ``urllib``
    come with start-up): they are nobody's import."""
    probe = "import sys\nprint(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return frozenset(done.stdout.split())


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), packages' ``__init__``
    re-exports left out: a package importing its own modules is no circle."""

    def plain(a: str, b: str) -> bool:
        return not b.startswith(a + ".") and not a.startswith(b + ".")

    graph = {a: {b for b in bs if b in edges and plain(a, b)} for a, bs in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="name every offender")
    args = parser.parse_args()
    m = measure()
    big = {k: v for k, v in m.modules.items() if v > 800}
    rings = circles(m.edges)
    heavy = {(t, w): loads_heavy(t, w) for _, t, w in m.inner_imports}
    light = [(mod, t, w) for mod, t, w in m.inner_imports if not heavy[t, w]]
    rows = [
        ("import circles", len(rings), rings),
        ("functions over 100 lines", len(m.long_functions), m.long_functions),
        ("modules over 800 lines", len(big), sorted(big.items())),
        ("module docstrings with 'and'", len(m.and_docstrings), m.and_docstrings),
        ("_private names imported from another module", len(m.private_imports), m.private_imports),
        ("Any in annotations", m.any_annotations, []),
        (
            "imports inside functions (not of a heavy library)",
            len(m.inner_imports),
            m.inner_imports,
        ),
        (
            "  of which load no heavy library through the package either",
            len(light),
            light,
        ),
    ]
    print(f"{len(m.modules)} modules, {sum(m.modules.values()):,} lines")
    for label, count, offenders in rows:
        print(f"{label}: {count}")
        if args.list:
            for item in offenders:
                print(f"   {item}")


if __name__ == "__main__":
    main()
