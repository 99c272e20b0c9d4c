"""Bringing a case to the point where a trajectory can start, through the public API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Case, Signal
from tests.factories import make_case


def accepted_case(
    client: TestClient,
    session: Session,
    office: dict[str, str],
    *,
    surname: str = "Jansen",
    birth_date: date | None = date(1984, 3, 9),
) -> Case:
    """A case whose resident was reached by phone and accepted help."""
    case = make_case(session, surname=surname)
    signal = session.exec(select(Signal).where(Signal.case_id == case.id)).one()
    signal.birth_date, signal.gender, signal.phone = birth_date, "V", "0612345678"
    case.opened_at = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    session.add_all([signal, case])
    session.commit()
    for kind, extra in (("phone_attempt", {"reached": True}), ("help_accepted", {})):
        response = client.post(
            f"/v1/cases/{case.id}/actions",
            headers=office,
            json={"action_id": str(uuid.uuid4()), "kind": kind, "occurred_at": "2026-11-26T08:30:00+00:00", **extra},
        )
        assert response.status_code == 200, response.text
    return case


def start(client: TestClient, office: dict[str, str], case_id, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/cases/{case_id}/trajectory", headers=office, json={"decision_date": "2026-11-26", **body})
