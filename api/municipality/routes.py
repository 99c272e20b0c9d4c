"""HTTP surface of a municipality's settings and outreach policy (data per tenant, audited changes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from api.audit.service import record
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.models import Municipality
from api.municipality.policy import MunicipalitySettings, OutreachPolicy, settings_of
from api.platform.db import SessionDep
from api.platform.problems import problem_responses
from api.platform.tenancy import own_municipality

router = APIRouter(prefix="/v1/municipality", tags=["municipality"], responses=problem_responses(401, 403, 404, 422))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]
Admin = Annotated[Principal, Depends(allow(roles=("admin",)))]


def _save(
    session: SessionDep,
    principal: Principal,
    municipality: Municipality,
    new: MunicipalitySettings,
    *,
    action: str,
    at: datetime,
) -> MunicipalitySettings:
    old = settings_of(municipality)
    changed = sorted(key for key, value in new.model_dump().items() if old.model_dump()[key] != value)
    municipality.settings = new.model_dump(mode="json")  # JSON column: dates as text
    session.add(municipality)
    record(
        session,
        principal,
        action=action,
        resource_type="municipality",
        resource_id=municipality.code,
        at=at,
        detail={"changed": changed},
    )
    return new


@router.get("/settings", name="get-settings", response_model=MunicipalitySettings, summary="Settings and policy")
def get_settings(session: SessionDep, principal: Office) -> MunicipalitySettings:
    return settings_of(own_municipality(session, principal))


@router.put(
    "/settings", name="put-settings", response_model=MunicipalitySettings, summary="Replace the settings (admin)"
)
def put_settings(session: SessionDep, principal: Admin, at: Now, body: MunicipalitySettings) -> MunicipalitySettings:
    return _save(
        session, principal, own_municipality(session, principal, lock=True), body, action="municipality.settings", at=at
    )


@router.get("/policy", name="get-policy", response_model=OutreachPolicy, summary="The outreach policy")
def get_policy(session: SessionDep, principal: Office) -> OutreachPolicy:
    return settings_of(own_municipality(session, principal)).policy


@router.put("/policy", name="put-policy", response_model=OutreachPolicy, summary="Replace the outreach policy (admin)")
def put_policy(session: SessionDep, principal: Admin, at: Now, body: OutreachPolicy) -> OutreachPolicy:
    municipality = own_municipality(session, principal, lock=True)
    current = settings_of(municipality)
    saved = _save(
        session,
        principal,
        municipality,
        current.model_copy(update={"policy": body}),
        action="municipality.policy",
        at=at,
    )
    return saved.policy
