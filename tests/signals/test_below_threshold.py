"""Below the municipality's threshold, through HTTP: intake stores every valid signal and marks the
ones it does not act on; a case of only such signals is proposed for closing as *Niet opgepakt:
onterecht signaal* (dashboard, case list, console), and the office confirms by closing it."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.console.helpers import browser, sign_in, submit
from tests.factories import NOW, add_agreement, csv_file, login, make_partner, partner_login, row, upload

UNJUSTIFIED = "Niet opgepakt: onterecht signaal"


def case_of(client: TestClient, headers: dict[str, str], postcode: str) -> dict:  # type: ignore[type-arg]
    [summary] = [
        c for c in client.get("/v1/cases", headers=headers).json()["items"] if c["address"]["postcode"] == postcode
    ]
    return client.get(f"/v1/cases/{summary['id']}", headers=headers).json()


def marks(case: dict) -> list[tuple[str, bool, str | None]]:  # type: ignore[type-arg]
    return sorted((s["external_id"], s["below_threshold"], s["below_threshold_reason"]) for s in case["signals"])


def proposed(client: TestClient, headers: dict[str, str]) -> list[str]:
    items = client.get("/v1/cases", headers=headers, params={"proposed_closing": "true"}).json()["items"]
    return sorted(c["address"]["postcode"] for c in items)


def test_a_below_threshold_water_signal_proposes_onterecht_signaal(client: TestClient, office):  # type: ignore[no-untyped-def]
    report = upload(
        client,
        office,
        csv_file(
            row("W1", partner="Water", creditor="Waternet", since="20-10-2026", postcode="1053KL"),  # 14 days
            row("W2", partner="Water", creditor="Waternet", since="01-08-2026", postcode="1055AB"),  # 94 days
        ),
    ).json()

    assert report["created"] == 2 and report["below_threshold"] == {"Water": 1}
    case = case_of(client, office, "1053KL")
    assert marks(case) == [("W1", True, "days-in-arrears")]
    assert case["closing_proposal"] == UNJUSTIFIED and case["state"] == "new"  # proposed, not closed
    assert case_of(client, office, "1055AB")["closing_proposal"] is None
    assert proposed(client, office) == ["1053KL"]
    assert client.get("/v1/dashboard", headers=office).json()["proposed_closing"] == 1


def test_cak_health_insurance_is_below_under_180_days_and_not_at_or_over(client: TestClient, office):  # type: ignore[no-untyped-def]
    cak = {"partner": "CAK Zorgverzekeringen", "creditor": "CAK", "day": "2026-11-03"}
    upload(
        client,
        office,
        csv_file(
            row("C179", since="08-05-2026", postcode="1011AA", **cak),  # 180 days before 3 November is 7 May
            row("C180", since="07-05-2026", postcode="1012AA", **cak),
            row("C200", since="17-04-2026", postcode="1013AA", **cak),
            row("H100", partner="Huur", since="26-07-2026", postcode="1014AA"),  # 100 days: over Huur's 30
        ),
    )
    below = {postcode: marks(case_of(client, office, postcode))[0][1:] for postcode in ("1011AA", "1012AA", "1013AA")}
    assert below == {"1011AA": (True, "days-in-arrears"), "1012AA": (False, None), "1013AA": (False, None)}
    assert marks(case_of(client, office, "1014AA")) == [("H100", False, None)]
    assert proposed(client, office) == ["1011AA"]


def test_a_zero_amount_and_an_arrear_starting_after_the_signal_date_are_below_whatever_the_policy(  # type: ignore[no-untyped-def]
    client: TestClient, office
):
    upload(
        client,
        office,
        csv_file(
            row("Z1", partner="Energie", creditor="Eneco", amount="0", postcode="1021AA"),
            row("A1", partner="Energie", creditor="Eneco", since="10-11-2026", day="2026-11-03", postcode="1022AA"),
            row("N1", partner="DUO", creditor="DUO", since="02-11-2026", postcode="1023AA"),  # DUO: no minimum
        ),
    )
    assert marks(case_of(client, office, "1021AA")) == [("Z1", True, "zero-amount")]
    assert marks(case_of(client, office, "1022AA")) == [("A1", True, "arrears-start-after-signal-date")]
    assert marks(case_of(client, office, "1023AA")) == [("N1", False, None)]


def test_changing_the_thresholds_in_the_settings_changes_intake(client: TestClient, office):  # type: ignore[no-untyped-def]
    admin = login(client, "admin1")
    settings = client.get("/v1/municipality/settings", headers=admin).json()
    assert settings["thresholds"]["Water"] == {"min_days_in_arrears": 30, "min_amount_cents": 0}
    for wrong in (
        {"Water": {"min_days_in_arrears": -1}},
        {"Bakker": {"min_days_in_arrears": 30}},
        {"Water": {"min_amount_cents": -5}},
        {"Water": {"max_days": 3}},
    ):
        refused = client.put("/v1/municipality/settings", headers=admin, json=settings | {"thresholds": wrong})
        assert refused.status_code == 422, wrong
    upload(client, office, csv_file(row("BEFORE", since="20-10-2026", postcode="1031AA")))  # Huur, 14 days

    changed = client.put(
        "/v1/municipality/settings",
        headers=admin,
        json=settings | {"thresholds": {"Huur": {"min_days_in_arrears": 0, "min_amount_cents": 200_000}}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["thresholds"]["Huur"] == {"min_days_in_arrears": 0, "min_amount_cents": 200_000}
    assert changed.json()["thresholds"]["CAK Zorgverzekeringen"]["min_days_in_arrears"] == 180  # left out: default
    upload(
        client,
        office,
        csv_file(
            row("SMALL", amount="1.234,56", since="20-10-2026", postcode="1032AA"),
            row("LARGE", amount="2.500,00", since="20-10-2026", postcode="1033AA"),
        ),
        name="after.csv",
    )

    assert marks(case_of(client, office, "1031AA")) == [("BEFORE", True, "days-in-arrears")]  # judged when it came in
    assert marks(case_of(client, office, "1032AA")) == [("SMALL", True, "amount")]
    assert marks(case_of(client, office, "1033AA")) == [("LARGE", False, None)]
    audit = client.get("/v1/audit", headers=admin, params={"action": "municipality.settings"}).json()["items"]
    assert any("thresholds" in entry["detail"]["changed"] for entry in audit)


def test_a_signal_the_municipality_acts_on_withdraws_the_proposal_and_so_does_reaching_the_resident(  # type: ignore[no-untyped-def]
    client: TestClient, office
):
    upload(
        client,
        office,
        csv_file(
            row("W1", partner="Water", creditor="Waternet", since="20-10-2026", postcode="1041AA"),
            row("W2", partner="Water", creditor="Waternet", since="20-10-2026", postcode="1042AA"),
        ),
    )
    assert proposed(client, office) == ["1041AA", "1042AA"]
    upload(
        client, office, csv_file(row("H1", since="01-08-2026", postcode="1041AA", day="2026-11-10")), name="more.csv"
    )
    reached = case_of(client, office, "1042AA")
    client.post(
        f"/v1/cases/{reached['id']}/actions",
        headers=office,
        json={"action_id": str(uuid.uuid4()), "kind": "phone_attempt", "occurred_at": NOW.isoformat(), "reached": True},
    )

    assert proposed(client, office) == []
    assert client.get("/v1/dashboard", headers=office).json()["proposed_closing"] == 0
    assert case_of(client, office, "1041AA")["closing_proposal"] is None


def test_the_office_confirms_by_closing_with_the_proposed_result(client: TestClient, office):  # type: ignore[no-untyped-def]
    upload(client, office, csv_file(row("W1", partner="Water", creditor="Waternet", amount="0", postcode="1051AA")))
    case = case_of(client, office, "1051AA")
    assert UNJUSTIFIED in case["allowed_results"]

    closed = client.post(
        f"/v1/cases/{case['id']}/close",
        headers=office,
        json={"result": case["closing_proposal"], "base_version": case["version"]},
    )

    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["result"], closed.json()["closing_proposal"]) == (
        "closed",
        UNJUSTIFIED,
        None,
    )
    assert [s["status"] for s in case_of(client, office, "1051AA")["signals"]] == [UNJUSTIFIED]
    assert (
        proposed(client, office) == [] and client.get("/v1/dashboard", headers=office).json()["proposed_closing"] == 0
    )


def test_the_console_shows_the_proposal_and_confirming_closes_the_case(client: TestClient, app: FastAPI, office):  # type: ignore[no-untyped-def]
    upload(
        client,
        office,
        csv_file(
            row("W1", partner="Water", creditor="Waternet", since="20-10-2026", postcode="1061AA"),
            row("H1", since="01-08-2026", postcode="1062AA"),
        ),
    )
    case = case_of(client, office, "1061AA")
    with browser(app) as console:
        assert sign_in(console, "office1").status_code == 303
        today = console.get("/console").text
        assert "proposed_closing=true" in today and "voorgesteld om af te sluiten als onterecht signaal" in today
        listed = console.get("/console/zaken", params={"open": "true", "proposed_closing": "true"}).text
        assert f"/console/zaken/{case['id']}" in listed and "voorstel: onterecht signaal" in listed
        assert "1062" not in listed
        page = console.get(f"/console/zaken/{case['id']}").text
        assert "Voorstel bevestigen en zaak afsluiten" in page and "te kort in achterstand" in page

        confirmed = submit(
            console,
            f"/console/zaken/{case['id']}",
            f"/console/zaken/{case['id']}/afsluiten",
            {"result": UNJUSTIFIED, "base_version": str(case["version"])},
        )

        assert confirmed.status_code == 303, confirmed.text
        assert "Voorstel bevestigen" not in console.get(f"/console/zaken/{case['id']}").text
    after = case_of(client, office, "1061AA")
    assert (after["state"], after["result"]) == ("closed", UNJUSTIFIED)


def test_the_import_report_counts_them_per_partner_type_and_a_partner_does_not_see_them(  # type: ignore[no-untyped-def]
    client: TestClient, app: FastAPI, office, session: Session
):
    report = upload(
        client,
        office,
        csv_file(
            row("W1", partner="Water", creditor="Waternet", since="20-10-2026", postcode="1071AA"),
            row("W2", partner="Water", creditor="Waternet", amount="0", postcode="1072AA"),
            row("C1", partner="CAK Zorgverzekeringen", creditor="CAK", since="01-08-2026", postcode="1073AA"),
            row("H1", since="01-08-2026", postcode="1074AA"),
        ),
    ).json()
    assert report["below_threshold"] == {"CAK Zorgverzekeringen": 1, "Water": 2}
    assert (
        client.get(f"/v1/signals/imports/{report['id']}", headers=office).json()["below_threshold"]
        == report["below_threshold"]
    )
    again = upload(
        client, office, csv_file(row("W1", partner="Water", creditor="Waternet", since="20-10-2026")), name="again.csv"
    ).json()
    assert again["duplicates"] == 1 and again["below_threshold"] == {}  # counted when stored, once
    with browser(app) as console:
        assert sign_in(console, "office1").status_code == 303
        page = console.get(f"/console/signalen/{report['id']}").text
        assert "Signalen onder de drempel per signaalpartner" in page and "CAK Zorgverzekeringen" in page

    partner = make_partner(session, scopes=("signals:write",))
    add_agreement(client, office, partner.client_id, name="Waternet", partner_type="Water")
    headers = partner_login(client, partner.client_id)
    delivered = upload(
        client,
        headers,
        csv_file(row("P1", partner="Water", creditor="Waternet", amount="0", postcode="1075AA")),
        name="partner.csv",
    ).json()
    assert delivered["created"] == 1 and delivered["below_threshold"] is None
    assert client.get(f"/v1/signals/imports/{delivered['id']}", headers=office).json()["below_threshold"] == {
        "Water": 1
    }
