"""The import's memory of a delivery's ids and cases, bounded by moving to disk, changes nothing of what
it does: chunked small, with its households spread over many chunks and the sets spilled almost at
once, a delivery stores the same signals, verdicts, cases and change numbers and reports the same as
with the sets in memory; an error while writing mid-file still leaves nothing behind."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from api.models import Municipality
from api.platform import spill, tables
from api.platform.spill import SpillSet
from api.signals import service, writer
from api.signals.parsing import ParsedRow, normalise_row
from tests.factories import VAULT, make_municipality

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PARTNERS = ["Zorg", "Huur", "Energie", "Water"]


def delivery(seed: int, count: int, *, first: int = 0) -> list[dict[str, str]]:
    """Rows of households with one to four signals each, next to each other in the file (so a
    small chunk splits them), some by BSN, some crisis, some below a threshold, some invalid, and
    some signal ids repeated within the delivery."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    household = 0
    while len(rows) < count:
        household += 1
        postcode, number = f"{1000 + household % 40} AB", str(1 + household % 7)
        for _ in range(rng.choice([1, 1, 2, 3, 4])):
            n = first + len(rows)
            signal_date = date(2026, 10, 1) - timedelta(days=rng.choice([0, 3, 20, 60, 200]))
            values = {
                "signal_id": f"S{n}",
                "partner_type": rng.choice(PARTNERS),
                "creditor": rng.choice(["Ymere", "Eneco", "VGZ"]),
                "amount": rng.choice(["40,00", "250,00", "1.234,56"]),
                "arrears_since": (signal_date - timedelta(days=rng.choice([10, 60, 120]))).isoformat(),
                "signal_date": signal_date.isoformat(),
                "crisis": "ja" if rng.random() < 0.1 else "nee",
                "postcode": postcode,
                "house_number": number,
                "surname": "Jansen",
            }
            if rows and rows[-1]["postcode"] == postcode and rng.random() < 0.4:  # the same arrear again: a repeat
                values.update({k: rows[-1][k] for k in ("partner_type", "creditor", "arrears_since", "amount")})
            if rng.random() < 0.2:
                values["bsn"] = "111222333"  # one person, spread over households' chunks
            roll = rng.random()
            if roll < 0.05:
                values["signal_date"] = "31-02-2026"  # invalid: rejected (quarantined in accept-valid)
            elif roll < 0.12 and n > first + 5:
                values["signal_id"] = f"S{rng.randrange(first, n)}"  # a repeat within the delivery
            rows.append(values)
    return rows


def parsed(rows: list[dict[str, str]]) -> Iterator[ParsedRow]:
    for line, values in enumerate(rows, 2):
        yield normalise_row(values, line=line)


def run(engine: Engine, rows: list[dict[str, str]], *, mode: service.Mode = "accept-valid") -> dict[str, Any]:
    with Session(engine) as own:
        record = service.new_import(code="0363", source="api", mode=mode, created_by="t", now=NOW)
        own.add(record)
        own.flush()
        report = service.intake(
            own,
            municipality=own.get(Municipality, "0363"),
            vault=VAULT,
            rows=parsed(rows),
            mode=mode,
            import_id=record.id,
            now=NOW,
            keep_outcomes=True,
        )
        own.commit()
    return {
        name: getattr(report, name)
        for name in (
            "total",
            "created",
            "duplicates",
            "repeats",
            "rejected",
            "errors",
            "outcomes",
            "cases_opened",
            "cases_updated",
            "creditors",
            "below_threshold",
        )
    }


def stored(engine: Engine) -> dict[str, Any]:
    """What the deliveries left, without the random ids: each signal with its verdict and its case's
    household and fellow signals; each case with its state, version and change number."""
    signal, case, household = tables.signal, tables.case, tables.household
    with engine.connect() as connection:
        addresses = dict(connection.execute(sa.select(household.c.id, household.c.address_key)).all())
        members: dict[Any, list[str]] = {}
        for external_id, case_id in connection.execute(sa.select(signal.c.external_id, signal.c.case_id)):
            members.setdefault(case_id, []).append(external_id)
        signals = {
            row.external_id: (
                addresses[row.household_id],
                sorted(members[row.case_id]) if row.case_id else None,
                row.classification,
                row.is_repeat,
                row.status,
                row.below_threshold,
                row.bsn_digest,
            )
            for row in connection.execute(sa.select(signal))
        }
        cases = sorted(
            (
                addresses[row.household_id],
                sorted(members.get(row.id, [])),
                row.classification,
                row.crisis,
                row.first_contact_due_date,
                row.version,
                row.change_seq,
            )
            for row in connection.execute(sa.select(case))
        )
        quarantined = sorted(connection.execute(sa.select(tables.quarantined_row.c.line)).scalars())
    return {"signals": signals, "cases": cases, "quarantined": quarantined}


def empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name not in ("municipality", "tenant_sequence"):
                connection.execute(table.delete())
        connection.execute(tables.tenant_sequence.update().values(last_seq=0))


def two_deliveries(engine: Engine) -> dict[str, Any]:
    """A first delivery, then a second that repeats some of its ids and joins its households' cases
    (they get a new version and a change number), in that order."""
    first = delivery(1, 120)
    second = delivery(2, 180, first=80)  # S80… again: already received
    return {"reports": [run(engine, first), run(engine, second)], **stored(engine)}


def test_spilled_ids_and_cases_store_and_report_what_they_do_in_memory(  # type: ignore[no-untyped-def]
    db: Engine, session: Session, monkeypatch
):
    """Chunks of three rows: households, repeats and cases of an earlier delivery span chunks."""
    make_municipality(session)
    monkeypatch.setattr(service, "CHUNK", 3)
    in_memory = two_deliveries(db)
    empty(db)
    monkeypatch.setattr(spill, "LIMIT", 4)  # the delivery's ids and its cases go to disk almost at once
    spilled = two_deliveries(db)

    assert in_memory["reports"][1]["duplicates"] > 30 and in_memory["reports"][1]["cases_updated"] > 0
    assert in_memory["reports"][0]["rejected"] > 0 and in_memory["reports"][0]["repeats"] > 0
    assert spilled == in_memory


@pytest.mark.parametrize("mode", ["all-or-nothing", "accept-valid"])
def test_an_all_or_nothing_delivery_reports_the_same_repeats_after_its_first_rejected_row(  # type: ignore[no-untyped-def]
    db: Engine, session: Session, monkeypatch, mode
):
    """After a rejected row all-or-nothing writes no more, so repeats within the delivery are found
    by the set of ids alone: the same count, whether the ids are in memory or spilled."""
    make_municipality(session)
    rows = delivery(3, 150)
    monkeypatch.setattr(service, "CHUNK", 4)
    in_memory = run(db, rows, mode=mode)
    empty(db)
    monkeypatch.setattr(spill, "LIMIT", 3)
    spilled = run(db, rows, mode=mode)
    assert spilled == in_memory and in_memory["duplicates"] > 5 and in_memory["rejected"] > 0


def _recording(spill_to_disk: Any, opened: list[SpillSet]) -> Any:
    def recorded(self: SpillSet) -> None:
        opened.append(self)
        spill_to_disk(self)

    return recorded


def test_an_error_while_writing_mid_file_rolls_everything_back_and_removes_the_spilled_sets(  # type: ignore[no-untyped-def]
    db: Engine, session: Session, monkeypatch
):
    make_municipality(session)
    monkeypatch.setattr(service, "CHUNK", 5)
    monkeypatch.setattr(spill, "LIMIT", 3)
    settle = writer.Writer.settle
    calls = []
    opened: list[SpillSet] = []
    monkeypatch.setattr(spill.SpillSet, "_spill", _recording(spill.SpillSet._spill, opened))

    def failing(self, households, addresses):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("the database went away")
        return settle(self, households, addresses)

    monkeypatch.setattr(writer.Writer, "settle", failing)
    read = 0

    def rows() -> Iterator[ParsedRow]:
        nonlocal read
        valid = [values for values in delivery(4, 220) if values["signal_date"] != "31-02-2026"][:200]
        for row in parsed(valid):
            read += 1
            yield row

    with Session(db) as own:
        record = service.new_import(code="0363", source="file", mode="all-or-nothing", created_by="t", now=NOW)
        own.add(record)
        own.flush()
        with pytest.raises(RuntimeError, match="went away"):
            service.intake(
                own,
                municipality=own.get(Municipality, "0363"),
                vault=VAULT,
                rows=rows(),
                mode="all-or-nothing",
                import_id=record.id,
                now=NOW,
            )
        own.rollback()

    assert read == 20  # four chunks
    assert opened and all(spilled._file is None for spilled in opened)  # closed: their files are gone
    with db.connect() as connection:
        for table in (tables.signal, tables.case, tables.household, tables.signal_import):
            assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_a_spill_set_answers_the_same_in_memory_and_on_disk() -> None:
    keys = [f"S{n}" for n in range(50)]
    memory, disk = SpillSet(limit=1000), SpillSet(limit=7)
    for start in range(0, 50, 10):
        batch = keys[start : start + 10]
        for spilled in (memory, disk):
            assert spilled.present([*batch, "S3", "nope"]) == ({"S3"} if start else set())
            spilled.add_all(batch)
    assert len(memory) == len(disk) == 50
    assert all(key in disk for key in keys) and "nope" not in disk
    ids = [uuid.uuid4().bytes for _ in range(20)]
    cases = SpillSet(limit=5)
    cases.add_all(ids)
    assert all(key in cases for key in ids) and uuid.uuid4().bytes not in cases
    disk.close()
    assert len(disk) == 0 and "S3" not in disk
