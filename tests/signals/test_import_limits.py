"""What an import may take of the server: rejected rows written as they come, limits enforced while reading."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlmodel import Session, select

from api.models import Case, Household, Municipality, QuarantinedRow, Signal, SignalImport
from api.signals import service
from api.signals.parsing import MAX_LINE_BYTES, ParsedRow, normalise_row
from tests.factories import csv_file, login, make_municipality, make_user, read, row, upload


def test_accept_valid_writes_rejected_rows_as_it_reads_them_not_all_at_the_end(session: Session, app: FastAPI):  # type: ignore[no-untyped-def]
    make_municipality(session)
    written_while_reading: list[int] = []

    with Session(app.state.engine) as own:

        def rows() -> Iterator[ParsedRow]:
            for line in range(1, 5 * service.CHUNK + 1):
                if line % service.CHUNK == 1 and line > 1:
                    assert not own.new  # nothing waits in the session for a flush
                    with own.no_autoflush:
                        written_while_reading.append(own.scalar(sa.select(sa.func.count()).select_from(QuarantinedRow)))
                yield normalise_row(
                    {
                        "signal_id": f"S{line}",
                        "partner_type": "Bakker",
                        "signal_date": "2026-11-03",
                        "postcode": "1053KL",
                        "house_number": "12",
                    },
                    line=line,
                )

        record = service.new_import(
            code="0363", source="file", mode="accept-valid", created_by="t", now=datetime.now(UTC)
        )
        own.add(record)
        own.flush()
        report = service.intake(
            own,
            municipality=own.get(Municipality, "0363"),
            vault=app.state.vault,
            rows=rows(),
            mode="accept-valid",
            import_id=record.id,
            now=datetime.now(UTC),
        )

        assert report.rejected == 5 * service.CHUNK
        assert written_while_reading == [service.CHUNK, 2 * service.CHUNK, 3 * service.CHUNK, 4 * service.CHUNK]
        own.rollback()


@pytest.fixture
def office(client: TestClient, session: Session) -> dict[str, str]:
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    return login(client, "office1")


def _count(session: Session, model) -> int:  # type: ignore[no-untyped-def]
    return len(read(session, select(model)))


def nothing_stored(session: Session) -> bool:
    return all(_count(session, model) == 0 for model in (SignalImport, Signal, QuarantinedRow, Case, Household))


def assert_problem(response, status: int, slug: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:doorstep:problem:{slug}"


def valid_rows(count: int) -> list[str]:
    return [row(f"S{n}", postcode=f"{1000 + n % 9000} AB", number=str(1 + n % 500)) for n in range(count)]


def test_a_csv_line_over_the_limit_is_refused_with_413_and_nothing_of_the_file_is_kept(client, office, session):  # type: ignore[no-untyped-def]
    content = csv_file(*valid_rows(service.CHUNK + 500), row("LONG", surname="x" * (MAX_LINE_BYTES + 1)))

    response = upload(client, office, content, mode="accept-valid")

    assert_problem(response, 413, "too-long-line")
    assert f"line {service.CHUNK + 502} is longer" in response.json()["detail"]
    assert nothing_stored(session)


def test_the_quarantine_keeps_a_long_value_cut_to_its_columns_limit(client, office, session):  # type: ignore[no-untyped-def]
    content = csv_file(row("Q1", surname="Jansen" * 5_000, postcode="1053" + "K" * 300), row("Q2"))

    report = upload(client, office, content, mode="accept-valid").json()

    assert (report["created"], report["rejected"]) == (1, 1)
    assert {(e["column"], e["reason"]) for e in report["errors"]} == {
        ("surname", "achternaam is longer than 200 characters"),
        ("postcode", "postcode is longer than 20 characters"),
        (None, "a signal needs a valid bsn, or a postcode and huisnummer"),
    }
    [stored] = read(session, select(QuarantinedRow))
    assert stored.raw["surname"] == ("Jansen" * 5_000)[:200] + "…" and stored.raw["postcode"] == "1053" + "K" * 16 + "…"
    download = client.get(f"/v1/signals/imports/{report['id']}/quarantine", headers=office)
    assert download.status_code == 200
    [quarantined] = list(csv.DictReader(io.StringIO(download.text), delimiter=";"))
    assert (
        quarantined["surname"] == ("Jansen" * 5_000)[:200] + "…" and quarantined["postcode"] == "1053" + "K" * 16 + "…"
    )
    assert len(download.content) < 2_000


def limit(app: FastAPI, **changes: int) -> None:
    """The app's import limits, as DOORSTEP_MAX_IMPORT_* would set them (read per request)."""
    app.state.settings = app.state.settings.model_copy(update=changes)


@pytest.mark.parametrize("mode", ["all-or-nothing", "accept-valid"])
def test_a_csv_over_the_row_limit_is_refused_with_413_and_nothing_of_it_is_kept(client, office, session, app, mode):  # type: ignore[no-untyped-def]
    limit(app, max_import_rows=service.CHUNK + 500)
    rows = valid_rows(service.CHUNK + 500)

    response = upload(client, office, csv_file(*rows, row("ONE-TOO-MANY", partner="Bakker")), mode=mode)

    assert_problem(response, 413, "too-many-rows")
    assert f"more than {service.CHUNK + 500:,} rows" in response.json()["detail"]
    assert nothing_stored(session)
    assert upload(client, office, csv_file(*rows), mode=mode).status_code == 201  # at the limit


def test_an_xlsx_over_the_row_limit_is_refused_with_413(client, office, session, app):  # type: ignore[no-untyped-def]
    limit(app, max_import_rows=3)
    book = Workbook()
    sheet = book.active
    sheet.append(["signaal_id", "signaalpartner_type", "signaaldatum", "postcode", "huisnummer"])
    for n in range(4):
        sheet.append([f"X{n}", "Huur", "2026-11-03", "1053KL", n + 1])
    buffer = io.BytesIO()
    book.save(buffer)

    response = upload(client, office, buffer.getvalue(), name="export.xlsx")

    assert_problem(response, 413, "too-many-rows")
    assert nothing_stored(session)


def ddas(signals: int, *, padding: int = 0) -> bytes:
    item = {
        "ID": "RIS-{n}",
        "signaaldatum": "2026-10-26",
        "signaalpartner": {"type": "Zorg"},
        "client": {"postcode": "1053KL", "huisnummer": 12},
    }
    items = [json.loads(json.dumps(item).replace("{n}", str(n))) for n in range(signals)]
    return json.dumps({"gemeentecode": "0363", "vroegsignalen": items, "opmerking": " " * padding}).encode()


def test_a_ddas_delivery_over_the_row_limit_is_refused_with_413(client, office, session, app):  # type: ignore[no-untyped-def]
    limit(app, max_import_rows=3)
    assert_problem(upload(client, office, ddas(4), name="levering.json"), 413, "too-many-rows")
    assert nothing_stored(session)
    assert upload(client, office, ddas(3), name="levering.json").status_code == 201


def test_a_ddas_delivery_over_the_json_limit_is_refused_with_413_before_it_is_parsed(client, office, session, app):  # type: ignore[no-untyped-def]
    limit(app, max_import_json_bytes=64 * 1024)
    response = upload(client, office, ddas(1, padding=64 * 1024), name="levering.json")
    assert_problem(response, 413, "too-large-json")
    assert "65,536 bytes" in response.json()["detail"]
    assert nothing_stored(session)


def test_the_cli_imports_within_the_same_limits(office, database_url: str, tmp_path, session):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import app as cli
    from tests.cases.test_case_api import _env

    signals = tmp_path / "signals.csv"
    signals.write_bytes(csv_file(*valid_rows(3)))
    env = _env(database_url, tmp_path) | {"COLUMNS": "200", "DOORSTEP_MAX_IMPORT_ROWS": "2"}
    result = CliRunner().invoke(cli, ["import", str(signals), "--municipality", "0363"], env=env)
    assert result.exit_code == 1 and "Refused: the file has more than 2 rows" in result.output
    assert nothing_stored(session)


def xlsx(rows: list[list[object]]) -> bytes:
    """A workbook as Excel writes one: strings in the shared-strings table."""
    from tests.signals.test_workbook import package

    strings: dict[str, int] = {}
    sheet = "".join(
        f'<row r="{number}">'
        + "".join(f'<c t="s"><v>{strings.setdefault(str(value), len(strings))}</v></c>' for value in values)
        + "</row>"
        for number, values in enumerate(rows, 1)
    )
    return package(sheet, strings=[f"<t>{text}</t>" for text in strings])


XLSX_HEADER = ["signaal_id", "signaalpartner_type", "signaaldatum", "achternaam", "postcode", "huisnummer"]


def test_an_xlsx_unpacking_beyond_the_limit_is_refused_with_413(client, office, session, app):  # type: ignore[no-untyped-def]
    limit(app, max_import_unpacked_bytes=1024 * 1024)
    rows = [XLSX_HEADER, *([f"X{n}", "Huur", "2026-11-03", "Jansen", "1053KL", "12"] for n in range(20_000))]

    response = upload(client, office, xlsx(rows), name="export.xlsx", mode="accept-valid")

    assert_problem(response, 413, "too-large-unpacked")
    assert nothing_stored(session)


def test_an_xlsx_whose_shared_strings_are_over_the_limit_is_refused_with_413(client, office, session, app):  # type: ignore[no-untyped-def]
    limit(app, max_import_shared_strings_bytes=1024 * 1024)
    rows = [XLSX_HEADER, *([f"X{n}", "Huur", "2026-11-03", f"Jansen-{n:060d}", "1053KL", "12"] for n in range(20_000))]

    response = upload(client, office, xlsx(rows), name="export.xlsx")

    assert_problem(response, 413, "too-large-shared-strings")
    assert nothing_stored(session)


def test_an_xlsx_cell_beyond_what_is_read_of_it_is_a_row_error_kept_cut(client, office, session):  # type: ignore[no-untyped-def]
    long = "Jansen" * 100_000  # 600,000 characters; the reader keeps 1,024 of them
    rows = [
        XLSX_HEADER,
        ["X1", "Huur", "2026-11-03", long, "1053KL", "12"],
        ["X2", "Huur", "2026-11-03", "Jansen", "1053KL", "14"],
    ]

    report = upload(client, office, xlsx(rows), name="export.xlsx", mode="accept-valid").json()

    assert (report["created"], report["rejected"]) == (1, 1)
    assert report["errors"] == [{"line": 2, "column": "surname", "reason": "achternaam is longer than 200 characters"}]
    [stored] = read(session, select(QuarantinedRow))
    assert stored.raw["surname"] == long[:200] + "…"
    download = client.get(f"/v1/signals/imports/{report['id']}/quarantine", headers=office)
    assert long[:200] + "…" in download.text and long[:201] not in download.text
