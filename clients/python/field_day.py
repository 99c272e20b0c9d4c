"""A field day, end to end, against a running Doorstep: the scenario of the field-day test
and of `make demo-field`. It prints each step and returns what happened.

Import a signal file → plan and assign (one household to a duo) → two devices pull → both go
offline → not-home attempts, a card, and on the duo's household "accepted" on one phone and
"declined" on the other → the office reassigns a case while a phone is offline → one phone's
connection drops after the server committed its push, and it retries → both sync → the
conflict is resolved → a trajectory starts → BKR gets exactly one registration → a device is
revoked and wipes itself.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from clients.python.doorstep_client.device import DeviceWiped, FieldDevice
from clients.python.doorstep_client.sdk import ApiError, DoorstepClient

HEADER = (
    "signaal_id;signaalpartner_type;schuldeiser;bedrag;signaaldatum;voorletters;achternaam;geboortedatum;"
    "straat;huisnummer;postcode;woonplaats;telefoon"
)


class DropAfterCommit(httpx.BaseTransport):
    """A phone's network: the next push reaches the server, but the answer is lost."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.drop_next_push = False
        self.pushes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path == "/v1/sync/push":
            self.pushes += 1
            if self.drop_next_push:
                self.drop_next_push = False
                response.read()
                response.close()
                raise httpx.ReadError("connection dropped after the server committed", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass
class FieldDay:
    cases: dict[str, str] = field(default_factory=dict)  # role in the story → case id
    recorded: dict[str, list[str]] = field(default_factory=dict)  # device → event ids recorded offline
    push_results: dict[str, Any] = field(default_factory=dict)
    removed_from_a: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    trajectory: dict[str, Any] = field(default_factory=dict)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    ddas: dict[str, Any] | None = None
    wiped: bool = False
    a_pushes: int = 0
    event_ids_on_server: list[str] = field(default_factory=list)


def run(
    base_url: str,
    *,
    office: tuple[str, str],
    workers: tuple[tuple[str, str], tuple[str, str]],
    say: Callable[[str], None] = print,
    home: Path | None = None,
    bkr_wait_seconds: float = 20.0,
) -> FieldDay:
    day = FieldDay()
    home = home or Path(tempfile.mkdtemp(prefix="doorstep-field-day-"))
    back = DoorstepClient(base_url)
    back.login(*office)
    ids = []
    for username, password in workers:
        with DoorstepClient(base_url) as someone:
            someone.login(username, password)
            ids.append(someone.call("auth-me").json()["id"])

    say("1. The office imports the platform file of this month")
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()  # the office's day, not this machine's
    run_id, first = random.randrange(10**6), random.randrange(200, 9000)
    households = ["x", "y", "duo", "moved"]
    rows = [
        f"FD-{run_id}-{n};Huur;Woonstad;{420 + n * 10},50;{(today - timedelta(days=3)).isoformat()};A.;"
        f"{['Jansen', 'de Vries', 'Yilmaz', 'Bakker'][n]};19{70 + n}-0{n + 1}-15;Kinkerstraat;{first + n};1053KL;"
        f"Amsterdam;0612345{n:03d}"
        for n in range(len(households))
    ]
    report = back.import_file("vps-field-day.csv", ("\n".join([HEADER, *rows]) + "\n").encode())
    say(f"   {report['created']} signals created, {report['rejected']} rejected, {report['cases_opened']} cases opened")
    ours = {c["address"]["house_number"]: c["id"] for c in back.cases(postcodeFrom="1053KL", postcodeTo="1053KL")}
    day.cases = {name: ours[first + n] for n, name in enumerate(households)}

    say("2. Plan the day and assign: the duo household to both workers")
    proposal = back.call(
        "backoffice-propose", json={"date": today.isoformat(), "worker_ids": ids, "visits_per_worker": 40}
    ).json()
    planned = {visit["case_id"] for item in proposal["lists"] for visit in item["visits"]}
    say(f"   proposed {len(planned)} visits for {len(proposal['lists'])} workers")
    back.call(
        "backoffice-accept",
        json={
            "lists": [
                {"worker_id": ids[0], "case_ids": [day.cases["x"], day.cases["moved"]]},
                {"worker_id": ids[1], "case_ids": [day.cases["y"]]},
            ]
        },
    )
    back.assign(day.cases["duo"], ids[0], second_worker_id=ids[1])

    say("3. Two phones enroll and pull their encrypted visit lists")
    network_a = DropAfterCommit()
    phone_a = FieldDevice(home / "phone-a", base_url, transport=network_a)
    phone_b = FieldDevice(home / "phone-b", base_url)
    phone_a.enroll(*workers[0], "phone A")
    phone_b.enroll(*workers[1], "phone B")
    for name, phone in (("A", phone_a), ("B", phone_b)):
        summary = phone.pull()
        mine = [c["id"] for c in phone.cases() if c["id"] in day.cases.values()]
        say(f"   phone {name}: {summary.upserts} cases, {len(mine)} of today's file")

    say("4. Offline: visits are recorded on the phones")
    day.recorded["a"] = [
        *phone_a.not_home(day.cases["x"]),
        *phone_a.not_home(day.cases["moved"], card=False),
        *phone_a.reached(day.cases["duo"], accepted=True),
    ]
    day.recorded["b"] = [
        *phone_b.not_home(day.cases["y"]),
        *phone_b.reached(day.cases["duo"], declined_reason="Wil het zelf regelen"),
    ]
    say(f"   phone A: {len(day.recorded['a'])} events, phone B: {len(day.recorded['b'])} events, none sent yet")

    say("5. Meanwhile the office moves one of phone A's cases to the other worker")
    back.assign(day.cases["moved"], ids[1])

    say("6. Phone A syncs; its connection drops after the server committed, and it retries")
    network_a.drop_next_push = True
    result_a = phone_a.push()
    day.a_pushes = network_a.pushes
    say(
        f"   phone A: sent {result_a.sent} in {network_a.pushes} requests → {result_a.applied} applied, "
        f"{result_a.duplicate} recognised as already received, {result_a.conflict} conflicts"
    )
    result_b = phone_b.push()
    say(f"   phone B: sent {result_b.sent} → {result_b.applied} applied, {result_b.conflict} conflict(s)")
    day.push_results = {"a": result_a, "b": result_b}
    day.removed_from_a = phone_a.pull().removed
    phone_b.pull()
    for removal in day.removed_from_a:
        say(f"   phone A drops case {removal['case_id'][:8]}…: {removal['reason']}")

    say("7. The office reviews the conflict and decides")
    day.conflicts = [c for c in back.conflicts() if c["case_id"] == day.cases["duo"]]
    for conflict in day.conflicts:
        say(f"   conflict {conflict['kind']}: " + ", ".join(side["kind"] for side in conflict["sides"]))
        back.resolve(conflict["id"], "help_accepted", note="Teruggebeld: wil wel hulp")

    say("8. The decision (beschikking) is taken: the trajectory starts")
    day.trajectory = back.start_trajectory(day.cases["duo"], today.isoformat())
    deadline = time.monotonic() + bkr_wait_seconds
    while time.monotonic() < deadline:
        day.registrations = back.call("bkr-list-registrations", params={"caseId": day.cases["duo"]}).json()["items"]
        if day.registrations and all(r["status"] != "pending" for r in day.registrations):
            break
        time.sleep(0.2)
    for registration in day.registrations:
        say(
            f"   BKR {registration['action']} {registration['contract_type']} from {registration['start_date']}: "
            f"{registration['status']} after {registration['attempts']} attempt(s)"
        )

    say("9. The month's DDAS delivery")
    try:
        day.ddas = back.call(
            "reports-ddas", params={"from": (today - timedelta(days=31)).isoformat(), "to": today.isoformat()}
        ).json()
        say(f"   DDAS export of {len(str(day.ddas))} characters")
    except ValueError:
        say("   (this server has no DDAS export)")

    say("10. Phone A is lost: the office revokes it, and it wipes itself on its next contact")
    back.call("devices-revoke", path={"device_id": phone_a.device_id})
    try:
        phone_a.pull()
    except DeviceWiped:
        day.wiped = not phone_a.home.exists()
    say(f"   phone A wiped: {day.wiped}")
    for case_key in ("x", "moved", "duo", "y"):
        detail = back.case(day.cases[case_key])
        day.event_ids_on_server += [event["id"] for event in detail["events"] if event["device_id"]]
    back.call("devices-revoke", path={"device_id": phone_b.device_id})  # the demo's phones end with the day
    phone_b.close()
    back.close()
    network_a.close()
    return day


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Replay a field day against a running Doorstep (make run).")
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--password", default="demo", help="The demo staff password.")
    args = parser.parse_args()
    try:
        day = run(
            args.server,
            office=("office", args.password),
            workers=(("worker1", args.password), ("worker2", args.password)),
        )
    except (ApiError, httpx.HTTPError) as exc:
        raise SystemExit(f"field day failed: {exc} (is `make run` serving on {args.server}?)") from exc
    sent = sum(len(events) for events in day.recorded.values())
    print(
        f"\nFinal state: {sent} events recorded offline, {len(set(day.event_ids_on_server))} on the server; "
        f"{len(day.conflicts)} conflict resolved; {len(day.registrations)} BKR registration(s); "
        f"phone A wiped: {day.wiped}"
    )


if __name__ == "__main__":
    main()
