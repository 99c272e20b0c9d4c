"""The DDAS Vroegsignalering v1.2 delivery (VNG's exchange model for CBS), spelled from plain rows. Pure.

Which signals and cases belong in a delivery, and what of them may still be shown, is
decided by whoever reads the rows (`service.py`); here they only get their DDAS names.
DDAS field names stay Dutch: they are the standard's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

# CBS tells suppliers apart by this code; the DDAS FAQ asks for the software supplier's name.
SUPPLIER_CODE = "Doorstep"

# Contact attempts by event kind. A card is its own kind of attempt in DDAS ("Kaartje"),
# left at a visit nobody answered, so a not-home visit with a card is two attempts.
CONTACT_KINDS = {
    "visit_attempt": "Huisbezoek",
    "card_left": "Kaartje",
    "phone_attempt": "Telefoon",
    "letter_sent": "Brief",
    "mail_sent": "Mail",
    "sms_sent": "SMS/Whatsapp",
    "appointment_kept": "Afspraak op locatie",
    "administrative": "Administratief",
}
DAY_PARTS = {"ochtend": "Ochtend", "middag": "Middag", "avond": "Avond"}
GENDERS = {"M": "Man", "V": "Vrouw", "O": "Onbekend"}


@dataclass(frozen=True)
class Period:
    """The delivery's period, both days included."""

    start: date
    end: date


@dataclass(frozen=True)
class Client:
    """What a vroegsignaal says about the resident: the address, and birth date and gender for CBS's matching."""

    postcode: str
    house_number: int
    house_number_addition: str | None = None
    birth_date: date | None = None
    gender: str | None = None  # M | V | O


@dataclass(frozen=True)
class SignalRow:
    external_id: str
    partner_type: str
    status: str
    signal_date: date
    crisis: bool
    warm_handover: bool
    amount_cents: int | None
    arrears_since_date: date | None
    client: Client | None  # None: nothing left (or allowed) to identify the resident by


@dataclass(frozen=True)
class AttemptRow:
    kind: str  # a key of CONTACT_KINDS
    on: date
    reached: bool
    day_part: str | None = None  # ochtend | middag | avond


@dataclass(frozen=True)
class CaseRow:
    opened_on: date
    result: str | None  # one of the 16 DDAS results, if the case was closed
    signal_ids: tuple[str, ...]
    attempts: tuple[AttemptRow, ...] = ()


def delivery(
    *,
    municipality_code: str,
    municipality_name: str,
    period: Period,
    delivered_at: datetime,
    signals: Iterable[SignalRow],
    cases: Iterable[CaseRow],
) -> dict[str, Any]:
    """The whole delivery as one document (what `delivery_text` writes, parsed)."""
    document: dict[str, Any] = json.loads(
        "".join(
            delivery_text(
                municipality_code=municipality_code,
                municipality_name=municipality_name,
                period=period,
                delivered_at=delivered_at,
                signals=signals,
                cases=cases,
            )
        )
    )
    return document


def delivery_text(
    *,
    municipality_code: str,
    municipality_name: str,
    period: Period,
    delivered_at: datetime,
    signals: Iterable[SignalRow],
    cases: Iterable[CaseRow],
) -> Iterator[str]:
    """The whole delivery as JSON text, a piece at a time: one `levering` for the municipality, its
    signals and cases in the given order. The rows are consumed as the text is written, so a year
    of a large municipality never has to be a list (or a document) in memory.

    A vroegsignaal must name its resident, by BSN or by postcode and house number. The BSN never
    leaves Doorstep, so a signal without an address (left) is not delivered; its case still is.
    """
    head = {
        "startdatumLevering": period.start.isoformat(),
        "einddatumLevering": period.end.isoformat(),
        "aanleverdatumEnTijd": delivered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "codeGegevensleverancier": SUPPLIER_CODE,
    }
    levering = {"teller": 1, "gemeentecode": municipality_code, "aanleverendeOrganisatie": {"naam": municipality_name}}
    yield _dumps(head)[:-1] + ',"leveringen":[' + _dumps(levering)[:-1] + ',"vroegsignalen":['
    yield from _joined(vroegsignaal(s, s.client) for s in signals if s.client is not None)
    yield '],"vroegsignaalzaken":['
    yield from _joined(vroegsignaalzaak(case) for case in cases)
    yield "]}]}"


# One encoder for the whole delivery (json.dumps with options builds one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
ITEMS_PER_WRITE = 500


def _dumps(item: dict[str, Any]) -> str:
    return _ENCODER.encode(item)


def _joined(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The items comma-separated, encoded a few hundred at a time (as a list, brackets cut off)."""
    iterator, separator = iter(items), ""
    while block := list(islice(iterator, ITEMS_PER_WRITE)):
        yield separator + _ENCODER.encode(block)[1:-1]
        separator = ","


def vroegsignaal(signal: SignalRow, person: Client) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ID": signal.external_id,
        "crisissignaal": signal.crisis,
        "warmeOverdracht": signal.warm_handover,
    }
    if signal.amount_cents is not None:
        item["bedrag"] = whole_euros(signal.amount_cents)
    if signal.arrears_since_date is not None:
        item["ontstaansdatum"] = signal.arrears_since_date.isoformat()
    item["signaaldatum"] = signal.signal_date.isoformat()
    item["status"] = signal.status
    item["signaalpartner"] = {"type": signal.partner_type}
    item["client"] = client(person)
    return item


def client(person: Client) -> dict[str, Any]:
    # The schema's second form (no burgerservicenummer): postcode and huisnummer are required.
    found: dict[str, Any] = {"postcode": person.postcode, "huisnummer": str(person.house_number)}
    if person.house_number_addition:
        found["huisnummertoevoeging"] = person.house_number_addition
    if person.birth_date is not None:
        found["geboortedatum"] = person.birth_date.isoformat()
    if person.gender in GENDERS:
        found["geslachtsaanduiding"] = GENDERS[person.gender]
    return found


def vroegsignaalzaak(case: CaseRow) -> dict[str, Any]:
    """Matching is the grouping of a month's signals per address into the case when it opens;
    the case is picked up (`datumOpgepakt`) with its first contact attempt."""
    month_start = case.opened_on.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    item: dict[str, Any] = {}
    if case.result is not None:
        item["resultaat"] = case.result
    item["matchingsdatum"] = case.opened_on.isoformat()
    item["startdatumMatchingperiode"] = month_start.isoformat()
    item["einddatumMatchingperiode"] = month_end.isoformat()
    if case.attempts:
        item["datumOpgepakt"] = min(attempt.on for attempt in case.attempts).isoformat()
    # uniqueItems: a signal id is listed once, in its first place.
    signal_ids = list(dict.fromkeys(case.signal_ids))
    if signal_ids:
        item["vroegsignalen"] = [{"ID": signal_id} for signal_id in signal_ids]
    item["contactpogingen"] = [contactpoging(attempt) for attempt in case.attempts]
    return item


def contactpoging(attempt: AttemptRow) -> dict[str, Any]:
    item: dict[str, Any] = {
        "soort": CONTACT_KINDS[attempt.kind],
        "bereikt": attempt.reached,
        "datum": attempt.on.isoformat(),
    }
    if attempt.day_part in DAY_PARTS:
        item["dagdeel"] = DAY_PARTS[attempt.day_part]
    return item


def whole_euros(cents: int) -> int:
    """DDAS amounts are whole euros; half a euro rounds up, as the import rounds cents."""
    return (cents + 50) // 100
