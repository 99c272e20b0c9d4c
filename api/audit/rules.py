"""The audit trail as the Logboek Dataverwerkingen (Logius) shapes a processing: one audit entry,
its processing activity, who acted and whose data, into one LDV record. Pure: no database."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

ACTIVITY_URN = "urn:doorstep:processing-activity:"
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


class Activity(Protocol):
    # Read-only: the activities are frozen dataclasses.
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def legal_basis(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    role: str  # worker | backoffice | admin | partner | system
    organisation: str


@dataclass(frozen=True)
class Entry:
    """What the log needs of an audit entry (a row of `audit_entry`, and its case's household)."""

    id: int
    at: datetime
    action: str
    actor_id: str
    resource_type: str
    resource_id: str | None
    case_id: uuid.UUID | None
    request_id: str | None
    household_id: uuid.UUID | None


def trace_id(entry: Entry) -> str:
    """LDV wants 16 bytes. Our own request ids are (a uuid4's hex); one a client chose is hashed
    to 16 bytes, so the log still groups by request, and `dpl.doorstep.request_id` keeps it as sent."""
    if entry.request_id and _TRACE_ID.match(entry.request_id):
        return entry.request_id
    seed = f"request:{entry.request_id}" if entry.request_id else f"audit-entry:{entry.id}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def ldv_record(entry: Entry, *, activity: Activity, actor: Actor, service_version: str) -> dict[str, Any]:
    """The record as `api.audit.schemas.LdvRecord` documents it; attributes without a value are left out."""
    attributes = {
        "dpl.core.processing_activity_id": ACTIVITY_URN + activity.code,
        "dpl.core.data_subject_id": str(entry.household_id) if entry.household_id else None,
        "dpl.doorstep.data_subject_id_type": "household" if entry.household_id else None,
        "dpl.doorstep.processing_activity": activity.name,
        "dpl.doorstep.legal_basis": activity.legal_basis,
        "dpl.doorstep.request_id": entry.request_id,
        "dpl.doorstep.actor_id": entry.actor_id,
        "dpl.doorstep.actor_role": actor.role,
        "dpl.doorstep.actor_organisation": actor.organisation,
        "dpl.doorstep.case_id": str(entry.case_id) if entry.case_id else None,
        "dpl.doorstep.resource_type": entry.resource_type,
        "dpl.doorstep.resource_id": entry.resource_id,
    }
    return {
        "trace_id": trace_id(entry),
        "operation_id": f"{entry.id:016x}",
        "status_code": "STATUS_CODE_OK",
        "name": entry.action,
        "start_time": entry.at.isoformat(),
        "end_time": entry.at.isoformat(),
        "resource": {"attributes": {"service.name": "doorstep", "service.version": service_version}},
        "attributes": {key: value for key, value in attributes.items() if value is not None},
    }
