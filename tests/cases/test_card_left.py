"""A card left at a door nobody opened belongs to that visit: it is not a second attempt."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import event, push


def test_a_not_home_visit_with_a_card_is_one_visit_attempt(client: TestClient, duo):  # type: ignore[no-untyped-def]
    case_id = duo["case"].id
    push(client, duo["devices"][0], [event(case_id, "visit_attempt", reached=False), event(case_id, "card_left")])
    board = client.get("/v1/dashboard", headers=duo["office"]).json()
    assert board["attempts_by_channel"] == {"visit": 1}
    planned = client.get(f"/v1/cases/{case_id}", headers=duo["office"]).json()["next_planned_action"]
    assert planned["attempt_number"] == 2
