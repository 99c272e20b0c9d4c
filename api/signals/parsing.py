"""Read the platforms' monthly signal files (CSV, XLSX, DDAS JSON) row by row into checked signal input. Pure."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from operator import gt, itemgetter
from typing import Any, BinaryIO

from api.signals.limits import FileRefused as FileRefused  # re-exported: the readers' callers catch it from here
from api.signals.limits import ImportLimits, Overlong
from api.signals.rules import PARTNER_TYPES, is_valid_bsn
from api.signals.workbook import Workbook

# --------------------------------------------------------------------------- vocabulary

_PARTNER_BY_KEY = {name.lower(): name for name in PARTNER_TYPES}

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

# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class SignalInput:
    external_id: str
    partner_type: str
    creditor_name: str | None
    amount_cents: int | None
    arrears_since_date: date | None
    signal_date: date
    crisis: bool
    warm_handover: bool
    bsn: str | None
    initials: str | None
    prefix: str | None
    surname: str | None
    birth_date: date | None
    gender: str | None
    street: str | None
    house_number: int | None
    house_number_addition: str | None
    postcode: str | None
    town: str | None
    phone: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str | None
    reason: str


class ParsedRow:
    """One row: its line, its raw (stripped) values by canonical column, the signal or the errors."""

    __slots__ = ("line", "_raw", "signal", "errors")

    def __init__(
        self, line: int, raw: dict[str, str | None] | list[str | None], signal: SignalInput | None,
        errors: list[RowError],
    ) -> None:
        self.line = line
        self._raw = raw  # a list in CANONICAL order becomes the dictionary when first asked for
        self.signal = signal
        self.errors = errors

    @property
    def raw(self) -> dict[str, str | None]:
        if type(self._raw) is not dict:
            self._raw = dict(zip(CANONICAL, self._raw))
        return self._raw  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedRow):
            return NotImplemented
        return (self.line, self.raw, self.signal, self.errors) == (other.line, other.raw, other.signal, other.errors)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ParsedRow(line={self.line!r}, raw={self.raw!r}, signal={self.signal!r}, errors={self.errors!r})"


# --------------------------------------------------------------------------- one row
#
# Reasons never quote the offending value: the row's raw values travel alongside in ParsedRow,
# and reasons end up in logs and audit trails where a BSN or a name must not appear.


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_TIME_SUFFIX = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
_DATE_YMD = re.compile(r"([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})" + _TIME_SUFFIX)
_DATE_DMY = re.compile(r"([0-9]{1,2})([-/])([0-9]{1,2})\2([0-9]{4})" + _TIME_SUFFIX)
_AMOUNT_NOISE = re.compile(r"\s|€|eur(?:o)?", re.IGNORECASE)
_AMOUNT_PLAIN = re.compile(r"([0-9]*)(?:[.,]([0-9]+))?")
_AMOUNT_GROUPED = re.compile(r"([1-9][0-9]{0,2}(?:([.,])[0-9]{3})(?:\2[0-9]{3})*)(?:([.,])([0-9]+))?")
_THOUSANDS_HEAD = re.compile(r"[1-9][0-9]{0,2}")
_DIGITS = re.compile(r"[0-9]+")
_POSTCODE = re.compile(r"[1-9][0-9]{3}[A-Z]{2}")
_PHONE = re.compile(r"\+?[0-9 ()./-]+")
_NOT_DIGIT = re.compile(r"[^0-9]")
_NOT_IN_EMAIL = r"@\s\x00-\x1f\x7f\ud800-\udfff"
_EMAIL = re.compile(rf"[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}.][^{_NOT_IN_EMAIL}]*\.[^{_NOT_IN_EMAIL}.]+")

_MAX_AMOUNT_CENTS = 100_000_000_000  # € 1 billion: no household arrear comes near; guards the database column
_BOOLEANS = {
    **dict.fromkeys(("ja", "j", "true", "1", "yes", "y", "waar"), True),
    **dict.fromkeys(("nee", "n", "false", "0", "no", "onwaar"), False),
}
_GENDERS = {
    **dict.fromkeys(("m", "man", "male", "mannelijk"), "M"),
    **dict.fromkeys(("v", "vrouw", "f", "female", "vrouwelijk"), "V"),
    **dict.fromkeys(("o", "onbekend", "x", "leeg", "unknown"), "O"),
}


def _scalar_text(value: object, column: str) -> str:
    """Text for a typed cell (an XLSX number in a text column), or _Invalid for anything else."""
    if isinstance(value, bool):
        raise _Invalid(f"{column} must be text, not true/false")
    if isinstance(value, int) and abs(value) < 10**30:
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e30 else repr(value)
    if isinstance(value, date):
        raise _Invalid(f"{column} must be text, not a date")
    raise _Invalid(f"{column} must be a single value")


def _raw_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time.min else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    try:
        return str(value)
    except ValueError:  # an integer beyond the str conversion limit
        return "<too long to show>"


def _text(name: str) -> Callable[[object], str]:
    column, limit = _EXPORT_NAME[name], MAX_CHARS[name]

    def parse(value: object) -> str:
        text = value if type(value) is str else _scalar_text(value, column)
        if len(text) > limit:
            raise _Invalid(f"{column} is longer than {limit} characters")
        if _CONTROL.search(text):
            raise _Invalid(f"{column} contains control characters")
        return text

    return parse


def _partner_type(value: object) -> str:
    if type(value) is str:
        key = value.lower()
        found = _PARTNER_BY_KEY.get(key) or _PARTNER_BY_KEY.get(" ".join(key.split()))
        if found is not None:
            return found
    raise _Invalid("signaalpartner_type must be one of: " + ", ".join(sorted(PARTNER_TYPES)))


def _cents_from_text(text: str) -> int:
    """`1234`, `1234.56`, `1234,56`, `1.234,56`, `1,234.56` (a single separator before exactly three
    digits is a thousands separator: `1.234` is € 1234), rounded half up on the cent."""
    if len(text) > 32:
        raise _Invalid("bedrag is too long to be an amount")
    match = _AMOUNT_PLAIN.fullmatch(text)
    if match is not None and text:
        whole, fraction = match[1], match[2]
        if fraction is not None and len(fraction) == 3 and _THOUSANDS_HEAD.fullmatch(whole):
            whole, fraction = whole + fraction, None
    else:
        match = _AMOUNT_GROUPED.fullmatch(text)
        if match is None or (match[3] is not None and match[3] == match[2]):
            raise _Invalid("bedrag must be an amount like 1234, 1234,56, 1.234,56 or 1,234.56")
        whole, fraction = match[1].replace(match[2], ""), match[4]
    cents = int(whole or "0") * 100
    if fraction:
        cents += int((fraction + "0")[:2])
        if len(fraction) > 2 and fraction[2] >= "5":
            cents += 1
    return cents


# Monthly files repeat the same dates and many amounts thousands of times; remembering the
# parsed value of such strings (never personal on their own) halves their cost. Bounded.
_MEMO_LIMIT = 65_536
_AMOUNT_MEMO: dict[str, int] = {}
_DATE_MEMO: dict[str, date] = {}


def _amount(value: object) -> int:
    if type(value) is str:
        cents = _AMOUNT_MEMO.get(value)
        if cents is None:
            cents = _amount_from_text(value)
            if len(_AMOUNT_MEMO) >= _MEMO_LIMIT:
                _AMOUNT_MEMO.clear()
            _AMOUNT_MEMO[value] = cents
        return cents
    if isinstance(value, bool):
        raise _Invalid("bedrag must be an amount, not true/false")
    if isinstance(value, int):  # whole euros, as DDAS and spreadsheets give them
        cents = value * 100
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid("bedrag must be a number")
        if abs(value) * 100 > _MAX_AMOUNT_CENTS:
            # Too large either way; × 100 may overflow to infinity, which round() cannot take.
            cents = _MAX_AMOUNT_CENTS + 1 if value > 0 else -1
        else:  # repr() is the shortest decimal that round-trips: 0.125 stays 0.125, not 0.12499…
            cents = int(Decimal(repr(value)).quantize(Decimal("0.01"), ROUND_HALF_UP) * 100)
    else:
        raise _Invalid("bedrag must be an amount")
    return _checked_cents(cents)


def _checked_cents(cents: int) -> int:
    if cents < 0:
        raise _Invalid("bedrag must not be negative")
    if cents > _MAX_AMOUNT_CENTS:
        raise _Invalid("bedrag is over € 1,000,000,000, which cannot be an arrear")
    return cents


def _amount_from_text(value: str) -> int:
    if value.isdigit() and value.isascii() and len(value) < 12:
        return int(value) * 100
    text = _AMOUNT_NOISE.sub("", value)
    if text.startswith("+"):
        text = text[1:]
    if text.endswith((",-", ".-")):  # "€ 1.234,-": whole euros, the Dutch way
        text = text[:-2]
    if text.startswith("-") or text.endswith("-") or (text.startswith("(") and text.endswith(")")):
        raise _Invalid("bedrag must not be negative")
    return _checked_cents(_cents_from_text(text))


def _date(column: str) -> Callable[[object], date]:
    def parse(value: object) -> date:
        if type(value) is str:
            result = _DATE_MEMO.get(value)
            if result is not None:
                return result
            match = _DATE_YMD.fullmatch(value)
            if match is not None:
                year, month, day = int(match[1]), int(match[3]), int(match[4])
            else:
                match = _DATE_DMY.fullmatch(value)
                if match is None:
                    raise _Invalid(f"{column} must be a date as YYYY-MM-DD or DD-MM-YYYY")
                day, month, year = int(match[1]), int(match[3]), int(match[4])
            try:
                result = date(year, month, day)
            except ValueError:
                raise _Invalid(f"{column} is not an existing calendar date") from None
        elif isinstance(value, datetime):
            result = value.date()
        elif isinstance(value, date):
            result = value
        else:
            raise _Invalid(f"{column} must be a date as YYYY-MM-DD or DD-MM-YYYY (or a date cell)")
        if result.year < 1900:
            raise _Invalid(f"{column} is before 1900")
        if type(value) is str:
            if len(_DATE_MEMO) >= _MEMO_LIMIT:
                _DATE_MEMO.clear()
            _DATE_MEMO[value] = result
        return result

    return parse


def _flag(column: str) -> Callable[[object], bool]:
    def parse(value: object) -> bool:
        if type(value) is str:
            found = _BOOLEANS.get(value.lower())
            if found is not None:
                return found
        elif type(value) is bool:
            return value
        elif type(value) in (int, float) and value in (0, 1):
            return bool(value)
        raise _Invalid(f"{column} must be ja or nee (or true/false, 1/0, j/n, yes/no, waar/onwaar)")

    return parse


def _bsn(value: object) -> str:
    if type(value) is str:
        digits = value if value.isdigit() else value.replace(" ", "").replace(".", "").replace("-", "")
    elif type(value) is int and value >= 0:
        digits = str(value) if value < 10**10 else "too long"
    elif type(value) is float and value.is_integer() and 0 <= value < 10**10:
        digits = str(int(value))
    else:
        raise _Invalid("bsn must be 9 digits")
    if len(digits) == 8:  # a spreadsheet dropped the leading zero
        digits = "0" + digits
    if len(digits) != 9 or not _DIGITS.fullmatch(digits):
        raise _Invalid("bsn must be 9 digits")
    if not is_valid_bsn(digits):
        raise _Invalid("bsn fails the elfproef (eleven test), so it is not a BSN")
    return digits


def _gender(value: object) -> str:
    if type(value) is str:
        found = _GENDERS.get(value.lower())
        if found is not None:
            return found
    raise _Invalid("geslacht must be M, V or O (or man, vrouw, onbekend, male, female, unknown, leeg, x)")


def _house_number(value: object) -> int:
    number = -1
    if type(value) is str:
        if len(value) <= 9 and _DIGITS.fullmatch(value):
            number = int(value)
    elif type(value) is int:
        number = value
    elif type(value) is float and value.is_integer():
        number = int(value)
    if not 1 <= number <= 99999:
        raise _Invalid("huisnummer must be a whole number from 1 to 99999 (additions go in huisnummertoevoeging)")
    return number


_addition_text = _text("house_number_addition")


def _house_number_addition(value: object) -> str:
    return _addition_text(value).upper()


def _postcode(value: object) -> str:
    text = value if type(value) is str else _scalar_text(value, "postcode")
    text = "".join(text.split()).upper()
    if not _POSTCODE.fullmatch(text):
        raise _Invalid("postcode must be 4 digits (the first not 0) and 2 letters, like 1234 AB")
    return text


def _phone(value: object) -> str:
    text = value if type(value) is str else _scalar_text(value, "telefoon")
    if text.isdigit() and text.isascii() and 8 <= len(text) <= 15:
        return text
    international = text.startswith("+")
    if international:
        text = text.replace("(0)", "")  # +31 (0)6 …: the trunk zero is not dialled from abroad
    if not _PHONE.fullmatch(text):
        raise _Invalid("telefoon may contain only digits, a leading +, spaces and - ( ) . /")
    digits = _NOT_DIGIT.sub("", text)
    if not 8 <= len(digits) <= 15:
        raise _Invalid("telefoon must have 8 to 15 digits")
    return "+" + digits if international else digits


def _email(value: object) -> str:
    text = (value if type(value) is str else _scalar_text(value, "email")).lower()
    if len(text) > MAX_CHARS["email"]:
        raise _Invalid(f"email is longer than {MAX_CHARS['email']} characters")
    if not _EMAIL.fullmatch(text):
        raise _Invalid("email must look like name@example.nl (one @, a dot in the domain, no spaces)")
    return text


# In CANONICAL order, which is also SignalInput's field order.
_PARSERS: tuple[tuple[str, Callable[[Any], object]], ...] = (
    ("signal_id", _text("signal_id")),
    ("partner_type", _partner_type),
    ("creditor", _text("creditor")),
    ("amount", _amount),
    ("arrears_since", _date("ontstaansdatum")),
    ("signal_date", _date("signaaldatum")),
    ("crisis", _flag("crisissignaal")),
    ("warm_handover", _flag("warme_overdracht")),
    ("bsn", _bsn),
    ("initials", _text("initials")),
    ("prefix", _text("prefix")),
    ("surname", _text("surname")),
    ("birth_date", _date("geboortedatum")),
    ("gender", _gender),
    ("street", _text("street")),
    ("house_number", _house_number),
    ("house_number_addition", _house_number_addition),
    ("postcode", _postcode),
    ("town", _text("town")),
    ("phone", _phone),
    ("email", _email),
)
assert tuple(name for name, _ in _PARSERS) == CANONICAL
assert len(fields(SignalInput)) == len(CANONICAL)  # SignalInput(*values in CANONICAL order)
_PARSE = tuple(parse for _, parse in _PARSERS)


_I_SIGNAL_ID, _I_PARTNER_TYPE, _I_SIGNAL_DATE, _I_CRISIS, _I_WARM_HANDOVER, _I_BSN, _I_HOUSE_NUMBER, _I_POSTCODE = map(
    CANONICAL.index,
    ("signal_id", "partner_type", "signal_date", "crisis", "warm_handover", "bsn", "house_number", "postcode"),
)


def normalise_row(values: Mapping[str, object], *, line: int) -> ParsedRow:
    """Check and normalise one row given by canonical column name; every problem becomes a RowError.

    Strings are stripped and an empty string counts as missing. Never raises for odd values.
    """
    return _normalise(list(map(values.get, CANONICAL)), line)


def _normalise(values: Sequence[Any], line: int) -> ParsedRow:
    """normalise_row over the values in CANONICAL order; the readers call it directly, because at
    100,000 rows a file the dictionary per row is a measurable share of the time."""
    raw: list[str | None] = [None] * len(CANONICAL)
    out: list[Any] = [None] * len(CANONICAL)
    errors: list[RowError] = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if type(value) is str:
            value = value.strip()
            if not value:
                continue
            if len(value) > _LIMITS[index]:
                raw[index] = _cut(value, _LIMITS[index])
                errors.append(RowError(line, CANONICAL[index], _TOO_LONG[index]))
                continue
            raw[index] = value
        elif type(value) is Overlong:  # a cell of which the reader kept only the beginning
            raw[index] = value.head.strip()[: _LIMITS[index]] + "…"
            errors.append(RowError(line, CANONICAL[index], _TOO_LONG[index]))
            continue
        else:
            raw[index] = _cut(_raw_text(value), _LIMITS[index])
        try:
            out[index] = _PARSE[index](value)
        except _Invalid as invalid:
            errors.append(RowError(line, CANONICAL[index], invalid.reason))

    for index in _I_SIGNAL_ID, _I_PARTNER_TYPE, _I_SIGNAL_DATE:
        if raw[index] is None:
            errors.append(RowError(line, CANONICAL[index], f"{_EXPORT_NAME[CANONICAL[index]]} is required"))
    # An invalid BSN is already an error of its own; only a row without any BSN needs the address.
    if raw[_I_BSN] is None and (out[_I_POSTCODE] is None or out[_I_HOUSE_NUMBER] is None):
        errors.append(RowError(line, None, "a signal needs a valid bsn, or a postcode and huisnummer"))
    if errors:
        return ParsedRow(line, raw, None, errors)
    out[_I_CRISIS] = out[_I_CRISIS] or False
    out[_I_WARM_HANDOVER] = out[_I_WARM_HANDOVER] or False
    return ParsedRow(line, raw, _signal_input(out), errors)


_SETTERS = tuple(getattr(SignalInput, field.name).__set__ for field in fields(SignalInput))
_new = object.__new__


def _signal_input(values: Sequence[Any]) -> SignalInput:
    """SignalInput(*values), a third of the cost: the frozen dataclass's __init__ goes through
    object.__setattr__ per field, this sets the slots directly (the object is just as frozen)."""
    signal = _new(SignalInput)
    for setter, value in zip(_SETTERS, values):
        setter(signal, value)
    return signal


_parse_arrears_since, _parse_signal_date, _parse_birth_date = (
    _PARSE[CANONICAL.index(name)] for name in ("arrears_since", "signal_date", "birth_date")
)
_LIMITS = tuple(MAX_CHARS[name] for name in CANONICAL)
_TOO_LONG = tuple(f"{_EXPORT_NAME[name]} is longer than {MAX_CHARS[name]} characters" for name in CANONICAL)
# The columns whose valid values can be of any length: free text, and an amount, a BSN, a postcode
# or a phone number with spaces in it. The fast path checks their limits; every other column's
# valid notations are shorter than its limit (a partner type, a flag, a date, a house number).
_UNBOUNDED = (
    "signal_id", "creditor", "initials", "prefix", "surname", "street", "house_number_addition", "town", "amount",
    "bsn", "postcode", "phone",
)
_pick_unbounded = itemgetter(*map(CANONICAL.index, _UNBOUNDED))
_UNBOUNDED_LIMITS = tuple(MAX_CHARS[name] for name in _UNBOUNDED)


def _cut(text: str, limit: int) -> str:
    """What a row keeps of a value: at most `limit` characters, and a mark where it was cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def _normalise_text(values: Sequence[str], line: int) -> ParsedRow:
    """_normalise for a row of strings (a CSV record), faster for the rows that are well-formed.

    A valid row in the common notations is checked here straight through; anything else (an
    invalid value, an unusual notation, a control character anywhere) goes to _normalise, which
    is the definition: the result is the same either way (tests/signals/test_parsing.py checks
    this on generated messy rows).
    """
    raw = [value.strip() or None for value in values]
    (signal_id, partner, creditor, amount, arrears_since, signal_date, crisis, warm_handover, bsn, initials, prefix,
     surname, birth_date, gender, street, house_number, addition, postcode, town, phone, email) = raw
    if (
        signal_id is None or partner is None or signal_date is None
        or (bsn is None and (postcode is None or house_number is None))
        or _CONTROL.search("".join(values)) is not None
    ):
        return _normalise(values, line)
    # Before stripping: a value padded beyond its limit takes the definition's path, to the same result.
    if any(map(gt, map(len, _pick_unbounded(values)), _UNBOUNDED_LIMITS)):
        return _normalise(values, line)
    try:
        partner_type = _PARTNER_BY_KEY.get(partner.lower())
        if partner_type is None:
            raise _Invalid("partner")
        if crisis is None:
            crisis_flag = False
        elif (crisis_flag := _BOOLEANS.get(crisis.lower())) is None:  # type: ignore[assignment]
            raise _Invalid("crisis")
        if warm_handover is None:
            warm_flag = False
        elif (warm_flag := _BOOLEANS.get(warm_handover.lower())) is None:  # type: ignore[assignment]
            raise _Invalid("warm_handover")
        if bsn is not None and not (len(bsn) == 9 and is_valid_bsn(bsn)):
            bsn = _bsn(bsn)
        if gender is not None and (gender := _GENDERS.get(gender.lower())) is None:
            raise _Invalid("gender")
        if house_number is None:
            number = None
        elif house_number.isdigit() and house_number.isascii() and len(house_number) <= 9:
            number = int(house_number)
            if not 1 <= number <= 99999:
                raise _Invalid("house_number")
        else:
            number = _house_number(house_number)
        signal = _signal_input((
            signal_id,
            partner_type,
            creditor,
            None if amount is None else _amount(amount),
            None if arrears_since is None else _DATE_MEMO.get(arrears_since) or _parse_arrears_since(arrears_since),
            _DATE_MEMO.get(signal_date) or _parse_signal_date(signal_date),
            crisis_flag,
            warm_flag,
            bsn,
            initials,
            prefix,
            surname,
            None if birth_date is None else _DATE_MEMO.get(birth_date) or _parse_birth_date(birth_date),
            gender,
            street,
            number,
            None if addition is None else addition.upper(),
            None if postcode is None else _postcode(postcode),
            town,
            None if phone is None else _phone(phone),
            None if email is None else _email(email),
        ))
    except _Invalid:
        return _normalise(values, line)
    return ParsedRow(line, raw, signal, [])


# --------------------------------------------------------------------------- headers


def _map_header(names: list[str]) -> tuple[dict[str, int], list[str]]:
    """The position of each recognised column by canonical name, and the unrecognised headers.

    Refuses a header without the required columns, or without any way to identify a household.
    """
    positions: dict[str, int] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    for position, name in enumerate(names):
        if not name:
            continue
        canonical = COLUMNS.get(name.lower())
        if canonical is None:
            unknown.append(name)
        elif canonical in positions:
            duplicates.append(name)
        else:
            positions[canonical] = position
    if duplicates:
        # Two columns for one field leave no way to tell which value is meant: refuse, don't guess.
        raise FileRefused(
            "the header names these fields twice: " + ", ".join(duplicates), slug="duplicate-columns"
        )
    missing = [_EXPORT_NAME[name] for name in _REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise FileRefused(
            "missing required columns: " + ", ".join(missing) + " (the first line must be the header)",
            slug="missing-columns",
        )
    if "bsn" not in positions and not ("postcode" in positions and "house_number" in positions):
        raise FileRefused(
            "missing columns to identify the household: bsn, or postcode and huisnummer", slug="missing-columns"
        )
    return positions, unknown


def _picker(positions: dict[str, int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The values in CANONICAL order from a record padded to the header's width plus one empty
    value at the end, which stands in for the columns the file does not have."""
    return itemgetter(*(positions.get(name, -1) for name in CANONICAL))


class SignalFile(ABC):
    """An opened signal file whose header has been checked. Iterating reads the rows from the
    start of the file each time; do not interleave two iterations over one file."""

    format: str
    unknown_columns: list[str]
    _limits: ImportLimits

    def __iter__(self) -> Iterator[ParsedRow]:
        limit = self._limits.rows
        for count, row in enumerate(self._read(), 1):
            if count > limit:
                raise _too_many_rows(limit)
            yield row

    @abstractmethod
    def _read(self) -> Iterator[ParsedRow]:
        """The rows, checked, in the file's order."""


def _too_many_rows(limit: int) -> FileRefused:
    return FileRefused(f"the file has more than {limit:,} rows, the import limit; split it", slug="too-many-rows")


# --------------------------------------------------------------------------- CSV

_SNIFF_BYTES = 64 * 1024
_SEPARATORS = (";", ",", "\t")
_MAX_HEADER_CHARS = 64 * 1024
# A physical line of a CSV file is read at most this far: a row of every column at its limit is
# under 2,000 characters, and a 100 MB line (no newline at all) must not be read into memory whole.
MAX_LINE_BYTES = 64 * 1024
_LINE_END = re.compile(rb"[\r\n]")
# Control bytes that no CSV export contains (tab, newlines, form feed and DOS end-of-file aside).
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")


class _Borrowed(io.RawIOBase):
    """The caller's file as a raw stream that TextIOWrapper may close without closing the file."""

    def __init__(self, data: BinaryIO) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _LineBounded(_Borrowed):
    """…that refuses a physical line longer than MAX_LINE_BYTES as the bytes go by.

    Checked per block read, not per line: the text layer and csv then iterate lines at C speed
    (a generator calling readline(limit) per line cost the import 5%). A line ends at CR or LF;
    quoted newlines inside a value end a physical line too (csv joins them again, and bounds a
    value at 128 Ki characters)."""

    def __init__(self, data: BinaryIO) -> None:
        super().__init__(data)
        self._open = 0  # bytes since the last line end
        self._line = 1

    def readinto(self, buffer: Any) -> int:
        block = self._data.read(len(buffer))
        first = _LINE_END.search(block)
        # A line within one block is shorter than the limit (blocks are 64 KiB); a longer one
        # runs over a block's end, into the next block or beyond.
        if self._open + (len(block) if first is None else first.start()) > MAX_LINE_BYTES:
            raise FileRefused(
                f"line {self._line} is longer than {MAX_LINE_BYTES:,} bytes, which no row of signals is",
                slug="too-long-line",
            )
        if first is None:
            self._open += len(block)
        else:
            self._line += block.count(b"\n")
            self._open = len(block) - 1 - max(block.rfind(b"\n"), block.rfind(b"\r"))
        buffer[: len(block)] = block
        return len(block)


def _text_stream(data: BinaryIO, encoding: str, *, bounded_lines: bool = False) -> io.TextIOWrapper:
    data.seek(0)
    raw = _LineBounded(data) if bounded_lines else _Borrowed(data)
    return io.TextIOWrapper(io.BufferedReader(raw, 1 << 16), encoding=encoding, newline="")


def _separator(header_line: str) -> str:
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return max(_SEPARATORS, key=counts.__getitem__)  # ties go to ";", what Dutch Excel writes


def _encoding_name(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16"}[encoding]


class _CsvFile(SignalFile):
    format = "csv"

    def __init__(self, data: BinaryIO, encoding: str, limits: ImportLimits) -> None:
        self._data = data
        self._encoding = encoding
        self._limits = limits
        records = self._records()
        try:
            header = next(records, None)
            if header is None:
                raise FileRefused("the file is empty", slug="empty-file")
            positions, self.unknown_columns = _map_header([name.strip() for name in header[1]])
            self._pick = _picker(positions)
            self._width = len(header[1])
            if not any(True for _ in records):
                raise FileRefused("the file has a header but no signals", slug="empty-file")
        finally:
            records.close()

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """(line where the record starts, fields) of each non-blank record, the header first."""
        text = _text_stream(self._data, self._encoding, bounded_lines=True)
        blank_lines = 0  # before the header
        reader = None
        try:
            header_line = text.readline(_MAX_HEADER_CHARS)
            while header_line and not header_line.strip():
                blank_lines += 1
                header_line = text.readline(_MAX_HEADER_CHARS)
            if not header_line:
                return
            if len(header_line) == _MAX_HEADER_CHARS:
                raise FileRefused("the first line is too long to be a header", slug="corrupt-file")
            reader = csv.reader(
                itertools.chain((header_line,), text), delimiter=_separator(header_line), skipinitialspace=True
            )
            line_before = 0
            for record in reader:
                start = line_before + 1 + blank_lines
                line_before = reader.line_num
                if "".join(record).strip():
                    yield start, record
        except UnicodeDecodeError:
            line = _line_of_first_undecodable(self._data, self._encoding)
            raise FileRefused(
                f"the file is not valid {_encoding_name(self._encoding)} near line {line}", slug="corrupt-file"
            ) from None
        except csv.Error as error:
            line = (reader.line_num if reader else 0) + blank_lines
            raise FileRefused(f"unreadable CSV near line {line}: {error}", slug="corrupt-file") from None

    def _read(self) -> Iterator[ParsedRow]:
        pick, width = self._pick, self._width
        padding = [""] * width
        records = self._records()
        next(records)  # the header
        for line, record in records:
            count = len(record)
            if count < width:
                record.extend(padding[count:])
            record.append("")
            parsed = _normalise_text(pick(record), line)
            if count > width and any(value.strip() for value in record[width:count]):
                # Usually an unquoted separator inside a value (1,50 in a comma file): every value
                # after it sits in the wrong column.
                reason = f"the row has {count} values but the header has {width} columns"
                parsed.errors.append(RowError(line, None, reason))
                parsed.signal = None
            yield parsed


def _line_of_first_undecodable(data: BinaryIO, encoding: str) -> int:
    """The text layer decodes ahead of the CSV reader, so its position says little: count again."""
    data.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    while chunk := data.read(_SNIFF_BYTES):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            return line + chunk.count(b"\n", 0, max(error.start, 0))
        line += chunk.count(b"\n")
    return line


def _text_encoding(head: bytes) -> str | None:
    """utf-8-sig when the first 64 KiB are UTF-8, cp1252 when they are not, None for binary."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    if _BINARY_BYTES.search(head):
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return None


# --------------------------------------------------------------------------- XLSX


class _XlsxFile(SignalFile):
    format = "xlsx"

    def __init__(self, data: BinaryIO, limits: ImportLimits) -> None:
        self._workbook = Workbook(data, limits=limits)
        self._limits = limits
        rows = self._workbook.rows()
        try:
            header = next(rows, None)
            if header is None:
                raise FileRefused("the workbook's first sheet is empty", slug="empty-file")
            names = [""] * max(header[1])
            for column, cell in header[1].items():
                names[column - 1] = "" if cell is None else _raw_text(cell).strip()
            if sum(map(len, names)) > _MAX_HEADER_CHARS:  # as for a CSV header: the report lists unknown names
                raise FileRefused("the first row is too long to be a header", slug="corrupt-file")
            positions, self.unknown_columns = _map_header(names)
            # Sheet column (A is 1) to place in CANONICAL order: the reader keeps no other cells.
            self._columns = {position + 1: CANONICAL.index(name) for name, position in positions.items()}
            if next(rows, None) is None:
                raise FileRefused("the workbook has a header but no signals", slug="empty-file")
        finally:
            rows.close()

    def _read(self) -> Iterator[ParsedRow]:
        rows = self._workbook.rows(self._columns, width=len(CANONICAL))
        next(rows)  # the header
        for number, values in rows:
            yield _normalise(values, number)


# --------------------------------------------------------------------------- DDAS JSON

_DDAS_ITEM_KEYS = frozenset(
    {"ID", "crisissignaal", "warmeOverdracht", "bedrag", "ontstaansdatum", "signaaldatum", "status"}
    | {"signaalpartner", "client"}
)
_DDAS_CLIENT_KEYS = {
    "burgerservicenummer": "bsn",
    "geslachtsaanduiding": "gender",
    "geboortedatum": "birth_date",
    "postcode": "postcode",
    "huisnummer": "house_number",
    "huisnummertoevoeging": "house_number_addition",
}


def _municipality_key(code: object) -> str:
    """0363, 363 and GM0363 (the CBS spelling) are one municipality."""
    text = str(code).strip().upper().removeprefix("GM")
    return text.zfill(4) if text.isdigit() else text


class _DdasJsonFile(SignalFile):
    format = "ddas-json"

    def __init__(self, data: BinaryIO, municipality_code: str, limits: ImportLimits) -> None:
        # The standard library has no streaming JSON parser, so the whole delivery is held in
        # memory, hence a size limit of its own (ImportLimits.json_bytes has the factors). CSV and
        # XLSX, the bulk formats of the platforms, stream.
        self._limits = limits
        size = data.seek(0, io.SEEK_END)
        if size > limits.json_bytes:
            raise FileRefused(
                f"a DDAS JSON delivery may take {limits.json_bytes:,} bytes, this one takes {size:,}: "
                "split it, or send the platform's CSV or XLSX export",
                slug="too-large-json",
            )
        text = _text_stream(data, "utf-8-sig")
        try:
            document = json.load(text)
        except UnicodeDecodeError:
            raise FileRefused("the JSON file is not valid UTF-8", slug="corrupt-file") from None
        except ValueError as error:  # json.JSONDecodeError; its message has a position, not content
            raise FileRefused(f"the file is not valid JSON: {error}", slug="corrupt-file") from None
        except RecursionError:
            raise FileRefused("the JSON is nested too deeply", slug="corrupt-file") from None
        self._items = _vroegsignalen(document, municipality_code)
        if not self._items:
            raise FileRefused("the delivery contains no vroegsignalen", slug="empty-file")
        if len(self._items) > limits.rows:
            raise _too_many_rows(limits.rows)
        unknown: dict[str, None] = {}
        for item in self._items:
            if isinstance(item, dict):
                unknown.update(dict.fromkeys(key for key in item if key not in _DDAS_ITEM_KEYS))
                client = item.get("client")
                if isinstance(client, dict):
                    unknown.update(dict.fromkeys(f"client.{key}" for key in client if key not in _DDAS_CLIENT_KEYS))
        self.unknown_columns = list(unknown)

    def _read(self) -> Iterator[ParsedRow]:
        for line, item in enumerate(self._items, start=1):
            yield _ddas_row(item, line)


def _vroegsignalen(document: object, municipality_code: str) -> list[object]:
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise FileRefused("the JSON is not a DDAS delivery: expected an object or a list", slug="unsupported-file-type")
    wanted = _municipality_key(municipality_code)
    if "leveringen" in document:
        deliveries = document["leveringen"]
        if not isinstance(deliveries, list) or not all(isinstance(d, dict) for d in deliveries):
            raise FileRefused("leveringen must be a list of objects", slug="corrupt-file")
        ours = [d for d in deliveries if _municipality_key(d.get("gemeentecode")) == wanted]
        if deliveries and not ours:
            codes = sorted({str(d.get("gemeentecode")) for d in deliveries})
            raise FileRefused(
                f"the delivery is for gemeentecode {', '.join(codes)}, not {municipality_code}",
                slug="wrong-municipality",
            )
        items: list[object] = []
        for delivery in ours:  # lines count on through several deliveries for one municipality
            signals = delivery.get("vroegsignalen", [])
            if not isinstance(signals, list):
                raise FileRefused("vroegsignalen must be a list", slug="corrupt-file")
            items.extend(signals)
        return items
    if "vroegsignalen" in document:
        if "gemeentecode" in document and _municipality_key(document["gemeentecode"]) != wanted:
            raise FileRefused(
                f"the delivery is for gemeentecode {document['gemeentecode']}, not {municipality_code}",
                slug="wrong-municipality",
            )
        signals = document["vroegsignalen"]
        if not isinstance(signals, list):
            raise FileRefused("vroegsignalen must be a list", slug="corrupt-file")
        return signals
    raise FileRefused(
        "the JSON is not a DDAS delivery: it has no leveringen or vroegsignalen", slug="unsupported-file-type"
    )


def _ddas_row(item: object, line: int) -> ParsedRow:
    if not isinstance(item, dict):
        return ParsedRow(
            line, dict.fromkeys(CANONICAL), None, [RowError(line, None, "the vroegsignaal is not a JSON object")]
        )
    partner = item.get("signaalpartner")
    client = item.get("client")
    values: dict[str, object] = {
        "signal_id": item.get("ID"),
        "amount": item.get("bedrag"),
        "arrears_since": item.get("ontstaansdatum"),
        "signal_date": item.get("signaaldatum"),
        "crisis": item.get("crisissignaal"),
        "warm_handover": item.get("warmeOverdracht"),
    }
    if isinstance(partner, dict):
        values["partner_type"] = partner.get("type")
    if isinstance(client, dict):
        for key, name in _DDAS_CLIENT_KEYS.items():
            values[name] = client.get(key)
    parsed = normalise_row(values, line=line)
    shape_errors = []
    if partner is not None and not isinstance(partner, dict):
        shape_errors.append(RowError(line, "partner_type", "signaalpartner must be an object with a type"))
    if client is not None and not isinstance(client, dict):
        shape_errors.append(RowError(line, None, "client must be an object"))
    if shape_errors:
        parsed.errors.extend(shape_errors)
        parsed.signal = None
    return parsed


# --------------------------------------------------------------------------- detection


def open_signal_file(
    data: BinaryIO, *, filename: str, municipality_code: str, limits: ImportLimits = ImportLimits()
) -> SignalFile:
    """Recognise the format by content (the file name is only a hint) and check the header.

    Raises FileRefused for a file that cannot be imported at all, or that is over one of `limits`;
    rows are checked while iterating (and counted: one too many is a FileRefused as well).
    """
    data.seek(0)
    head = data.read(_SNIFF_BYTES)
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not head.strip():
        raise FileRefused("the file is empty", slug="empty-file")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _XlsxFile(data, limits)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            "old Excel 97-2003 (.xls) files are not supported: save as .xlsx or CSV", slug="unsupported-file-type"
        )
    if head.startswith(b"%PDF"):
        raise FileRefused(
            "a PDF cannot be imported: use the platform's CSV, XLSX or DDAS JSON export", slug="unsupported-file-type"
        )
    text_start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not text_start:
        raise FileRefused("the file is empty", slug="empty-file")
    if text_start[:1] in (b"{", b"["):
        return _DdasJsonFile(data, municipality_code, limits)
    encoding = _text_encoding(head)
    if encoding is None:
        raise FileRefused(
            "the file is neither CSV text nor an xlsx workbook nor DDAS JSON", slug="unsupported-file-type"
        )
    if extension == "json":
        raise FileRefused("the file is named .json but is not valid JSON", slug="corrupt-file")
    if text_start[:1] == b"<":
        raise FileRefused(
            "HTML or XML cannot be imported: use the platform's CSV or XLSX export", slug="unsupported-file-type"
        )
    return _CsvFile(data, encoding, limits)


# --------------------------------------------------------------------------- one corrected field

_PARSER_OF = dict(_PARSERS)
CORRECTABLE = ("initials", "prefix", "surname", "birth_date", "gender", "street", "house_number",
               "house_number_addition", "postcode", "town")


def parse_field(name: str, value: object) -> object:
    """One personal field as intake reads it (the same rules, so a correction stores what an import
    would have): the normalised value, or ValueError with the reason (never quoting the value)."""
    if name not in CORRECTABLE:
        raise ValueError(f"{name} cannot be corrected")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise ValueError(f"{_EXPORT_NAME[name]} is empty (send null to clear it)")
    try:
        return _PARSER_OF[name](value)
    except _Invalid as problem:
        raise ValueError(problem.reason) from None
