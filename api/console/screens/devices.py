"""Apparaten: the workers' phones with their sync health, the silent ones, and revoking one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session, col, select
from starlette.responses import Response

from api.auth.deps import Now
from api.backoffice.service import is_silent
from api.console.staff import staff_names
from api.console.web import ConsoleRoute, Form, Office, as_api, attempt, done, optional, render
from api.field import routes as device_api
from api.field.schemas import DeviceOut
from api.models import Device
from api.platform.db import SessionDep
from api.platform.problems import ProblemError

router = APIRouter(prefix="/console/apparaten", route_class=ConsoleRoute)
REVOKED = "Apparaat ingetrokken; het wist zich bij het volgende contact."


def silent_device(device: DeviceOut, at: datetime) -> bool:
    """As the dashboard counts them: an active device that neither pulled nor pushed for a day."""
    return device.revoked_at is None and is_silent(device.last_pull_at, device.last_push_at, device.enrolled_at, now=at)


def device_page(
    request: Request,
    session: Session,
    signed: Any,
    at: datetime,
    *,
    silent_only: bool,
    error: ProblemError | None = None,
) -> Response:
    devices = device_api.list_devices(session, as_api(device_api.Staff, signed.principal)).items
    silent = {device.id for device in devices if silent_device(device, at)}
    if silent_only:
        devices = [device for device in devices if device.id in silent]
    names = staff_names(session, signed.principal)
    # Ordered by worker name (the API orders by username), then enrolment.
    devices.sort(key=lambda d: (names.get(d.worker_id, d.worker_username).casefold(), d.worker_username, d.enrolled_at))
    revoked_by = dict(
        session.exec(
            select(Device.id, Device.revoked_by).where(
                Device.municipality_code == signed.principal.municipality_code, col(Device.revoked_by).is_not(None)
            )
        ).all()
    )
    return render(
        request,
        signed,
        "apparaten.html",
        current="apparaten",
        error=error,
        devices=devices,
        silent=silent,
        silent_only=silent_only,
        names=names,
        revoked_by=revoked_by,
    )


@router.get("", name="console-devices")
def devices(request: Request, session: SessionDep, signed: Office, at: Now, stil: str | None = None) -> Response:
    return device_page(request, session, signed, at, silent_only=stil == "1")


@router.post("/{device_id}/intrekken", name="console-device-revoke")
def revoke(
    request: Request, session: SessionDep, signed: Office, at: Now, form: Form, device_id: uuid.UUID
) -> Response:
    silent_only = optional(form, "stil") == "1"
    _, problem = attempt(
        session, lambda: device_api.revoke(session, as_api(device_api.Staff, signed.principal), at, device_id)
    )
    if problem is not None:
        return device_page(request, session, signed, at, silent_only=silent_only, error=problem)
    return done(signed, REVOKED, "/console/apparaten?stil=1" if silent_only else "/console/apparaten")
