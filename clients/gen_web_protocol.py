"""Regenerate `clients/web/src/protocol.json`, the field app's copy of the sync protocol's shapes:

    .venv/bin/python -m clients.gen_web_protocol

The web app validates every decrypted visit list against `visit_list` and every event it
records against `event_payloads`, both taken from `sync/` (the same models the server and the
Python reference client use), so a protocol change shows up as a diff here and a failing test,
not as a phone that cannot read its list.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sync.events import PAYLOADS, PushEvent
from sync.protocol import VisitList

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "clients" / "web" / "src" / "protocol.json"


def render() -> str:
    document = {
        "visit_list": VisitList.model_json_schema(),
        "push_event": PushEvent.model_json_schema(),
        "event_payloads": {kind: model.model_json_schema() for kind, model in sorted(PAYLOADS.items())},
    }
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    TARGET.write_text(render())
    sys.stdout.write(f"Wrote {TARGET.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
