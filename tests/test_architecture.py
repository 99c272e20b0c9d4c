"""The dependency direction of DESIGN.md: sync/ and every rules.py stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_PURE = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "alembic", "api", "httpx", "jose")
CLOCK_CALLS = {"now", "utcnow", "today", "time"}


def _pure_modules() -> list[Path]:
    # The DDAS mapping is pure too: rows in, the delivery out (its reading lives in ddas_service.py).
    return sorted((ROOT / "sync").rglob("*.py")) + sorted((ROOT / "api").rglob("rules.py")) + [ROOT / "api/reports/ddas.py"]


def _imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_there_are_pure_modules_to_check():
    assert any(path.name == "rules.py" for path in _pure_modules())
    assert any(path.parent.name == "sync" for path in _pure_modules())


def test_pure_modules_import_no_framework_database_or_service_code():
    offenders = {
        str(path.relative_to(ROOT)): name
        for path in _pure_modules()
        for name in _imports(ast.parse(path.read_text()))
        if name.split(".")[0] in FORBIDDEN_IN_PURE
    }
    assert offenders == {}


def test_pure_modules_read_no_clock():
    offenders = []
    for path in _pure_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_CALLS:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_python_jose_is_confined_to_the_auth_area():
    users = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "api").rglob("*.py"))
        if any(name.split(".")[0] == "jose" for name in _imports(ast.parse(path.read_text())))
    ]
    assert users and all(path.startswith("api/auth/") for path in users)
