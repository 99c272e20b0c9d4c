"""One row: its values checked and normalised into a SignalInput, or its RowErrors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from operator import gt, itemgetter
from typing import Any

from api.signals.limits import Overlong
from api.signals.parsing import values
from api.signals.parsing.columns import CANONICAL, TABLE
from api.signals.parsing.values import _Invalid, _raw_text
from api.signals.rules import is_valid_bsn


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
        self,
        line: int,
        raw: dict[str, str | None] | list[str | None],
        signal: SignalInput | None,
        errors: list[RowError],
    ) -> None:
        self.line = line
        self._raw = raw  # a list in CANONICAL order becomes the dictionary when first asked for
        self.signal = signal
        self.errors = errors

    @property
    def raw(self) -> dict[str, str | None]:
        if type(self._raw) is not dict:
            self._raw = dict(zip(CANONICAL, self._raw, strict=False))
        return self._raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedRow):
            return NotImplemented
        return (self.line, self.raw, self.signal, self.errors) == (other.line, other.raw, other.signal, other.errors)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ParsedRow(line={self.line!r}, raw={self.raw!r}, signal={self.signal!r}, errors={self.errors!r})"


assert len(fields(SignalInput)) == len(CANONICAL)  # SignalInput(*values in CANONICAL order)


# The table by position, as both paths index a row's values.
_PARSE = tuple(column.parse for column in TABLE)
_LIMITS = tuple(column.limit for column in TABLE)
_TOO_LONG = tuple(f"{column.export_name} is longer than {column.limit} characters" for column in TABLE)
_REQUIRED = tuple(
    (index, column.name, f"{column.export_name} is required") for index, column in enumerate(TABLE) if column.required
)
_I_CRISIS, _I_WARM_HANDOVER, _I_BSN, _I_HOUSE_NUMBER, _I_POSTCODE = map(
    CANONICAL.index, ("crisis", "warm_handover", "bsn", "house_number", "postcode")
)


def _cut(text: str, limit: int) -> str:
    """What a row keeps of a value: at most `limit` characters, and a mark where it was cut."""
    return text if len(text) <= limit else text[:limit] + "…"


_SETTERS = tuple(getattr(SignalInput, field.name).__set__ for field in fields(SignalInput))
_new = object.__new__


def _signal_input(values: Sequence[Any]) -> SignalInput:
    """SignalInput(*values), a third of the cost: the frozen dataclass's __init__ goes through
    object.__setattr__ per field, this sets the slots directly (the object is just as frozen)."""
    signal = _new(SignalInput)
    for setter, value in zip(_SETTERS, values):  # noqa: B905 (a keyword argument costs zip its fast call)
        setter(signal, value)
    return signal


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

    for index, name, reason in _REQUIRED:
        if raw[index] is None:
            errors.append(RowError(line, name, reason))
    # An invalid BSN is already an error of its own; only a row without any BSN needs the address.
    if raw[_I_BSN] is None and (out[_I_POSTCODE] is None or out[_I_HOUSE_NUMBER] is None):
        errors.append(RowError(line, None, "a signal needs a valid bsn, or a postcode and huisnummer"))
    if errors:
        return ParsedRow(line, raw, None, errors)
    out[_I_CRISIS] = out[_I_CRISIS] or False
    out[_I_WARM_HANDOVER] = out[_I_WARM_HANDOVER] or False
    return ParsedRow(line, raw, _signal_input(out), errors)


def normalise_row(values: Mapping[str, object], *, line: int) -> ParsedRow:
    """Check and normalise one row given by canonical column name; every problem becomes a RowError.

    Strings are stripped and an empty string counts as missing. Never raises for odd values.
    """
    return _normalise(list(map(values.get, CANONICAL)), line)


# The parsers the fast path calls for what it does not check inline.
(
    _parse_amount,
    _parse_arrears_since,
    _parse_signal_date,
    _parse_birth_date,
    _parse_postcode,
    _parse_phone,
    _parse_email,
) = (
    _PARSE[CANONICAL.index(name)]
    for name in ("amount", "arrears_since", "signal_date", "birth_date", "postcode", "phone", "email")
)
# The same for any column (values._for_any_column), and typed: the fast path keeps their types.
_parse_bsn = values._bsn
_parse_house_number = values._house_number
# Assigned, not imported: CPython compiles a method call on an imported name (_BOOLEANS.get(…)) as
# an attribute load and a call, a bound method made each time, and the fast path makes eight a row.
_PARTNER_BY_KEY = values._PARTNER_BY_KEY
_BOOLEANS = values._BOOLEANS
_GENDERS = values._GENDERS
_DATE_MEMO = values._DATE_MEMO
_CONTROL = values._CONTROL
# Only the unbounded columns can hold a valid value over its limit (Column.unbounded): the fast
# path checks those limits, and no other.
_pick_unbounded = itemgetter(*(index for index, column in enumerate(TABLE) if column.unbounded))
_UNBOUNDED_LIMITS = tuple(column.limit for column in TABLE if column.unbounded)


def _normalise_text(values: Sequence[str], line: int) -> ParsedRow:
    """_normalise for a row of strings (a CSV record), faster for the rows that are well-formed.

    A valid row in the common notations is checked here straight through; anything else (an
    invalid value, an unusual notation, a control character anywhere) goes to _normalise, which
    is the definition: the result is the same either way (tests/signals/test_parsing.py checks
    this on generated messy rows). It is the column table unrolled by hand, for speed: a change to
    a column's order, parser or requiredness is a change here too, which those tests hold to.
    """
    raw = [value.strip() or None for value in values]
    # In the table's order.
    (
        signal_id,
        partner,
        creditor,
        amount,
        arrears_since,
        signal_date,
        crisis,
        warm_handover,
        bsn,
        initials,
        prefix,
        surname,
        birth_date,
        gender,
        street,
        house_number,
        addition,
        postcode,
        town,
        phone,
        email,
    ) = raw
    if (
        signal_id is None
        or partner is None
        or signal_date is None
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
        crisis_flag: bool | None
        if crisis is None:
            crisis_flag = False
        elif (crisis_flag := _BOOLEANS.get(crisis.lower())) is None:
            raise _Invalid("crisis")
        warm_flag: bool | None
        if warm_handover is None:
            warm_flag = False
        elif (warm_flag := _BOOLEANS.get(warm_handover.lower())) is None:
            raise _Invalid("warm_handover")
        if bsn is not None and not (len(bsn) == 9 and is_valid_bsn(bsn)):
            bsn = _parse_bsn(bsn)
        if gender is not None and (gender := _GENDERS.get(gender.lower())) is None:
            raise _Invalid("gender")
        if house_number is None:
            number = None
        elif house_number.isdigit() and house_number.isascii() and len(house_number) <= 9:
            number = int(house_number)
            if not 1 <= number <= 99999:
                raise _Invalid("house_number")
        else:
            number = _parse_house_number(house_number)
        signal = _signal_input(
            (
                signal_id,
                partner_type,
                creditor,
                None if amount is None else _parse_amount(amount),
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
                None if postcode is None else _parse_postcode(postcode),
                town,
                None if phone is None else _parse_phone(phone),
                None if email is None else _parse_email(email),
            )
        )
    except _Invalid:
        return _normalise(values, line)
    return ParsedRow(line, raw, signal, [])
