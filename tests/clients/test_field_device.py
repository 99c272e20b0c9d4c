"""The reference field device against the real app (in process), with faults injected in its transport."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.models import VisitEvent
from clients.python.doorstep_client import cli as field_cli
from clients.python.doorstep_client.device import (
    DeviceError,
    DeviceWiped,
    FieldDevice,
    ListExpired,
    SignInNeeded,
    SyncFailed,
    TamperedList,
)
from clients.python.doorstep_client.sdk import ApiError
from clients.python.gen_operations import SPEC, TARGET, render
from tests.factories import FakeClock, login, make_case, make_municipality, make_user, read


class Faulty(httpx.BaseTransport):
    """Passes requests to the app; can drop the answer of a push after the server handled it,
    or answer 503 a number of times first."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.drop_push_answers = 0
        self.unavailable = 0
        self.pushes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.unavailable:
            self.unavailable -= 1
            return httpx.Response(503, json={"type": "urn:doorstep:problem:unavailable", "title": "Unavailable"})
        response = self.inner.handle_request(request)
        if request.url.path == "/v1/sync/push":
            self.pushes += 1
            if self.drop_push_answers:
                self.drop_push_answers -= 1
                response.read()
                raise httpx.ReadError("connection reset after the server committed", request=request)
        return response


@pytest.fixture
def field(client: TestClient, session: Session, clock: FakeClock, tmp_path: Path):  # type: ignore[no-untyped-def]
    make_municipality(session)
    worker = make_user(session, role="worker", username="worker1")
    make_user(session, role="backoffice", username="office1")
    cases = [
        make_case(session, worker=worker, surname=name, house_number=n) for n, name in ((1, "Jansen"), (2, "Smit"))
    ]
    transport = Faulty(client._transport)  # the app, in process
    sleeps: list[float] = []
    device = FieldDevice(tmp_path / "phone", "http://testserver", transport=transport, clock=clock, sleep=sleeps.append)
    device.enroll("worker1", "correct horse battery staple", "test phone")
    yield {
        "device": device,
        "transport": transport,
        "sleeps": sleeps,
        "cases": cases,
        "worker": worker,
        "office": login(client, "office1"),
    }
    if device.home.exists():
        device.close()


def test_enrolling_keeps_the_private_key_on_the_device_only(field, client: TestClient):  # type: ignore[no-untyped-def]
    device = field["device"]
    key = device.home / "device_key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    listed = client.get("/v1/devices", headers=field["office"]).json()["items"]
    assert [d["id"] for d in listed] == [device.device_id]
    assert b"PRIVATE" not in str(listed).encode()


def test_pull_decrypts_applies_and_an_unchanged_pull_changes_nothing(field):  # type: ignore[no-untyped-def]
    device = field["device"]
    first = device.pull()
    assert first.full and first.upserts == 2
    assert {c["residents"][0]["surname"] for c in device.cases()} == {"Jansen", "Smit"}
    again = device.pull()
    assert not again.full and again.upserts == 0 and again.removed == []


def test_the_list_is_refused_once_expired(field, clock: FakeClock):  # type: ignore[no-untyped-def]
    device = field["device"]
    with pytest.raises(ListExpired):
        device.cases()
    device.pull()
    clock.advance(days=4)
    with pytest.raises(ListExpired, match="expired"):
        device.cases()


def test_a_tampered_or_downgraded_list_is_refused(field, client: TestClient):  # type: ignore[no-untyped-def]
    device = field["device"]
    token = client.get("/v1/sync/pull", headers={"Authorization": f"Bearer {device.store.get('access_token')}"}).text
    parts = token.split(".")
    parts[3] = ("A" if parts[3][0] != "A" else "B") + parts[3][1:]
    with pytest.raises(TamperedList):
        device._open(".".join(parts))
    with pytest.raises(TamperedList):
        device._open("eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..x.y.z")


def test_offline_events_are_pushed_once_even_when_the_answer_is_lost(field, session: Session):  # type: ignore[no-untyped-def]
    device, transport = field["device"], field["transport"]
    device.pull()
    case_id = str(field["cases"][0].id)
    device.not_home(case_id)
    device.record(case_id, "note", {"text": "buren zeggen: 's avonds thuis"})
    transport.drop_push_answers = 1
    summary = device.push()
    assert transport.pushes == 2  # the first answer was lost after the server committed; the retry ...
    assert (summary.sent, summary.duplicate, summary.applied) == (3, 3, 0)  # ... is recognised as a replay
    stored = read(session, select(VisitEvent).where(VisitEvent.case_id == field["cases"][0].id))
    assert sorted(e.kind for e in stored) == ["card_left", "note", "visit_attempt"]
    assert {e["status"] for e in device.store.events()} == {"duplicate"}
    assert device.push().sent == 0
    assert len(field["sleeps"]) == 1 and 0.5 <= field["sleeps"][0] <= 1.0


def test_5xx_is_retried_with_growing_jittered_delays_and_the_outbox_survives_giving_up(field):  # type: ignore[no-untyped-def]
    device, transport, sleeps = field["device"], field["transport"], field["sleeps"]
    device.pull()
    device.not_home(str(field["cases"][1].id), card=False)
    transport.unavailable = 6
    with pytest.raises(SyncFailed):
        device.push(max_tries=3)
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0
    assert [e["status"] for e in device.store.events()] == ["pending"]
    transport.unavailable = 0
    assert device.push().applied == 1


def test_an_expired_access_token_is_refreshed(field, clock: FakeClock):  # type: ignore[no-untyped-def]
    device = field["device"]
    clock.advance(minutes=20)
    assert device.pull().full


def test_after_its_session_ends_the_worker_signs_the_device_in_again_and_keeps_its_work(  # type: ignore[no-untyped-def]
    field, clock: FakeClock, settings
):
    device = field["device"]
    device.pull()
    device.record(str(field["cases"][0].id), "visit_attempt", {"reached": False})
    clock.advance(seconds=settings.device_session_ttl_seconds + 1)
    with pytest.raises(SignInNeeded):
        device.push()
    assert [e["status"] for e in device.store.events()] == ["pending"]  # nothing lost
    device.sign_in_again("worker1", "correct horse battery staple")
    assert device.push().applied == 1


def test_a_revoked_device_wipes_itself(field, client: TestClient):  # type: ignore[no-untyped-def]
    device = field["device"]
    device.pull()
    client.post(f"/v1/devices/{device.device_id}/revoke", headers=field["office"])
    with pytest.raises(DeviceWiped):
        device.pull()
    assert not device.home.exists()


def test_the_server_refusing_a_bad_event_is_kept_with_its_reason(field):  # type: ignore[no-untyped-def]
    device = field["device"]
    device.pull()
    device.record(str(field["cases"][0].id), "result_proposed", {"result": "Geen idee"})
    assert device.push().rejected == 1
    [event] = device.store.events()
    assert event["status"] == "rejected" and "DDAS" in event["reason"]


def test_the_sdk_raises_problems(field, client: TestClient):  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as caught:
        field["device"].api.call("cases-get", path={"case_id": "not-a-uuid"})
    assert caught.value.status in (401, 403, 422) and caught.value.type.startswith("urn:doorstep:problem:")
    with pytest.raises(ValueError, match="unknown operation"):
        field["device"].api.call("nope")


def test_the_operation_table_matches_the_committed_openapi():
    import json

    assert TARGET.read_text() == render(json.loads(SPEC.read_text())), "run: python -m clients.python.gen_operations"


def test_the_command_line_device(field, monkeypatch):  # type: ignore[no-untyped-def]
    device = field["device"]
    device.close()
    made = []

    def make(home: Path, server: str) -> FieldDevice:
        made.append(
            FieldDevice(
                home, "http://testserver", transport=field["transport"], clock=device.clock, sleep=lambda _: None
            )
        )
        return made[-1]

    monkeypatch.setattr(field_cli, "_device", make)
    runner = CliRunner()
    home = ["--home", str(device.home)]
    assert "full list: 2 case(s)" in runner.invoke(field_cli.app, ["pull", *home]).output
    listing = runner.invoke(field_cli.app, ["list", *home]).output
    assert str(field["cases"][0].id) in listing
    case_id = str(field["cases"][0].id)
    assert "2 event(s)" in runner.invoke(field_cli.app, ["visit", case_id, "--not-home", *home]).output
    assert runner.invoke(field_cli.app, ["visit", case_id, *home]).exit_code != 0
    assert "2 applied" in runner.invoke(field_cli.app, ["push", *home]).output
    unknown = runner.invoke(field_cli.app, ["card", "00000000-0000-0000-0000-000000000000", *home])
    assert unknown.exit_code == 1 and "not on this device" in unknown.output


def test_wiping_removes_the_devices_own_files_only(tmp_path: Path, field, client: TestClient):  # type: ignore[no-untyped-def]
    device = field["device"]
    device.pull()
    (device.home / "holiday.jpg").write_bytes(b"not ours")
    client.post(f"/v1/devices/{device.device_id}/revoke", headers=field["office"])
    with pytest.raises(DeviceWiped):
        device.pull()
    assert sorted(path.name for path in device.home.iterdir()) == ["holiday.jpg"]


def test_an_enrolled_device_keeps_its_key_and_refuses_unknown_event_kinds(field):  # type: ignore[no-untyped-def]
    device = field["device"]
    key = (device.home / "device_key.pem").read_bytes()
    with pytest.raises(DeviceError, match="already enrolled"):
        device.enroll("worker1", "wrong password", "again")
    assert (device.home / "device_key.pem").read_bytes() == key
    device.pull()
    with pytest.raises(DeviceError, match="unknown event kind"):
        device.record(str(field["cases"][0].id), "coffee_offered")
    assert device.store.pending() == []


def test_the_wipe_command_keeps_unsent_visits_unless_forced(field, monkeypatch):  # type: ignore[no-untyped-def]
    device = field["device"]
    device.pull()
    device.not_home(str(field["cases"][0].id))
    device.close()
    monkeypatch.setattr(
        field_cli,
        "_device",
        lambda home, server: FieldDevice(home, "http://testserver", transport=field["transport"], clock=device.clock),
    )
    runner = CliRunner()
    refused = runner.invoke(field_cli.app, ["wipe", "--home", str(device.home)])
    assert refused.exit_code == 1 and "never acknowledged" in refused.output and device.home.exists()
    assert runner.invoke(field_cli.app, ["wipe", "--force", "--home", str(device.home)]).exit_code == 0
    assert not device.home.exists()
