"""The columns of a signal file, in one table that the header mapping and both paths through a row read."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.signals.parsing import values
from api.signals.parsing.values import Parser, ParserFor, _Invalid


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # canonical: SignalInput's field, the API's name
    # The column name as the platforms export it; reasons name columns this way, because that is
    # what the person fixing the file sees.
    export_name: str
    # The most characters a value may have. A longer one is an error of its row, and what the row
    # keeps of it (the report, the quarantine) is cut to this length: a file must not be able to
    # put a whole 300 MB cell into the database. The text columns' limits are the database's; the
    # others lie well above the longest notation the column takes ("2026-10-25T10:00:00.123456+02:00").
    limit: int
    parser: ParserFor
    # Whether its valid values can be of any length: free text, and an amount, a BSN, a postcode
    # or a phone number with spaces in it. The fast path checks these columns' limits; every other
    # column's valid notations are shorter than its limit (a partner type, a flag, a date, a house
    # number), or its parser checks the limit itself (an email address).
    unbounded: bool = False
    required: bool = False
    aliases: tuple[str, ...] = ()  # header names accepted besides the export name and the canonical name
    parse: Parser = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parse", self.parser(self.export_name, self.limit))


# In SignalInput's field order, the order in which the readers hand a row's values to both paths.
TABLE: tuple[Column, ...] = (
    Column("signal_id", "signaal_id", 100, values.text, unbounded=True, required=True),
    Column("partner_type", "signaalpartner_type", 40, values.partner_type, required=True),
    Column("creditor", "schuldeiser", 200, values.text, unbounded=True),
    Column("amount", "bedrag", 40, values.amount, unbounded=True),
    Column("arrears_since", "ontstaansdatum", 40, values.calendar_date),
    Column("signal_date", "signaaldatum", 40, values.calendar_date, required=True),
    Column("crisis", "crisissignaal", 10, values.flag),
    Column("warm_handover", "warme_overdracht", 10, values.flag),
    Column("bsn", "bsn", 20, values.bsn, unbounded=True),
    Column("initials", "voorletters", 20, values.text, unbounded=True),
    Column("prefix", "voorvoegsel", 20, values.text, unbounded=True),
    Column("surname", "achternaam", 200, values.text, unbounded=True),
    Column("birth_date", "geboortedatum", 40, values.calendar_date),
    Column("gender", "geslacht", 20, values.gender),
    Column("street", "straat", 200, values.text, unbounded=True),
    Column("house_number", "huisnummer", 10, values.house_number),
    Column("house_number_addition", "huisnummertoevoeging", 10, values.upper_text, unbounded=True),
    Column("postcode", "postcode", 20, values.postcode, unbounded=True),
    Column("town", "woonplaats", 100, values.text, unbounded=True),
    Column("phone", "telefoon", 40, values.phone, unbounded=True),
    Column("email", "email", 254, values.email, aliases=("e-mail",)),
)

CANONICAL: tuple[str, ...] = tuple(column.name for column in TABLE)
EXPORT_NAMES: dict[str, str] = {column.name: column.export_name for column in TABLE}
MAX_CHARS: dict[str, int] = {column.name: column.limit for column in TABLE}
REQUIRED_COLUMNS: tuple[str, ...] = tuple(column.name for column in TABLE if column.required)


def _accepted_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    for column in TABLE:
        for name in (column.export_name, column.name):
            headers[name] = column.name
            headers[name.replace("_", " ")] = column.name  # "Warme overdracht" as Excel users type it
        headers.update(dict.fromkeys(column.aliases, column.name))
    return headers


COLUMNS: dict[str, str] = _accepted_headers()  # a header name, lower case, to its column's canonical name


# --- one corrected field (AVG art. 16) ------------------------------------------------------

CORRECTABLE = (
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
)
_BY_NAME = {column.name: column for column in TABLE}


def parse_field(name: str, value: object) -> object:
    """One personal field as intake reads it (the same rules, so a correction stores what an import
    would have): the normalised value, or ValueError with the reason (never quoting the value)."""
    if name not in CORRECTABLE:
        raise ValueError(f"{name} cannot be corrected")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise ValueError(f"{EXPORT_NAMES[name]} is empty (send null to clear it)")
    try:
        return _BY_NAME[name].parse(value)
    except _Invalid as problem:
        raise ValueError(problem.reason) from None
