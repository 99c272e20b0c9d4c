"""Push: offline events stored exactly once, reconciled into case state, conflicts for the back office."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Case, VisitEvent
from tests.factories import KEYS, WHEN, decrypt, event, login, make_user, push, read


def case_row(session: Session, case_id) -> Case:  # type: ignore[no-untyped-def]
    return read(session, select(Case).where(Case.id == case_id))[0]


def test_a_not_home_attempt_and_a_card_are_stored_with_the_day_part(client: TestClient, duo, session: Session):  # type: ignore[no-untyped-def]
    results = push(
        client,
        duo["devices"][0],
        [event(duo["case"].id, "visit_attempt", reached=False), event(duo["case"].id, "card_left")],
    )
    assert results == [("applied", None), ("applied", None)]
    stored = read(session, select(VisitEvent).order_by(VisitEvent.kind))
    assert [(e.kind, e.payload.get("day_part"), e.clock_skew) for e in stored] == [
        ("card_left", "ochtend", False),
        ("visit_attempt", "ochtend", False),
    ]
    assert case_row(session, duo["case"].id).state == "planned"
    devices = client.get("/v1/devices", headers=duo["office"]).json()["items"]
    assert {d["last_push_event_count"] for d in devices if d["last_push_at"]} == {2}


def test_a_replayed_batch_changes_nothing(client: TestClient, duo, session: Session):  # type: ignore[no-untyped-def]
    batch = [event(duo["case"].id, "visit_attempt", reached=True)]
    assert push(client, duo["devices"][0], batch) == [("applied", None)]
    version = case_row(session, duo["case"].id).version
    replay = push(client, duo["devices"][0], batch)
    assert replay[0][0] == "duplicate"
    assert case_row(session, duo["case"].id).version == version
    assert len(read(session, select(VisitEvent))) == 1
    changed = dict(batch[0], payload={"reached": False})
    assert push(client, duo["devices"][0], [changed])[0][0] == "rejected"


def test_invalid_events_are_rejected_with_a_reason_and_the_rest_applied(client: TestClient, duo):  # type: ignore[no-untyped-def]
    results = push(
        client,
        duo["devices"][0],
        [
            event(duo["case"].id, "help_declined"),
            event(uuid.uuid4(), "visit_attempt", reached=False),
            event(duo["case"].id, "result_proposed", result="Klaar"),
            event(duo["case"].id, "note", text="Hond in de tuin"),
        ],
    )
    assert [r[0] for r in results] == ["rejected", "rejected", "rejected", "applied"]
    assert "reason" in results[0][1] and results[1][1] == "unknown case" and "DDAS" in results[2][1]


def test_a_reached_resident_who_accepts_help_moves_the_case_on(client: TestClient, duo, session: Session):  # type: ignore[no-untyped-def]
    push(
        client,
        duo["devices"][0],
        [
            event(duo["case"].id, "visit_attempt", reached=True),
            event(duo["case"].id, "help_accepted", when=WHEN + timedelta(minutes=5)),
        ],
    )
    assert case_row(session, duo["case"].id).state == "help_accepted"


def test_accepted_on_one_device_and_declined_on_the_other_is_a_conflict_the_office_resolves(  # type: ignore[no-untyped-def]
    client: TestClient, duo, session: Session
):
    one, two = duo["devices"]
    assert push(client, one, [event(duo["case"].id, "help_accepted")]) == [("applied", None)]
    declined = push(client, two, [event(duo["case"].id, "help_declined", reason="Wil het zelf regelen")])
    assert declined[0][0] == "conflict"

    [conflict] = client.get("/v1/conflicts", headers=duo["office"]).json()["items"]
    assert conflict["kind"] == "accepted-and-declined"
    assert {side["kind"] for side in conflict["sides"]} == {"help_accepted", "help_declined"}
    assert {side["device_id"] for side in conflict["sides"]} == {one["id"], two["id"]}
    pending = {
        d["id"]: d["pending_conflicts"] for d in client.get("/v1/devices", headers=duo["office"]).json()["items"]
    }
    assert pending == {one["id"]: 1, two["id"]: 1}

    resolved = client.post(
        f"/v1/conflicts/{conflict['id']}/resolve",
        headers=duo["office"],
        json={"decision": "help_accepted", "note": "Gebeld: wil wel hulp"},
    )
    assert resolved.status_code == 200 and resolved.json()["resolved_at"]
    assert client.get("/v1/conflicts", headers=duo["office"]).json()["items"] == []
    assert case_row(session, duo["case"].id).state == "help_accepted"
    again = client.post(
        f"/v1/conflicts/{conflict['id']}/resolve", headers=duo["office"], json={"decision": "help_accepted"}
    )
    assert again.status_code == 409
    visit_list = decrypt(client.get("/v1/sync/pull", headers=two["headers"]).text, KEYS[1])
    assert visit_list.upserts[0].state == "help_accepted"


def test_events_on_a_case_closed_meanwhile_are_kept_and_an_outcome_is_a_conflict(  # type: ignore[no-untyped-def]
    client: TestClient, duo, session: Session
):
    client.post(f"/v1/cases/{duo['case'].id}/close", headers=duo["office"], json={"result": "Inwoner is overleden"})
    results = push(
        client,
        duo["devices"][0],
        [event(duo["case"].id, "visit_attempt", reached=False), event(duo["case"].id, "help_accepted")],
    )
    assert [r[0] for r in results] == ["applied", "conflict"]
    assert len(read(session, select(VisitEvent))) == 2
    assert client.get("/v1/conflicts", headers=duo["office"]).json()["items"][0]["kind"] == "outcome-after-closed"


def test_an_outcome_from_a_device_whose_case_was_reassigned_is_kept_as_a_conflict(  # type: ignore[no-untyped-def]
    client: TestClient, duo, session: Session
):
    client.get("/v1/sync/pull", headers=duo["devices"][0]["headers"])
    third = make_user(session, role="worker", username="worker3")
    client.post(f"/v1/cases/{duo['case'].id}/assignment", headers=duo["office"], json={"worker_id": str(third.id)})
    results = push(
        client,
        duo["devices"][0],
        [event(duo["case"].id, "card_left"), event(duo["case"].id, "help_declined", reason="Geen interesse")],
    )
    assert [r[0] for r in results] == ["applied", "conflict"]


def test_a_device_clock_far_ahead_is_flagged_not_trusted_and_not_dropped(client: TestClient, duo, session: Session):  # type: ignore[no-untyped-def]
    push(
        client,
        duo["devices"][0],
        [
            event(
                duo["case"].id,
                "visit_attempt",
                reached=False,
                when=datetime(2026, 11, 26, 9, 0, tzinfo=UTC) + timedelta(hours=2),
            )
        ],
    )
    [stored] = read(session, select(VisitEvent))
    assert stored.clock_skew is True


def test_push_needs_the_devices_own_token(client: TestClient, duo):  # type: ignore[no-untyped-def]
    body = {"device_id": duo["devices"][0]["id"], "events": []}
    assert client.post("/v1/sync/push", headers=login(client, "worker1"), json=body).status_code == 403
    mismatch = client.post("/v1/sync/push", headers=duo["devices"][1]["headers"], json=body)
    assert mismatch.status_code == 403 and mismatch.json()["type"] == "urn:doorstep:problem:device-mismatch"
    too_many = {"device_id": duo["devices"][0]["id"], "events": [event(duo["case"].id, "card_left")] * 501}
    assert client.post("/v1/sync/push", headers=duo["devices"][0]["headers"], json=too_many).status_code == 422


def test_two_pushes_on_one_case_at_once_lose_nothing(client: TestClient, duo, session: Session, app):  # type: ignore[no-untyped-def]
    before = case_row(session, duo["case"].id).version
    outcomes: list[int] = []

    def send(device: dict) -> None:
        with TestClient(app) as own:
            response = own.post(
                "/v1/sync/push",
                headers=device["headers"],
                json={
                    "device_id": device["id"],
                    "events": [event(duo["case"].id, "visit_attempt", reached=False) for _ in range(5)],
                },
            )
            outcomes.append(response.status_code)

    threads = [threading.Thread(target=send, args=(device,)) for device in duo["devices"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == [200, 200]
    assert len(read(session, select(VisitEvent))) == 10
    assert case_row(session, duo["case"].id).version == before + 2


def test_the_back_office_sees_the_clock_skew_flag_on_the_case(client: TestClient, duo):  # type: ignore[no-untyped-def]
    push(
        client,
        duo["devices"][0],
        [event(duo["case"].id, "visit_attempt", reached=False, when=WHEN + timedelta(hours=3))],
    )
    detail = client.get(f"/v1/cases/{duo['case'].id}", headers=duo["office"]).json()
    [seen] = detail["events"]
    assert seen["clock_skew"] is True and seen["device_id"] == duo["devices"][0]["id"]
    assert seen["payload"]["day_part"] == "middag"


def test_an_event_repeated_inside_one_batch_is_applied_once(client: TestClient, duo, session: Session):  # type: ignore[no-untyped-def]
    same = event(duo["case"].id, "card_left")
    assert [r[0] for r in push(client, duo["devices"][0], [same, same])] == ["applied", "duplicate"]
    assert len(read(session, select(VisitEvent))) == 1
