"""Correction (AVG art. 16) through HTTP: a corrected address regroups the case as intake would and
reaches the worker's phone; the old values live in the audit trail only; bad patches are refused."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

from api.models import AuditEntry, Case, Signal
from tests.factories import (
    BSN,
    REASON,
    at,
    case_of,
    decrypt,
    jansen,
    jwk_of,
    login,
    make_municipality,
    make_user,
    read,
    upload_personal,
)

KEY = rsa.generate_private_key(65537, 2048)


def pietersen(signal_id: str, signal_date: str, *, partner: str = "Water", creditor: str = "Waternet") -> str:
    return f"{signal_id};{partner};{creditor};80;;{signal_date};;P.;Pietersen;1990-01-01;M;;Dam;1;;1012 JS;Amsterdam"


def values_outside_the_audit(session: Session) -> str:
    seen = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "audit_entry":
            continue
        for row in session.execute(sa.select(table)).all():
            seen.append(" ".join(str(value) for value in row))
    session.rollback()
    return "\n".join(seen)


@pytest.fixture
def town(client: TestClient, session: Session, clock) -> dict[str, object]:  # type: ignore[no-untyped-def]
    make_municipality(session, "0363", "Amsterdam")
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    make_user(session, role="worker", username="worker1")
    # Pietersen's household at Dam 1 had a signal in September, its case closed since.
    at(clock, 2026, 9, 5, 9, 0)
    office = login(client, "office1")
    upload_personal(client, office, pietersen("SEP-1", "2026-09-01"))
    closed = client.post(
        f"/v1/cases/{case_of(session, 'SEP-1')}/close",
        headers=office,
        json={"result": "Niet opgepakt: onterecht signaal"},
    )
    assert closed.status_code == 200, closed.text
    at(clock, 2026, 10, 5, 9, 0)
    upload_personal(client, login(client, "office1"), jansen("OKT-1", "2026-10-01"))
    [signal] = read(session, select(Signal).where(Signal.external_id == "OKT-1"))
    return {"signal": signal.id, "case": signal.case_id}


def phone_of(client: TestClient, case_id) -> dict[str, str]:  # type: ignore[no-untyped-def]
    worker = client.get("/v1/auth/me", headers=login(client, "worker1")).json()["id"]
    assigned = client.post(
        f"/v1/cases/{case_id}/assignment", headers=login(client, "office1"), json={"worker_id": worker}
    )
    assert assigned.status_code == 200, assigned.text
    device = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(KEY), "label": "phone"}
    ).json()
    return {"Authorization": f"Bearer {device['access_token']}"}


def correct(client: TestClient, signal_id, **fields):  # type: ignore[no-untyped-def]
    return client.patch(f"/v1/signals/{signal_id}", headers=login(client, "admin1"), json={"reason": REASON, **fields})


TO_DAM = {"street": "Dam", "house_number": 1, "postcode": "1012 JS"}


def test_a_corrected_address_regroups_the_case_and_reaches_the_phone(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, town
):
    phone = phone_of(client, town["case"])
    before = decrypt(client.get("/v1/sync/pull", headers=phone).text, KEY)
    [held] = before.upserts
    assert (held.address.street, held.address.postcode, held.classification) == ("Kinkerstraat", "1053KL", "single")

    response = correct(client, town["signal"], **TO_DAM)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["changed"] == ["house_number", "postcode", "street"] and answer["regrouped"] is True
    # The case was only this signal's: it moves with it, and at Dam 1 the September signal makes it
    # consecutive, as intake would have classified it there.
    assert answer["case_id"] == str(town["case"]) and answer["classification"] == "consecutive"

    after = decrypt(client.get("/v1/sync/pull", headers=phone, params={"cursor": before.cursor}).text, KEY)
    [moved] = after.upserts
    assert moved.id == town["case"] and moved.version > held.version
    assert (moved.address.street, moved.address.house_number, moved.address.postcode) == ("Dam", 1, "1012JS")
    assert moved.classification == "consecutive" and after.removed == []

    # The old address is kept in the audit trail, and nowhere else.
    for old in ("Kinkerstraat", "1053KL"):
        assert old not in values_outside_the_audit(session)
    [entry] = read(session, select(AuditEntry).where(AuditEntry.action == "residents.correction"))
    assert entry.detail["old"] == {"house_number": 12, "postcode": "1053KL", "street": "Kinkerstraat"}
    assert entry.detail["reason"] == REASON and entry.case_id == town["case"]

    # The resident's access report names the correction.
    ref = client.post(
        "/v1/residents/search", headers=login(client, "admin1"), json={"reason": REASON, "bsn": BSN}
    ).json()["ref"]
    report = client.get(f"/v1/residents/{ref}/report", headers=login(client, "admin1")).json()
    assert "residents.correction" in [e["action"] for e in report["access_log"]]
    assert [h["address"] for h in report["households"]] == ["Dam 1, 1012JS Amsterdam"]

    # Erased later, the person leaves nothing behind: not even the old values in the audit trail.
    erased = client.post(
        f"/v1/residents/{ref}/erasure", headers=login(client, "admin1"), json={"ground": "erasure", "reason": REASON}
    )
    assert erased.status_code == 200, erased.text
    [entry] = read(session, select(AuditEntry).where(AuditEntry.action == "residents.correction"))
    assert "old" not in entry.detail and "reason" not in entry.detail and entry.detail["fields"]


def test_a_signal_that_moves_to_an_address_with_an_open_case_joins_it_and_its_old_case_leaves_the_phone(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, town, clock
):
    at(clock, 2026, 10, 6, 9, 0)
    upload_personal(
        client, login(client, "office1"), pietersen("OKT-2", "2026-10-02", partner="Energie", creditor="Vattenfall")
    )
    open_at_dam = case_of(session, "OKT-2")
    phone = phone_of(client, town["case"])
    before = decrypt(client.get("/v1/sync/pull", headers=phone).text, KEY)
    assert [c.id for c in before.upserts] == [town["case"]]

    answer = correct(client, town["signal"], **TO_DAM).json()
    assert answer["case_id"] == str(open_at_dam) and answer["previous_case_id"] == str(town["case"])
    assert answer["classification"] == "multiple"  # two signals at Dam 1 in October

    after = decrypt(client.get("/v1/sync/pull", headers=phone, params={"cursor": before.cursor}).text, KEY)
    assert [(r.case_id, r.reason) for r in after.removed] == [(town["case"], "closed")]
    [old] = read(session, select(Case).where(Case.id == town["case"]))
    assert (old.state, old.result) == ("closed", "Niet opgepakt: andere reden")
    assert "Kinkerstraat" not in values_outside_the_audit(session)


def test_a_correction_of_the_name_only_keeps_the_case_and_gives_the_phone_the_new_name(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, town
):
    phone = phone_of(client, town["case"])
    before = decrypt(client.get("/v1/sync/pull", headers=phone).text, KEY)
    answer = correct(client, town["signal"], surname="Janssen", initials="J.P.", birth_date="17-05-1981").json()
    assert answer["changed"] == ["birth_date", "initials", "surname"] and answer["regrouped"] is False
    after = decrypt(client.get("/v1/sync/pull", headers=phone, params={"cursor": before.cursor}).text, KEY)
    assert [(r.initials, r.surname) for r in after.upserts[0].residents] == [("J.P.", "Janssen")]
    [signal] = read(session, select(Signal).where(Signal.id == town["signal"]))
    assert (signal.surname, signal.birth_date.isoformat()) == ("Janssen", "1981-05-17")
    assert "1980-05-17" not in values_outside_the_audit(session)
    # The same values again change nothing and leave no second entry.
    assert correct(client, town["signal"], surname="Janssen").json()["changed"] == []
    assert len(read(session, select(AuditEntry).where(AuditEntry.action == "residents.correction"))) == 1


@pytest.mark.parametrize(
    ("body", "pointers"),
    [
        ({"reason": REASON}, ["/body"]),
        ({"reason": REASON, "surname": "X", "bsn": "111222333"}, ["/body/bsn"]),
        ({"surname": "Jansen"}, ["/body/reason"]),
        (
            {"reason": REASON, "birth_date": "31-02-1980", "postcode": "12345", "gender": "?"},
            ["/body/birth_date", "/body/gender", "/body/postcode"],
        ),
        ({"reason": REASON, "house_number": 0}, ["/body/house_number"]),
        ({"reason": REASON, "surname": "   "}, ["/body/surname"]),
        ({"reason": REASON, "postcode": None}, ["/body/postcode"]),
    ],
)
def test_a_bad_patch_is_refused_with_pointers_and_changes_nothing(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, town, body: dict, pointers: list[str]
):
    response = client.patch(f"/v1/signals/{town['signal']}", headers=login(client, "admin1"), json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert sorted(e["pointer"] for e in response.json()["errors"]) == pointers
    [signal] = read(session, select(Signal).where(Signal.id == town["signal"]))
    assert signal.surname == "Jansen"
    assert read(session, select(AuditEntry).where(AuditEntry.action == "residents.correction")) == []


def test_only_an_admin_of_the_municipality_corrects(client: TestClient, session: Session, town):  # type: ignore[no-untyped-def]
    office = login(client, "office1")
    assert (
        client.patch(
            f"/v1/signals/{town['signal']}", headers=office, json={"reason": REASON, "surname": "X"}
        ).status_code
        == 403
    )
    assert correct(client, uuid.uuid4(), surname="X").status_code == 404
    make_municipality(session, "0344", "Utrecht")
    make_user(session, code="0344", role="admin", username="utrecht-admin")
    other = client.patch(
        f"/v1/signals/{town['signal']}", headers=login(client, "utrecht-admin"), json={"reason": REASON, "surname": "X"}
    )
    assert other.status_code == 404
