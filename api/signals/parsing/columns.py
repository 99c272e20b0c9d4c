"""The columns of a signal file: their canonical names, the names the platforms export, their limits."""

from __future__ import annotations

CANONICAL: tuple[str, ...] = (
    "signal_id",
    "partner_type",
    "creditor",
    "amount",
    "arrears_since",
    "signal_date",
    "crisis",
    "warm_handover",
    "bsn",
    "initials",
    "prefix",
    "surname",
    "birth_date",
    "gender",
    "street",
    "house_number",
    "house_number_addition",
    "postcode",
    "town",
    "phone",
    "email",
)

# The column name as the platforms export it; reasons name columns this way, because that is
# what the person fixing the file sees.
_EXPORT_NAME: dict[str, str] = {
    "signal_id": "signaal_id",
    "partner_type": "signaalpartner_type",
    "creditor": "schuldeiser",
    "amount": "bedrag",
    "arrears_since": "ontstaansdatum",
    "signal_date": "signaaldatum",
    "crisis": "crisissignaal",
    "warm_handover": "warme_overdracht",
    "bsn": "bsn",
    "initials": "voorletters",
    "prefix": "voorvoegsel",
    "surname": "achternaam",
    "birth_date": "geboortedatum",
    "gender": "geslacht",
    "street": "straat",
    "house_number": "huisnummer",
    "house_number_addition": "huisnummertoevoeging",
    "postcode": "postcode",
    "town": "woonplaats",
    "phone": "telefoon",
    "email": "email",
}


def _accepted_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    for canonical, exported in _EXPORT_NAME.items():
        for name in (exported, canonical):
            headers[name] = canonical
            headers[name.replace("_", " ")] = canonical  # "Warme overdracht" as Excel users type it
    headers["e-mail"] = "email"
    return headers


COLUMNS: dict[str, str] = _accepted_headers()

_REQUIRED_COLUMNS = ("signal_id", "partner_type", "signal_date")

# The most characters a value may have, per column. A longer one is an error of its row, and what
# the row keeps of it (the report, the quarantine) is cut to this length: a file must not be able
# to put a whole 300 MB cell into the database. The text columns' limits are the database's; the
# others lie well above the longest notation the column takes ("2026-10-25T10:00:00.123456+02:00").
MAX_CHARS: dict[str, int] = {
    "signal_id": 100, "partner_type": 40, "creditor": 200, "amount": 40, "arrears_since": 40, "signal_date": 40,
    "crisis": 10, "warm_handover": 10, "bsn": 20, "initials": 20, "prefix": 20, "surname": 200, "birth_date": 40,
    "gender": 20, "street": 200, "house_number": 10, "house_number_addition": 10, "postcode": 20, "town": 100,
    "phone": 40, "email": 254,
}
