"""Planning a day: the most urgent visits, split per worker along the streets, then accepted as assignments."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from api.backoffice.planning import PlannedVisit, split_by_walking_order, walking_order
from api.models import AuditEntry
from tests.factories import login, make_case, read


def visit(due: date, postcode: str, number: int = 1) -> PlannedVisit:
    return PlannedVisit(uuid.uuid4(), due, postcode, "Straat", number, None, "middag", 1)


visits = st.lists(
    st.builds(
        visit,
        st.dates(date(2026, 11, 1), date(2027, 1, 31)),
        st.from_regex(r"^10[0-9]{2}[A-Z]{2}$", fullmatch=True),
        st.integers(1, 300),
    ),
    max_size=40,
)


@given(visits, st.integers(1, 5), st.integers(1, 8))
def test_the_most_urgent_visits_are_planned_once_each_in_walking_order(pool, workers, per_worker):  # type: ignore[no-untyped-def]
    ids = [uuid.uuid4() for _ in range(workers)]
    lists = split_by_walking_order(pool, ids, per_worker)
    planned = [v for item in lists for v in item.visits]
    assert len(planned) == len({v.case_id for v in planned}) == min(len(pool), workers * per_worker)
    assert all(len(item.visits) <= per_worker for item in lists)
    assert all(
        [walking_order(v) for v in item.visits] == sorted(walking_order(v) for v in item.visits) for item in lists
    )
    left_out = [v for v in pool if v.case_id not in {p.case_id for p in planned}]
    if left_out and planned:
        assert max(v.first_contact_due_date for v in planned) <= min(v.first_contact_due_date for v in left_out)


def test_a_proposal_splits_the_most_urgent_visits_and_accepting_assigns_them(
    client: TestClient, planning_day, session: Session
):  # type: ignore[no-untyped-def]
    proposal = client.post(
        "/v1/plans", headers=planning_day["headers"], json={"date": "2026-11-27", "visits_per_worker": 2}
    )
    assert proposal.status_code == 200, proposal.text
    lists = proposal.json()["lists"]
    planned = [v["case_id"] for item in lists for v in item["visits"]]
    assert sorted(planned) == sorted(str(c.id) for c in planning_day["cases"][:4])  # the latest deadline waits
    assert all(v["day_part"] == "middag" for item in lists for v in item["visits"])
    assert [v["postcode"] for v in lists[0]["visits"]] == ["1011AA", "1011AB"]
    audited = read(session, select(AuditEntry.case_id).where(AuditEntry.action == "plans.propose"))
    assert sorted(str(case_id) for case_id in audited) == sorted(planned)  # the lists name addresses

    edited = [{"worker_id": item["worker_id"], "case_ids": [v["case_id"] for v in item["visits"]]} for item in lists]
    edited[1]["case_ids"] = edited[1]["case_ids"][:1]  # the office drops one visit
    accepted = client.post("/v1/plans/accept", headers=planning_day["headers"], json={"lists": edited})
    assert accepted.status_code == 200 and len(accepted.json()["items"]) == 3
    assert all(item["state"] == "planned" for item in accepted.json()["items"])


def test_plans_are_for_active_workers_of_the_municipality(client: TestClient, planning_day):  # type: ignore[no-untyped-def]
    response = client.post(
        "/v1/plans", headers=planning_day["headers"], json={"date": "2026-11-27", "worker_ids": [str(uuid.uuid4())]}
    )
    assert response.status_code == 422
    assert client.post("/v1/plans", headers=login(client, "worker1"), json={"date": "2026-11-27"}).status_code == 403


def test_accepting_nothing_is_a_422(client: TestClient, planning_day):  # type: ignore[no-untyped-def]
    empty = {"lists": [{"worker_id": str(planning_day["workers"][0].id), "case_ids": []}]}
    assert client.post("/v1/plans/accept", headers=planning_day["headers"], json=empty).status_code == 422


def test_reading_cases_by_deadline_in_small_batches_proposes_the_same_lists(  # type: ignore[no-untyped-def]
    session: Session, planning_day, monkeypatch: pytest.MonkeyPatch
):
    """Planning stops reading once it has enough visits; ties on the last deadline must all be seen."""
    from api.backoffice import planning

    for index, postcode in enumerate(["1011AC", "1099ZZ", "1011AA", "1050AB", "1102BA", "1011AD", "1068DE"]):
        case = make_case(session, postcode=postcode, house_number=index + 1)
        case.classification = "multiple"
        case.first_contact_due_date = date(2026, 12, 2) + timedelta(days=index % 2)  # many equal deadlines
        session.add(case)
    session.commit()
    workers = [worker.id for worker in planning_day["workers"]]
    for per_worker in (1, 2, 3, 5, 20):
        whole = planning.propose(session, municipality_code="0363", worker_ids=workers, per_worker=per_worker)
        monkeypatch.setattr(planning, "PLAN_BATCH", 2)
        batched = planning.propose(session, municipality_code="0363", worker_ids=workers, per_worker=per_worker)
        monkeypatch.setattr(planning, "PLAN_BATCH", 500)
        assert batched == whole, per_worker
    session.rollback()
