"""Outreach policy as data, the next planned action, closing, and retention through API and CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app as cli
from api.models import AuditEntry, Case, Conflict, ErasedSubject, Household, Signal
from tests.factories import NOW, cli_env, login, make_case, make_municipality, make_user, read

runner = CliRunner()


@pytest.fixture
def staff(client: TestClient, session: Session) -> dict[str, dict[str, str]]:
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    return {"office": login(client, "office1"), "admin": login(client, "admin1")}


def test_the_admin_changes_the_outreach_policy_and_the_change_is_audited(client: TestClient, staff):  # type: ignore[no-untyped-def]
    policy = client.get("/v1/municipality/policy", headers=staff["office"]).json()
    assert policy["single"]["channels"] == ["letter", "visit"]
    policy["single"] = {
        "channels": ["visit"],
        "max_attempts": 4,
        "change_day_part": False,
        "after_last_attempt": "close_no_contact",
    }

    assert client.put("/v1/municipality/policy", headers=staff["office"], json=policy).status_code == 403
    response = client.put("/v1/municipality/policy", headers=staff["admin"], json=policy)

    assert response.status_code == 200 and response.json()["single"]["max_attempts"] == 4
    assert client.get("/v1/municipality/settings", headers=staff["office"]).json()["policy"]["single"]["channels"] == [
        "visit"
    ]
    audit = client.get("/v1/audit", params={"action": "municipality.policy"}, headers=staff["admin"]).json()["items"]
    assert audit[0]["detail"] == {"changed": ["policy"]}


@pytest.mark.parametrize(
    "change",
    [
        {"single": {"channels": [], "max_attempts": 3}},
        {"multiple": {"channels": ["fax"]}},
        {"crisis": {"channels": ["visit"], "max_attempts": 0}},
        {"unknown": True},
    ],
)
def test_an_invalid_policy_is_refused_and_the_old_one_kept(client: TestClient, staff, change):  # type: ignore[no-untyped-def]
    before = client.get("/v1/municipality/policy", headers=staff["admin"]).json()
    response = client.put("/v1/municipality/policy", headers=staff["admin"], json=before | change)
    assert response.status_code == 422
    assert client.get("/v1/municipality/policy", headers=staff["admin"]).json() == before


def test_settings_that_contradict_each_other_are_refused(client: TestClient, staff):  # type: ignore[no-untyped-def]
    settings = client.get("/v1/municipality/settings", headers=staff["admin"]).json()
    response = client.put(
        "/v1/municipality/settings",
        headers=staff["admin"],
        json=settings | {"first_contact_days": 2, "crisis_first_contact_working_days": 5},
    )
    assert response.status_code == 422


def test_the_case_shows_its_next_planned_action(client: TestClient, staff, session: Session):  # type: ignore[no-untyped-def]
    case = make_case(session)
    detail = client.get(f"/v1/cases/{case.id}", headers=staff["office"]).json()
    assert detail["next_planned_action"] == {
        "channel": "letter",
        "attempt_number": 1,
        "avoid_day_parts": [],
        "after_last_attempt": None,
    }


def test_closing_needs_a_ddas_result_and_a_closed_case_cannot_close_again(client: TestClient, staff, session: Session):  # type: ignore[no-untyped-def]
    case = make_case(session)
    bad = client.post(f"/v1/cases/{case.id}/close", headers=staff["office"], json={"result": "Klaar"})
    assert bad.status_code == 422
    stale = client.post(
        f"/v1/cases/{case.id}/close",
        headers=staff["office"],
        json={"result": "Inwoner is overleden", "base_version": 7},
    )
    assert stale.status_code == 409 and stale.json()["type"] == "urn:doorstep:problem:version-conflict"
    closed = client.post(
        f"/v1/cases/{case.id}/close",
        headers=staff["office"],
        json={"result": "Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering"},
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed" and closed.json()["version"] == 2
    again = client.post(f"/v1/cases/{case.id}/close", headers=staff["office"], json={"result": "Inwoner is overleden"})
    assert again.status_code == 409
    assert again.json()["type"] == "urn:doorstep:problem:illegal-transition" and again.json()["state"] == "closed"
    assert "closed" in again.json()["detail"]


def test_purge_erases_personal_data_of_old_closed_cases_only(
    session: Session, database_url: str, tmp_path: Path, staff
):  # type: ignore[no-untyped-def]
    old, recent, open_case = make_case(session, surname="Oud"), make_case(session, surname="Recent"), make_case(session)
    for case, closed_at in ((old, datetime(2025, 1, 10, tzinfo=UTC)), (recent, datetime.now(UTC))):
        case.state, case.result, case.closed_at = "closed", "Inwoner is overleden", closed_at
        session.add(case)
    # A decided conflict keeps both sides' payloads and the office's note: free text about the resident.
    session.add(
        Conflict(
            municipality_code="0363",
            case_id=old.id,
            kind="accepted-and-declined",
            opened_at=NOW,
            sides=[
                {
                    "event_id": "e1",
                    "kind": "help_declined",
                    "payload": {"reason": "Oud wil niets", "day_part": "ochtend"},
                }
            ],
            resolution={"decision": "keep_office", "note": "Oud belde zelf", "event_ids": ["e1"]},
        )
    )
    session.commit()
    env = cli_env(database_url, tmp_path)

    dry = runner.invoke(cli, ["purge", "--dry-run"], env=env)
    assert dry.exit_code == 0 and str(old.id) in dry.output and str(recent.id) not in dry.output
    assert read(session, select(Signal).where(Signal.case_id == old.id))[0].surname == "Oud"

    real = runner.invoke(cli, ["purge"], env=env)
    assert real.exit_code == 0, real.output
    [erased] = read(session, select(Signal).where(Signal.case_id == old.id))
    [purged_case] = read(session, select(Case).where(Case.id == old.id))
    [household] = read(session, select(Household).where(Household.id == purged_case.household_id))
    [kept] = read(session, select(Signal).where(Signal.case_id == recent.id))
    audit = read(session, select(AuditEntry).where(AuditEntry.action == "cases.purge"))
    assert erased.surname is None and erased.initials is None and erased.amount_cents == 123456
    assert erased.partner_type == "Huur"  # what the reports count survives
    assert purged_case.purged_at is not None and purged_case.result == "Inwoner is overleden"
    assert household.postcode is None and household.street is None
    assert kept.surname == "Recent"
    assert [entry.case_id for entry in audit] == [old.id]
    assert open_case.state == "new"
    [conflict] = read(session, select(Conflict).where(Conflict.case_id == old.id))
    assert conflict.sides[0]["payload"] == {"day_part": "ochtend"} and "note" not in (conflict.resolution or {})
    erased_subjects = read(session, select(ErasedSubject).where(ErasedSubject.case_id == old.id))
    assert {e.kind for e in erased_subjects} >= {"address"} and all(len(e.digest) == 64 for e in erased_subjects)


def test_purge_also_erases_repeat_signals_that_never_had_a_case(
    client: TestClient,
    staff,
    session: Session,  # type: ignore[no-untyped-def]
    database_url: str,
    tmp_path: Path,
):
    from datetime import timedelta

    case = make_case(session, surname="Herhaald")
    [signal] = read(session, select(Signal).where(Signal.case_id == case.id))
    long_ago = datetime(2025, 1, 10, tzinfo=UTC)
    session.execute(
        Case.__table__.update()
        .where(Case.__table__.c.id == case.id)
        .values(state="closed", result="Inwoner is overleden", closed_at=long_ago)
    )
    session.execute(
        Signal.__table__.insert().values(
            id=__import__("uuid").uuid4(),
            municipality_code="0363",
            external_id="REPEAT",
            household_id=case.household_id,
            case_id=None,
            partner_type="Huur",
            signal_date=long_ago.date(),
            received_at=long_ago + timedelta(days=30),
            crisis=False,
            warm_handover=False,
            is_repeat=True,
            status="Niet opgepakt: herhaalde melding",
            surname="Herhaald",
            bsn_digest="f" * 64,
            created_at=long_ago,
        )
    )
    session.commit()

    result = runner.invoke(cli, ["purge"], env=cli_env(database_url, tmp_path))

    assert result.exit_code == 0 and "1 signal(s) without a case" in result.output
    [repeat] = read(session, select(Signal).where(Signal.external_id == "REPEAT"))
    assert repeat.surname is None and repeat.bsn_digest is None and repeat.status == "Niet opgepakt: herhaalde melding"
    [household] = read(session, select(Household).where(Household.id == case.household_id))
    assert household.postcode is None
    assert signal.surname == "Herhaald"
