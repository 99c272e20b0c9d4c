"""A delivery that changes a case a phone holds reaches that phone on its next pull."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PRIVATE, csv_file, decrypt, jwk_of, login, make_municipality, make_user, pull, row, upload


def _held_case(client: TestClient, session: Session) -> tuple[dict[str, str], dict[str, str], str, str]:
    """A case opened by an import, assigned to a worker whose phone has pulled it: (office, device, case id, cursor)."""
    make_municipality(session)
    worker = make_user(session, role="worker", username="worker1")
    make_user(session, role="backoffice", username="office1")
    office = login(client, "office1")
    assert upload(client, office, csv_file(row("S-1", partner="Huur", amount="400,00"))).json()["cases_opened"] == 1
    case_id = client.get("/v1/cases", headers=office).json()["items"][0]["id"]
    assigned = client.post(f"/v1/cases/{case_id}/assignment", headers=office, json={"worker_id": str(worker.id)})
    assert assigned.status_code == 200, assigned.text
    device = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(PRIVATE), "label": "phone"}
    ).json()
    headers = {"Authorization": f"Bearer {device['access_token']}"}
    first = decrypt(pull(client, headers).text)
    assert [str(case.id) for case in first.upserts] == [case_id] and first.upserts[0].classification == "single"
    return office, headers, case_id, first.cursor


def test_an_escalation_by_an_import_reaches_the_phone(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    office, device, case_id, cursor = _held_case(client, session)
    assert decrypt(pull(client, device, cursor=cursor).text).upserts == []  # nothing changed yet
    assert upload(client, office, csv_file(row("S-2", partner="Energie", amount="250,00"))).json()["created"] == 1
    changed = decrypt(pull(client, device, cursor=cursor).text)
    assert [str(case.id) for case in changed.upserts] == [case_id]
    assert changed.upserts[0].classification == "multiple" and changed.upserts[0].total_arrears_cents == 65000


def test_a_signal_that_joins_without_changing_the_classification_reaches_the_phone(
    client: TestClient, session: Session
):  # type: ignore[no-untyped-def]
    office, device, case_id, _ = _held_case(client, session)
    upload(client, office, csv_file(row("S-2", partner="Energie", amount="250,00")))
    cursor = decrypt(pull(client, device).text).cursor
    upload(client, office, csv_file(row("S-3", partner="Water", amount="100,00")))
    changed = decrypt(pull(client, device, cursor=cursor).text)
    assert [str(case.id) for case in changed.upserts] == [case_id]
    case = changed.upserts[0]
    assert case.classification == "multiple" and case.total_arrears_cents == 75000
    assert case.partner_types == ["Energie", "Huur", "Water"]


def test_a_running_import_does_not_hold_up_the_field(session: Session, app, database_url: str, monkeypatch):  # type: ignore[no-untyped-def]
    """The tenant's change counter, which every push and office action takes in turn, is free while
    a delivery is being read and written: the import numbers its changes only just before its commit."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; SQLite serialises whole transactions")
    from api.models import Municipality
    from api.signals import service
    from api.signals.parsing import normalise_row

    make_municipality(session)
    engine, vault = app.state.engine, app.state.vault
    monkeypatch.setattr(service, "CHUNK", 2)
    free_during_import: list[bool] = []

    def rows():  # type: ignore[no-untyped-def]
        for number in range(1, 7):
            if number == 5:  # two chunks are written by now
                with engine.connect() as other:
                    try:
                        other.execute(sa.text("SELECT last_seq FROM tenant_sequence FOR UPDATE NOWAIT"))
                        free_during_import.append(True)
                    except sa.exc.OperationalError:
                        free_during_import.append(False)
                    other.rollback()
            yield normalise_row(
                {
                    "signal_id": f"L-{number}",
                    "partner_type": "Huur",
                    "signal_date": "2026-11-03",
                    "postcode": "1053KL",
                    "house_number": str(number),
                },
                line=number,
            )

    now = datetime.now(UTC)
    with Session(engine) as own:
        record = service.new_import(code="0363", source="api", mode="accept-valid", created_by="t", now=now)
        own.add(record)
        own.flush()
        report = service.intake(
            own,
            municipality=own.get(Municipality, "0363"),
            vault=vault,
            rows=rows(),
            mode="accept-valid",
            import_id=record.id,
            now=now,
        )
        own.commit()
    assert report.created == 6 and free_during_import == [True]
