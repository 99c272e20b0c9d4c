"""Dutch words for the API's values, and how dates and amounts read in the Netherlands."""

from __future__ import annotations

from datetime import date, datetime

from api.cases.rules import AMSTERDAM, day_part

LABELS: dict[str, dict[str, str]] = {
    "state": {
        "new": "Nieuw",
        "planned": "Gepland",
        "contacted": "Contact gehad",
        "help_accepted": "Hulp aanvaard",
        "trajectory": "In traject",
        "closed": "Afgesloten",
    },
    "classification": {"single": "Enkelvoudig", "multiple": "Meervoudig", "consecutive": "Opeenvolgend"},
    "channel": {
        "letter": "Brief",
        "phone": "Telefoon",
        "visit": "Huisbezoek",
        "card": "Kaartje",
        "email": "E-mail",
        "mail": "Mail",
        "sms": "SMS/Whatsapp",
        "appointment": "Afspraak op locatie",
        "administrative": "Administratief",
    },
    "event": {
        "visit_attempt": "Huisbezoek",
        "card_left": "Kaartje achtergelaten",
        "phone_attempt": "Telefoonpoging",
        "help_offered": "Hulp aangeboden",
        "help_accepted": "Hulp aanvaard",
        "help_declined": "Hulp afgewezen",
        "note": "Notitie",
        "result_proposed": "Resultaat voorgesteld",
        "letter_sent": "Brief verstuurd",
        "appointment": "Afspraak gemaakt",
        "appointment_kept": "Afspraak op locatie",
        "mail_sent": "Mail verstuurd",
        "sms_sent": "SMS/Whatsapp verstuurd",
        "administrative": "Administratief contact",
        "closed": "Afgesloten",
        "reopened": "Heropend",
        "assigned": "Toegewezen",
    },
    "outcome": {"applied": "verwerkt", "conflict": "conflict"},
    "conflict": {
        "accepted-and-declined": "Hulp aanvaard én afgewezen",
        "different-results": "Verschillende resultaten voorgesteld",
        "outcome-after-closed": "Uitkomst vastgelegd nadat kantoor de zaak afsloot",
        "outcome-after-reassigned": "Uitkomst vastgelegd nadat de zaak werd overgedragen",
    },
    "decision": {
        "help_accepted": "Hulp is aanvaard",
        "help_declined": "Hulp is afgewezen",
        "keep_office": "Besluit van kantoor blijft staan",
        "keep_both_as_facts": "Beide als feit bewaren, niets wijzigt",
    },
    "bkr_status": {"pending": "Wacht op verzending", "delivered": "Geregistreerd", "failed": "Mislukt"},
    "bkr_action": {"register": "Registratie", "end": "Einde", "remove": "Verwijdering"},
    "role": {"backoffice": "Backoffice", "admin": "Beheerder", "worker": "Buitendienst"},
    "import_status": {"completed": "Verwerkt", "rejected": "Afgewezen"},
    "signal_result": {"created": "Nieuw", "duplicate": "Al ontvangen", "rejected": "Afgewezen"},
    "below_threshold": {
        "arrears-start-after-signal-date": "achterstand begint na de signaaldatum",
        "zero-amount": "bedrag is nul",
        "days-in-arrears": "te kort in achterstand",
        "amount": "bedrag onder de drempel",
    },
}


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(AMSTERDAM).date()
    return value.strftime("%d-%m-%Y")


def local_datetime(value: datetime | None) -> str:
    return "–" if value is None else value.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def number(value: int) -> str:
    """12345 → "12.345"."""
    return f"{value:,}".replace(",", ".")


def amount(cents: int | None) -> str:
    """1234567 → "€ 12.345,67"."""
    if cents is None:
        return "–"
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}€ {number(euros)},{rest:02d}"


def day_part_of(value: datetime | None) -> str:
    return "" if value is None else day_part(value)
