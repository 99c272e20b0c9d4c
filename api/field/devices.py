"""Use cases of a worker's devices: enrolling, signing in again, revoking, and the back office's list."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.field.rules import UnacceptableKey, accept_public_jwk
from api.models import Conflict, Device, Municipality, RefreshToken, StaffUser
from api.municipality.policy import settings_of
from api.platform import tables
from api.platform.problems import Conflict as ConflictProblem
from api.platform.problems import Forbidden, NotFound, Unprocessable
from api.platform.tenancy import owned


def enroll(
    session: Session, principal: Principal, *, public_jwk: dict[str, Any], label: str, now: datetime
) -> tuple[Device, StaffUser]:
    if principal.role != "worker" or principal.user_id is None:
        raise Forbidden("Only outreach workers enroll devices.")
    if principal.device_id is not None:
        # A device enrolled by another device's token would outlive that device's revocation.
        raise Forbidden(
            "Enroll a device with your own sign-in, not with a device's token.", slug="staff-login-required"
        )
    try:
        thumbprint = accept_public_jwk(public_jwk)
    except UnacceptableKey as exc:
        raise Unprocessable(f"The public key is not acceptable: {exc}.", slug="unacceptable-key") from exc
    # Lock the worker so two enrolments at once cannot both slip under the limit.
    worker = session.get(StaffUser, principal.user_id, with_for_update=True)
    assert worker is not None
    municipality = session.get(Municipality, principal.municipality_code)
    limit = settings_of(municipality).max_devices_per_worker
    active = session.exec(
        select(Device.id).where(Device.worker_id == worker.id, col(Device.revoked_at).is_(None))
    ).all()
    if len(active) >= limit:
        raise ConflictProblem(
            f"You already have {len(active)} active device(s), the most this municipality allows; revoke one first.",
            slug="device-limit",
            limit=limit,
        )
    device = Device(
        municipality_code=principal.municipality_code,
        worker_id=worker.id,
        label=label,
        public_jwk={k: public_jwk[k] for k in ("kty", "n", "e", "alg", "use", "kid") if k in public_jwk},
        key_thumbprint=thumbprint,
        enrolled_at=now,
    )
    session.add(device)
    session.flush()
    return device, worker


def sign_in_again(
    session: Session, principal: Principal, device_id: uuid.UUID, *, now: datetime
) -> tuple[Device, StaffUser]:
    """The worker's own device, for a new token pair once its session has ended; the device's
    earlier refresh tokens end here (one session per device)."""
    device = owned(session, Device, device_id, principal, lock=True)
    if device.worker_id != principal.user_id:
        raise NotFound("No such device.")  # another worker's phone: as if it did not exist
    if device.revoked_at is not None:
        raise ConflictProblem(
            "This device was revoked: delete its local data and keys, then enroll again.",
            slug="device-revoked",
            wipe=True,
        )
    for token in session.exec(
        select(RefreshToken).where(RefreshToken.device_id == device.id, col(RefreshToken.revoked_at).is_(None))
    ):
        token.revoked_at = now
        session.add(token)
    worker = session.get(StaffUser, device.worker_id)
    assert worker is not None
    return device, worker


def revoke(session: Session, principal: Principal, device_id: uuid.UUID, *, now: datetime) -> Device:
    device = owned(session, Device, device_id, principal, lock=True)
    if principal.role == "worker" and device.worker_id != principal.user_id:
        raise NotFound("No such device.")  # another worker's phone: as if it did not exist
    if device.revoked_at is None:
        device.revoked_at = now
        device.revoked_by = principal.user_id
        for token in session.exec(
            select(RefreshToken).where(RefreshToken.device_id == device.id, col(RefreshToken.revoked_at).is_(None))
        ):
            token.revoked_at = now
            session.add(token)
        session.add(device)
        session.flush()
    return device


def list_devices(session: Session, principal: Principal) -> list[tuple[Device, StaffUser, int]]:
    query = (
        select(Device, StaffUser)
        .join(StaffUser, col(StaffUser.id) == Device.worker_id)
        .where(Device.municipality_code == principal.municipality_code)
    )
    if principal.role == "worker":
        query = query.where(Device.worker_id == principal.user_id)
    rows = session.exec(query.order_by(col(StaffUser.username), col(Device.enrolled_at))).all()
    pending: Counter[str] = Counter()
    for conflict in session.exec(
        select(Conflict).where(
            Conflict.municipality_code == principal.municipality_code, col(Conflict.resolved_at).is_(None)
        )
    ):
        for device_id in {str(side.get("device_id")) for side in conflict.sides if side.get("device_id")}:
            pending[device_id] += 1
    return [(device, worker, pending[str(device.id)]) for device, worker in rows]


def note_device(noted: dict[str, Any], *, unsent: bool) -> sa.Update:
    """Lock the device (one sync of a device at a time) and note this sync in its row; with
    `unsent`, also the number of events the device says are still in its outbox."""
    dv = tables.device
    if unsent:
        noted = {**noted, "unsent_events_reported": sa.bindparam("unsent")}
    return dv.update().where(dv.c.id == sa.bindparam("device_id")).values(**noted)
