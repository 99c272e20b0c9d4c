"""The register of processing activities: every audited action belongs to one, listed by the API."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from api.audit.activities import _BY_ACTION, _BY_AREA, ACTIVITIES, activity_for
from tests.factories import login, make_municipality, make_partner, make_user, partner_login

ROOT = Path(__file__).resolve().parents[2]


def _recorded_actions() -> set[str]:
    """Every action string the code records (`action="…"` in a call to the audit service)."""
    found: set[str] = set()
    for path in (ROOT / "api").rglob("*.py"):
        found |= set(re.findall(r'action="([a-z]+\.[a-z-]+)"', path.read_text()))
    return found


def test_every_recorded_action_belongs_to_a_named_activity():
    actions = _recorded_actions()
    assert len(actions) > 30  # the scan finds what the code records
    unplaced = sorted(a for a in actions if a not in _BY_ACTION and a.split(".")[0] not in _BY_AREA)
    assert unplaced == []
    assert activity_for("residents.erasure").code == "rights" and activity_for("cases.purge").code == "retention"
    assert activity_for("sync.pull").code == "outreach" and activity_for("signals.feedback-read").code == "partners"


@given(action=st.text(max_size=80))
def test_any_action_gets_an_activity_with_a_legal_basis(action: str):
    activity = activity_for(action)
    assert activity in ACTIVITIES and activity.legal_basis


def test_staff_read_the_register_and_partners_do_not(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="worker", username="worker1")
    listed = client.get("/v1/processing-activities", headers=login(client, "worker1"))
    assert listed.status_code == 200
    assert [a["code"] for a in listed.json()] == [a.code for a in ACTIVITIES]
    assert all(a["name"] and a["purpose"] and a["legal_basis"] for a in listed.json())
    partner = make_partner(session, scopes=("signals:write",))
    assert client.get("/v1/processing-activities", headers=partner_login(client, partner.client_id)).status_code == 403
