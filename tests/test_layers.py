"""The dependency direction of STYLE.md section 2, checked on every module's imports with ast."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chiptrail

PKG = Path(chiptrail.__file__).parent
BASE = {"errors", "types", "crypto", "countries"}
CORE = {"hardware", "ledger", "geoloc", "parties", "probe", "records"}
CONSUMERS = {"rules", "sim"}
EDGE_LIBS = {
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "typer",
    "click",
    "pyspark",
    "httpx",
    "requests",
    "uvicorn",
    "urllib3",
    "aiohttp",
}

FORBIDDEN: dict[str, set[str]] = {
    **{
        b: {
            "chiptrail." + x for x in CORE | CONSUMERS | {"store", "service", "api", "cli", "batch"}
        }
        for b in BASE
    },
    **{
        c: {
            "chiptrail." + x
            for x in (CORE - {c}) | CONSUMERS | {"store", "service", "api", "cli", "batch"}
        }
        | EDGE_LIBS
        for c in CORE
    },
    **{
        c: {"chiptrail." + x for x in {"store", "service", "api", "cli", "batch"}} | EDGE_LIBS
        for c in CONSUMERS
    },
    "store": {"chiptrail.service", "chiptrail.api", "chiptrail.cli", "chiptrail.batch"},
    "service": {"chiptrail.api", "chiptrail.cli"},
    "batch": {"chiptrail.api", "chiptrail.cli"},
    "api": {"chiptrail.cli"},
    "cli": {"chiptrail.api.routes"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _violations() -> list[str]:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        layer = _layer(path)
        forbidden = FORBIDDEN.get(layer, set())
        for name in _imports(path):
            for f in forbidden:
                if name == f or name.startswith(f + "."):
                    bad.append(f"{path.relative_to(PKG)} imports {name} ({layer} must not)")
    return bad


def test_no_forbidden_imports() -> None:
    assert _violations() == []


def test_checker_catches_a_forbidden_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("import sqlalchemy\nfrom chiptrail.store import database\n")
    names = _imports(bad)
    assert {"sqlalchemy", "chiptrail.store"} <= names
    assert any(n.startswith(f) for n in names for f in FORBIDDEN["geoloc"])


@pytest.mark.parametrize("layer", sorted(CORE | CONSUMERS))
def test_core_package_exists(layer: str) -> None:
    assert (PKG / layer / "__init__.py").is_file()


def test_public_api_all_is_explicit_and_importable() -> None:
    assert len(set(chiptrail.__all__)) == len(chiptrail.__all__)
    for name in chiptrail.__all__:
        assert hasattr(chiptrail, name), name


def test_public_api_loads_lazily_and_completely() -> None:
    import subprocess
    import sys

    code = (
        "import sys, chiptrail\n"
        "assert 'sqlalchemy' not in sys.modules and 'fastapi' not in sys.modules\n"
        "for name in chiptrail.__all__:\n"
        "    getattr(chiptrail, name)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    lazy = set(chiptrail._LAZY)
    assert lazy <= set(chiptrail.__all__)
