"""Pull cursors: an opaque token for "everything of this tenant up to change number N".

The number is the server's per-tenant change sequence, never a device clock. The tenant
is inside the cursor so one device's cursor is useless against another municipality,
and a `generation` lets the server invalidate all cursors (e.g. after restoring a backup)
so that devices fall back to a full snapshot instead of silently missing changes.
"""

from __future__ import annotations

import base64
import binascii
import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PREFIX = "c1."


class Cursor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = Field(pattern=r"^\d{4}$")
    seq: int = Field(ge=0)
    generation: int = Field(default=1, ge=1)


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor.tenant, cursor.seq, cursor.generation], separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor | None:
    """The cursor, or None for anything we did not issue (the caller then sends a full snapshot)."""
    if not text or not text.startswith(PREFIX) or len(text) > 200:
        return None
    body = text[len(PREFIX) :]
    try:
        tenant, seq, generation = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return Cursor(tenant=tenant, seq=seq, generation=generation)
    except (ValueError, TypeError, binascii.Error, ValidationError):
        return None


def usable_for(
    cursor: Cursor | None, *, tenant: str, generation: int, oldest_retained_seq: int, current_seq: int
) -> bool:
    """Can an incremental pull start from `cursor`? Otherwise the device needs a full snapshot."""
    return (
        cursor is not None
        and cursor.tenant == tenant
        and cursor.generation == generation
        and oldest_retained_seq <= cursor.seq <= current_seq
    )
