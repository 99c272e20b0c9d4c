"""Pull: the visit list encrypted to the device, incremental by cursor, self-healing by checksum."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.field.pull import visit_list_expiry
from api.models import Municipality
from sync.protocol import case_set_checksum
from tests.factories import BSN_DIGEST, OTHER, decrypt, login, make_case, make_user, pull


def test_a_first_pull_is_a_full_list_of_the_workers_own_cases_without_bsn(client: TestClient, field):  # type: ignore[no-untyped-def]
    response = pull(client, field["device"])
    visit_list = decrypt(response.text)
    assert visit_list.full and [case.id for case in visit_list.upserts] == [field["mine"].id]
    case = visit_list.upserts[0]
    assert case.address.postcode == "1055AB" and case.residents[0].surname == "Baldewsingh"
    assert case.partner_types == ["Huur"] and case.total_arrears_cents == 123456 and case.planned_action == "letter"
    assert [(a.partner_type, a.amount_cents) for a in case.arrears] == [("Huur", 123456)]
    plaintext = visit_list.model_dump_json()
    assert BSN_DIGEST not in plaintext and "bsn" not in plaintext.lower()
    assert visit_list.expires_at == visit_list_expiry(datetime(2026, 11, 26, 9, tzinfo=UTC), working_days=1)


def test_the_list_is_encrypted_to_the_enrolled_key_only(client: TestClient, field):  # type: ignore[no-untyped-def]
    token = pull(client, field["device"]).text
    with pytest.raises(Exception):  # noqa: B017 - any failure to decrypt is the point
        decrypt(token, OTHER)
    header, key, iv, ciphertext, tag = token.split(".")
    tampered = ".".join([header, key, iv, ciphertext[:-4] + ("AAAA" if ciphertext[-4:] != "AAAA" else "BBBB"), tag])
    with pytest.raises(Exception):  # noqa: B017
        decrypt(tampered)


def test_an_unchanged_incremental_pull_is_small_and_empty(client: TestClient, field):  # type: ignore[no-untyped-def]
    first = decrypt(pull(client, field["device"]).text)
    response = pull(client, field["device"], cursor=first.cursor)
    again = decrypt(response.text)
    assert (again.full, again.upserts, again.removed) == (False, [], [])
    assert len(response.content) < 1024


def test_a_reassigned_case_is_removed_with_a_reason_and_a_new_one_arrives(client: TestClient, field, session):  # type: ignore[no-untyped-def]
    first = decrypt(pull(client, field["device"]).text)
    newcomer = make_case(session, postcode="1068XY")
    office = field["office"]
    client.post(
        f"/v1/cases/{field['mine'].id}/assignment", headers=office, json={"worker_id": str(field["colleague"].id)}
    )
    client.post(f"/v1/cases/{newcomer.id}/assignment", headers=office, json={"worker_id": str(field["worker"].id)})

    update = decrypt(pull(client, field["device"], cursor=first.cursor).text)

    assert not update.full
    assert [(r.case_id, r.reason) for r in update.removed] == [(field["mine"].id, "reassigned")]
    assert [c.id for c in update.upserts] == [newcomer.id]


def test_a_closed_case_is_removed_as_closed(client: TestClient, field):  # type: ignore[no-untyped-def]
    first = decrypt(pull(client, field["device"]).text)
    client.post(f"/v1/cases/{field['mine'].id}/close", headers=field["office"], json={"result": "Inwoner is overleden"})
    update = decrypt(pull(client, field["device"], cursor=first.cursor).text)
    assert [(r.case_id, r.reason) for r in update.removed] == [(field["mine"].id, "closed")]


def test_a_checksum_mismatch_heals_with_a_full_snapshot(client: TestClient, field):  # type: ignore[no-untyped-def]
    first = decrypt(pull(client, field["device"]).text)
    held = case_set_checksum((case.id, case.version) for case in first.upserts)
    same = decrypt(pull(client, field["device"], cursor=first.cursor, checksum=held).text)
    assert not same.full
    lost = decrypt(pull(client, field["device"], cursor=first.cursor, checksum=case_set_checksum([])).text)
    assert lost.full and [c.id for c in lost.upserts] == [field["mine"].id]


def test_a_forged_cursor_gives_a_full_snapshot(client: TestClient, field):  # type: ignore[no-untyped-def]
    decrypt(pull(client, field["device"]).text)
    assert decrypt(pull(client, field["device"], cursor="c1.Zm9yZ2Vk").text).full


def test_pull_needs_a_device_token_and_a_revoked_device_gets_nothing(client: TestClient, field):  # type: ignore[no-untyped-def]
    staff = client.get("/v1/sync/pull", headers=login(client, "worker1"))
    assert staff.status_code == 403 and staff.json()["type"] == "urn:doorstep:problem:device-token-required"
    client.post(f"/v1/devices/{field['device_id']}/revoke", headers=field["office"])
    revoked = client.get("/v1/sync/pull", headers=field["device"])
    assert revoked.status_code == 401 and revoked.json()["wipe"] is True


def test_pulls_are_audited_and_the_device_reports_its_outbox(client: TestClient, field):  # type: ignore[no-untyped-def]
    pull(client, field["device"], unsent=3)
    devices = client.get("/v1/devices", headers=field["office"]).json()["items"]
    assert devices[0]["unsent_events_reported"] == 3 and devices[0]["last_pull_at"]
    admin = make_user_admin(client, field)
    entries = client.get("/v1/audit", params={"action": "sync.pull"}, headers=admin).json()["items"]
    assert [e["case_id"] for e in entries] == [str(field["mine"].id)]


def test_a_paired_case_names_the_duo_partner_and_carries_its_notes(client: TestClient, field, session):  # type: ignore[no-untyped-def]
    field["colleague"].display_name = "Fatima el Amrani"
    session.add(field["colleague"])
    session.commit()
    case_id = field["mine"].id
    office = field["office"]
    paired = client.post(
        f"/v1/cases/{case_id}/assignment",
        headers=office,
        json={"worker_id": str(field["worker"].id), "second_worker_id": str(field["colleague"].id)},
    )
    assert paired.status_code == 200, paired.text
    for kind, fields in (("note", {"text": "Hond in de gang; aanbellen bij de buren"}), ("letter_sent", {})):
        noted = client.post(
            f"/v1/cases/{case_id}/actions",
            headers=office,
            json={"action_id": str(uuid.uuid4()), "kind": kind, "occurred_at": "2026-11-26T10:00:00+01:00", **fields},
        )
        assert noted.status_code == 200, noted.text

    case = decrypt(pull(client, field["device"]).text).upserts[0]

    assert case.paired and case.duo_partner == "Fatima el Amrani"
    assert [(n.kind, n.text) for n in case.notes] == [("note", "Hond in de gang; aanbellen bij de buren")]
    assert [a.kind for a in case.previous_attempts] == ["letter_sent"]  # a note is not an attempt


def test_a_list_is_in_walking_order_and_carries_the_idle_lock_of_the_policy(client: TestClient, field, session):  # type: ignore[no-untyped-def]
    for postcode, number in (("1055AB", 100), ("1019AA", 7), ("1055AB", 9)):
        make_case(session, worker=field["worker"], postcode=postcode, house_number=number)
    municipality = session.get(Municipality, "0363")
    municipality.settings = {**municipality.settings, "device_idle_lock_minutes": 2}
    session.add(municipality)
    session.commit()

    visit_list = decrypt(pull(client, field["device"]).text)

    assert [(c.address.postcode, c.address.house_number) for c in visit_list.upserts] == [
        ("1019AA", 7),
        ("1055AB", 9),
        ("1055AB", 12),
        ("1055AB", 100),
    ]
    assert visit_list.idle_lock_minutes == 2


def make_user_admin(client: TestClient, field) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from sqlmodel import Session as _Session

    engine = client.app.state.engine  # type: ignore[attr-defined]
    with _Session(engine) as session:
        make_user(session, role="admin", username="admin1")
    return login(client, "admin1")


def test_the_list_expires_at_the_end_of_the_next_working_day():
    friday_evening = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert visit_list_expiry(friday_evening, working_days=1) == datetime(2026, 11, 30, 22, 59, 59, tzinfo=UTC)
    thursday = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert visit_list_expiry(thursday, working_days=1) == datetime(2026, 11, 27, 22, 59, 59, tzinfo=UTC)
