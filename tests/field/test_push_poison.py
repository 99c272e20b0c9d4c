"""No event a phone can send makes a push fail as a whole: an event the server cannot place is
rejected with a reason and the rest of the batch is applied (otherwise the phone resends the same
batch for ever and the valid visits in it are lost with it)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from api.models import VisitEvent
from sync.events import PAYLOADS
from tests.factories import event, push, read

EDGES = [
    "9999-12-31T23:30:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01T00:00:00-00:01",
    "0001-01-02T00:00:00+23:59",
]


def test_events_at_the_edges_of_the_calendar_are_rejected_and_the_rest_applied(
    client: TestClient, duo, session: Session
):  # type: ignore[no-untyped-def]
    case_id = duo["case"].id
    poison = [dict(event(case_id, "visit_attempt", reached=False), occurred_at=edge) for edge in EDGES]
    good = event(case_id, "visit_attempt", reached=True)
    results = push(client, duo["devices"][0], [*poison, good])
    assert [result for result, _ in results] == ["rejected"] * len(EDGES) + ["applied"]
    assert all("occurred_at" in reason for _, reason in results[:-1])
    assert [str(e.id) for e in read(session, select(VisitEvent))] == [good["event_id"]]
    # The phone sends the same batch again: the same answer, nothing stored twice.
    assert [result for result, _ in push(client, duo["devices"][0], [*poison, good])] == ["rejected"] * len(EDGES) + [
        "duplicate"
    ]
    # And everything that reads events still answers.
    assert client.get(f"/v1/cases/{case_id}", headers=duo["office"]).status_code == 200
    assert client.get("/v1/sync/pull", headers=duo["devices"][0]["headers"]).status_code == 200


offsets = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-(24 * 60 - 1), 24 * 60 - 1))
moments = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999), timezones=offsets
)
# Where the calendar ends, in every offset: a uniform draw almost never lands there.
calendar_edges = st.builds(
    lambda edge, tz: edge.replace(tzinfo=tz),
    st.sampled_from(
        [
            datetime(1, 1, 1),
            datetime(1, 1, 1, 23, 59),
            datetime(9999, 12, 31),
            datetime(9999, 12, 31, 23, 30),
            datetime(1899, 12, 31, 23),
            datetime(9998, 12, 31, 23, 59),
        ]
    ),
    offsets,
)
texts = st.text(max_size=50) | st.sampled_from(["\x00", "a\x00b", "\ud800", "\udfff x", "\u2028", " " * 3000])
json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | texts


def _payload_for(kind: str) -> st.SearchStrategy:
    fields = PAYLOADS[kind].model_fields
    shaped = st.fixed_dictionaries({}, optional={name: json_scalars for name in fields})
    return shaped | st.dictionaries(texts, json_scalars, max_size=3)


events = st.sampled_from(sorted(PAYLOADS)).flatmap(
    lambda kind: st.fixed_dictionaries(
        {
            "kind": st.just(kind),
            "occurred_at": (moments | calendar_edges).map(datetime.isoformat),
            "payload": _payload_for(kind),
            "base_version": st.integers(0, 2**31),
        }
    )
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(events, min_size=1, max_size=4))
def test_no_event_makes_a_push_fail(client: TestClient, duo, batch):  # type: ignore[no-untyped-def]
    sent = [{"event_id": str(uuid.uuid4()), "case_id": str(duo["case"].id), **generated} for generated in batch]
    good = event(duo["case"].id, "note", text="Hond in de tuin")
    # As JSON escapes (json.dumps' default): how a lone surrogate can reach the service at all.
    body = json.dumps({"device_id": duo["devices"][0]["id"], "events": [*sent, good]})
    response = client.post(
        "/v1/sync/push",
        headers={**duo["devices"][0]["headers"], "Content-Type": "application/json"},
        content=body.encode(),
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(sent) + 1 and results[-1]["result"] in ("applied", "conflict")
    assert all(r["result"] != "rejected" or r["reason"] for r in results)
    assert client.get(f"/v1/cases/{duo['case'].id}", headers=duo["office"]).status_code == 200
