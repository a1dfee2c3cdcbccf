"""docs/design.md's "may import" column, asserted on every module's imports (as written)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "monitor"

#: Names the table uses for distributions, as their import names.
IMPORT_NAMES = {
    "pystac-client": "pystac_client",
    "scikit-image": "skimage",
    "pillow": "PIL",
    "xstatic-leaflet": "xstatic",
    "sqlite3": "sqlite3",
    "dask": "dask",
}
#: Stages of the package by the name the table gives them.
STAGES = {
    p.stem if p.is_file() else p.name
    for p in PACKAGE.iterdir()
    if (p.suffix == ".py" and not p.stem.startswith("__")) or (p / "__init__.py").exists()
}


def _table() -> dict[str, tuple[set[str], set[str], bool]]:
    """Top-level stage → (allowed imports, forbidden imports, every stage allowed)."""
    rows: dict[str, tuple[set[str], set[str], bool]] = {}
    text = (ROOT / "docs" / "design.md").read_text()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("stage", "---"):
            continue
        named = re.findall(r"`([a-z_]+)(?:/|\.py)", cells[1])
        if not named or named[0] not in STAGES:
            continue
        stage = named[0]
        may = cells[4]
        if may.startswith("as "):
            continue  # a module of a stage already listed
        everything = may.startswith("every stage")
        # "a, b — never c or d" and "a, b; never c" both name what is forbidden last.
        allowed_part, _, never_part = re.sub(r"\s+—\s+", " never ", may).partition(" never")
        allowed = _names(re.sub(r"\([^)]*\)", "", allowed_part))
        forbidden = _names(re.sub(r"\([^)]*\)|\bnever\b", "", never_part))
        rows[stage] = (allowed, forbidden, everything)
    return rows


def _names(text: str) -> set[str]:
    out = set()
    for token in re.split(r",|;|\bor\b|\band\b", text.replace("`", "")):
        token = token.strip().lower().removeprefix("the ")
        if not token or token.startswith(("stdlib", "nothing", "every")):
            continue
        word = token.split()[0].split(".")[0]  # "detect.params" is of detect
        out.add(IMPORT_NAMES.get(word, word.replace("-", "_")))
    return out


def _imports(path: Path) -> set[str]:
    """First names a module imports (``monitor.x`` kept two deep), lazily or not; imports
    under ``if TYPE_CHECKING`` are for annotations and do not count."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # imports for annotations only
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    roots = set()
    for name in found:
        parts = name.split(".")
        roots.add(".".join(parts[:2]) if parts[0] == "monitor" else parts[0])
    return roots


TABLE = _table()


def test_the_table_covers_every_stage() -> None:
    missing = STAGES - set(TABLE)
    assert not missing, f"docs/design.md has no 'may import' row for {sorted(missing)}"


@pytest.mark.parametrize("stage", sorted(TABLE))
def test_each_stage_imports_only_what_the_design_allows(stage: str) -> None:
    allowed, forbidden, everything = TABLE[stage]
    base = PACKAGE / stage
    files = sorted(base.rglob("*.py")) if base.is_dir() else [PACKAGE / f"{stage}.py"]
    wrong = []
    for path in files:
        for name in sorted(_imports(path)):
            if name.startswith("monitor"):
                other = name.split(".")[1] if "." in name else ""
                if not other or other == stage:
                    continue
                if other in forbidden or not (everything or other in allowed):
                    wrong.append(f"{path.relative_to(ROOT)} imports monitor.{other}")
            elif name in sys.stdlib_module_names or name == "__future__":
                continue
            elif name in forbidden or name not in allowed:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, (
        f"docs/design.md says {stage} may import {sorted(allowed)}"
        f"{' (every stage)' if everything else ''}, never {sorted(forbidden)}:\n" + "\n".join(wrong)
    )


def test_nothing_imports_job_but_the_cli() -> None:
    wrong = [
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if "monitor.job" in _imports(p) and p.parent.name not in ("cli", "job")
    ]
    assert not wrong, f"only monitor/cli may import monitor.job: {wrong}"


def _house():
    import importlib.util

    spec = importlib.util.spec_from_file_location("house", ROOT / "benchmarks" / "house.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["house"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_no_import_circle_no_private_import_one_noun_per_module() -> None:
    house = _house()
    measures = house.measure(PACKAGE)
    assert house.circles(measures.edges) == []
    assert measures.private_imports == [], "give what sibling modules share a public name"
    assert measures.and_docstrings == [], "a module's first docstring line names one noun"


def test_every_error_class_is_raised_and_the_root_never_is() -> None:
    import monitor.errors as errors

    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py") if p.name != "errors.py")
    classes = [n for n in errors.__all__ if not n.startswith("EXIT_")]
    bases = {c.__base__.__name__ for c in map(vars(errors).get, classes)}
    unused = [
        n for n in classes if n not in bases and not re.search(rf"\b(raise|return) {n}\(", source)
    ]
    assert not unused, f"error classes never raised: {unused}"
    assert not re.search(r"\b(raise|return) MonitorError\(", source), "raise the subclass that fits"
