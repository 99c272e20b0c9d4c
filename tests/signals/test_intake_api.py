"""Signals in through the public API: file imports, the partner API, grouping into cases, BSN handling."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlmodel import Session, select

from api.models import Case, QuarantinedRow, Signal, SignalImport
from tests.factories import (
    BSN,
    HEADER,
    add_agreement,
    cli_env,
    csv_file,
    login,
    make_municipality,
    make_partner,
    make_user,
    partner_login,
    read,
    row,
    upload,
)


def _count(session: Session, model) -> int:  # type: ignore[no-untyped-def]
    return len(read(session, select(model)))


def test_a_csv_import_stores_signals_groups_households_and_keeps_its_report(
    client: TestClient, office, session: Session
):  # type: ignore[no-untyped-def]
    content = csv_file(
        row("S1", bsn=BSN),
        row("S2", partner="Energie", creditor="Vattenfall", postcode="1053kl", day="2026-11-20"),  # same household
        row("S3", postcode="1055 AB", number="7", crisis="ja"),
    )
    response = upload(client, office, content)

    assert response.status_code == 201, response.text
    report = response.json()
    assert report["status"] == "completed" and report["format"] == "csv"
    assert (report["total_rows"], report["created"], report["rejected"], report["cases_opened"]) == (3, 3, 0, 2)
    assert client.get(f"/v1/signals/imports/{report['id']}", headers=office).json() == report
    cases = {c["address"]["postcode"]: c for c in client.get("/v1/cases", headers=office).json()["items"]}
    assert cases["1053KL"]["classification"] == "multiple"
    assert cases["1055AB"]["classification"] == "single" and cases["1055AB"]["crisis"] is True
    # 28 days after receipt (the test clock: 26 Nov); crisis: 3 working days.
    assert cases["1053KL"]["first_contact_due_date"] == "2026-12-24"
    assert cases["1055AB"]["first_contact_due_date"] == "2026-12-01"
    amounts = {s.external_id: s.amount_cents for s in read(session, select(Signal))}
    assert amounts["S1"] == 123456


def test_all_or_nothing_rejects_the_whole_file_and_lists_every_error(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    content = csv_file(
        row("S1"), row("S2", partner="Bakker", day="31-02-2026"), row("S3", bsn="123456789", postcode="", number="")
    )
    report = upload(client, office, content).json()

    assert report["status"] == "rejected" and report["created"] == 0 and report["rejected"] == 2
    errors = {(e["line"], e["column"]) for e in report["errors"]}
    assert {(3, "partner_type"), (3, "signal_date"), (4, "bsn")} <= errors
    assert all("123456789" not in e["reason"] for e in report["errors"])
    assert _count(session, Signal) == 0 and _count(session, Case) == 0
    assert client.get(f"/v1/signals/imports/{report['id']}", headers=office).json()["status"] == "rejected"


def test_accept_valid_lands_valid_rows_and_quarantines_the_rest(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    content = csv_file(row("S1"), row("S2", partner="Bakker"), row("S3", postcode="1055AB"))
    report = upload(client, office, content, mode="accept-valid").json()

    assert (report["status"], report["created"], report["rejected"]) == ("completed", 2, 1)
    assert _count(session, QuarantinedRow) == 1
    download = client.get(f"/v1/signals/imports/{report['id']}/quarantine", headers=office)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    lines = download.text.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("3;S2;Bakker") and "partner_type" in lines[1]


def test_reimporting_the_same_file_changes_nothing_and_says_so(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    content = csv_file(row("S1"), row("S2", postcode="1055AB"))
    first = upload(client, office, content).json()
    second = upload(client, office, content).json()

    assert (second["created"], second["duplicates"], second["cases_opened"]) == (0, 2, 0)
    assert second["duplicate_of"] == first["id"] and second["warnings"]
    assert _count(session, Signal) == 2 and _count(session, Case) == 2


def test_a_repeat_signal_is_recorded_but_opens_no_outreach(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    upload(client, office, csv_file(row("S1", day="2026-10-03")))
    session.execute(Case.__table__.update().values(state="closed", result="Niet opgepakt: andere reden"))
    session.commit()
    report = upload(client, office, csv_file(row("S2", day="2026-11-03"))).json()

    assert (report["created"], report["repeats"], report["cases_opened"]) == (1, 1, 0)
    [repeat] = read(session, select(Signal).where(Signal.external_id == "S2"))
    assert repeat.status == "Niet opgepakt: herhaalde melding" and repeat.case_id is None
    higher = upload(client, office, csv_file(row("S3", day="2026-11-10", amount="2000"))).json()
    assert (higher["repeats"], higher["cases_opened"]) == (0, 1)


def test_a_new_signal_joins_the_open_case_and_escalates_it(client: TestClient, office):  # type: ignore[no-untyped-def]
    upload(client, office, csv_file(row("S1", day="2026-11-02")))
    [case] = client.get("/v1/cases", headers=office).json()["items"]
    assert case["classification"] == "single" and case["version"] == 1
    upload(client, office, csv_file(row("S2", partner="Water", creditor="Waternet", day="2026-11-15", crisis="ja")))
    [after] = client.get("/v1/cases", headers=office).json()["items"]
    assert after["id"] == case["id"] and after["classification"] == "multiple" and after["version"] == 2
    # The crisis signal's deadline is earlier: the earliest deadline of its signals wins.
    assert after["first_contact_due_date"] == "2026-12-01"


def test_a_household_without_an_address_is_grouped_by_bsn(client: TestClient, office):  # type: ignore[no-untyped-def]
    upload(
        client,
        office,
        csv_file(
            row("S1", bsn=BSN, postcode="", number=""),
            row("S2", bsn=BSN, postcode="", number="", partner="Zorg", creditor="CZ"),
        ),
    )
    [case] = client.get("/v1/cases", headers=office).json()["items"]
    assert case["classification"] == "multiple" and case["address"]["postcode"] is None


@pytest.mark.parametrize(
    ("content", "name", "status", "slug"),
    [
        (b"", "empty.csv", 422, "empty-file"),
        (HEADER.encode() + b"\n", "header-only.csv", 422, "empty-file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "photo.png", 415, "unsupported-file-type"),
        (b"PK\x03\x04this is no workbook", "broken.xlsx", 422, "corrupt-file"),
        (b'{"vroegsignalen": [', "broken.json", 422, "corrupt-file"),
        (b"naam;adres\nJan;Kinkerstraat\n", "other.csv", 422, "missing-columns"),
    ],
)
def test_a_bad_file_is_refused_with_a_problem_and_nothing_is_written(  # type: ignore[no-untyped-def]
    client: TestClient, office, session: Session, content: bytes, name: str, status: int, slug: str
):
    response = upload(client, office, content, name=name)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:doorstep:problem:{slug}"
    assert _count(session, SignalImport) == 0 and _count(session, Signal) == 0


def test_an_oversized_file_is_refused_with_413(client: TestClient, office, app):  # type: ignore[no-untyped-def]
    # The limit is read at app creation; use a file larger than it.
    limit = app.state.settings.max_import_bytes
    response = client.post(
        "/v1/signals/imports", headers={**office, "Content-Length": str(limit + 1)}, content=b"x" * 10
    )
    assert response.status_code == 413


def test_xlsx_and_ddas_json_imports(client: TestClient, office):  # type: ignore[no-untyped-def]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["signaal_id", "signaalpartner_type", "signaaldatum", "postcode", "huisnummer", "bedrag"])
    sheet.append(["X1", "Zorg", date(2026, 11, 4), "1055AB", 7, 312.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    xlsx = upload(client, office, buffer.getvalue(), name="vps.xlsx").json()
    assert (xlsx["format"], xlsx["created"]) == ("xlsx", 1)

    delivery = {
        "leveringen": [
            {
                "gemeentecode": "0363",
                "vroegsignalen": [
                    {
                        "ID": "D1",
                        "signaalpartner": {"type": "Energie"},
                        "signaaldatum": "2026-11-05",
                        "bedrag": 450,
                        "client": {"burgerservicenummer": BSN},
                    },
                    {
                        "ID": "D2",
                        "signaalpartner": {"type": "Water"},
                        "signaaldatum": "2026-11-06",
                        "client": {"postcode": "1053KL", "huisnummer": "12"},
                    },
                ],
            }
        ]
    }
    ddas = upload(client, office, json.dumps(delivery).encode(), name="ddas.json").json()
    assert (ddas["format"], ddas["created"], ddas["status"]) == ("ddas-json", 2, "completed")


def test_the_import_warns_about_creditors_missing_from_the_register(client: TestClient, office):  # type: ignore[no-untyped-def]
    created = client.post(
        "/v1/creditor-agreements",
        headers=office,
        json={"name": "Ymere", "partner_type": "Huur", "agreement_date": "2025-01-01", "platform": "VPS"},
    )
    assert created.status_code == 201
    report = upload(client, office, csv_file(row("S1"), row("S2", partner="Energie", creditor="Vattenfall"))).json()
    assert report["creditors_without_agreement"] == [{"creditor": "Vattenfall", "partner_type": "Energie"}]
    assert report["created"] == 2  # platform files are trusted
    duplicate = client.post(
        "/v1/creditor-agreements",
        headers=office,
        json={"name": "Ymere", "partner_type": "Huur", "agreement_date": "2025-01-01", "platform": "VPS"},
    )
    assert duplicate.status_code == 409


def test_the_partner_api_needs_an_agreement_and_answers_per_signal(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    partner = make_partner(session, scopes=("signals:write",))
    headers = partner_login(client, partner.client_id)
    batch = {
        "signals": [
            {
                "signal_id": "P1",
                "partner_type": "Huur",
                "signal_date": "2026-11-10",
                "postcode": "1053KL",
                "house_number": 12,
            },
            {"signal_id": "P2", "partner_type": "Huur", "signal_date": "2026-11-10", "bsn": "123456789"},
            {
                "signal_id": "P1",
                "partner_type": "Huur",
                "signal_date": "2026-11-10",
                "postcode": "1053KL",
                "house_number": 12,
            },
        ]
    }
    refused = client.post("/v1/signals", headers=headers, json=batch)
    assert refused.status_code == 403 and refused.json()["type"] == "urn:doorstep:problem:no-agreement"

    add_agreement(client, office, partner.client_id)
    response = client.post("/v1/signals", headers=headers, json=batch)
    assert response.status_code == 200, response.text
    results = [(r["index"], r["signal_id"], r["result"]) for r in response.json()["results"]]
    assert results == [(0, "P1", "created"), (1, "P2", "rejected"), (2, "P1", "duplicate")]
    assert "bsn" in response.json()["results"][1]["reason"] and "123456789" not in response.text
    again = client.post("/v1/signals", headers=headers, json={"signals": batch["signals"][:1]})
    assert again.json()["results"][0]["result"] == "duplicate"
    too_many = client.post("/v1/signals", headers=headers, json={"signals": batch["signals"][:1] * 1001})
    assert too_many.status_code == 422


def test_the_bsn_is_stored_encrypted_and_revealed_only_to_the_office_with_an_audit_entry(  # type: ignore[no-untyped-def]
    client: TestClient, office, session: Session
):
    upload(client, office, csv_file(row("S1", bsn=BSN)))
    [signal] = read(session, select(Signal))
    assert (
        signal.bsn_ciphertext
        and BSN not in signal.bsn_ciphertext
        and signal.bsn_digest
        and BSN not in signal.bsn_digest
    )
    case = client.get(f"/v1/cases/{signal.case_id}", headers=office)
    assert BSN not in case.text

    revealed = client.get(f"/v1/signals/{signal.id}/bsn", headers=office)
    assert revealed.json()["bsn"] == BSN
    assert client.get(f"/v1/signals/{signal.id}/bsn", headers=login(client, "worker1")).status_code == 403
    audit = client.get("/v1/audit", params={"action": "signals.reveal-bsn"}, headers=login(client, "admin1")).json()
    assert len(audit["items"]) == 1 and audit["items"][0]["case_id"] == str(signal.case_id)


def test_imports_of_another_municipality_are_not_found(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    report = upload(client, office, csv_file(row("S1"))).json()
    make_municipality(session, "0599", "Rotterdam")
    make_user(session, code="0599", role="backoffice", username="rotterdam")
    other = login(client, "rotterdam")
    assert client.get(f"/v1/signals/imports/{report['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/signals/imports/{report['id']}/quarantine", headers=other).status_code == 404
    assert client.get("/v1/cases", headers=other).json()["items"] == []


def test_workers_cannot_import(client: TestClient, office):  # type: ignore[no-untyped-def]
    assert upload(client, login(client, "worker1"), csv_file(row("S1"))).status_code == 403


def test_the_office_finds_signals_by_bsn_without_it_being_stored_in_the_clear(client: TestClient, office):  # type: ignore[no-untyped-def]
    upload(client, office, csv_file(row("S1", bsn=BSN), row("S2", bsn="123456782", postcode="1055AB")))
    found = client.post("/v1/signals/search", headers=office, json={"bsn": BSN})
    assert found.status_code == 200 and [m["external_id"] for m in found.json()["items"]] == ["S1"]
    assert client.post("/v1/signals/search", headers=office, json={"bsn": "123456789"}).status_code == 422
    assert client.post("/v1/signals/search", headers=login(client, "worker1"), json={"bsn": BSN}).status_code == 403


def test_classification_does_not_depend_on_the_order_of_deliveries(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    first = csv_file(row("A1", day="2026-06-10"), row("A2", postcode="1055AB", day="2026-11-04"))
    second = csv_file(
        row("B1", partner="Zorg", creditor="CZ", day="2026-11-20"),
        row("B2", partner="Water", creditor="Waternet", postcode="1055AB", day="2026-11-05"),
    )
    make_municipality(session, "0599", "Rotterdam")
    make_user(session, code="0599", role="backoffice", username="rotterdam")
    other = login(client, "rotterdam")
    for headers, files in ((office, (first, second)), (other, (second, first))):
        for content in files:
            assert upload(client, headers, content).json()["status"] == "completed"
    signals = read(session, select(Signal))
    by_tenant: dict[str, dict[str, str | None]] = {"0363": {}, "0599": {}}
    for signal in signals:
        by_tenant[signal.municipality_code][signal.external_id] = signal.classification
    assert by_tenant["0363"] == by_tenant["0599"]
    assert by_tenant["0363"]["B1"] == "consecutive" and by_tenant["0363"]["B2"] == "multiple"


def test_the_cli_imports_with_a_summary_and_fails_on_a_rejected_file(office, database_url: str, tmp_path):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import app as cli

    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_file(row("C1"), row("C2", postcode="1055AB")))
    bad.write_bytes(csv_file(row("C3", partner="Bakker")))
    runner = CliRunner()
    env = cli_env(database_url, tmp_path) | {"COLUMNS": "200"}
    result = runner.invoke(cli, ["import", str(good), "--municipality", "0363"], env=env)
    assert result.exit_code == 0, result.output
    assert "completed" in result.output and "cases opened" in result.output
    rejected = runner.invoke(cli, ["import", str(bad), "--municipality", "0363"], env=env)
    assert rejected.exit_code == 1 and "line 2, partner_type" in rejected.output


def test_quarantined_bsns_are_stored_encrypted_and_shown_only_to_roles_that_may_see_them(  # type: ignore[no-untyped-def]
    client: TestClient, office, session: Session
):
    report = upload(client, office, csv_file(row("Q1", partner="Bakker", bsn=BSN)), mode="accept-valid").json()
    [stored] = read(session, select(QuarantinedRow))
    assert BSN not in json.dumps(stored.raw)
    assert BSN in client.get(f"/v1/signals/imports/{report['id']}/quarantine", headers=office).text
    admin = login(client, "admin1")
    settings = client.get("/v1/municipality/settings", headers=admin).json()
    client.put("/v1/municipality/settings", headers=admin, json=settings | {"bsn_visible_to": ["admin"]})
    assert BSN not in client.get(f"/v1/signals/imports/{report['id']}/quarantine", headers=office).text
    assert BSN in client.get(f"/v1/signals/imports/{report['id']}/quarantine", headers=admin).text


def test_a_bsn_search_is_audited_per_record_found(client: TestClient, office):  # type: ignore[no-untyped-def]
    upload(client, office, csv_file(row("S1", bsn=BSN)))
    [match] = client.post("/v1/signals/search", headers=office, json={"bsn": BSN}).json()["items"]
    entries = client.get("/v1/audit", params={"action": "signals.search-bsn"}, headers=login(client, "admin1")).json()[
        "items"
    ]
    assert [(e["resource_id"], e["case_id"]) for e in entries] == [(match["signal_id"], match["case_id"])]


def test_two_deliveries_at_once_for_one_household_give_one_case(office, session: Session, app):  # type: ignore[no-untyped-def]
    import threading
    from datetime import UTC, datetime

    from api.models import Municipality
    from api.signals import service
    from api.signals.parsing import normalise_row

    engine, vault = app.state.engine, app.state.vault
    errors: list[Exception] = []

    def deliver(signal_id: str, partner: str) -> None:
        try:
            with Session(engine) as own:
                municipality = own.get(Municipality, "0363")
                record = service.new_import(
                    code="0363", source="api", mode="accept-valid", created_by="t", now=datetime.now(UTC)
                )
                own.add(record)
                own.flush()
                rows = [
                    normalise_row(
                        {
                            "signal_id": signal_id,
                            "partner_type": partner,
                            "signal_date": "2026-11-03",
                            "postcode": "1053KL",
                            "house_number": "12",
                        },
                        line=1,
                    )
                ]
                service.intake(
                    own,
                    municipality=municipality,
                    vault=vault,
                    rows=rows,
                    mode="accept-valid",
                    import_id=record.id,
                    now=datetime.now(UTC),
                )
                own.commit()
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    # The household exists already (the race is over its case, not over the address).
    upload_first = [
        normalise_row(
            {
                "signal_id": "S0",
                "partner_type": "Zorg",
                "signal_date": "2026-05-01",
                "postcode": "1053KL",
                "house_number": "12",
            },
            line=1,
        )
    ]
    with Session(engine) as own:
        from api.models import Municipality as M

        record = service.new_import(
            code="0363", source="api", mode="accept-valid", created_by="t", now=datetime.now(UTC)
        )
        own.add(record)
        own.flush()
        service.intake(
            own,
            municipality=own.get(M, "0363"),
            vault=vault,
            rows=upload_first,
            mode="accept-valid",
            import_id=record.id,
            now=datetime.now(UTC),
        )
        own.execute(Case.__table__.update().values(state="closed", result="Inwoner is overleden"))
        own.commit()

    threads = [
        threading.Thread(target=deliver, args=("T1", "Huur")),
        threading.Thread(target=deliver, args=("T2", "Energie")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    open_cases = read(session, select(Case).where(Case.state != "closed"))
    assert len(open_cases) == 1 and open_cases[0].classification == "multiple"


def test_an_earlier_repeat_does_not_join_a_case_opened_later(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    upload(client, office, csv_file(row("A1", amount="1000", since="01-08-2026", day="2026-09-01")))
    [first] = read(session, select(Case))
    client.post(
        f"/v1/cases/{first.id}/close",
        headers=office,
        json={"result": "Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering"},
    )
    upload(client, office, csv_file(row("A2", amount="900", since="01-08-2026", day="2026-10-01")))
    repeat = read(session, select(Signal).where(Signal.external_id == "A2"))[0]
    assert repeat.is_repeat and repeat.case_id is None
    upload(client, office, csv_file(row("B1", partner="Energie", creditor="Vattenfall", day="2026-11-02")))
    opened = read(session, select(Case).where(Case.id != first.id))
    assert len(opened) == 1
    signals = {s.external_id: s.case_id for s in read(session, select(Signal))}
    assert signals == {"A1": first.id, "A2": None, "B1": opened[0].id}


def test_a_partner_without_an_agreement_cannot_deliver_by_file_either(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    partner = make_partner(session, scopes=("signals:write",))
    headers = partner_login(client, partner.client_id)
    refused = upload(client, headers, csv_file(row("F1")))
    assert refused.status_code == 403 and refused.json()["type"] == "urn:doorstep:problem:no-agreement"
    assert read(session, select(Signal)) == [] and read(session, select(SignalImport)) == []


def test_a_partner_delivers_only_what_its_agreements_cover(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    partner = make_partner(session, scopes=("signals:write",))
    add_agreement(client, office, partner.client_id)
    headers = partner_login(client, partner.client_id)
    base = {"signal_date": "2026-11-10", "postcode": "1053KL"}
    response = client.post(
        "/v1/signals",
        headers=headers,
        json={
            "signals": [
                {**base, "signal_id": "A1", "partner_type": "Huur", "creditor": "Ymere", "house_number": 1},
                {**base, "signal_id": "A2", "partner_type": "Huur", "creditor": "  ymere ", "house_number": 2},
                {**base, "signal_id": "A3", "partner_type": "Huur", "house_number": 3},
                {
                    **base,
                    "signal_id": "A4",
                    "partner_type": "Energie",
                    "creditor": "Ymere",
                    "crisis": True,
                    "house_number": 4,
                },
                {
                    **base,
                    "signal_id": "A5",
                    "partner_type": "Huur",
                    "creditor": "Vestia",
                    "crisis": True,
                    "house_number": 5,
                },
            ]
        },
    )
    assert response.status_code == 200, response.text
    results = {r["signal_id"]: (r["result"], r["reason"]) for r in response.json()["results"]}
    assert [results[i][0] for i in ("A1", "A2", "A3", "A4", "A5")] == ["created"] * 3 + ["rejected"] * 2
    assert "Energie" in results["A4"][1] and "schuldeiser" in results["A5"][1]
    stored = {s.external_id: (s.partner_type, s.creditor_name, s.crisis) for s in read(session, select(Signal))}
    assert stored == {"A1": ("Huur", "Ymere", False), "A2": ("Huur", "ymere", False), "A3": ("Huur", "Ymere", False)}


def test_a_partners_file_is_checked_row_by_row_against_its_agreements(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    partner = make_partner(session, scopes=("signals:write",))
    add_agreement(client, office, partner.client_id)
    headers = partner_login(client, partner.client_id)
    rows = csv_file(row("F1"), row("F2", partner="Energie", creditor="Vattenfall"))
    whole = upload(client, headers, rows).json()
    assert (whole["status"], whole["created"], whole["rejected"]) == ("rejected", 0, 1)
    assert whole["errors"][0]["line"] == 3 and "Energie" in whole["errors"][0]["reason"]
    valid_only = upload(client, headers, rows, mode="accept-valid").json()
    assert (valid_only["status"], valid_only["created"], valid_only["rejected"]) == ("completed", 1, 1)
    assert {s.external_id for s in read(session, select(Signal))} == {"F1"}
    quarantined = read(session, select(QuarantinedRow))
    assert [(q.line, q.errors[0]["column"]) for q in quarantined] == [(3, "partner_type")]


def test_the_municipalitys_closing_days_move_a_crisis_deadline(client: TestClient, office, session: Session):  # type: ignore[no-untyped-def]
    admin = login(client, "admin1")
    settings = client.get("/v1/municipality/settings", headers=admin).json()
    saved = client.put(
        "/v1/municipality/settings", headers=admin, json={**settings, "closing_days": ["2026-11-30", "2026-11-30"]}
    )
    assert saved.status_code == 200 and saved.json()["closing_days"] == ["2026-11-30"]
    # Received on Thursday 26 November 2026: three working days are Friday, (not Monday 30,) Tuesday, Wednesday.
    upload(client, office, csv_file(row("C1", crisis="ja")))
    [case] = read(session, select(Case))
    assert case.first_contact_due_date == date(2026, 12, 2)
    wrong = client.put("/v1/municipality/settings", headers=admin, json={**settings, "closing_days": ["1999-12-31"]})
    assert wrong.status_code == 422
