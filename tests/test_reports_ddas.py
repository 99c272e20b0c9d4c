"""The DDAS Vroegsignalering delivery: valid against VNG's schema and true to the data."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from api.cases.rules import DDAS_RESULTS
from api.reports.ddas import CONTACT_KINDS, AttemptRow, CaseRow, Client, Period, SignalRow, delivery, whole_euros
from api.signals.parsing import PARTNER_TYPES

REPO = Path(__file__).resolve().parents[1]
SCHEMA_NAME = "json_schema_Uitwisselmodel.v1.2.json"
IN_REPO_SCHEMA = REPO / "tests" / "data" / "ddas" / SCHEMA_NAME  # CI must not depend on a folder outside the repo
SHARED_SCHEMA = REPO.parent / "shared" / "ddas" / SCHEMA_NAME
SCHEMA = json.loads(IN_REPO_SCHEMA.read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
SIGNAL_STATUSES = SCHEMA["$defs"]["EnumSignaalstatus"]["enum"]


def assert_valid(document: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda error: list(error.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]
    # jsonschema checks `date-time` only with an extra package; the schema's own description is the rule.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["aanleverdatumEnTijd"])


# --- the schema ----------------------------------------------------------------------------


def test_the_schema_copy_in_the_repository_is_a_valid_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$id"].endswith("/v1.2/json_schema_Uitwisselmodel.json")


def test_the_schema_copy_in_the_repository_equals_the_shared_one():
    if not SHARED_SCHEMA.exists():
        pytest.skip("no shared/ folder beside the repository")
    assert json.loads(SHARED_SCHEMA.read_text(encoding="utf-8")) == SCHEMA


def test_doorsteps_results_and_partner_types_are_the_schemas():
    assert set(DDAS_RESULTS) == set(SCHEMA["$defs"]["EnumEindresultaat"]["enum"])
    assert set(PARTNER_TYPES) == set(SCHEMA["$defs"]["EnumSignaalpartner"]["enum"])
    assert set(CONTACT_KINDS.values()) <= set(SCHEMA["$defs"]["EnumContactsoort"]["enum"])


# --- the mapping, without a database -------------------------------------------------------

PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))
DELIVERED_AT = datetime(2026, 11, 5, 8, 30, tzinfo=UTC)
ADDRESS = Client(postcode="1053KL", house_number=12, house_number_addition="A", birth_date=date(1980, 5, 17), gender="V")


def signal_row(external_id: str = "S1", *, client: Client | None = ADDRESS, **changes: Any) -> SignalRow:
    values: dict[str, Any] = dict(
        external_id=external_id, partner_type="Huur", status="Opgepakt", signal_date=date(2026, 10, 20), crisis=False,
        warm_handover=True, amount_cents=123456, arrears_since_date=date(2026, 8, 1), client=client,
    )
    return SignalRow(**values | changes)


def map_one(signals: list[SignalRow] = (), cases: list[CaseRow] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    document = delivery(municipality_code="0363", municipality_name="Amsterdam", period=PERIOD,
                        delivered_at=DELIVERED_AT, signals=signals, cases=cases)
    assert_valid(document)
    return document


def test_a_delivery_names_the_period_the_supplier_and_the_municipality():
    document = map_one()
    assert {key: document[key] for key in ("startdatumLevering", "einddatumLevering", "aanleverdatumEnTijd")} == {
        "startdatumLevering": "2026-10-01", "einddatumLevering": "2026-10-31", "aanleverdatumEnTijd": "2026-11-05T08:30:00Z"}
    assert document["codeGegevensleverancier"] == "Doorstep"
    assert document["leveringen"] == [{"teller": 1, "gemeentecode": "0363", "aanleverendeOrganisatie": {"naam": "Amsterdam"},
                                       "vroegsignalen": [], "vroegsignaalzaken": []}]


def test_a_signal_names_its_resident_by_postcode_and_house_number():
    [item] = map_one([signal_row()])["leveringen"][0]["vroegsignalen"]
    assert item == {
        "ID": "S1", "crisissignaal": False, "warmeOverdracht": True, "bedrag": 1235, "ontstaansdatum": "2026-08-01",
        "signaaldatum": "2026-10-20", "status": "Opgepakt", "signaalpartner": {"type": "Huur"},
        "client": {"postcode": "1053KL", "huisnummer": "12", "huisnummertoevoeging": "A",
                   "geboortedatum": "1980-05-17", "geslachtsaanduiding": "Vrouw"},
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
    case = CaseRow(opened_on=date(2026, 12, 18), result="Vervolghulp en/of verwijzing financieel",
                   signal_ids=("S1",), attempts=attempts)
    [zaak] = map_one(cases=[case])["leveringen"][0]["vroegsignaalzaken"]
    assert zaak == {
        "resultaat": "Vervolghulp en/of verwijzing financieel", "matchingsdatum": "2026-12-18",
        "startdatumMatchingperiode": "2026-12-01", "einddatumMatchingperiode": "2026-12-31",
        "datumOpgepakt": "2026-12-21", "vroegsignalen": [{"ID": "S1"}],
        "contactpogingen": [
            {"soort": "Huisbezoek", "bereikt": False, "datum": "2026-12-29", "dagdeel": "Avond"},
            {"soort": "Kaartje", "bereikt": False, "datum": "2026-12-29", "dagdeel": "Avond"},
            {"soort": "Brief", "bereikt": False, "datum": "2026-12-21"},
            {"soort": "Telefoon", "bereikt": True, "datum": "2027-01-04", "dagdeel": "Ochtend"},
        ],
    }


def test_an_open_case_without_attempts_has_no_result_and_no_pickup_date():
    [zaak] = map_one(cases=[CaseRow(opened_on=date(2028, 2, 10), result=None, signal_ids=("S1",))])["leveringen"][0][
        "vroegsignaalzaken"]
    assert "resultaat" not in zaak and "datumOpgepakt" not in zaak and zaak["contactpogingen"] == []
    assert (zaak["startdatumMatchingperiode"], zaak["einddatumMatchingperiode"]) == ("2028-02-01", "2028-02-29")


# Any data Doorstep can hold maps to a document CBS accepts, with every attempt and every
# signal that has an address in it.
days = st.dates(min_value=date(2021, 1, 1), max_value=date(2030, 12, 31))
clients = st.builds(
    Client, postcode=st.from_regex(r"[1-9]\d{3}[A-Z]{2}", fullmatch=True), house_number=st.integers(1, 99999),
    house_number_addition=st.none() | st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True),
    birth_date=st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 12, 31)),
    gender=st.sampled_from([None, "M", "V", "O"]),
)
signal_rows = st.builds(
    SignalRow, external_id=st.text(min_size=1, max_size=40), partner_type=st.sampled_from(sorted(PARTNER_TYPES)),
    status=st.sampled_from(SIGNAL_STATUSES), signal_date=days, crisis=st.booleans(), warm_handover=st.booleans(),
    amount_cents=st.none() | st.integers(0, 100_000_000_000), arrears_since_date=st.none() | days,
    client=st.none() | clients,
)
attempt_rows = st.builds(AttemptRow, kind=st.sampled_from(sorted(CONTACT_KINDS)), on=days, reached=st.booleans(),
                         day_part=st.sampled_from([None, "ochtend", "middag", "avond"]))
case_rows = st.builds(
    CaseRow, opened_on=days, result=st.none() | st.sampled_from(DDAS_RESULTS),
    signal_ids=st.lists(st.sampled_from(["S1", "S2", "S3", "S4"]), max_size=6).map(tuple),
    attempts=st.lists(attempt_rows, max_size=8).map(tuple),
)


@given(signals=st.lists(signal_rows, max_size=8), cases=st.lists(case_rows, max_size=6), start=days,
       delivered_at=st.datetimes(min_value=datetime(2021, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)))
@settings(max_examples=150, deadline=None)
def test_any_signals_and_cases_map_to_a_valid_delivery(signals, cases, start, delivered_at):  # type: ignore[no-untyped-def]
    document = delivery(municipality_code="0363", municipality_name="Amsterdam", period=Period(start, start),
                        delivered_at=delivered_at, signals=signals, cases=cases)
    assert_valid(document)
    levering = document["leveringen"][0]
    assert [item["ID"] for item in levering["vroegsignalen"]] == [s.external_id for s in signals if s.client]
    assert [len(zaak["contactpogingen"]) for zaak in levering["vroegsignaalzaken"]] == [len(c.attempts) for c in cases]
    assert "burgerservicenummer" not in json.dumps(document)
