"""The BKR area's helpers: the test double's handle, bringing a case to the point where a
trajectory can start (through the public API), and running the outbox as the worker does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.bkr.client import HttpBkrClient
from api.bkr.outbox import deliver_due
from api.models import BkrRegistration, Case, Signal
from bkr_double.app import DEFAULT_PASSWORD, DEFAULT_USERNAME
from tests.factories import FakeClock, make_case, read

LEASE = timedelta(seconds=60)


@dataclass
class BkrDouble:
    url: str

    def fault(self, mode: str, **options: Any) -> None:
        response = httpx.post(f"{self.url}/_control/faults", json={"mode": mode, **options})
        assert response.status_code == 204, response.text

    def registrations(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/v1/registrations", auth=(DEFAULT_USERNAME, DEFAULT_PASSWORD))
        assert response.status_code == 200
        return response.json()

    def requests(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/_control/requests").json()

    def client(self, *, timeout_seconds: float = 5.0, password: str = DEFAULT_PASSWORD) -> HttpBkrClient:
        return HttpBkrClient(self.url, username=DEFAULT_USERNAME, password=password, timeout_seconds=timeout_seconds)


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


def deliver(db: Engine, client, clock: FakeClock, *, max_attempts: int = 20):  # type: ignore[no-untyped-def]
    return deliver_due(db, client, clock=clock, lease=LEASE, max_attempts=max_attempts)


def registrations(session: Session) -> list[BkrRegistration]:
    """The outbox's registrations, oldest first."""
    return read(session, select(BkrRegistration).order_by(BkrRegistration.created_at, BkrRegistration.action.desc()))
