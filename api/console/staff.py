"""The municipality's staff as the screens name them: workers for pickers, display names for ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.models import Device, StaffUser


def workers(session: Session, principal: Principal) -> list[StaffUser]:
    """The municipality's active outreach workers, by name (for pickers and for naming assignees)."""
    return list(
        session.exec(
            select(StaffUser)
            .where(
                StaffUser.municipality_code == principal.municipality_code,
                StaffUser.role == "worker",
                col(StaffUser.active).is_(True),
            )
            .order_by(col(StaffUser.display_name))
        )
    )


def staff_names(session: Session, principal: Principal) -> dict[uuid.UUID, str]:
    return {
        user.id: user.display_name
        for user in session.exec(select(StaffUser).where(StaffUser.municipality_code == principal.municipality_code))
    }


def device_labels(
    session: Session, principal: Principal, device_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """The labels of these devices of the municipality (the phone that recorded a visit), in one query."""
    ids = {device_id for device_id in device_ids if device_id is not None}
    if not ids:
        return {}
    return dict(
        session.exec(
            select(Device.id, Device.label).where(
                col(Device.id).in_(ids), Device.municipality_code == principal.municipality_code
            )
        ).all()
    )
