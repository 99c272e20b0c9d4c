"""The DDAS Vroegsignalering delivery: valid against VNG's schema, true to the data, and forgetting what retention erased."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.cases.retention import purge
from api.cases.rules import DDAS_RESULTS
from api.models import AuditEntry, Case, Municipality, Signal, StaffUser, Trajectory
from api.reports.ddas.document import (
    CONTACT_KINDS,
    AttemptRow,
    CaseRow,
    Client,
    Period,
    SignalRow,
    delivery,
    whole_euros,
)
from api.signals.parsing import PARTNER_TYPES
from tests.factories import (
    DDAS_SCHEMA,
    DDAS_SCHEMA_FILE,
    DDAS_VALIDATOR,
    OTHER,
    PRIVATE,
    VAULT,
    FakeClock,
    at,
    case_of,
    jwk_of,
    login,
    make_case,
    make_municipality,
    make_partner,
    make_user,
    partner_login,
    read,
    statements_run,
    upload_personal,
)

REPO = Path(__file__).resolve().parents[2]
# DDAS_SCHEMA is the copy in the repository (CI must not depend on a folder outside it).
SHARED_SCHEMA = REPO.parent / "shared" / "ddas" / DDAS_SCHEMA_FILE.name
SIGNAL_STATUSES = DDAS_SCHEMA["$defs"]["EnumSignaalstatus"]["enum"]


def assert_valid(document: dict[str, Any]) -> None:
    errors = sorted(DDAS_VALIDATOR.iter_errors(document), key=lambda error: list(error.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]
    # jsonschema checks `date-time` only with an extra package; the schema's own description is the rule.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["aanleverdatumEnTijd"])


# --- the schema ----------------------------------------------------------------------------


def test_the_schema_copy_in_the_repository_is_a_valid_2020_12_schema():
    Draft202012Validator.check_schema(DDAS_SCHEMA)
    assert DDAS_SCHEMA["$id"].endswith("/v1.2/json_schema_Uitwisselmodel.json")


def test_the_schema_copy_in_the_repository_equals_the_shared_one():
    if not SHARED_SCHEMA.exists():
        pytest.skip("no shared/ folder beside the repository")
    assert json.loads(SHARED_SCHEMA.read_text(encoding="utf-8")) == DDAS_SCHEMA


def test_doorsteps_results_and_partner_types_are_the_schemas():
    assert set(DDAS_RESULTS) == set(DDAS_SCHEMA["$defs"]["EnumEindresultaat"]["enum"])
    assert set(PARTNER_TYPES) == set(DDAS_SCHEMA["$defs"]["EnumSignaalpartner"]["enum"])
    assert set(CONTACT_KINDS.values()) <= set(DDAS_SCHEMA["$defs"]["EnumContactsoort"]["enum"])


# --- the mapping, without a database -------------------------------------------------------

PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))
DELIVERED_AT = datetime(2026, 11, 5, 8, 30, tzinfo=UTC)
ADDRESS = Client(
    postcode="1053KL", house_number=12, house_number_addition="A", birth_date=date(1980, 5, 17), gender="V"
)


def signal_row(external_id: str = "S1", *, client: Client | None = ADDRESS, **changes: Any) -> SignalRow:
    values: dict[str, Any] = dict(
        external_id=external_id,
        partner_type="Huur",
        status="Opgepakt",
        signal_date=date(2026, 10, 20),
        crisis=False,
        warm_handover=True,
        amount_cents=123456,
        arrears_since_date=date(2026, 8, 1),
        client=client,
    )
    return SignalRow(**values | changes)


def map_one(signals: list[SignalRow] = (), cases: list[CaseRow] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    document = delivery(
        municipality_code="0363",
        municipality_name="Amsterdam",
        period=PERIOD,
        delivered_at=DELIVERED_AT,
        signals=signals,
        cases=cases,
    )
    assert_valid(document)
    return document


def test_a_delivery_names_the_period_the_supplier_and_the_municipality():
    document = map_one()
    assert {key: document[key] for key in ("startdatumLevering", "einddatumLevering", "aanleverdatumEnTijd")} == {
        "startdatumLevering": "2026-10-01",
        "einddatumLevering": "2026-10-31",
        "aanleverdatumEnTijd": "2026-11-05T08:30:00Z",
    }
    assert document["codeGegevensleverancier"] == "Doorstep"
    assert document["leveringen"] == [
        {
            "teller": 1,
            "gemeentecode": "0363",
            "aanleverendeOrganisatie": {"naam": "Amsterdam"},
            "vroegsignalen": [],
            "vroegsignaalzaken": [],
        }
    ]


def test_a_signal_names_its_resident_by_postcode_and_house_number():
    [item] = map_one([signal_row()])["leveringen"][0]["vroegsignalen"]
    assert item == {
        "ID": "S1",
        "crisissignaal": False,
        "warmeOverdracht": True,
        "bedrag": 1235,
        "ontstaansdatum": "2026-08-01",
        "signaaldatum": "2026-10-20",
        "status": "Opgepakt",
        "signaalpartner": {"type": "Huur"},
        "client": {
            "postcode": "1053KL",
            "huisnummer": "12",
            "huisnummertoevoeging": "A",
            "geboortedatum": "1980-05-17",
            "geslachtsaanduiding": "Vrouw",
        },
    }


def test_what_a_signal_does_not_know_is_left_out_not_invented():
    bare = signal_row(client=Client(postcode="1053KL", house_number=12), amount_cents=None, arrears_since_date=None)
    [item] = map_one([bare])["leveringen"][0]["vroegsignalen"]
    assert "bedrag" not in item and "ontstaansdatum" not in item
    assert item["client"] == {"postcode": "1053KL", "huisnummer": "12"}


@pytest.mark.parametrize(("gender", "ddas"), [("M", "Man"), ("V", "Vrouw"), ("O", "Onbekend")])
def test_genders_are_spelled_as_ddas_spells_them(gender: str, ddas: str):
    [item] = map_one([signal_row(client=Client("1053KL", 12, gender=gender))])["leveringen"][0]["vroegsignalen"]
    assert item["client"]["geslachtsaanduiding"] == ddas


def test_a_signal_without_an_address_is_not_delivered_but_its_case_still_refers_to_it():
    case = CaseRow(opened_on=date(2026, 10, 26), result=None, signal_ids=("S1", "S2"))
    levering = map_one([signal_row("S1", client=None), signal_row("S2")], [case])["leveringen"][0]
    assert [item["ID"] for item in levering["vroegsignalen"]] == ["S2"]
    assert levering["vroegsignaalzaken"][0]["vroegsignalen"] == [{"ID": "S1"}, {"ID": "S2"}]


@pytest.mark.parametrize(("cents", "euros"), [(123456, 1235), (123449, 1234), (50, 1), (49, 0), (0, 0), (8049, 80)])
def test_amounts_are_whole_euros_half_up(cents: int, euros: int):
    assert whole_euros(cents) == euros


def test_a_case_is_matched_in_the_month_it_opened_and_picked_up_with_its_first_attempt():
    attempts = (
        AttemptRow("visit_attempt", date(2026, 12, 29), reached=False, day_part="avond"),
        AttemptRow("card_left", date(2026, 12, 29), reached=False, day_part="avond"),
        AttemptRow("letter_sent", date(2026, 12, 21), reached=False),
        AttemptRow("phone_attempt", date(2027, 1, 4), reached=True, day_part="ochtend"),
    )
    case = CaseRow(
        opened_on=date(2026, 12, 18),
        result="Vervolghulp en/of verwijzing financieel",
        signal_ids=("S1",),
        attempts=attempts,
    )
    [zaak] = map_one(cases=[case])["leveringen"][0]["vroegsignaalzaken"]
    assert zaak == {
        "resultaat": "Vervolghulp en/of verwijzing financieel",
        "matchingsdatum": "2026-12-18",
        "startdatumMatchingperiode": "2026-12-01",
        "einddatumMatchingperiode": "2026-12-31",
        "datumOpgepakt": "2026-12-21",
        "vroegsignalen": [{"ID": "S1"}],
        "contactpogingen": [
            {"soort": "Huisbezoek", "bereikt": False, "datum": "2026-12-29", "dagdeel": "Avond"},
            {"soort": "Kaartje", "bereikt": False, "datum": "2026-12-29", "dagdeel": "Avond"},
            {"soort": "Brief", "bereikt": False, "datum": "2026-12-21"},
            {"soort": "Telefoon", "bereikt": True, "datum": "2027-01-04", "dagdeel": "Ochtend"},
        ],
    }


def test_an_open_case_without_attempts_has_no_result_and_no_pickup_date():
    [zaak] = map_one(cases=[CaseRow(opened_on=date(2028, 2, 10), result=None, signal_ids=("S1",))])["leveringen"][0][
        "vroegsignaalzaken"
    ]
    assert "resultaat" not in zaak and "datumOpgepakt" not in zaak and zaak["contactpogingen"] == []
    assert (zaak["startdatumMatchingperiode"], zaak["einddatumMatchingperiode"]) == ("2028-02-01", "2028-02-29")


# Any data Doorstep can hold maps to a document CBS accepts, with every attempt and every
# signal that has an address in it.
days = st.dates(min_value=date(2021, 1, 1), max_value=date(2030, 12, 31))
clients = st.builds(
    Client,
    postcode=st.from_regex(r"[1-9]\d{3}[A-Z]{2}", fullmatch=True),
    house_number=st.integers(1, 99999),
    house_number_addition=st.none() | st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True),
    birth_date=st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 12, 31)),
    gender=st.sampled_from([None, "M", "V", "O"]),
)
signal_rows = st.builds(
    SignalRow,
    external_id=st.text(min_size=1, max_size=40),
    partner_type=st.sampled_from(sorted(PARTNER_TYPES)),
    status=st.sampled_from(SIGNAL_STATUSES),
    signal_date=days,
    crisis=st.booleans(),
    warm_handover=st.booleans(),
    amount_cents=st.none() | st.integers(0, 100_000_000_000),
    arrears_since_date=st.none() | days,
    client=st.none() | clients,
)
attempt_rows = st.builds(
    AttemptRow,
    kind=st.sampled_from(sorted(CONTACT_KINDS)),
    on=days,
    reached=st.booleans(),
    day_part=st.sampled_from([None, "ochtend", "middag", "avond"]),
)
case_rows = st.builds(
    CaseRow,
    opened_on=days,
    result=st.none() | st.sampled_from(DDAS_RESULTS),
    signal_ids=st.lists(st.sampled_from(["S1", "S2", "S3", "S4"]), max_size=6).map(tuple),
    attempts=st.lists(attempt_rows, max_size=8).map(tuple),
)


@given(
    signals=st.lists(signal_rows, max_size=8),
    cases=st.lists(case_rows, max_size=6),
    start=days,
    delivered_at=st.datetimes(min_value=datetime(2021, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
)
@settings(max_examples=150, deadline=None)
def test_any_signals_and_cases_map_to_a_valid_delivery(signals, cases, start, delivered_at):  # type: ignore[no-untyped-def]
    document = delivery(
        municipality_code="0363",
        municipality_name="Amsterdam",
        period=Period(start, start),
        delivered_at=delivered_at,
        signals=signals,
        cases=cases,
    )
    assert_valid(document)
    levering = document["leveringen"][0]
    assert [item["ID"] for item in levering["vroegsignalen"]] == [s.external_id for s in signals if s.client]
    assert [len(zaak["contactpogingen"]) for zaak in levering["vroegsignaalzaken"]] == [len(c.attempts) for c in cases]
    assert "burgerservicenummer" not in _keys(document)  # a signal's id may be any text, even this word


def _keys(value: Any) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


# --- the export through the API ------------------------------------------------------------

BSN_JANSEN, BSN_WITHOUT_ADDRESS = "111222333", "123456782"
PURGED = {"surname": "Vergeten", "phone": "0687654321", "birth_date": "1975-02-03", "postcode": "1055AB"}


def office_action(
    client: TestClient, headers: dict[str, str], case_id: uuid.UUID, kind: str, occurred_at: str, **fields: Any
) -> None:
    body = {"action_id": str(uuid.uuid4()), "kind": kind, "occurred_at": occurred_at, **fields}
    response = client.post(f"/v1/cases/{case_id}/actions", headers=headers, json=body)
    assert response.status_code == 200, response.text


def not_home_with_card(client: TestClient, clock: FakeClock, case_id: uuid.UUID, key) -> None:  # type: ignore[no-untyped-def]
    """A worker's visit nobody answered, and the card left, pushed from the phone as they happen."""
    office = login(client, "office1")
    assert (
        client.post(
            f"/v1/cases/{case_id}/assignment", headers=office, json={"worker_id": str(_worker_id(client))}
        ).status_code
        == 200
    )
    device = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(key), "label": "phone"}
    ).json()
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "case_id": str(case_id),
            "kind": kind,
            "occurred_at": clock.current.isoformat(),
            "base_version": 2,
            "payload": payload,
        }
        for kind, payload in (("visit_attempt", {"reached": False}), ("card_left", {}))
    ]
    response = client.post(
        "/v1/sync/push",
        headers={"Authorization": f"Bearer {device['access_token']}"},
        json={"device_id": device["device_id"], "events": events},
    )
    assert [result["result"] for result in response.json()["results"]] == ["applied", "applied"], response.text


def _worker_id(client: TestClient) -> str:
    return client.get("/v1/auth/me", headers=login(client, "worker1")).json()["id"]


@pytest.fixture
def history(client: TestClient, session: Session, clock: FakeClock) -> dict[str, uuid.UUID]:
    """Amsterdam's year: a March signal whose case closed without contact and was purged, with
    repeats of it in May and September; an October delivery (a rent arrear that ends in a
    trajectory, two signals on one address, a signal with only a BSN, one more); a repeat in
    November. Rotterdam has a case of its own."""
    amsterdam = make_municipality(session, "0363", "Amsterdam")
    # Amsterdam calls it "no contact" after one unanswered visit (its policy; the default asks three over two channels).
    amsterdam.settings = {
        **amsterdam.settings,
        "policy": {**amsterdam.settings["policy"], "no_contact_after_attempts": 1, "no_contact_after_channels": 1},
    }
    session.add(amsterdam)
    session.commit()
    make_municipality(session, "0599", "Rotterdam")
    office_user = make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    make_user(session, role="worker", username="worker1")
    make_case(session, code="0599", surname="Rotterdammer", postcode="3011AA")

    at(clock, 2026, 3, 26, 9, 0)
    upload_personal(
        client,
        login(client, "office1"),
        f"MRT-1;Zorg;Zilveren Kruis;310,00;2026-01-01;2026-03-20;;P.;{PURGED['surname']};{PURGED['birth_date']};M;"
        f"{PURGED['phone']};Bos en Lommerweg;7;;1055 AB;Amsterdam",
    )
    purged = case_of(session, "MRT-1")
    at(clock, 2026, 3, 30, 8, 0)  # 10:00 in Amsterdam (summer time)
    not_home_with_card(client, clock, purged, PRIVATE)
    at(clock, 2026, 4, 20, 9, 0)
    closed = client.post(
        f"/v1/cases/{purged}/close",
        headers=login(client, "office1"),
        json={"result": "Definitief geen contact kunnen krijgen"},
    )
    assert closed.status_code == 200, closed.text
    # The same arrear reported again twice, with no case open: repeats that open no case. May's
    # is erased by retention; September's is not, so the household keeps its address.
    for external_id, received_at, signal_date in (
        ("MEI-1", datetime(2026, 5, 4, 9, 0, tzinfo=UTC), "2026-04-28"),
        ("SEP-1", datetime(2026, 9, 14, 9, 0, tzinfo=UTC), "2026-09-10"),
    ):
        clock.current = received_at
        upload_personal(
            client,
            login(client, "office1"),
            f"{external_id};Zorg;Zilveren Kruis;310,00;2026-01-01;{signal_date};;P.;{PURGED['surname']};"
            f"{PURGED['birth_date']};M;{PURGED['phone']};Bos en Lommerweg;7;;1055 AB;Amsterdam",
        )

    at(clock, 2026, 10, 26, 9, 0)
    upload_personal(
        client,
        login(client, "office1"),
        f"OKT-1;Huur;Ymere;1.234,56;2026-08-01;2026-10-20;{BSN_JANSEN};J.;Jansen;1980-05-17;V;0612345678;Kinkerstraat;12;;1053 KL;Amsterdam",
        "OKT-2;Energie;Vattenfall;250;2026-09-01;2026-10-21;;E.;de Vries;;;;Wittenburgergracht;3;A;1018 MZ;Amsterdam",
        "OKT-3;Water;Waternet;80,49;;2026-10-22;;E.;de Vries;;;;Wittenburgergracht;3;a;1018MZ;Amsterdam",
        f"OKT-4;CAK Zorgverzekeringen;CAK;500;;2026-10-23;{BSN_WITHOUT_ADDRESS};K.;Zonderadres;;;;;;;;",
        "OKT-5;Huur;Stadgenoot;900;2026-09-15;2026-10-24;;N.;Nieuw;;;;Bijlmerdreef;5;;1102 XY;Amsterdam",
    )
    rent, pair, bsn_only, other = (case_of(session, f"OKT-{n}") for n in (1, 2, 4, 5))
    at(clock, 2026, 10, 27, 9, 0)
    office_action(client, login(client, "office1"), rent, "letter_sent", "2026-10-27T10:00:00+01:00")
    at(clock, 2026, 10, 29, 17, 45)  # 18:45 in Amsterdam: avond
    not_home_with_card(client, clock, rent, OTHER)
    at(clock, 2026, 11, 2, 10, 30)
    office_action(client, login(client, "office1"), rent, "phone_attempt", "2026-11-02T11:15:00+01:00", reached=True)
    office_action(client, login(client, "office1"), rent, "note", "2026-11-02T11:30:00+01:00", text="Wil hulp")
    at(clock, 2026, 11, 3, 13, 30)
    office_action(client, login(client, "office1"), pair, "phone_attempt", "2026-11-03T14:00:00+01:00", reached=False)
    # Every other contact kind DDAS knows, on OKT-5: a mail, an SMS, contact through the
    # resident's landlord, and an appointment the resident kept at the town hall.
    office_action(client, login(client, "office1"), other, "mail_sent", "2026-11-03T09:00:00+01:00")
    office_action(client, login(client, "office1"), other, "sms_sent", "2026-11-03T13:00:00+01:00", reached=False)
    office_action(client, login(client, "office1"), other, "administrative", "2026-11-03T14:15:00+01:00")
    at(clock, 2026, 11, 9, 19, 0)
    office_action(
        client,
        login(client, "office1"),
        other,
        "appointment_kept",
        "2026-11-09T19:30:00+01:00",
        location="Stadsloket Centrum",
    )
    at(clock, 2026, 11, 10, 9, 0)
    session.add(
        Trajectory(
            municipality_code="0363",
            case_id=rent,
            decision_date=date(2026, 11, 9),
            started_by=office_user.id,
            created_at=clock.current,
        )
    )
    session.commit()
    closed = client.post(
        f"/v1/cases/{rent}/close",
        headers=login(client, "office1"),
        json={"result": "Vervolghulp en/of verwijzing financieel"},
    )
    assert closed.status_code == 200, closed.text

    at(clock, 2026, 11, 26, 8, 0)
    upload_personal(
        client,
        login(client, "office1"),
        "NOV-1;Huur;Ymere;1.234,56;2026-08-01;2026-11-20;;J.;Jansen;;;;Kinkerstraat;12;;1053KL;Amsterdam",
    )
    municipality = session.get(Municipality, "0363")
    assert municipality is not None
    erased = purge(session, VAULT, municipality=municipality, now=clock.current, dry_run=False)
    assert (erased.case_ids, erased.caseless_signals) == ([purged], 1)
    session.commit()
    at(clock, 2026, 11, 26, 9, 0)
    return {"purged": purged, "rent": rent, "pair": pair, "bsn_only": bsn_only, "other": other}


def export(client: TestClient, start: str, end: str, user: str = "office1") -> dict[str, Any]:
    response = client.get("/v1/reports/ddas", params={"from": start, "to": end}, headers=login(client, user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == f'attachment; filename="ddas-0363-{start}-{end}.json"'
    document = response.json()
    assert_valid(document)
    return document


def zaken_by_signals(levering: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(ref["ID"] for ref in zaak.get("vroegsignalen", [])): zaak for zaak in levering["vroegsignaalzaken"]}


def attempts_of(zaak: dict[str, Any]) -> list[tuple]:
    return sorted((a["datum"], a["soort"], a["bereikt"], a.get("dagdeel")) for a in zaak["contactpogingen"])


def test_october_holds_the_signals_received_and_the_cases_as_they_stood_at_its_end(client: TestClient, history):  # type: ignore[no-untyped-def]
    levering = export(client, "2026-10-01", "2026-10-31")["leveringen"][0]

    assert (levering["gemeentecode"], levering["aanleverendeOrganisatie"]) == ("0363", {"naam": "Amsterdam"})
    signals = {item["ID"]: item for item in levering["vroegsignalen"]}
    assert list(signals) == ["OKT-1", "OKT-2", "OKT-3", "OKT-5"]  # OKT-4 has only a BSN: not delivered
    assert signals["OKT-1"] == {
        "ID": "OKT-1",
        "crisissignaal": False,
        "warmeOverdracht": False,
        "bedrag": 1235,
        "ontstaansdatum": "2026-08-01",
        "signaaldatum": "2026-10-20",
        "status": "Opgepakt",
        "signaalpartner": {"type": "Huur"},
        "client": {
            "postcode": "1053KL",
            "huisnummer": "12",
            "geboortedatum": "1980-05-17",
            "geslachtsaanduiding": "Vrouw",
        },
    }
    assert signals["OKT-3"]["bedrag"] == 80 and "ontstaansdatum" not in signals["OKT-3"]
    assert signals["OKT-3"]["client"] == {"postcode": "1018MZ", "huisnummer": "3", "huisnummertoevoeging": "A"}
    zaken = zaken_by_signals(levering)
    assert set(zaken) == {("OKT-1",), ("OKT-2", "OKT-3"), ("OKT-4",), ("OKT-5",)}  # March's case closed in April
    rent = zaken[("OKT-1",)]
    assert "resultaat" not in rent  # it closed in November
    assert (rent["matchingsdatum"], rent["startdatumMatchingperiode"], rent["einddatumMatchingperiode"]) == (
        "2026-10-26",
        "2026-10-01",
        "2026-10-31",
    )
    assert rent["datumOpgepakt"] == "2026-10-27"
    assert attempts_of(rent) == [
        ("2026-10-27", "Brief", False, None),
        ("2026-10-29", "Huisbezoek", False, "Avond"),
        ("2026-10-29", "Kaartje", False, "Avond"),
    ]
    assert zaken[("OKT-2", "OKT-3")]["contactpogingen"] == [] and "datumOpgepakt" not in zaken[("OKT-2", "OKT-3")]


def test_november_has_the_repeat_the_results_and_the_later_attempts(client: TestClient, history):  # type: ignore[no-untyped-def]
    levering = export(client, "2026-11-01", "2026-11-30")["leveringen"][0]

    [repeat] = levering["vroegsignalen"]
    assert (repeat["ID"], repeat["status"], repeat["client"]) == (
        "NOV-1",
        "Niet opgepakt: herhaalde melding",
        {"postcode": "1053KL", "huisnummer": "12"},
    )
    zaken = zaken_by_signals(levering)
    assert set(zaken) == {("OKT-1",), ("OKT-2", "OKT-3"), ("OKT-4",), ("OKT-5",)}
    rent = zaken[("OKT-1",)]
    assert rent["resultaat"] == "Vervolghulp en/of verwijzing financieel" and rent["datumOpgepakt"] == "2026-10-27"
    assert attempts_of(rent) == [
        ("2026-10-27", "Brief", False, None),
        ("2026-10-29", "Huisbezoek", False, "Avond"),
        ("2026-10-29", "Kaartje", False, "Avond"),
        ("2026-11-02", "Telefoon", True, "Ochtend"),
    ]  # the note is no attempt
    assert attempts_of(zaken[("OKT-2", "OKT-3")]) == [("2026-11-03", "Telefoon", False, "Middag")]
    assert attempts_of(zaken[("OKT-5",)]) == [
        ("2026-11-03", "Administratief", False, "Middag"),
        ("2026-11-03", "Mail", False, "Ochtend"),
        ("2026-11-03", "SMS/Whatsapp", False, "Middag"),
        ("2026-11-09", "Afspraak op locatie", True, "Avond"),
    ]
    assert zaken[("OKT-5",)]["datumOpgepakt"] == "2026-11-03"
    assert not {"traject", "beschikking"} & {key.lower() for zaak in zaken.values() for key in zaak}  # DDAS VS has none


def test_a_purged_case_keeps_its_result_and_attempts_but_not_its_resident(client: TestClient, history):  # type: ignore[no-untyped-def]
    document = export(client, "2026-03-01", "2026-04-30")
    levering = document["leveringen"][0]

    assert levering["vroegsignalen"] == []  # MRT-1 can no longer name anyone
    [zaak] = levering["vroegsignaalzaken"]
    assert zaak == {
        "resultaat": "Definitief geen contact kunnen krijgen",
        "matchingsdatum": "2026-03-26",
        "startdatumMatchingperiode": "2026-03-01",
        "einddatumMatchingperiode": "2026-03-31",
        "datumOpgepakt": "2026-03-30",
        "vroegsignalen": [{"ID": "MRT-1"}],
        "contactpogingen": zaak["contactpogingen"],
    }
    assert attempts_of(zaak) == [
        ("2026-03-30", "Huisbezoek", False, "Ochtend"),
        ("2026-03-30", "Kaartje", False, "Ochtend"),
    ]
    text = json.dumps(document)
    assert [value for value in PURGED.values() if value in text] == []


def test_a_repeat_without_a_case_is_delivered_until_retention_erases_it(client: TestClient, history, session: Session):  # type: ignore[no-untyped-def]
    repeats = read(session, select(Signal).where(col(Signal.external_id).in_(["MEI-1", "SEP-1"])))
    assert {(s.case_id, s.status) for s in repeats} == {(None, "Niet opgepakt: herhaalde melding")}
    may = export(client, "2026-05-01", "2026-05-31")
    # The household still has its address (September's repeat needs it), but May's repeat may no longer name it.
    assert may["leveringen"][0]["vroegsignalen"] == [] and may["leveringen"][0]["vroegsignaalzaken"] == []
    assert [value for value in PURGED.values() if value in json.dumps(may)] == []
    [september] = export(client, "2026-09-01", "2026-09-30")["leveringen"][0]["vroegsignalen"]
    assert (september["ID"], september["status"], september["client"]) == (
        "SEP-1",
        "Niet opgepakt: herhaalde melding",
        {"postcode": "1055AB", "huisnummer": "7", "geboortedatum": "1975-02-03", "geslachtsaanduiding": "Man"},
    )


def test_no_export_shows_a_bsn_a_name_a_phone_or_another_municipality(client: TestClient, history, session: Session):  # type: ignore[no-untyped-def]
    rotterdam = [s.external_id for s in read(session, select(Signal).where(Signal.municipality_code == "0599"))]
    for start, end in (("2026-01-01", "2026-12-31"), ("2026-03-01", "2026-04-30"), ("2026-11-01", "2026-11-30")):
        text = json.dumps(export(client, start, end, user="admin1"), ensure_ascii=False)
        forbidden = [
            BSN_JANSEN,
            BSN_WITHOUT_ADDRESS,
            "burgerservicenummer",
            "Jansen",
            "de Vries",
            "Zonderadres",
            "0612345678",
            "Kinkerstraat",
            "Ymere",
            "Rotterdammer",
            "3011AA",
            "0599",
            *rotterdam,
        ]
        assert [value for value in forbidden if value in text] == []


def test_a_period_without_activity_is_an_empty_but_valid_delivery(client: TestClient, history):  # type: ignore[no-untyped-def]
    levering = export(client, "2026-06-01", "2026-08-31")["leveringen"][0]
    assert (levering["vroegsignalen"], levering["vroegsignaalzaken"]) == ([], [])


def test_the_year_holds_every_signal_with_an_address_and_every_case(client: TestClient, history):  # type: ignore[no-untyped-def]
    levering = export(client, "2026-01-01", "2026-12-31")["leveringen"][0]
    assert [item["ID"] for item in levering["vroegsignalen"]] == ["SEP-1", "OKT-1", "OKT-2", "OKT-3", "OKT-5", "NOV-1"]
    assert len(levering["vroegsignaalzaken"]) == 5


def test_the_export_is_audited_once_with_counts_only(client: TestClient, history, session: Session):  # type: ignore[no-untyped-def]
    export(client, "2026-10-01", "2026-10-31")
    export(client, "2026-03-01", "2026-04-30")
    entries = read(session, select(AuditEntry).where(AuditEntry.action == "reports.ddas").order_by(AuditEntry.id))
    assert [(entry.resource_type, entry.case_id, entry.detail) for entry in entries] == [
        (
            "report",
            None,
            {
                "from": "2026-10-01",
                "to": "2026-10-31",
                "signals": 4,
                "signals_left_out": 1,
                "cases": 4,
                "purged_cases": 0,
            },
        ),
        (
            "report",
            None,
            {
                "from": "2026-03-01",
                "to": "2026-04-30",
                "signals": 0,
                "signals_left_out": 1,
                "cases": 1,
                "purged_cases": 1,
            },
        ),
    ]
    assert all(entry.municipality_code == "0363" for entry in entries)


@pytest.fixture
def callers(client: TestClient, session: Session) -> dict[str, dict[str, str]]:
    make_municipality(session)
    for role in ("worker", "backoffice", "admin"):
        make_user(session, role=role, username=f"{role}1")
    partner = make_partner(session, scopes=("reports:read", "cases:read"))
    return {role: login(client, f"{role}1") for role in ("worker", "backoffice", "admin")} | {
        "partner": partner_login(client, partner.client_id, scope="reports:read")
    }


@pytest.mark.parametrize(("caller", "status"), [("worker", 403), ("partner", 403), ("backoffice", 200), ("admin", 200)])
def test_only_the_back_office_and_admins_export(client: TestClient, callers, caller: str, status: int):  # type: ignore[no-untyped-def]
    response = client.get(
        "/v1/reports/ddas", params={"from": "2026-11-01", "to": "2026-11-30"}, headers=callers[caller]
    )
    assert response.status_code == status
    if status == 403:
        assert response.headers["content-type"] == "application/problem+json"


def test_an_export_needs_a_token(client: TestClient):
    assert client.get("/v1/reports/ddas", params={"from": "2026-11-01", "to": "2026-11-30"}).status_code == 401


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "/query/to"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "/query/to"),  # 367 days
        ({"from": "2026-11-01"}, "/query/to"),
        ({"to": "2026-11-01"}, "/query/from"),
        ({"from": "2026-13-01", "to": "2026-12-31"}, "/query/from"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "/query/from"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "/query/from"),
    ],
)
def test_a_bad_period_is_a_validation_problem(client: TestClient, callers, params: dict[str, str], pointer: str):  # type: ignore[no-untyped-def]
    response = client.get("/v1/reports/ddas", params=params, headers=callers["backoffice"])
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:doorstep:problem:validation-error"
    assert pointer in [error["pointer"] for error in body["errors"]]


def test_a_leap_year_is_one_period(client: TestClient, callers):  # type: ignore[no-untyped-def]
    response = client.get(
        "/v1/reports/ddas", params={"from": "2028-01-01", "to": "2028-12-31"}, headers=callers["admin"]
    )
    assert response.status_code == 200


def test_the_export_reads_the_same_few_queries_for_3_cases_as_for_30(
    client: TestClient,
    callers,
    session: Session,  # type: ignore[no-untyped-def]
    db: Engine,
):
    def queries_for_export() -> int:
        with statements_run(db) as statements:
            response = client.get(
                "/v1/reports/ddas", params={"from": "2026-11-01", "to": "2026-11-30"}, headers=callers["backoffice"]
            )
        assert response.status_code == 200
        return len(statements)

    for number in range(3):
        make_case(session, postcode=f"10{number:02d}AB")
    few = queries_for_export()
    for number in range(3, 30):
        make_case(session, postcode=f"10{number:02d}AB")
    assert len(read(session, select(Case))) == 30
    assert queries_for_export() == few


def test_each_case_gets_its_own_signals_and_attempts_when_read_a_few_rows_at_a_time(  # type: ignore[no-untyped-def]
    client: TestClient, callers, session: Session, monkeypatch: pytest.MonkeyPatch
):
    """The cases, their signal ids and their attempts are read side by side in the cases' order;
    blocks of three rows cut through cases, and cases opened at the same moment tie on their id."""
    from api.models import VisitEvent
    from api.reports.ddas import service as ddas_service

    monkeypatch.setattr(ddas_service, "ROWS_PER_READ", 3)
    author = read(session, select(StaffUser).where(StaffUser.username == "worker1"))[0]
    cases = [make_case(session, postcode=f"10{number:02d}AB") for number in range(9)]
    firsts = {signal.case_id: signal for signal in read(session, select(Signal))}
    expected: dict[str, tuple[list[str], int]] = {}
    for number, case in enumerate(cases):
        first = firsts[case.id]
        extra = [f"EXTRA-{number}-{index}" for index in range(number % 3)]
        for index, external_id in enumerate(extra):  # later signals of the same household, interleaved in time
            session.add(
                Signal(
                    municipality_code="0363",
                    external_id=external_id,
                    household_id=first.household_id,
                    case_id=case.id,
                    partner_type="Energie",
                    signal_date=date(2026, 11, 21),
                    is_repeat=True,
                    received_at=datetime(2026, 11, 25, 10, index * 10 + number, tzinfo=UTC),
                    created_at=first.created_at,
                )
            )
        visits = (number * 2) % 5
        for index in range(visits):
            moment = datetime(2026, 11, 26 + index, 10, number, tzinfo=UTC)
            session.add(
                VisitEvent(
                    id=uuid.uuid4(),
                    municipality_code="0363",
                    case_id=case.id,
                    author_id=author.id,
                    kind="visit_attempt",
                    occurred_at=moment,
                    received_at=moment,
                    base_version=1,
                    payload={"reached": False},
                    outcome="applied",
                    change_seq=0,
                    clock_skew=False,
                    body_hash="",
                )
            )
        expected[first.external_id] = ([first.external_id, *extra], visits)
    session.commit()

    response = client.get(
        "/v1/reports/ddas", params={"from": "2026-11-01", "to": "2026-11-30"}, headers=callers["backoffice"]
    )
    assert response.status_code == 200, response.text
    zaken = response.json()["leveringen"][0]["vroegsignaalzaken"]
    assert_valid(response.json())
    got = {
        zaak["vroegsignalen"][0]["ID"]: ([ref["ID"] for ref in zaak["vroegsignalen"]], len(zaak["contactpogingen"]))
        for zaak in zaken
    }
    assert got == expected
