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
    # Paths in the document are relative to a server (`/v1`, or `/` for the probes): the client
    # calls the whole path.
    def url(path: str, item: dict) -> str:
        server = (item.get("servers") or spec.get("servers") or [{"url": "/"}])[0]["url"]
        return server.rstrip("/") + path

    rows = sorted(
        (operation["operationId"], method.upper(), url(path, operations))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method != "servers"
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
