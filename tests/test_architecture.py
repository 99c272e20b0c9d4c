"""The dependency direction of DESIGN.md: sync/ and every rules.py stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_PURE = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "alembic", "api", "httpx", "jose")
CLOCK_CALLS = {"now", "utcnow", "today", "time"}


def _pure_modules() -> list[Path]:
    # The DDAS mapping is pure too: rows in, the delivery out (its reading lives in reports/ddas/service.py).
    return (
        sorted((ROOT / "sync").rglob("*.py"))
        + sorted((ROOT / "api").rglob("rules.py"))
        + [ROOT / "api/reports/ddas/document.py"]
    )


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


def _api_imports(path: Path) -> set[str]:
    return {name for name in _imports(ast.parse(path.read_text())) if name == "api" or name.startswith("api.")}


def test_the_tables_import_nothing_from_an_area():
    assert _api_imports(ROOT / "api" / "models.py") == set()


def test_the_platform_imports_no_area_but_the_callers_identity_and_pure_rules():
    """api/platform is what the areas stand on: it may know the tables, the settings, who is
    calling (a Principal) and the pure rules (the Dutch calendar), never an area's use cases."""
    allowed = {"api", "api.models", "api.settings", "api.auth.principal"}
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "api" / "platform").glob("*.py"))
        for name in _api_imports(path)
        if name not in allowed and not name.startswith("api.platform") and not name.endswith(".rules")
    }
    assert offenders == set()


def test_the_state_changing_kinds_of_the_tables_are_the_rules():
    from api.cases.rules import STATE_KINDS
    from api.models import STATE_KINDS_SQL

    assert "kind IN (" + ", ".join(f"'{kind}'" for kind in sorted(STATE_KINDS)) + ")" == STATE_KINDS_SQL


# --- the tests mirror the code --------------------------------------------------------------------


def _imported_modules(path: Path) -> list[str]:
    """The modules a file imports, relative imports resolved; `from a import b` counts as `a` and `a.b`,
    since b may be a module."""
    package = path.relative_to(ROOT).parent.parts
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def _is_test_module_or_conftest(name: str) -> bool:
    parts = name.split(".")
    local = parts[0] in ("tests", "conftest") or parts[0].startswith("test_")
    return local and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def test_no_test_module_imports_another_test_module_or_a_conftest():
    """Shared helpers live in tests/factories.py or an area's helpers.py, fixtures in a conftest.py
    (the root's when several areas use them), which pytest loads itself. A test module imported by
    another ties the two together, and either import relies on how pytest imports files: under
    --import-mode=importlib test modules cannot import each other."""
    modules = sorted((ROOT / "tests").rglob("*.py"))
    assert len(modules) > 100 and _is_test_module_or_conftest("tests.reports.test_ddas")
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name in set(_imported_modules(path))
        if _is_test_module_or_conftest(name)
    )
    assert offenders == [], "imports a test module or a conftest:\n" + "\n".join(offenders)
