"""The case export: the documented layout, the same rows in CSV and XLSX, filters, purged cases, roles, tenancy."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from api.cases.retention import purge
from api.models import AuditEntry, Case, Municipality, Trajectory
from api.reports.rules import EXPORT_COLUMNS
from tests.factories import (
    BSN,
    KEYS,
    VAULT,
    amsterdam_and_rotterdam,
    at,
    case_at,
    close,
    csv_file,
    event,
    jwk_of,
    login,
    make_case,
    make_municipality,
    make_partner,
    make_user,
    office_action,
    partner_login,
    push,
    read,
    row,
    statements_run,
    upload_accepted,
)

LAYOUT = (Path(__file__).resolve().parents[2] / "docs" / "case-export.md").read_text()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def documented_columns() -> list[str]:
    return re.findall(r"^\| \d+ \| `([a-z_]+)` \|", LAYOUT, flags=re.MULTILINE)


def test_the_layout_document_describes_the_export_column_by_column():
    assert documented_columns() == list(EXPORT_COLUMNS)


@pytest.fixture
def history(client: TestClient, session: Session, clock):  # type: ignore[no-untyped-def]
    worker = amsterdam_and_rotterdam(session)

    def office():  # type: ignore[no-untyped-def]
        return login(client, "office1")

    at(clock, 2026, 3, 2, 10)
    upload_accepted(
        client,
        office(),
        csv_file(
            row("A1", bsn=BSN, day="2026-03-01", postcode="1053KL", addition="A"),
            row("A2", partner="Energie", creditor="Vattenfall", day="2026-03-01", postcode="1053KL", addition="A"),
            row(
                "B1", partner="Water", creditor="Waternet", day="2026-03-01", postcode="1055AB", number="7", crisis="ja"
            ),
            row("C1", partner="Zorg", creditor="CZ", day="2026-03-01", postcode="1061AA", number="8"),
        ),
    )
    at(clock, 2026, 3, 20, 10)
    upload_accepted(
        client,
        office(),
        csv_file("D1;Huur;Ymere;100;01-01-2026;2026-03-19;nee;;J.;Jansen;=1+1;5;;1071AA;Amsterdam"),
        name="formula.csv",
    )
    a, b, c, d = (case_at(session, postcode) for postcode in ("1053KL", "1055AB", "1061AA", "1071AA"))
    for case in (a, b):
        assert (
            client.post(
                f"/v1/cases/{case.id}/assignment", headers=office(), json={"worker_id": str(worker.id)}
            ).status_code
            == 200
        )
    office_action(client, office(), a, "letter_sent", datetime(2026, 3, 3, 9, tzinfo=UTC))
    office_action(client, office(), a, "phone_attempt", datetime(2026, 3, 4, 9, tzinfo=UTC), reached=False)
    enrolled = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(KEYS[0]), "label": "phone"}
    ).json()
    device = {"id": enrolled["device_id"], "headers": {"Authorization": f"Bearer {enrolled['access_token']}"}}
    push(
        client,
        device,
        [
            event(a.id, "visit_attempt", when=datetime(2026, 3, 5, 18, 30, tzinfo=UTC), reached=True),
            event(a.id, "help_accepted", when=datetime(2026, 3, 5, 18, 45, tzinfo=UTC)),
            event(b.id, "visit_attempt", when=datetime(2026, 3, 3, 10, tzinfo=UTC), reached=False),
            event(b.id, "card_left", when=datetime(2026, 3, 3, 10, 5, tzinfo=UTC)),
        ],
    )
    session.add(
        Trajectory(
            municipality_code="0363",
            case_id=a.id,
            decision_date=date(2026, 3, 20),
            started_by=worker.id,
            created_at=clock.current,
        )
    )
    session.commit()
    close(client, office(), c, "Niet opgepakt: onterecht signaal")
    # Seven months on, retention erases the closed case's personal data.
    at(clock, 2026, 10, 21, 9)
    municipality = session.get(Municipality, "0363")
    assert municipality is not None
    assert purge(session, VAULT, municipality=municipality, now=clock.current, dry_run=False).case_ids == [c.id]
    session.commit()

    at(clock, 2026, 10, 21, 9, 30)
    rdam = login(client, "office-rdam")
    upload_accepted(client, rdam, csv_file(row("R1", day="2026-10-20", postcode="3011AA")), name="rdam.csv")
    return {"office": office(), "rdam": rdam, "worker": worker, "cases": {"a": a, "b": b, "c": c, "d": d}}


def export(client: TestClient, headers, **params) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    response = client.get("/v1/cases/export", headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == list(EXPORT_COLUMNS)
    return [dict(zip(rows[0], line, strict=True)) for line in rows[1:]]


def test_the_export_has_each_case_with_its_attempts_contact_help_and_trajectory(client: TestClient, history):  # type: ignore[no-untyped-def]
    rows = export(client, history["office"])
    cases = history["cases"]
    # Oldest first; a, b and c were opened by the same import, so among them by id.
    assert [r["case_id"] for r in rows] == sorted(str(cases[k].id) for k in ("a", "b", "c")) + [str(cases["d"].id)]
    by_id = {r["case_id"]: r for r in rows}
    a, b, d = (by_id[str(cases[k].id)] for k in ("a", "b", "d"))
    assert a == {
        "case_id": str(cases["a"].id),
        "state": "help_accepted",
        "classification": "multiple",
        "crisis": "no",
        "opened_date": "2026-03-02",
        "first_contact_due_date": "2026-03-30",
        "street": "Kinkerstraat",
        "house_number": "12",
        "house_number_addition": "A",
        "postcode": "1053KL",
        "town": "Amsterdam",
        "assigned_worker_id": str(history["worker"].id),
        "result": "",
        "result_category": "",
        "closed_date": "",
        "letter_attempts": "1",
        "phone_attempts": "1",
        "visit_attempts": "1",
        "first_attempt_date": "2026-03-03",
        "first_contact_date": "2026-03-05",
        "reached": "yes",
        "help_accepted": "yes",
        "trajectory_decision_date": "2026-03-20",
        "trajectory_end_date": "",
        "trajectory_outcome": "",
        "purged": "no",
        "overdue": "no",
        "mail_attempts": "0",
        "sms_attempts": "0",
        "appointment_attempts": "0",
        "administrative_attempts": "0",
    }
    assert (b["crisis"], b["first_contact_due_date"], b["state"]) == ("yes", "2026-03-05", "planned")
    assert (b["visit_attempts"], b["first_attempt_date"], b["first_contact_date"], b["reached"]) == (
        "1",
        "2026-03-03",
        "",
        "no",
    )  # the card is part of the visit
    assert (d["street"], d["opened_date"], d["letter_attempts"], d["assigned_worker_id"]) == (
        "'=1+1",
        "2026-03-20",
        "0",
        "",
    )  # text, never a formula


def test_a_purged_case_keeps_its_result_but_not_its_address_or_worker(client: TestClient, history):  # type: ignore[no-untyped-def]
    [c] = [r for r in export(client, history["office"]) if r["case_id"] == str(history["cases"]["c"].id)]
    assert [
        c[name]
        for name in ("street", "house_number", "house_number_addition", "postcode", "town", "assigned_worker_id")
    ] == [""] * 6
    assert (c["purged"], c["state"], c["result"], c["result_category"]) == (
        "yes",
        "closed",
        "Niet opgepakt: onterecht signaal",
        "Niet opgepakt",
    )
    assert (c["closed_date"], c["opened_date"], c["classification"]) == ("2026-03-20", "2026-03-02", "single")


def test_the_bsn_and_names_are_never_exported(client: TestClient, history):  # type: ignore[no-untyped-def]
    as_csv = client.get("/v1/cases/export", headers=history["office"]).content
    as_xlsx = client.get("/v1/cases/export", headers=history["office"], params={"format": "xlsx"}).content
    cells = [
        str(cell) for line in load_workbook(io.BytesIO(as_xlsx)).active.iter_rows(values_only=True) for cell in line
    ]
    assert BSN.encode() not in as_csv and b"Jansen" not in as_csv
    assert not any(BSN in cell or "Jansen" in cell for cell in cells)


def _xlsx_rows(content: bytes) -> list[list[str]]:
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["cases"]
    return [
        ["" if v is None else v.date().isoformat() if isinstance(v, datetime) else str(v) for v in line]
        for line in workbook["cases"].iter_rows(values_only=True)
    ]


def test_the_xlsx_holds_the_same_rows_as_the_csv_with_dates_as_dates(client: TestClient, history):  # type: ignore[no-untyped-def]
    as_csv = list(csv.reader(io.StringIO(client.get("/v1/cases/export", headers=history["office"]).text)))
    by_format = client.get("/v1/cases/export", headers=history["office"], params={"format": "xlsx"})
    by_accept = client.get("/v1/cases/export", headers={**history["office"], "Accept": XLSX})
    for response in (by_format, by_accept):
        assert response.status_code == 200 and response.headers["content-type"] == XLSX
        assert response.headers["content-disposition"] == 'attachment; filename="cases-0363-2026-10-21.xlsx"'
        # The CSV guards a formula-like cell with an apostrophe; the XLSX stores it as text instead.
        assert _xlsx_rows(response.content) == [[c[1:] if c.startswith("'=") else c for c in line] for line in as_csv]
    sheet = load_workbook(io.BytesIO(by_format.content))["cases"]
    [a] = [line for line in sheet.iter_rows(min_row=2) if line[0].value == str(history["cases"]["a"].id)]
    assert a[4].value == datetime(2026, 3, 2) and a[4].number_format == "yyyy-mm-dd"  # opened_date
    assert a[15].value == 1  # letter_attempts: a count is a number
    formula = [cell for cell in sheet["G"] if cell.value == "=1+1"]
    assert formula and formula[0].data_type == "s"  # an address is text, never a formula


def test_the_export_filters_on_state_and_the_day_a_case_was_opened(client: TestClient, history):  # type: ignore[no-untyped-def]
    cases = history["cases"]
    closed = export(client, history["office"], state="closed")
    assert [r["case_id"] for r in closed] == [str(cases["c"].id)]
    later = export(client, history["office"], **{"from": "2026-03-20", "to": "2026-03-20"})
    assert [r["case_id"] for r in later] == [str(cases["d"].id)]
    assert len(export(client, history["office"], to="2026-03-02")) == 3
    assert export(client, history["office"], **{"from": "2026-03-21"}) == []


def test_another_municipality_exports_only_its_own_cases(client: TestClient, history):  # type: ignore[no-untyped-def]
    [only] = export(client, history["rdam"])
    assert only["postcode"] == "3011AA"
    assert not {str(case.id) for case in history["cases"].values()} & {
        r["case_id"] for r in export(client, history["rdam"])
    }


@pytest.mark.parametrize(
    ("params", "headers", "status", "slug"),
    [
        ({"from": "2026-03-31", "to": "2026-03-01"}, {}, 422, "validation-error"),
        ({"to": "9999-12-31"}, {}, 422, "validation-error"),
        ({"format": "pdf"}, {}, 422, "validation-error"),
        ({"state": "lost"}, {}, 422, "validation-error"),
        ({}, {"Accept": "application/json"}, 406, "not-acceptable"),
    ],
)
def test_a_bad_request_for_an_export_is_a_problem(client: TestClient, session: Session, params, headers, status, slug):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    response = client.get("/v1/cases/export", headers={**login(client, "office1"), **headers}, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:doorstep:problem:{slug}"


def test_only_the_back_office_and_admins_export_and_each_export_is_audited_once(client: TestClient, session: Session):
    make_municipality(session)
    for role in ("worker", "backoffice", "admin"):
        make_user(session, role=role, username=f"{role}1")
    make_case(session)
    partner = make_partner(session, scopes=("cases:read", "reports:read"))
    assert client.get("/v1/cases/export", headers=login(client, "worker1")).status_code == 403
    assert client.get("/v1/cases/export", headers=partner_login(client, partner.client_id)).status_code == 403
    assert client.get("/v1/cases/export").status_code == 401
    assert len(export(client, login(client, "backoffice1"), state="new")) == 1
    assert client.get("/v1/cases/export", headers=login(client, "admin1"), params={"format": "xlsx"}).status_code == 200
    entries = read(session, select(AuditEntry).where(AuditEntry.action == "cases.export").order_by(AuditEntry.id))
    assert [(e.resource_type, e.case_id, e.detail) for e in entries] == [
        ("case", None, {"format": "csv", "rows": 1, "state": "new", "from": None, "to": None}),
        ("case", None, {"format": "xlsx", "rows": 1, "state": None, "from": None, "to": None}),
    ]


def test_the_export_runs_the_same_few_queries_for_three_cases_or_thirty(client: TestClient, session: Session, db):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    headers = login(client, "office1")
    counts = []
    for total in (3, 30):
        while len(read(session, select(Case))) < total:
            make_case(session)
        with statements_run(db) as statements:
            assert len(export(client, headers)) == total
        counts.append(len(statements))
    assert counts[0] == counts[1]
