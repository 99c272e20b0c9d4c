"""Opaque cursors for list endpoints: clients pass back what they got, never build one."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic import BaseModel

from api.platform.problems import Unprocessable


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, model: type[BaseModel]) -> Any:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return model.model_validate_json(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Unprocessable("The cursor is not one this API issued.", slug="invalid-cursor") from exc
