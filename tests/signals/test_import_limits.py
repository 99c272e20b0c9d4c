"""What an import may take of the server: rejected rows written as they come, limits enforced while reading."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import Session

from api.models import Municipality, QuarantinedRow
from api.signals import service
from api.signals.parsing import ParsedRow, normalise_row
from tests.factories import make_municipality


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
                yield normalise_row({"signal_id": f"S{line}", "partner_type": "Bakker", "signal_date": "2026-11-03",
                                     "postcode": "1053KL", "house_number": "12"}, line=line)

        record = service.new_import(code="0363", source="file", mode="accept-valid", created_by="t", now=datetime.now(UTC))
        own.add(record)
        own.flush()
        report = service.intake(own, municipality=own.get(Municipality, "0363"), vault=app.state.vault, rows=rows(),
                                mode="accept-valid", import_id=record.id, now=datetime.now(UTC))

        assert report.rejected == 5 * service.CHUNK
        assert written_while_reading == [service.CHUNK, 2 * service.CHUNK, 3 * service.CHUNK, 4 * service.CHUNK]
        own.rollback()
