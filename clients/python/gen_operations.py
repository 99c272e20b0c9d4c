"""Regenerate `doorstep_client/operations.py` from `openapi/openapi.json`:

    .venv/bin/python -m clients.python.gen_operations
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "openapi.json"
TARGET = Path(__file__).resolve().parent / "doorstep_client" / "operations.py"


def render(spec: dict) -> str:
    rows = sorted(
        (operation["operationId"], method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    )
    lines = [
        '"""Generated from openapi/openapi.json by clients/python/gen_operations.py: do not edit."""',
        "",
        "OPERATIONS: dict[str, tuple[str, str]] = {",
        *(f"    {operation_id!r}: ({method!r}, {path!r})," for operation_id, method, path in rows),
        "}",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    TARGET.write_text(render(json.loads(SPEC.read_text())))
    sys.stdout.write(f"Wrote {TARGET.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
