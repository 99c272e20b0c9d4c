"""Who is calling: the identity every route and service receives instead of a raw token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

STAFF_ROLES = ("worker", "backoffice", "admin")
PARTNER_SCOPES = ("signals:write", "cases:read", "feedback:read", "reports:read")


@dataclass(frozen=True)
class Principal:
    kind: str  # "staff" | "partner"
    actor_id: str  # staff user id, or the partner's client_id
    municipality_code: str
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    user_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None

    @classmethod
    def staff(
        cls, user_id: uuid.UUID, municipality_code: str, role: str, *, device_id: uuid.UUID | None = None
    ) -> Principal:
        """A staff member (with `device_id`: on their enrolled device)."""
        return cls(
            kind="staff",
            actor_id=str(user_id),
            municipality_code=municipality_code,
            role=role,
            user_id=user_id,
            device_id=device_id,
        )

    def may(self, *, roles: frozenset[str], scopes: frozenset[str]) -> bool:
        """A staff member by role, a partner by scope: never one for the other."""
        if self.kind == "staff":
            return self.role in roles
        return bool(self.scopes & scopes)
