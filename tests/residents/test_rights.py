"""The resident's rights through HTTP: find the person, tell them what is held and who saw it,
erase what the law does not keep (and say why the rest stays)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, select

from api.models import Case
from api.residents.rules import CaseFacts, Erasure, erasure_of, mask_bsn, name_matches
from tests.factories import (
    BSN,
    JANSEN,
    PERSONAL_HEADER,
    REASON,
    decrypt,
    jansen,
    jwk_of,
    login,
    read,
    search,
    upload_personal,
)

KEY = rsa.generate_private_key(65537, 2048)


def test_a_resident_is_found_by_bsn_by_name_and_birth_date_and_by_address(client: TestClient, rights_town):  # type: ignore[no-untyped-def]
    for criteria in (
        {"bsn": BSN},
        {"surname": "JANSEN", "birth_date": "1980-05-17"},
        {"postcode": "1053kl", "house_number": 12},
    ):
        found = search(client, **criteria)
        assert found.status_code == 200, found.text
        body = found.json()
        assert sorted(s["external_id"] for s in body["signals"]) == ["NOV-1", "OKT-1"], criteria
        assert {c["id"] for c in body["cases"]} == {str(rights_town["first"]), str(rights_town["second"])}
        assert [h["address"] for h in body["households"]] == ["Kinkerstraat 12, 1053KL Amsterdam"]
    assert search(client, surname="de vries", birth_date="1971-01-02").json()["signals"][0]["external_id"] == "OKT-2"
    assert search(client, surname="Vries", birth_date="1971-01-02").json()["signals"][0]["external_id"] == "OKT-2"
    assert search(client, surname="Jansen", birth_date="1980-05-18").json()["signals"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"bsn": BSN},
        {"reason": REASON},
        {"reason": REASON, "bsn": BSN, "postcode": "1053KL", "house_number": 12},
        {"reason": REASON, "surname": "Jansen"},
        {"reason": REASON, "postcode": "1053KL"},
        {"reason": REASON, "postcode": "ABCD12", "house_number": 1},
        {"reason": "", "bsn": BSN},
    ],
)
def test_a_search_needs_a_reason_and_exactly_one_way_to_find_the_person(client: TestClient, rights_town, body: dict):  # type: ignore[no-untyped-def]
    assert client.post("/v1/residents/search", headers=login(client, "admin1"), json=body).status_code == 422


def test_only_admins_use_the_residents_rights(client: TestClient, rights_town):  # type: ignore[no-untyped-def]
    office = login(client, "office1")
    assert client.post("/v1/residents/search", headers=office, json={"reason": REASON, "bsn": BSN}).status_code == 403
    ref = search(client, bsn=BSN).json()["ref"]
    assert client.get(f"/v1/residents/{ref}/report", headers=office).status_code == 403
    assert (
        client.post(
            f"/v1/residents/{ref}/erasure", headers=office, json={"ground": "objection", "reason": REASON}
        ).status_code
        == 403
    )
    assert client.get(f"/v1/residents/{uuid.uuid4()}/report", headers=login(client, "admin1")).status_code == 404


def test_the_access_report_lists_every_read_and_nothing_of_another_household(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, rights_town
):
    office = login(client, "office1")
    assert client.get(f"/v1/cases/{rights_town['second']}", headers=office).status_code == 200
    assert client.get(f"/v1/cases/{rights_town['other']}", headers=office).status_code == 200  # de Vries: not Jansen's
    signal_id = next(s["id"] for s in search(client, bsn=BSN).json()["signals"] if s["external_id"] == "NOV-1")
    assert client.get(f"/v1/signals/{signal_id}/bsn", headers=office).status_code == 200
    ref = search(client, bsn=BSN).json()["ref"]

    response = client.get(f"/v1/residents/{ref}/report", headers=login(client, "admin1"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["person"]["names"] == ["J. Jansen"] and report["person"]["bsn"] == ["******333"]
    assert report["person"]["birth_dates"] == ["1980-05-17"] and report["person"]["phones"] == [JANSEN["phone"]]
    assert [(c["id"], c["result"]) for c in report["cases"]] == [
        (str(rights_town["first"]), "Niet opgepakt: onterecht signaal"),
        (str(rights_town["second"]), None),
    ]
    log = [(entry["action"], entry["by"], entry["activity"]) for entry in report["access_log"]]
    assert ("cases.read", "medewerker backoffice, Gemeente Amsterdam", "Vroegsignalering: contact en hulpaanbod") in log
    assert ("signals.reveal-bsn", "medewerker backoffice, Gemeente Amsterdam", "Ontvangst van vroegsignalen") in log
    assert (
        "cases.close",
        "medewerker backoffice, Gemeente Amsterdam",
        "Vroegsignalering: contact en hulpaanbod",
    ) in log
    assert sum(action == "residents.search" for action, _, _ in log) >= 2  # the admin's own searches are in it too
    assert all(entry["legal_basis"] for entry in report["access_log"])
    text = response.text
    for secret in (BSN, "Vries", "Wittenburgergracht", str(rights_town["other"]), "office1"):
        assert secret not in text
    html = client.get(f"/v1/residents/{ref}/report", headers=login(client, "admin1"), params={"format": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "Inzage in uw gegevens" in html.text and "******333" in html.text and BSN not in html.text
    assert "Kinkerstraat 12" in html.text and "Vries" not in html.text
    audit = client.get("/v1/audit", headers=login(client, "admin1"), params={"action": "residents.report"}).json()[
        "items"
    ]
    assert {entry["resource_id"] for entry in audit if entry["resource_type"] == "resident_request"} == {ref}
    assert {entry["case_id"] for entry in audit if entry["resource_type"] == "case"} == {
        str(rights_town["first"]),
        str(rights_town["second"]),
    }  # each case read for the report, as every read is


def test_policy_may_name_the_staff_in_the_report(client: TestClient, session: Session, rights_town):  # type: ignore[no-untyped-def]
    admin = login(client, "admin1")
    settings = client.get("/v1/municipality/settings", headers=admin).json()
    assert (
        client.put(
            "/v1/municipality/settings", headers=admin, json={**settings, "access_report_names_staff": True}
        ).status_code
        == 200
    )
    client.get(f"/v1/cases/{rights_town['second']}", headers=login(client, "office1"))
    ref = search(client, bsn=BSN).json()["ref"]
    log = client.get(f"/v1/residents/{ref}/report", headers=login(client, "admin1")).json()["access_log"]
    assert any(entry["by"].startswith("medewerker backoffice (") for entry in log if entry["action"] == "cases.read")


def _every_value(session: Session) -> str:
    """Every value of every table, as text: what an erasure must leave no trace of the person in."""
    seen = []
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).all():
            seen.append(" ".join(str(value) for value in row))
    return "\n".join(seen)


def test_an_erasure_erases_the_person_everywhere_and_keeps_the_counts(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, rights_town, clock
):
    office = login(client, "office1")
    worker = client.get("/v1/auth/me", headers=login(client, "worker1")).json()["id"]
    assert (
        client.post(
            f"/v1/cases/{rights_town['second']}/assignment", headers=office, json={"worker_id": worker}
        ).status_code
        == 200
    )
    device = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(KEY), "label": "phone"}
    ).json()
    phone = {"Authorization": f"Bearer {device['access_token']}"}
    first_pull = decrypt(client.get("/v1/sync/pull", headers=phone).text, KEY)
    assert [c.id for c in first_pull.upserts] == [rights_town["second"]]
    assert (
        client.post(
            f"/v1/cases/{rights_town['second']}/actions",
            headers=office,
            json={
                "action_id": str(uuid.uuid4()),
                "kind": "note",
                "occurred_at": clock.current.isoformat(),
                "text": "Jansen belt terug op 0612345678",
            },
        ).status_code
        == 200
    )
    # Two invalid lines kept in quarantine: one names Jansen (a bad amount), one a stranger.
    content = (
        "\n".join(
            [
                PERSONAL_HEADER,
                jansen("BAD-1", "2026-11-20").replace("1.234,56", "veel"),
                "BAD-2;Huur;Ymere;veel;;2026-11-20;;P.;Pietersen;1990-01-01;;;Dam;1;;1012 JS;Amsterdam",
            ]
        )
        + "\n"
    )
    quarantined = client.post(
        "/v1/signals/imports",
        headers=office,
        data={"mode": "accept-valid"},
        files={"file": ("vps.csv", content.encode(), "text/csv")},
    )
    assert quarantined.status_code == 201 and quarantined.json()["rejected"] == 2, quarantined.text
    october = {"from": "2026-10-01", "to": "2026-10-31"}
    monitor_before = client.get("/v1/reports/monitor", headers=office, params=october).json()
    ddas_before = client.get("/v1/reports/ddas", headers=office, params=october).json()

    ref = search(client, bsn=BSN).json()["ref"]
    response = client.post(
        f"/v1/residents/{ref}/erasure", headers=login(client, "admin1"), json={"ground": "objection", "reason": REASON}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result["erased_cases"]) == {str(rights_town["first"]), str(rights_town["second"])}
    assert result["closed_then_erased"] == [str(rights_town["second"])] and result["kept"] == []
    assert result["erased_signals"] == 2 and "DDAS" in result["kept_always"]
    assert result["erased_quarantined_rows"] == 1

    session.expire_all()
    everything = _every_value(session)
    for value in (*JANSEN.values(), BSN, "1053KL", "1053 KL", "Jansen belt"):
        assert value not in everything, value
    assert "Vries" in everything and "Pietersen" in everything  # others keep theirs
    second = read(session, select(Case).where(Case.id == rights_town["second"]))[0]
    assert (second.state, second.result, second.purged_at is not None) == (
        "closed",
        "Niet opgepakt: andere reden",
        True,
    )
    office = login(client, "office1")
    assert client.get("/v1/reports/monitor", headers=office, params=october).json()["cases"] == monitor_before["cases"]
    ddas_after = client.get("/v1/reports/ddas", headers=office, params=october).json()
    zaken = lambda d: [(z.get("resultaat"), z["matchingsdatum"]) for z in d["leveringen"][0]["vroegsignaalzaken"]]  # noqa: E731
    assert zaken(ddas_after) == zaken(ddas_before)

    update = decrypt(client.get("/v1/sync/pull", headers=phone, params={"cursor": first_pull.cursor}).text, KEY)
    assert [(r.case_id, r.reason) for r in update.removed] == [(rights_town["second"], "purged")]

    # Searched for again, the person shows as erased: keyed hashes are all that is left.
    again = search(client, bsn=BSN).json()
    assert {c["id"] for c in again["cases"]} == {str(rights_town["first"]), str(rights_town["second"])}
    assert all(s["erased"] for s in again["signals"]) and again["erased_before"]
    assert search(client, surname="Jansen", birth_date="1980-05-17").json()["erased_before"]


def test_a_running_trajectory_stays_and_the_answer_says_why(client: TestClient, session: Session, rights_town, clock):  # type: ignore[no-untyped-def]
    office = login(client, "office1")
    second = rights_town["second"]
    for body in ({"kind": "phone_attempt", "reached": True}, {"kind": "help_accepted"}):
        assert (
            client.post(
                f"/v1/cases/{second}/actions",
                headers=office,
                json={"action_id": str(uuid.uuid4()), "occurred_at": clock.current.isoformat(), **body},
            ).status_code
            == 200
        )
    started = client.post(f"/v1/cases/{second}/trajectory", headers=office, json={"decision_date": "2026-11-26"})
    assert started.status_code in (200, 201), started.text
    ref = search(client, bsn=BSN).json()["ref"]
    result = client.post(
        f"/v1/residents/{ref}/erasure", headers=login(client, "admin1"), json={"ground": "erasure", "reason": REASON}
    ).json()
    assert result["erased_cases"] == [str(rights_town["first"])]
    assert [k["case_id"] for k in result["kept"]] == [str(second)] and "trajectory" in result["kept"][0]["reason"]
    report = client.get(f"/v1/residents/{ref}/report", headers=login(client, "admin1")).json()
    assert report["person"]["names"] == ["J. Jansen"]  # kept with the trajectory's case
    assert [c["trajectory"] is not None for c in report["cases"]] == [False, True]


def test_an_address_that_names_several_residents_is_not_erased_as_one(  # type: ignore[no-untyped-def]
    client: TestClient, rights_town
):
    upload_personal(
        client,
        login(client, "office1"),
        "NOV-2;Water;Waternet;80;;2026-11-21;;K.;Kaya;1990-02-03;;;Kinkerstraat;12;;1053 KL;Amsterdam",
    )
    ref = search(client, postcode="1053KL", house_number=12).json()["ref"]
    refused = client.post(
        f"/v1/residents/{ref}/erasure", headers=login(client, "admin1"), json={"ground": "objection", "reason": REASON}
    )
    assert refused.status_code == 409 and refused.json()["type"].endswith("resident-ambiguous")
    assert search(client, bsn=BSN).json()["signals"][0]["erased"] is False  # nothing was erased


@pytest.mark.parametrize("bsn", ["111 222 333", "111.222.333"])
def test_a_bsn_is_found_as_people_write_it(client: TestClient, rights_town, bsn: str):  # type: ignore[no-untyped-def]
    assert len(search(client, bsn=bsn).json()["signals"]) == 2


def test_a_bsn_that_fails_the_elfproef_is_refused(client: TestClient, rights_town):  # type: ignore[no-untyped-def]
    assert search(client, bsn="111222334").status_code == 422


# --- the rules ------------------------------------------------------------------------------------

facts = st.builds(
    CaseFacts,
    closed=st.booleans(),
    purged=st.booleans(),
    trajectory_started=st.booleans(),
    trajectory_ended_on=st.none() | st.dates(date(2020, 1, 1), date(2035, 1, 1)),
    bkr_removal_on=st.none() | st.dates(date(2020, 1, 1), date(2035, 1, 1)),
)


@given(case=facts, today=st.dates(date(2024, 1, 1), date(2030, 1, 1)))
def test_an_erasure_never_touches_a_running_trajectory_or_registration(case: CaseFacts, today: date):
    decision = erasure_of(case, today=today)
    running = case.trajectory_started and (case.trajectory_ended_on is None or case.trajectory_ended_on > today)
    registered = case.trajectory_started and case.bkr_removal_on is not None and case.bkr_removal_on >= today
    if case.purged:
        assert decision.erasure is Erasure.ALREADY
    elif running or registered:
        assert decision.erasure is Erasure.KEEP and decision.reason
    else:
        assert decision.erasure in (Erasure.ERASE, Erasure.CLOSE_AND_ERASE)
        assert (decision.erasure is Erasure.ERASE) == (case.closed or case.trajectory_started)


@given(bsn=st.from_regex(r"[0-9]{9}", fullmatch=True))
def test_a_masked_bsn_shows_three_digits(bsn: str):
    masked = mask_bsn(bsn)
    assert masked == "******" + bsn[-3:] and len(masked) == 9


@pytest.mark.parametrize(
    ("asked", "prefix", "surname", "match"),
    [
        ("de Vries", "de", "Vries", True),
        ("Vries", "de", "Vries", True),
        ("DE  VRIES", "de", "Vries", True),
        ("Koc", None, "Koç", True),
        ("van Dijk", None, "Dijk", False),
        ("Jansen", None, None, False),
    ],
)
def test_names_match_with_or_without_prefix_case_or_accents(
    asked: str, prefix: str | None, surname: str | None, match: bool
):
    assert name_matches(asked, prefix=prefix, surname=surname) is match


def test_the_access_report_lists_every_read_of_the_persons_data_and_none_of_another_household(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, rights_town
):
    from api.models import AuditEntry

    office = login(client, "office1")
    worker = client.get("/v1/auth/me", headers=login(client, "worker1")).json()["id"]
    for case_id in (rights_town["second"], rights_town["other"]):
        assert (
            client.post(f"/v1/cases/{case_id}/assignment", headers=office, json={"worker_id": worker}).status_code
            == 200
        )
    device = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(KEY), "label": "phone"}
    ).json()
    pulled = decrypt(
        client.get("/v1/sync/pull", headers={"Authorization": f"Bearer {device['access_token']}"}).text, KEY
    )
    assert {c.id for c in pulled.upserts} == {
        rights_town["second"],
        rights_town["other"],
    }  # the phone read both households
    assert client.get("/v1/cases", headers=office).status_code == 200  # the list reads both too
    for case_id in (rights_town["first"], rights_town["second"], rights_town["other"]):
        assert client.get(f"/v1/cases/{case_id}", headers=office).status_code == 200
    signal_ids = [s["id"] for s in search(client, bsn=BSN).json()["signals"]]
    for signal_id in signal_ids:
        assert client.get(f"/v1/signals/{signal_id}/bsn", headers=office).status_code == 200
    ref = search(client, bsn=BSN).json()["ref"]

    mine = {rights_town["first"], rights_town["second"]}
    trail = read(session, select(AuditEntry).order_by(AuditEntry.id))
    about_jansen = [
        e
        for e in trail
        if e.case_id in mine
        or (e.resource_type == "signal" and e.resource_id in signal_ids)
        or (e.resource_type == "resident_request" and e.resource_id == ref)
    ]
    about_de_vries = [e for e in trail if e.case_id == rights_town["other"]]
    assert {e.action for e in about_jansen} >= {
        "sync.pull",
        "cases.list",
        "cases.read",
        "signals.reveal-bsn",
        "residents.search",
        "cases.close",
        "cases.assign",
    }
    assert about_de_vries  # read in the same requests, so the report must tell them apart

    report = client.get(f"/v1/residents/{ref}/report", headers=login(client, "admin1")).json()
    listed = [(entry["at"], entry["action"]) for entry in report["access_log"]]
    expected = [(e.at.isoformat().replace("+00:00", "Z"), e.action) for e in about_jansen]
    assert sorted(listed) == sorted(expected)  # every read and change of Jansen's data, and nothing else
