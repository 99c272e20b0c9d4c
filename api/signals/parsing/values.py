"""The value parsers: one cell's text (or typed value) to the value a SignalInput holds, or _Invalid.

The column table (columns.py) names each column's parser by its ParserFor, which builds the parser
from the column's export name and limit.

Reasons never quote the offending value: the row's raw values travel alongside in ParsedRow,
and reasons end up in logs and audit trails where a BSN or a name must not appear.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from api.signals.rules import PARTNER_TYPES, is_valid_bsn

Parser = Callable[[Any], object]
ParserFor = Callable[[str, int], Parser]  # (the column's export name, its limit) -> the column's parser

_PARTNER_BY_KEY = {name.lower(): name for name in PARTNER_TYPES}


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


def text(column: str, limit: int) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = value if type(value) is str else _scalar_text(value, column)
        if len(text) > limit:
            raise _Invalid(f"{column} is longer than {limit} characters")
        if _CONTROL.search(text):
            raise _Invalid(f"{column} contains control characters")
        return text

    return parse


def upper_text(column: str, limit: int) -> Callable[[object], str]:
    parse_text = text(column, limit)

    def parse(value: object) -> str:
        return parse_text(value).upper()

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


def calendar_date(column: str, limit: int) -> Callable[[object], date]:
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


def flag(column: str, limit: int) -> Callable[[object], bool]:
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


def email(column: str, limit: int) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = (value if type(value) is str else _scalar_text(value, column)).lower()
        if len(text) > limit:
            raise _Invalid(f"{column} is longer than {limit} characters")
        if not _EMAIL.fullmatch(text):
            raise _Invalid(f"{column} must look like name@example.nl (one @, a dot in the domain, no spaces)")
        return text

    return parse


def _for_any_column(parse: Parser) -> ParserFor:
    """The ParserFor of a parser that is the same whatever its column: its reasons name the columns
    themselves (huisnummer's reason names huisnummertoevoeging too)."""
    return lambda column, limit: parse


partner_type = _for_any_column(_partner_type)
amount = _for_any_column(_amount)
bsn = _for_any_column(_bsn)
gender = _for_any_column(_gender)
house_number = _for_any_column(_house_number)
postcode = _for_any_column(_postcode)
phone = _for_any_column(_phone)
