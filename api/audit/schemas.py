"""Wire shapes of the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor_type: str
    actor_id: str
    action: str
    resource_type: str
    resource_id: str | None
    case_id: uuid.UUID | None
    request_id: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


class AuditCursor(BaseModel):
    after_id: int = Field(ge=0, lt=2**63)


class LdvAttributes(BaseModel):
    """The key-value pairs of an LDV record: the standard's `dpl.core` namespace, then Doorstep's own."""

    model_config = ConfigDict(populate_by_name=True)

    processing_activity_id: str = Field(
        alias="dpl.core.processing_activity_id",
        examples=["urn:doorstep:processing-activity:outreach"],
        description="The verwerkingsactiviteit: its `code` in `GET /v1/processing-activities`, as a URN.",
    )
    data_subject_id: uuid.UUID | None = Field(
        default=None,
        alias="dpl.core.data_subject_id",
        description="The data subject by pseudonymous reference: the household (never a BSN or a name). Absent "
        "when the processing concerns no household (an account, a device, a report of figures).",
    )
    data_subject_id_type: Literal["household"] | None = Field(default=None, alias="dpl.doorstep.data_subject_id_type")
    processing_activity: str = Field(
        alias="dpl.doorstep.processing_activity", description="The activity's name in the register (Dutch)."
    )
    legal_basis: str = Field(alias="dpl.doorstep.legal_basis")
    request_id: str | None = Field(
        default=None,
        alias="dpl.doorstep.request_id",
        description="The `X-Request-ID` of the request that did it (none for jobs).",
    )
    actor_id: str = Field(alias="dpl.doorstep.actor_id", description="Staff user id, partner client id or job name.")
    actor_role: str = Field(
        alias="dpl.doorstep.actor_role",
        examples=["backoffice"],
        description="`worker`, `backoffice`, `admin` (the account's role now), `partner` or `system`.",
    )
    actor_organisation: str = Field(alias="dpl.doorstep.actor_organisation", examples=["Gemeente Amsterdam"])
    case_id: uuid.UUID | None = Field(default=None, alias="dpl.doorstep.case_id")
    resource_type: str = Field(alias="dpl.doorstep.resource_type")
    resource_id: str | None = Field(default=None, alias="dpl.doorstep.resource_id")


class LdvResource(BaseModel):
    attributes: dict[str, str] = Field(examples=[{"service.name": "doorstep", "service.version": "0.2.0"}])


class LdvRecord(BaseModel):
    """One processing of personal data, shaped after the Logboek Dataverwerkingen (Logius)."""

    trace_id: str = Field(
        pattern="^[0-9a-f]{32}$",
        description="16 bytes, hex: the request id when it is one, else derived from it (or from the entry, for jobs).",
    )
    operation_id: str = Field(pattern="^[0-9a-f]{16}$", description="8 bytes, hex: the audit entry.")
    status_code: Literal["STATUS_CODE_OK"] = Field(description="Only what was carried out is logged.")
    name: str = Field(description="The operation, e.g. `cases.read`.", examples=["cases.read"])
    start_time: datetime
    end_time: datetime
    resource: LdvResource
    attributes: LdvAttributes
