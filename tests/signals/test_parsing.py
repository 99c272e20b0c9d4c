"""Reading the platforms' monthly signal files: CSV, XLSX and DDAS JSON as real exports deliver them."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from api.signals.parsing import (
    CANONICAL,
    COLUMNS,
    PARTNER_TYPES,
    FileRefused,
    ParsedRow,
    SignalInput,
    normalise_row,
    open_signal_file,
)
from api.signals.rules import is_valid_bsn

BSN = "111222333"
BSN_WITH_LEADING_ZERO = "012345672"
INVALID_BSN = "123456789"  # nine digits, fails the elfproef
assert is_valid_bsn(BSN) and is_valid_bsn(BSN_WITH_LEADING_ZERO) and is_valid_bsn("123456782")
assert not is_valid_bsn(INVALID_BSN)

HEADER = [
    "signaal_id",
    "signaalpartner_type",
    "schuldeiser",
    "bedrag",
    "ontstaansdatum",
    "signaaldatum",
    "crisissignaal",
    "warme_overdracht",
    "bsn",
    "voorletters",
    "voorvoegsel",
    "achternaam",
    "geboortedatum",
    "geslacht",
    "straat",
    "huisnummer",
    "huisnummertoevoeging",
    "postcode",
    "woonplaats",
    "telefoon",
    "email",
]
ROW = {
    "signaal_id": "VPS-2026-000123",
    "signaalpartner_type": "Huur",
    "schuldeiser": "Woonstad Rotterdam",
    "bedrag": "1.234,56",
    "ontstaansdatum": "01-09-2026",
    "signaaldatum": "2026-10-25",
    "crisissignaal": "nee",
    "warme_overdracht": "ja",
    "bsn": BSN,
    "voorletters": "J.",
    "voorvoegsel": "van der",
    "achternaam": "Berg",
    "geboortedatum": "12-03-1980",
    "geslacht": "Vrouw",
    "straat": "Lange Straat",
    "huisnummer": "12",
    "huisnummertoevoeging": "a",
    "postcode": "3011 ab",
    "woonplaats": "Rotterdam",
    "telefoon": "06-12345678",
    "email": "J.vanderBerg@Example.nl",
}
EXPECTED = SignalInput(
    external_id="VPS-2026-000123",
    partner_type="Huur",
    creditor_name="Woonstad Rotterdam",
    amount_cents=123456,
    arrears_since_date=date(2026, 9, 1),
    signal_date=date(2026, 10, 25),
    crisis=False,
    warm_handover=True,
    bsn=BSN,
    initials="J.",
    prefix="van der",
    surname="Berg",
    birth_date=date(1980, 3, 12),
    gender="V",
    street="Lange Straat",
    house_number=12,
    house_number_addition="A",
    postcode="3011AB",
    town="Rotterdam",
    phone="0612345678",
    email="j.vanderberg@example.nl",
)


def _quote(value: str, separator: str) -> str:
    if separator in value or '"' in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(rows: list[dict[str, str]], *, separator: str = ";", header: list[str] | None = None) -> str:
    header = header or HEADER
    lines = [separator.join(_quote(name, separator) for name in header)]
    lines += [separator.join(_quote(row.get(name, ""), separator) for name in header) for row in rows]
    return "\r\n".join(lines) + "\r\n"


def csv_file(rows: list[dict[str, str]], *, separator: str = ";", encoding: str = "utf-8", **kwargs) -> bytes:
    return csv_text(rows, separator=separator, **kwargs).encode(encoding)


def read(data: bytes, *, filename: str = "signalen.csv", municipality_code: str = "0363") -> list[ParsedRow]:
    return list(open_signal_file(io.BytesIO(data), filename=filename, municipality_code=municipality_code))


def refusal(data: bytes, *, filename: str = "signalen.csv", municipality_code: str = "0363") -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        read(data, filename=filename, municipality_code=municipality_code)
    return refused.value


def one_row(**changes: str) -> ParsedRow:
    [row] = read(csv_file([{**ROW, **changes}]))
    return row


def errors_by_column(row: ParsedRow) -> dict[str | None, str]:
    return {error.column: error.reason for error in row.errors}


# --------------------------------------------------------------------------- the interface


def test_the_vocabulary_matches_the_ddas_standard_and_the_brief():
    # The repository's copy of the schema (tests/reports/test_ddas.py keeps it equal to the shared one).
    schema = json.loads(
        (Path(__file__).resolve().parents[1] / "data" / "ddas" / "json_schema_Uitwisselmodel.v1.2.json").read_text(
            encoding="utf-8"
        )
    )
    assert set(schema["$defs"]["EnumSignaalpartner"]["enum"]) == PARTNER_TYPES
    assert CANONICAL[:3] == ("signal_id", "partner_type", "creditor") and len(CANONICAL) == 21
    assert {COLUMNS[name] for name in HEADER} == set(CANONICAL)
    assert all(COLUMNS[name] == name for name in CANONICAL)  # the English names are aliases too


# --------------------------------------------------------------------------- CSV


def test_a_clean_platform_export_gives_the_signal():
    [row] = read(csv_file([ROW]))
    assert row.errors == []
    assert row.signal == EXPECTED
    assert row.line == 2
    assert row.raw["amount"] == "1.234,56" and row.raw["postcode"] == "3011 ab"
    assert set(row.raw) == set(CANONICAL)


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_the_separator_is_sniffed_from_the_header(separator):
    quoted = {**ROW, "schuldeiser": "Eneco; Vattenfall, Essent", "bedrag": "1.234,56"}
    [row] = read(csv_file([quoted], separator=separator))
    assert row.errors == []
    assert row.signal.creditor_name == "Eneco; Vattenfall, Essent"
    assert row.signal.amount_cents == 123456


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("utf-16", b"")],
    ids=["utf-8", "utf-8 with BOM", "windows-1252", "utf-16 (Excel unicode text)"],
)
def test_utf8_with_or_without_bom_and_windows_1252_are_read(encoding, prefix):
    surname = "Müller-Françoise ë"
    creditor = "Energie € Direct"
    data = prefix + csv_text([{**ROW, "achternaam": surname, "schuldeiser": creditor}]).encode(encoding)
    [row] = read(data)
    assert row.errors == []
    assert (row.signal.surname, row.signal.creditor_name) == (surname, creditor)


def test_a_utf8_file_that_breaks_after_the_first_64_kib_is_refused_with_the_line():
    rows = [{**ROW, "signaal_id": f"VPS-{n}", "achternaam": "Müller"} for n in range(1000)]
    text = csv_text(rows).encode("utf-8")
    assert len(text) > 64 * 1024
    broken = text + csv_text([{**ROW, "achternaam": "M\xfcller"}]).encode("cp1252").split(b"\r\n", 1)[1]
    refused = refusal(broken)
    assert refused.slug == "corrupt-file"
    assert "not valid UTF-8 near line 1002" in refused.reason


def test_unquoted_separator_inside_a_value_makes_the_row_an_error_not_a_shifted_signal():
    text = (
        csv_text([ROW], separator=",").replace("1.234,56", "1234").replace("Woonstad Rotterdam", "Woonstad, Rotterdam")
    )
    [row] = read(text.encode())
    assert row.signal is None
    assert errors_by_column(row)[None] == "the row has 22 values but the header has 21 columns"


def test_trailing_separators_and_short_rows_are_fine():
    text = csv_text([ROW]).replace("\r\n", ";;\r\n")
    [row] = read(text.encode())
    assert row.signal == EXPECTED
    short = ";".join(HEADER) + "\r\nVPS-1;Huur;;;;2026-10-25;;;" + BSN + "\r\n"
    [row] = read(short.encode())
    assert row.errors == [] and row.signal.bsn == BSN and row.signal.email is None


def test_line_numbers_are_as_a_person_sees_them_in_the_file():
    text = csv_text([ROW, {**ROW, "straat": "Lange\nStraat"}, ROW])
    text = text.replace("\r\nVPS", "\r\n\r\nVPS", 1)  # a blank line before the first data row
    rows = read(text.encode())
    assert [row.line for row in rows] == [3, 4, 6]
    assert rows[1].signal.street == "Lange\nStraat"


def test_blank_lines_before_the_header_are_skipped_and_counted():
    rows = read(b"\r\n\r\n" + csv_file([ROW, ROW]))
    assert [row.line for row in rows] == [4, 5]


def test_headers_in_any_case_with_spaces_and_english_aliases_are_recognised():
    aliases = ["SIGNAL_ID", " Partner_Type ", "Warme overdracht", "signal_date", "BSN", "Onbekend", "extra kolom"]
    row = {"SIGNAL_ID": "S-1", " Partner_Type ": "zorg", "Warme overdracht": "j", "signal_date": "1-2-2026", "BSN": BSN}
    signal_file = open_signal_file(
        io.BytesIO(csv_file([row], header=aliases)), filename="x.csv", municipality_code="0363"
    )
    assert signal_file.format == "csv"
    assert signal_file.unknown_columns == ["Onbekend", "extra kolom"]
    [parsed] = signal_file
    assert parsed.signal.partner_type == "Zorg" and parsed.signal.warm_handover is True
    assert parsed.signal.signal_date == date(2026, 2, 1)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["bsn", "bedrag"], "signaal_id, signaalpartner_type, signaaldatum"),
        (["signaal_id", "bsn", "signaaldatum"], "signaalpartner_type"),
    ],
)
def test_a_header_without_the_required_columns_is_refused_naming_them(header, missing):
    refused = refusal(csv_file([{}], header=header))
    assert refused.slug == "missing-columns"
    assert refused.reason.startswith(f"missing required columns: {missing}")


def test_a_header_without_bsn_or_address_columns_is_refused():
    refused = refusal(csv_file([ROW], header=["signaal_id", "signaalpartner_type", "signaaldatum", "postcode"]))
    assert refused.slug == "missing-columns"
    assert "bsn, or postcode and huisnummer" in refused.reason


def test_a_field_named_twice_is_refused_rather_than_guessed():
    refused = refusal(csv_file([ROW], header=[*HEADER, "signal_date"]))
    assert refused.slug == "duplicate-columns"
    assert "signal_date" in refused.reason


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n\r\n",
        b"\xef\xbb\xbf",
        (";".join(HEADER) + "\r\n").encode(),
        (";".join(HEADER) + "\r\n;;;\r\n\r\n").encode(),
    ],
    ids=["zero bytes", "blank lines", "only a BOM", "header only", "header and empty rows"],
)
def test_a_file_without_signals_is_refused_as_empty(data):
    assert refusal(data).slug == "empty-file"


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, content in files.items():
            package.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "slug"),
    [
        (PNG, "signalen.csv", "unsupported-file-type"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "signalen.pdf", "unsupported-file-type"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "signalen.xls", "unsupported-file-type"),
        (bytes(range(256)) * 4, "signalen.csv", "unsupported-file-type"),
        (_zip({"signalen.csv": b"a;b"}), "signalen.zip", "unsupported-file-type"),
        (b"<html><table><tr><td>signaal_id</td></tr></table></html>", "signalen.xls", "unsupported-file-type"),
        (b"PK\x03\x04" + bytes(200), "signalen.xlsx", "corrupt-file"),
        (b'{"vroegsignalen": [', "signalen.json", "corrupt-file"),
        (b"[{]", "signalen.json", "corrupt-file"),
        (b"signaal_id;bsn\r\n1;2\r\n", "signalen.json", "corrupt-file"),
    ],
    ids=[
        "png",
        "pdf",
        "old xls",
        "binary junk",
        "zip of csv",
        "html as xls",
        "zip junk",
        "truncated json",
        "bad json",
        "csv named json",
    ],
)
def test_files_that_are_not_signal_files_are_refused(data, filename, slug):
    assert refusal(data, filename=filename).slug == slug


def test_iterating_twice_reads_the_same_rows_and_leaves_the_upload_open():
    upload = io.BytesIO(csv_file([ROW, {**ROW, "bsn": INVALID_BSN}]))
    signal_file = open_signal_file(upload, filename="x.csv", municipality_code="0363")
    first, second = list(signal_file), list(signal_file)
    assert first == second and len(first) == 2
    assert not upload.closed


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-25", date(2026, 10, 25)),
        ("25-10-2026", date(2026, 10, 25)),
        ("5-1-2026", date(2026, 1, 5)),
        ("05/01/2026", date(2026, 1, 5)),
        ("2026/01/05", date(2026, 1, 5)),
        ("2026-10-25T00:00:00", date(2026, 10, 25)),
        ("25-10-2026 00:00", date(2026, 10, 25)),
        ("29-02-2024", date(2024, 2, 29)),
        ("1900-01-01", date(1900, 1, 1)),
    ],
)
def test_dates_are_read_as_iso_or_dutch_day_month_year(text, expected):
    assert one_row(signaaldatum=text).signal.signal_date == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31-02-2026", "signaaldatum is not an existing calendar date"),
        ("2026-13-01", "signaaldatum is not an existing calendar date"),
        ("29-02-2025", "signaaldatum is not an existing calendar date"),
        ("31-12-1899", "signaaldatum is before 1900"),
        ("25.10.2026", "signaaldatum must be a date as YYYY-MM-DD or DD-MM-YYYY"),
        ("25-10-26", "signaaldatum must be a date as YYYY-MM-DD or DD-MM-YYYY"),
        ("25-10/2026", "signaaldatum must be a date as YYYY-MM-DD or DD-MM-YYYY"),
        ("oktober 2026", "signaaldatum must be a date as YYYY-MM-DD or DD-MM-YYYY"),
    ],
)
def test_impossible_or_unreadable_dates_are_errors(text, reason):
    row = one_row(signaaldatum=text)
    assert row.signal is None
    assert errors_by_column(row) == {"signal_date": reason}


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1234", 123400),
        ("1234.56", 123456),
        ("1.234,56", 123456),
        ("1234,56", 123456),
        ("€ 1.234,56", 123456),
        ("€1.234,56", 123456),
        ("1,234.56", 123456),
        ("1.234", 123400),
        ("1.234.567,8", 123456780),
        ("€ 1.234,-", 123400),
        ("1234,5", 123450),
        ("0,05", 5),
        ("0,125", 13),
        ("0,1249", 12),
        ("12.345", 1234500),
        ("1234.565", 123457),
        ("EUR 99", 9900),
        ("0", 0),
    ],
)
def test_amounts_in_every_export_style_are_stored_in_cents(text, cents):
    assert one_row(bedrag=text).signal.amount_cents == cents


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-12,50", "bedrag must not be negative"),
        ("€ -12", "bedrag must not be negative"),
        ("12-", "bedrag must not be negative"),
        ("12,50 euro's", "bedrag must be an amount like 1234, 1234,56, 1.234,56 or 1,234.56"),
        ("1.234.56", "bedrag must be an amount like 1234, 1234,56, 1.234,56 or 1,234.56"),
        ("1,23,456", "bedrag must be an amount like 1234, 1234,56, 1.234,56 or 1,234.56"),
        ("twaalf", "bedrag must be an amount like 1234, 1234,56, 1.234,56 or 1,234.56"),
        ("€", "bedrag must be an amount like 1234, 1234,56, 1.234,56 or 1,234.56"),
        ("9999999999999", "bedrag is over € 1,000,000,000, which cannot be an arrear"),
    ],
)
def test_negative_and_unreadable_amounts_are_errors(text, reason):
    assert errors_by_column(one_row(bedrag=text)) == {"amount": reason}


def test_the_amount_is_optional():
    assert one_row(bedrag="").signal.amount_cents is None


@pytest.mark.parametrize("text", ["ja", "JA", "Ja", "j", "true", "TRUE", "1", "yes", "waar", "Waar"])
def test_yes_words_are_true(text):
    signal = one_row(crisissignaal=text, warme_overdracht=text).signal
    assert (signal.crisis, signal.warm_handover) == (True, True)


@pytest.mark.parametrize("text", ["nee", "NEE", "n", "false", "False", "0", "no", "onwaar", ""])
def test_no_words_and_empty_are_false(text):
    signal = one_row(crisissignaal=text, warme_overdracht=text).signal
    assert (signal.crisis, signal.warm_handover) == (False, False)


def test_an_unreadable_flag_is_an_error():
    assert errors_by_column(one_row(crisissignaal="misschien")) == {
        "crisis": "crisissignaal must be ja or nee (or true/false, 1/0, j/n, yes/no, waar/onwaar)"
    }


@pytest.mark.parametrize("text", ["1234AB", "1234 ab", " 1234  Ab ", "1234\tAB"])
def test_postcodes_are_written_without_space_in_capitals(text):
    assert one_row(postcode=text).signal.postcode == "1234AB"


@pytest.mark.parametrize("text", ["0123AB", "1234A", "12345", "ABCD12", "1234ABC", "1234 Å B"])
def test_malformed_postcodes_are_errors(text):
    row = one_row(postcode=text)
    assert errors_by_column(row) == {
        "postcode": "postcode must be 4 digits (the first not 0) and 2 letters, like 1234 AB"
    }


@pytest.mark.parametrize(
    ("text", "partner_type"),
    [
        ("huur", "Huur"),
        ("HUUR", "Huur"),
        ("cak zorgverzekeringen", "CAK Zorgverzekeringen"),
        ("Cak  Eigen Bijdrage", "CAK Eigen bijdrage"),
        ("duo", "DUO"),
        ("dienst toeslagen", "Dienst Toeslagen"),
        ("Energie", "Energie"),
    ],
)
def test_partner_types_are_matched_to_the_ddas_spelling(text, partner_type):
    assert one_row(signaalpartner_type=text).signal.partner_type == partner_type


@pytest.mark.parametrize("text", ["Huurder", "Woningcorporatie", "CAK"])
def test_an_unknown_partner_type_is_an_error(text):
    assert set(errors_by_column(one_row(signaalpartner_type=text))) == {"partner_type"}


@pytest.mark.parametrize(
    ("text", "gender"),
    [
        ("M", "M"),
        ("man", "M"),
        ("Male", "M"),
        ("V", "V"),
        ("vrouw", "V"),
        ("F", "V"),
        ("female", "V"),
        ("O", "O"),
        ("Onbekend", "O"),
        ("X", "O"),
        ("Leeg", "O"),
        ("unknown", "O"),
    ],
)
def test_gender_is_m_v_or_o(text, gender):
    assert one_row(geslacht=text).signal.gender == gender


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("06-12345678", "0612345678"),
        ("0612345678", "0612345678"),
        ("+31 6 1234 5678", "+31612345678"),
        ("+31 (0)6 1234 5678", "+31612345678"),
        ("(010) 123 45 67", "0101234567"),
    ],
)
def test_phone_numbers_keep_digits_and_a_leading_plus(text, phone):
    assert one_row(telefoon=text).signal.phone == phone


@pytest.mark.parametrize("text", ["1234567", "0612345678901234", "06-1234567 mobiel", "06+12345678"])
def test_phone_numbers_with_too_few_or_too_many_digits_or_words_are_errors(text):
    assert set(errors_by_column(one_row(telefoon=text))) == {"phone"}


@pytest.mark.parametrize("text", ["a@b", "a b@c.nl", "a@@c.nl", "@c.nl", "a@.nl", "a@c.", "geen"])
def test_implausible_email_addresses_are_errors(text):
    assert set(errors_by_column(one_row(email=text))) == {"email"}


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"signaal_id": "x" * 101}, "signal_id", "signaal_id is longer than 100 characters"),
        ({"schuldeiser": "x" * 201}, "creditor", "schuldeiser is longer than 200 characters"),
        ({"voorletters": "x" * 21}, "initials", "voorletters is longer than 20 characters"),
        ({"voorvoegsel": "x" * 21}, "prefix", "voorvoegsel is longer than 20 characters"),
        ({"achternaam": "x" * 201}, "surname", "achternaam is longer than 200 characters"),
        ({"straat": "x" * 201}, "street", "straat is longer than 200 characters"),
        ({"woonplaats": "x" * 101}, "town", "woonplaats is longer than 100 characters"),
        ({"email": "x" * 250 + "@b.nl"}, "email", "email is longer than 254 characters"),
        (
            {"huisnummertoevoeging": "x" * 11},
            "house_number_addition",
            "huisnummertoevoeging is longer than 10 characters",
        ),
    ],
)
def test_values_over_their_length_cap_are_errors(changes, column, reason):
    assert errors_by_column(one_row(**changes)) == {column: reason}


def test_control_characters_in_text_are_errors():
    row = normalise_row({**{COLUMNS[name]: value for name, value in ROW.items()}, "surname": "Berg\x00"}, line=2)
    assert errors_by_column(row) == {"surname": "achternaam contains control characters"}


def test_values_at_their_length_cap_are_accepted():
    signal = one_row(
        signaal_id="x" * 100, achternaam="x" * 200, woonplaats="x" * 100, huisnummertoevoeging="bis 2 hoog"
    ).signal
    assert signal is not None and signal.house_number_addition == "BIS 2 HOOG"


@pytest.mark.parametrize(("text", "number"), [("1", 1), ("12", 12), (" 99999 ", 99999), ("012", 12)])
def test_house_numbers_are_whole_numbers_from_1_to_99999(text, number):
    assert one_row(huisnummer=text).signal.house_number == number


@pytest.mark.parametrize("text", ["0", "100000", "12a", "12-14", "-3", "twaalf"])
def test_other_house_numbers_are_errors(text):
    assert set(errors_by_column(one_row(huisnummer=text))) == {"house_number"}


def test_an_eight_digit_bsn_lost_its_leading_zero_and_gets_it_back():
    assert one_row(bsn=BSN_WITH_LEADING_ZERO[1:]).signal.bsn == BSN_WITH_LEADING_ZERO


def test_a_bsn_failing_the_elfproef_is_an_error_even_with_an_address():
    row = one_row(bsn=INVALID_BSN)
    assert row.signal is None
    assert errors_by_column(row) == {"bsn": "bsn fails the elfproef (eleven test), so it is not a BSN"}


def test_an_address_identifies_the_household_when_there_is_no_bsn():
    signal = one_row(bsn="").signal
    assert signal.bsn is None and (signal.postcode, signal.house_number) == ("3011AB", 12)


@pytest.mark.parametrize("changes", [{"postcode": ""}, {"huisnummer": ""}, {"postcode": "", "huisnummer": ""}])
def test_a_signal_without_bsn_and_without_a_full_address_is_an_error(changes):
    row = one_row(bsn="", **changes)
    assert errors_by_column(row) == {None: "a signal needs a valid bsn, or a postcode and huisnummer"}


@pytest.mark.parametrize("column", ["signaal_id", "signaalpartner_type", "signaaldatum"])
def test_required_values_are_reported_missing(column):
    row = one_row(**{column: "  "})
    assert [error.reason for error in row.errors] == [f"{column} is required"]


def test_all_problems_of_a_row_are_reported_together():
    row = one_row(
        signaal_id="",
        signaalpartner_type="Huurder",
        bedrag="-5",
        signaaldatum="31-02-2026",
        bsn=INVALID_BSN,
        postcode="0000",
        huisnummer="nul",
        geslacht="?",
        email="geen",
    )
    assert row.signal is None
    assert {error.column for error in row.errors} == {
        "signal_id",
        "partner_type",
        "amount",
        "signal_date",
        "bsn",
        "postcode",
        "house_number",
        "gender",
        "email",
    }
    assert all(error.line == 2 for error in row.errors)


@pytest.mark.parametrize("bsn", [INVALID_BSN, "11122233", "1112223334", "111 222 33x", BSN[::-1]])
def test_a_bsn_is_never_echoed_in_an_error(bsn):
    row = one_row(bsn=bsn, signaalpartner_type=bsn, bedrag=bsn + "x", huisnummer=bsn, email=bsn, postcode="")
    assert row.errors
    digits = bsn.replace(" ", "")
    assert not any(bsn in error.reason or digits in error.reason for error in row.errors)


def test_typed_values_from_spreadsheets_and_json_are_normalised():
    row = normalise_row(
        {
            "signal_id": 4711,
            "partner_type": "Water",
            "amount": 1234.565,
            "signal_date": datetime(2026, 10, 25, 0, 0),
            "arrears_since": date(2026, 8, 1),
            "crisis": True,
            "warm_handover": 0,
            "bsn": int(BSN_WITH_LEADING_ZERO),
            "house_number": 12.0,
            "house_number_addition": 2,
            "postcode": "3011ab",
        },
        line=7,
    )
    assert row.errors == []
    signal = row.signal
    assert (signal.external_id, signal.amount_cents, signal.signal_date, signal.arrears_since_date) == (
        "4711",
        123457,
        date(2026, 10, 25),
        date(2026, 8, 1),
    )
    assert (signal.crisis, signal.warm_handover, signal.bsn, signal.house_number, signal.house_number_addition) == (
        True,
        False,
        BSN_WITH_LEADING_ZERO,
        12,
        "2",
    )
    assert row.raw["signal_date"] == "2026-10-25" and row.raw["crisis"] == "true" and row.raw["house_number"] == "12"


def test_odd_typed_values_are_errors_not_crashes():
    row = normalise_row(
        {
            "signal_id": ["a"],
            "partner_type": 3,
            "signal_date": 46000,
            "amount": True,
            "crisis": 2,
            "bsn": -1,
            "postcode": 1234,
        },
        line=1,
    )
    assert {error.column for error in row.errors} >= {
        "signal_id",
        "partner_type",
        "signal_date",
        "amount",
        "crisis",
        "bsn",
        "postcode",
    }


# --------------------------------------------------------------------------- XLSX


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.create_sheet("Toelichting").append(["not read"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_round_trip_normalises_typed_cells():
    header = [
        "Signaal_ID",
        "signaalpartner_type",
        "bedrag",
        "signaaldatum",
        "crisissignaal",
        "bsn",
        "huisnummer",
        "postcode",
        "Opmerking",
    ]
    data = workbook(
        [
            header,
            ["VPS-1", "huur", 1234.56, datetime(2026, 10, 25), True, int(BSN_WITH_LEADING_ZERO), 12, "3011 ab", "x"],
            [None, None, None, None, None, None, None, None, None],
            ["VPS-2", "Energie", 250, "25-10-2026", "nee", None, 12.0, 3011, None],
            ["VPS-3", "Water", "€ 12,50", date(2026, 10, 1), None, None, 7, "1234AB", None],
        ]
    )
    signal_file = open_signal_file(io.BytesIO(data), filename="export.xlsx", municipality_code="0363")
    assert signal_file.format == "xlsx"
    assert signal_file.unknown_columns == ["Opmerking"]
    first, second, third = signal_file
    assert first.line == 2 and first.errors == []
    assert (first.signal.amount_cents, first.signal.signal_date, first.signal.crisis, first.signal.bsn) == (
        123456,
        date(2026, 10, 25),
        True,
        BSN_WITH_LEADING_ZERO,
    )
    assert (first.signal.house_number, first.signal.postcode) == (12, "3011AB")
    assert second.line == 4  # the sheet row number; the empty row 3 is skipped
    assert second.raw["postcode"] == "3011" and second.raw["house_number"] == "12"
    assert errors_by_column(second) == {
        "postcode": "postcode must be 4 digits (the first not 0) and 2 letters, like 1234 AB",
        None: "a signal needs a valid bsn, or a postcode and huisnummer",
    }
    assert third.line == 5 and third.signal.amount_cents == 1250 and third.signal.signal_date == date(2026, 10, 1)


def test_an_xlsx_with_only_a_header_is_empty():
    assert refusal(workbook([HEADER]), filename="x.xlsx").slug == "empty-file"
    assert refusal(workbook([]), filename="x.xlsx").slug == "empty-file"


def test_an_xlsx_without_required_columns_is_refused():
    refused = refusal(workbook([["naam", "bsn"], ["Berg", BSN]]), filename="x.xlsx")
    assert refused.slug == "missing-columns"


def test_a_truncated_xlsx_is_corrupt():
    data = workbook([HEADER, list(ROW.values())])
    assert refusal(data[: len(data) // 2], filename="x.xlsx").slug == "corrupt-file"


def test_an_xlsx_whose_sheet_is_damaged_is_corrupt():
    data = workbook([HEADER, list(ROW.values())])
    with zipfile.ZipFile(io.BytesIO(data)) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:-40]
    assert refusal(_zip(parts), filename="x.xlsx").slug == "corrupt-file"


def test_content_decides_the_format_not_the_file_name():
    assert read(workbook([HEADER, list(ROW.values())]), filename="signalen.csv")[0].signal == EXPECTED
    assert read(csv_file([ROW]), filename="signalen.xlsx")[0].signal == EXPECTED


# --------------------------------------------------------------------------- DDAS JSON


def ddas_signal(**changes: object) -> dict[str, object]:
    return {
        "ID": "RIS-778",
        "crisissignaal": True,
        "warmeOverdracht": False,
        "bedrag": 250,
        "ontstaansdatum": "2026-08-01",
        "signaaldatum": "2026-10-26",
        "status": "Nog niet opgepakt",
        "signaalpartner": {"type": "Zorg"},
        "client": {"burgerservicenummer": BSN, "geslachtsaanduiding": "Man", "geboortedatum": "1975-06-30"},
        **changes,
    }


def delivery(*leveringen: tuple[str, list[object]]) -> bytes:
    document = {
        "startdatumLevering": "2026-10-01",
        "einddatumLevering": "2026-10-31",
        "aanleverdatumEnTijd": "2026-11-01T08:00:00Z",
        "codeGegevensleverancier": "RIS",
        "leveringen": [
            {
                "teller": n,
                "gemeentecode": code,
                "aanleverendeOrganisatie": {"naam": "Gemeente"},
                "vroegsignalen": signals,
            }
            for n, (code, signals) in enumerate(leveringen, start=1)
        ],
    }
    return json.dumps(document).encode()


def test_a_ddas_delivery_gives_the_signals_of_this_municipality():
    data = delivery(("0344", [ddas_signal(ID="other")]), ("0363", [ddas_signal(), ddas_signal(ID="RIS-779")]))
    signal_file = open_signal_file(io.BytesIO(data), filename="levering.json", municipality_code="0363")
    assert signal_file.format == "ddas-json" and signal_file.unknown_columns == []
    first, second = signal_file
    assert first.line == 1 and second.line == 2 and second.signal.external_id == "RIS-779"
    assert first.signal == SignalInput(
        external_id="RIS-778",
        partner_type="Zorg",
        creditor_name=None,
        amount_cents=25000,
        arrears_since_date=date(2026, 8, 1),
        signal_date=date(2026, 10, 26),
        crisis=True,
        warm_handover=False,
        bsn=BSN,
        initials=None,
        prefix=None,
        surname=None,
        birth_date=date(1975, 6, 30),
        gender="M",
        street=None,
        house_number=None,
        house_number_addition=None,
        postcode=None,
        town=None,
        phone=None,
        email=None,
    )


def test_a_ddas_delivery_for_another_municipality_is_refused():
    refused = refusal(delivery(("0344", [ddas_signal()])), filename="levering.json")
    assert refused.slug == "wrong-municipality"
    assert "0344" in refused.reason


def test_the_cbs_spelling_of_the_municipality_code_matches():
    assert len(read(delivery(("GM0363", [ddas_signal()])), filename="levering.json")) == 1


@pytest.mark.parametrize(
    "document",
    [{"vroegsignalen": [ddas_signal()]}, [ddas_signal()], {"gemeentecode": "0363", "vroegsignalen": [ddas_signal()]}],
    ids=["vroegsignalen object", "bare list", "one levering"],
)
def test_ddas_signals_without_the_delivery_envelope_are_accepted(document):
    [row] = read(b"\xef\xbb\xbf  \n" + json.dumps(document).encode(), filename="x.json")
    assert row.signal.bsn == BSN


def test_a_ddas_item_that_is_not_an_object_is_a_row_error():
    rows = read(json.dumps({"vroegsignalen": [ddas_signal(), "RIS-9", ddas_signal(client="nobody")]}).encode())
    assert [row.line for row in rows] == [1, 2, 3]
    assert rows[0].signal is not None
    assert errors_by_column(rows[1]) == {None: "the vroegsignaal is not a JSON object"}
    assert "client must be an object" in [error.reason for error in rows[2].errors]


def test_a_ddas_client_identified_by_address_and_unknown_fields_listed():
    client = {
        "postcode": "1234 ab",
        "huisnummer": "7",
        "huisnummertoevoeging": "b",
        "geslachtsaanduiding": "Leeg",
        "naam": "x",
    }
    data = json.dumps([ddas_signal(client=client, extra=1)]).encode()
    signal_file = open_signal_file(io.BytesIO(data), filename="x.json", municipality_code="0363")
    assert signal_file.unknown_columns == ["extra", "client.naam"]
    [row] = signal_file
    assert (row.signal.postcode, row.signal.house_number, row.signal.house_number_addition, row.signal.gender) == (
        "1234AB",
        7,
        "B",
        "O",
    )


@pytest.mark.parametrize(
    ("document", "slug"),
    [
        ({"leveringen": []}, "empty-file"),
        ({"vroegsignalen": []}, "empty-file"),
        ({"zaken": []}, "unsupported-file-type"),
        ({"vroegsignalen": "alle"}, "corrupt-file"),
        ({"gemeentecode": "0344", "vroegsignalen": [ddas_signal()]}, "wrong-municipality"),
    ],
)
def test_ddas_documents_without_usable_signals_are_refused(document, slug):
    assert refusal(json.dumps(document).encode(), filename="x.json").slug == slug


# --------------------------------------------------------------------------- properties


def _grouped(cents: int, thousands: str, decimal: str) -> str:
    return f"{cents // 100:,}".replace(",", thousands) + f"{decimal}{cents % 100:02d}"


@given(st.integers(min_value=0, max_value=99_999_999_999))
def test_amounts_written_as_platforms_do_read_back_to_the_same_cents(cents):
    assert one_row(bedrag=f"{cents // 100}.{cents % 100:02d}").signal.amount_cents == cents
    assert one_row(bedrag=_grouped(cents, ".", ",")).signal.amount_cents == cents
    assert one_row(bedrag=_grouped(cents, ",", ".")).signal.amount_cents == cents
    assert one_row(bedrag=f"{cents // 100}").signal.amount_cents == cents // 100 * 100


@given(st.dates(min_value=date(1900, 1, 1)))
def test_dates_written_either_way_read_back(day):
    for text in (day.isoformat(), day.strftime("%d-%m-") + str(day.year), f"{day.day}/{day.month}/{day.year}"):
        assert one_row(signaaldatum=text).signal.signal_date == day


@given(st.dictionaries(st.sampled_from(CANONICAL), st.text()))
def test_normalise_row_turns_any_text_into_a_signal_or_errors_never_an_exception(values):
    row = normalise_row(values, line=9)
    assert (row.signal is None) == bool(row.errors)
    assert all(error.line == 9 and (error.column is None or error.column in CANONICAL) for error in row.errors)
    bsn = (values.get("bsn") or "").strip()
    if len(bsn) >= 8 and bsn.isdigit():
        assert not any(bsn in error.reason for error in row.errors)


@given(st.binary(max_size=300), st.sampled_from(["signalen.csv", "signalen.xlsx", "levering.json", "download"]))
def test_any_bytes_are_read_or_refused_never_a_crash(data, filename):
    try:
        read(data, filename=filename)
    except FileRefused as refused:
        assert refused.slug in {
            "empty-file",
            "unsupported-file-type",
            "corrupt-file",
            "missing-columns",
            "duplicate-columns",
        }


# --------------------------------------------------------------------------- the fast path for CSV rows

# Per column: values in the notations platforms use (valid, the fast path's own ground), then near
# misses and noise (which must end up in _normalise, the definition). Valid values are drawn far
# more often, so that many generated rows are valid throughout and both paths are compared on them.
_MESSY = {
    "signal_id": (["VPS-1", " VPS-2 ", "x" * 100], ["x" * 101, "a\x07b", ""]),
    "partner_type": (["Huur", "huur", "ZORG", "cak eigen bijdrage"], ["CAK  Eigen bijdrage", "Bakker", ""]),
    "creditor": (["Ymere", "y" * 200, ""], ["y" * 201, "Eneco\x0b"]),
    "amount": (["1234", "1234.56", "1.234,56", "1,234.56", "€ 12,-", "12,345", "0,005", ""], ["-5", "1e3"]),
    "arrears_since": (["2026-01-31", "31-01-2026", "1/2/2026", ""], ["2026-02-30", "1899-12-31", "gister"]),
    "signal_date": (["2026-10-01", "01-10-2026", "2026-10-01T10:00:00Z"], ["10-2026", ""]),
    "crisis": (["ja", "Nee", "TRUE", "0", "j", ""], ["misschien"]),
    "warm_handover": (["nee", "Ja", "1", "waar", ""], ["2"]),
    "bsn": (
        [BSN, BSN_WITH_LEADING_ZERO, "12345672", "111.222.333", "111 222 333", ""],
        [INVALID_BSN, "١١١٢٢٢٣٣٣", "1234"],
    ),
    "initials": (["A.", ""], ["a" * 21]),
    "prefix": (["van der", ""], ["v" * 21]),
    "surname": (["Jansen", ""], ["z" * 201]),
    "birth_date": (["1970-05-04", "4-5-1970", ""], ["1970-13-01"]),
    "gender": (["M", "v", "Vrouw", "onbekend", ""], ["q"]),
    "street": (["Dorpsstraat", ""], ["s" * 201]),
    "house_number": (["12", "012", "99999", ""], ["0", "100000", "12a", "１２", "1234567890"]),
    "house_number_addition": (["a", "bis", "ß", ""], ["a" * 11]),
    "postcode": (["1234AB", "1234 ab", " 1234  AB ", ""], ["0123AB", "1234A"]),
    "town": (["Amsterdam", ""], ["t" * 101]),
    "phone": (["0612345678", "+31 (0)6 1234 5678", ""], ["06-12", "bel me"]),
    "email": (["a@b.nl", "A@B.NL", ""], ["geen", "a@@b.nl"]),
}
assert set(_MESSY) == set(CANONICAL)


def _messy(valid: list[str], invalid: list[str]) -> st.SearchStrategy[str]:
    # 1 in 25 a near miss, 1 in 25 any text, else a valid notation.
    return st.tuples(st.integers(0, 24), st.sampled_from(valid), st.sampled_from(invalid), st.text(max_size=12)).map(
        lambda drawn: (drawn[2], drawn[3])[drawn[0]] if drawn[0] < 2 else drawn[1]
    )


@given(
    st.fixed_dictionaries({name: _messy(*values) for name, values in _MESSY.items()}),
    st.sampled_from(["", " ", "  ", "\t"]),
)
def test_the_fast_csv_path_gives_what_the_definition_gives(values, padding):
    from api.signals.parsing.rows import _normalise, _normalise_text

    record = tuple(padding + values[name] + padding for name in CANONICAL)
    fast, slow = _normalise_text(record, 7), _normalise(record, 7)
    assert (fast.signal, fast.errors, fast.raw, fast.line) == (slow.signal, slow.errors, slow.raw, slow.line)


@given(
    st.fixed_dictionaries({name: st.sampled_from(valid) for name, (valid, _) in _MESSY.items()}),
    st.sampled_from(CANONICAL).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from(_MESSY[name][1]) | st.text(max_size=12))
    ),
)
def test_the_fast_csv_path_agrees_on_a_valid_row_spoilt_in_one_place(values, spoilt):
    from api.signals.parsing.rows import _normalise, _normalise_text

    name, value = spoilt
    record = tuple(value if column == name else values[column] for column in CANONICAL)
    fast, slow = _normalise_text(record, 3), _normalise(record, 3)
    assert (fast.signal, fast.errors, fast.raw) == (slow.signal, slow.errors, slow.raw)


def test_the_fast_csv_path_takes_a_plain_valid_row_without_the_definition(monkeypatch):
    from api.signals.parsing import rows

    record = tuple(ROW[exported] for exported in HEADER)
    expected = rows._normalise(record, 2)
    monkeypatch.setattr(rows, "_normalise", lambda *_: pytest.fail("fell back to _normalise"))
    assert rows._normalise_text(record, 2) == expected and expected.signal is not None


@given(st.text(alphabet="0123456789", min_size=9, max_size=9) | st.text(max_size=10))
def test_the_elfproef_agrees_with_its_textbook_form(text):
    textbook = (
        len(text) == 9
        and text.isascii()
        and text.isdigit()
        and (total := sum(w * int(d) for w, d in zip(range(9, 1, -1), text[:8], strict=True)) - int(text[8])) > 0
        and total % 11 == 0
    )
    assert is_valid_bsn(text) == textbook


# --------------------------------------------------------------------------- throughput, by hand

if __name__ == "__main__":
    # Not a test: python -m tests.signals.test_parsing  →  rows per second for a 100,000-row CSV.
    import random
    import resource
    import time

    def valid_bsn(rng: random.Random) -> str:
        while not is_valid_bsn(candidate := f"{rng.randrange(10**8, 10**9)}"):
            pass
        return candidate

    rng = random.Random(26)

    def lines():
        yield ";".join(HEADER)
        for n in range(100_000):
            row = {
                **ROW,
                "signaal_id": f"VPS-{n:07d}",
                "bsn": valid_bsn(rng),
                "bedrag": f"{rng.randrange(5000, 500000) / 100:.2f}".replace(".", ","),
                "geboortedatum": f"{rng.randrange(1, 29)}-{rng.randrange(1, 13)}-{rng.randrange(1930, 2005)}",
                "achternaam": f"Achternaam{n}",
                "huisnummer": str(rng.randrange(1, 400)),
                "postcode": f"{rng.randrange(1000, 9999)} {rng.choice('ABCDEFGH')}{rng.choice('ABCDEFGH')}",
            }
            yield ";".join(row[name] for name in HEADER)

    data = "\r\n".join(lines()).encode()
    started = time.perf_counter()
    signals = sum(
        1 for row in open_signal_file(io.BytesIO(data), filename="x.csv", municipality_code="0363") if row.signal
    )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{signals} signals from {len(data) / 1e6:.1f} MB in {elapsed:.2f} s: {100_000 / elapsed:,.0f} rows/s, peak RSS {peak:.0f} MB"
    )


@pytest.mark.parametrize("value", [1.797693134862316e306, -1.797693134862316e306, 1e300])
def test_an_astronomical_float_amount_is_a_row_error_not_a_crash(value: float):
    parsed = normalise_row(
        {
            "signal_id": "S1",
            "partner_type": "Huur",
            "signal_date": "2026-11-01",
            "postcode": "1053KL",
            "house_number": "12",
            "amount": value,
        },
        line=2,
    )
    assert parsed.signal is None and [e.column for e in parsed.errors] == ["amount"]


# --------------------------------------------------------------------------- limits: what a row keeps of a long value


@pytest.mark.parametrize(
    ("column", "value", "limit"),
    [
        ("achternaam", "Jansen" * 2000, 200),
        ("postcode", "1053 KL" + " x" * 5000, 20),
        ("bedrag", "9" * 41, 40),
        ("signaalpartner_type", "Huur" * 11, 40),
    ],
)
def test_a_value_over_its_columns_limit_is_an_error_and_the_row_keeps_it_cut(column, value, limit):
    row = one_row(**{column: value})
    canonical = COLUMNS[column]
    assert errors_by_column(row) == {canonical: f"{column} is longer than {limit} characters"}
    assert row.raw[canonical] == value[:limit] + "…"


def test_a_typed_value_too_long_to_keep_is_cut_in_the_row():
    row = normalise_row({"signal_id": 7**300, "partner_type": "Huur", "signal_date": "2026-11-01", "bsn": BSN}, line=4)
    assert list(errors_by_column(row)) == ["signal_id"]
    assert len(row.raw["signal_id"]) == 101 and row.raw["signal_id"].endswith("…")


def test_a_valid_value_padded_with_spaces_beyond_its_limit_is_an_error():
    row = one_row(postcode="3011" + " " * 30 + "AB")
    assert errors_by_column(row) == {"postcode": "postcode is longer than 20 characters"}


@given(
    st.fixed_dictionaries({name: st.sampled_from(valid) for name, (valid, _) in _MESSY.items()}),
    st.sampled_from(CANONICAL),
    st.integers(0, 300),
)
def test_the_fast_csv_path_agrees_on_a_valid_row_with_one_value_padded_long(values, name, spaces):
    from api.signals.parsing.rows import _normalise, _normalise_text

    record = tuple(
        values[column].replace(" ", " " * spaces) + " " * spaces if column == name else values[column]
        for column in CANONICAL
    )
    fast, slow = _normalise_text(record, 3), _normalise(record, 3)
    assert (fast.signal, fast.errors, fast.raw) == (slow.signal, slow.errors, slow.raw)


def test_a_csv_line_longer_than_the_limit_is_refused_without_reading_it_whole():
    from api.signals.parsing import MAX_LINE_BYTES

    class Endless(io.RawIOBase):
        """A line that never ends: reading it whole would never finish."""

        def __init__(self, start: bytes) -> None:
            self.start, self.given = start, 0

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            self.given = offset
            return offset

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            block = (self.start[self.given :] + b"x" * len(buffer))[: len(buffer)]
            buffer[: len(block)] = block
            self.given += len(block)
            return len(block)

    start = csv_file([ROW, ROW]) + b"VPS-3;Huur;"
    refused = refusal(csv_file([ROW] * 3) + b"VPS-3;" + b"x" * (MAX_LINE_BYTES + 1) + b"\r\n")
    assert (refused.slug, refused.reason) == (
        "too-long-line",
        f"line 5 is longer than {MAX_LINE_BYTES:,} bytes, which no row of signals is",
    )
    with pytest.raises(FileRefused) as endless:
        list(open_signal_file(Endless(start), filename="x.csv", municipality_code="0363"))  # type: ignore[arg-type]
    assert endless.value.slug == "too-long-line" and "line 4 " in endless.value.reason


def test_a_csv_line_at_the_limit_is_read():
    from api.signals.parsing import MAX_LINE_BYTES

    data = csv_file([ROW])
    filler = MAX_LINE_BYTES - len(data.splitlines()[1]) - 1  # a last, ignored column fills the line to the limit
    rows = read(csv_file([{**ROW, "opmerking": "x" * filler}], header=[*HEADER, "opmerking"]))
    assert len(rows) == 1 and rows[0].signal == EXPECTED
