"""A partner sees its own signals and whether each was picked up: not the municipality's cases,
other creditors' signals, the field's visits and notes, nor a trajectory (docs/decisions.md)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Signal
from tests.factories import add_agreement, login, make_municipality, make_partner, make_user, partner_login, read


def _partner_with_agreement(
    client: TestClient, session: Session, office: dict[str, str], *, name: str, partner_type: str
) -> dict[str, str]:
    partner = make_partner(session, scopes=("signals:write", "cases:read"))
    add_agreement(client, office, partner.client_id, name=name, partner_type=partner_type)
    return partner_login(client, partner.client_id)


def test_a_partner_reads_its_own_signals_outcome_and_nothing_of_the_case(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    office = login(client, "office1")
    ymere = _partner_with_agreement(client, session, office, name="Ymere", partner_type="Huur")
    eneco = _partner_with_agreement(client, session, office, name="Eneco", partner_type="Energie")
    household = {"postcode": "1053KL", "house_number": 12, "surname": "Baldewsingh", "signal_date": "2026-11-10"}
    assert (
        client.post(
            "/v1/signals",
            headers=ymere,
            json={"signals": [{**household, "signal_id": "Y1", "partner_type": "Huur", "amount": "950"}]},
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/v1/signals",
            headers=eneco,
            json={
                "signals": [
                    {**household, "signal_id": "E1", "partner_type": "Energie", "amount": "420"},
                    {
                        **household,
                        "signal_id": "E2",
                        "partner_type": "Energie",
                        "amount": "420",
                        "signal_date": "2026-11-11",
                    },
                ]
            },
        ).status_code
        == 200
    )
    [case_id] = {s.case_id for s in read(session, select(Signal)) if s.case_id}
    client.post(
        f"/v1/cases/{case_id}/actions",
        headers=office,
        json={
            "action_id": str(uuid.uuid4()),
            "kind": "note",
            "occurred_at": "2026-11-26T09:00:00Z",
            "text": "Schuldhulp loopt",
        },
    )

    before = client.get("/v1/signals", headers=ymere).json()["items"]
    assert [(s["signal_id"], s["status"]) for s in before] == [("Y1", "Nog niet opgepakt")]
    client.post(
        f"/v1/cases/{case_id}/actions",
        headers=office,
        json={"action_id": str(uuid.uuid4()), "kind": "letter_sent", "occurred_at": "2026-11-26T09:00:00Z"},
    )
    seen = client.get("/v1/signals", headers=ymere)
    assert seen.status_code == 200, seen.text
    assert [(s["signal_id"], s["status"]) for s in seen.json()["items"]] == [("Y1", "Opgepakt")]
    for secret in ("Eneco", "E1", "420", "Baldewsingh", "Schuldhulp", str(case_id)):
        assert secret not in seen.text
    # A repeat is "not picked up", without the reason.
    statuses = {s["signal_id"]: s["status"] for s in client.get("/v1/signals", headers=eneco).json()["items"]}
    assert statuses["E1"] == "Opgepakt" and statuses["E2"] in ("Opgepakt", "Niet opgepakt")
    for path in (f"/v1/cases/{case_id}", "/v1/cases", "/v1/cases/export"):
        refused = client.get(path, headers=ymere)
        assert refused.status_code == 403, path


def test_the_partner_view_pages_with_a_cursor_and_is_the_partners_only(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    office = login(client, "office1")
    ymere = _partner_with_agreement(client, session, office, name="Ymere", partner_type="Huur")
    signals = [
        {
            "signal_id": f"Y{n}",
            "partner_type": "Huur",
            "signal_date": "2026-11-10",
            "postcode": "1053KL",
            "house_number": n,
        }
        for n in range(1, 6)
    ]
    assert client.post("/v1/signals", headers=ymere, json={"signals": signals}).status_code == 200
    first = client.get("/v1/signals", headers=ymere, params={"limit": 3}).json()
    second = client.get("/v1/signals", headers=ymere, params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 3 and len(second["items"]) == 2 and second["next_cursor"] is None
    assert {s["signal_id"] for s in first["items"] + second["items"]} == {f"Y{n}" for n in range(1, 6)}
    assert client.get("/v1/signals", headers=office).status_code == 403  # the office has the cases
    no_scope = make_partner(session, scopes=("signals:write",))
    assert client.get("/v1/signals", headers=partner_login(client, no_scope.client_id)).status_code == 403
