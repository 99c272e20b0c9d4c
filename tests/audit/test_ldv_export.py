"""The audit trail as Logboek Dataverwerkingen records: the data protection officer answers "who saw
this household's data, and why" from one export, which names no one."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.audit import service
from api.audit.schemas import LdvRecord
from tests.factories import BSN, JANSEN, login, make_municipality, make_user, search

OUTREACH = "urn:doorstep:processing-activity:outreach"
INTAKE = "urn:doorstep:processing-activity:intake"


def ldv(client: TestClient, **params: str) -> list[dict]:
    response = client.get("/v1/audit/export", headers=login(client, "admin1"), params={"format": "ldv", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.text)


def test_who_saw_this_households_data_and_why_from_one_export(client: TestClient, rights_town):  # type: ignore[no-untyped-def]
    office = login(client, "office1")
    read = client.get(f"/v1/cases/{rights_town['second']}", headers=office)
    assert (
        client.get(f"/v1/cases/{rights_town['other']}", headers=office).status_code == 200
    )  # de Vries: another household
    signal_id = next(s["id"] for s in search(client, bsn=BSN).json()["signals"] if s["external_id"] == "NOV-1")
    assert client.get(f"/v1/signals/{signal_id}/bsn", headers=office).status_code == 200
    (household,) = search(client, bsn=BSN).json()["households"]

    records = ldv(client, dataSubject=household["id"])

    assert records and {r["attributes"]["dpl.core.data_subject_id"] for r in records} == {household["id"]}
    assert {r["attributes"]["dpl.doorstep.case_id"] for r in records} == {
        str(rights_town["first"]),
        str(rights_town["second"]),
    }
    who_and_why = {
        (
            r["name"],
            r["attributes"]["dpl.doorstep.actor_role"],
            r["attributes"]["dpl.doorstep.actor_organisation"],
            r["attributes"]["dpl.core.processing_activity_id"],
        )
        for r in records
    }
    assert ("cases.read", "backoffice", "Gemeente Amsterdam", OUTREACH) in who_and_why
    assert ("signals.reveal-bsn", "backoffice", "Gemeente Amsterdam", INTAKE) in who_and_why
    assert ("cases.close", "backoffice", "Gemeente Amsterdam", OUTREACH) in who_and_why
    assert all(r["attributes"]["dpl.doorstep.legal_basis"].startswith("AVG art.") for r in records)
    (the_read,) = [r for r in records if r["name"] == "cases.read" and r["start_time"].startswith("2026-11-26")]
    assert the_read["trace_id"] == read.headers["X-Request-ID"] == the_read["attributes"]["dpl.doorstep.request_id"]
    for record in records:
        LdvRecord.model_validate(record)


def test_the_export_names_no_one(client: TestClient, rights_town):  # type: ignore[no-untyped-def]
    office = login(client, "office1")
    for case in rights_town.values():
        assert client.get(f"/v1/cases/{case}", headers=office).status_code == 200
    signal_id = search(client, bsn=BSN).json()["signals"][0]["id"]
    assert client.get(f"/v1/signals/{signal_id}/bsn", headers=office).status_code == 200

    response = client.get("/v1/audit/export", headers=login(client, "admin1"), params={"format": "ldv"})

    records = json.loads(response.text)
    assert {r["attributes"].get("dpl.doorstep.data_subject_id_type") for r in records} == {"household", None}
    for secret in (
        BSN,
        "Jansen",
        "J.",
        "Vries",
        "Kinkerstraat",
        "1053",
        JANSEN["phone"],
        JANSEN["email"],
        "1980-05-17",
        "office1",
        "admin1",
    ):
        assert secret not in response.text, secret
    operation_ids = [r["operation_id"] for r in records]
    assert len(set(operation_ids)) == len(operation_ids) and operation_ids == sorted(operation_ids)


def test_the_export_streams_in_batches_with_the_same_result(app: FastAPI, client: TestClient, rights_town):  # type: ignore[no-untyped-def]
    for case in rights_town.values():
        client.get(f"/v1/cases/{case}", headers=login(client, "office1"))

    def export(batch: int) -> list[dict]:
        chunks = list(
            service.ldv_export(
                app.state.engine,
                municipality_code="0363",
                case_id=None,
                actor_id=None,
                data_subject=None,
                since=None,
                until=None,
                batch=batch,
            )
        )
        return json.loads(b"".join(chunks))

    whole = export(1000)
    assert len(whole) > 5
    assert export(2) == export(len(whole)) == whole


def test_another_municipality_sees_nothing_of_the_household(client: TestClient, session: Session, rights_town):  # type: ignore[no-untyped-def]
    make_municipality(session, "0599", "Rotterdam")
    make_user(session, code="0599", role="admin", username="admin-rotterdam")
    session.commit()
    household = search(client, bsn=BSN).json()["households"][0]["id"]
    response = client.get(
        "/v1/audit/export", headers=login(client, "admin-rotterdam"), params={"format": "ldv", "dataSubject": household}
    )
    assert response.status_code == 200 and response.json() == []


def test_the_csv_stays_the_default_and_takes_the_same_filter(client: TestClient, rights_town):  # type: ignore[no-untyped-def]
    household = search(client, bsn=BSN).json()["households"][0]["id"]
    admin = login(client, "admin1")
    plain = client.get("/v1/audit/export", headers=admin)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/csv")
    mine = client.get("/v1/audit/export", headers=admin, params={"dataSubject": household}).text
    assert str(rights_town["first"]) in mine and str(rights_town["other"]) not in mine


def test_a_bad_format_or_data_subject_is_a_422(client: TestClient, rights_town):  # type: ignore[no-untyped-def]
    admin = login(client, "admin1")
    assert client.get("/v1/audit/export", headers=admin, params={"format": "xml"}).status_code == 422
    assert client.get("/v1/audit/export", headers=admin, params={"dataSubject": "1053KL-12"}).status_code == 422
    assert client.get("/v1/audit/export", headers=login(client, "office1"), params={"format": "ldv"}).status_code == 403
