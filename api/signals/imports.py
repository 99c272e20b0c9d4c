"""Imports as use cases: a platform file, a partner's batch, and the imports they leave behind.

The HTTP route, `doorstep import` and the console's upload each call `import_file`; what an
import is (the earlier import of the same file, the new import row, intake under the partner's
agreements, the warnings, the finished report, the audit record) is written here once. Each door
only turns a `FileRefused` into its own kind of answer.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, BinaryIO

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.audit.service import record
from api.auth.principal import Principal
from api.models import Municipality, SignalImport
from api.platform import tables
from api.platform.downloads import text_to
from api.platform.problems import NotFound
from api.platform.spreadsheet import safe_cell
from api.platform.tenancy import owned
from api.signals import service
from api.signals.bsn import BsnVault
from api.signals.limits import ImportLimits
from api.signals.parsing import CANONICAL, ParsedRow, normalise_row, open_signal_file
from api.signals.partners import agreements_of, under_agreements
from api.signals.service import IntakeReport, Mode

RECENT = 100  # imports listed on the API and the console's upload screen
PROGRESS_EVERY = 1000  # rows between calls of an import's `progress`


@dataclass(frozen=True)
class Imported:
    row: SignalImport
    report: IntakeReport


def import_file(
    session: Session,
    *,
    municipality: Municipality,
    stream: BinaryIO,
    filename: str,
    mode: Mode,
    actor: Principal,
    vault: BsnVault,
    limits: ImportLimits,
    now: datetime,
    progress: Callable[[], None] | None = None,
) -> Imported:
    """Import one platform file (CSV, XLSX or DDAS JSON) for `municipality`.

    Raises `FileRefused` for a file that cannot be imported, before or while streaming (nothing of
    it is kept: the caller's transaction rolls back), and `Forbidden` for a partner without
    agreements. `stream` must be seekable: it is read once for its digest, then parsed.
    `progress`, if given, is called every thousand rows and once at the end.
    """
    agreements = agreements_of(session, actor)
    file_sha256 = _sha256(stream)
    signal_file = open_signal_file(stream, filename=filename, municipality_code=municipality.code, limits=limits)
    previous = _earlier_import(session, municipality.code, file_sha256)
    import_row = service.new_import(
        code=municipality.code,
        source="file",
        mode=mode,
        created_by=actor.actor_id,
        now=now,
        filename=filename[:255] or None,
        file_format=signal_file.format,
        file_sha256=file_sha256,
    )
    session.add(import_row)
    session.flush()
    rows: Iterable[ParsedRow] = signal_file if agreements is None else under_agreements(signal_file, agreements)
    if progress is not None:
        rows = _reporting(rows, progress)
    report = service.intake(
        session, municipality=municipality, vault=vault, rows=rows, mode=mode, import_id=import_row.id, now=now
    )
    extra = _warnings(session, municipality.code, report, signal_file.unknown_columns, previous)
    service.finish_import(import_row, report, extra=extra)
    session.add(import_row)
    record(
        session,
        actor,
        action="signals.import",
        resource_type="signal_import",
        resource_id=import_row.id,
        at=now,
        detail={"created": report.created, "rejected": report.rejected, "status": import_row.status},
    )
    return Imported(row=import_row, report=report)


def deliver(
    session: Session,
    *,
    municipality: Municipality,
    signals: list[dict[str, Any]],
    actor: Principal,
    vault: BsnVault,
    now: datetime,
) -> Imported:
    """Store a partner's batch (the partner API): valid signals land, each row gets its outcome."""
    agreements = agreements_of(session, actor)
    import_row = service.new_import(
        code=municipality.code, source="api", mode="accept-valid", created_by=actor.actor_id, now=now
    )
    session.add(import_row)
    session.flush()
    rows: Iterable[ParsedRow] = (normalise_row(values, line=index) for index, values in enumerate(signals, 1))
    if agreements is not None:
        rows = under_agreements(rows, agreements)
    report = service.intake(
        session,
        municipality=municipality,
        vault=vault,
        rows=rows,
        mode="accept-valid",
        import_id=import_row.id,
        now=now,
        keep_outcomes=True,
    )
    service.finish_import(
        import_row, report, extra={"unknown_columns": [], "warnings": [], "creditors_without_agreement": []}
    )
    session.add(import_row)
    record(
        session,
        actor,
        action="signals.deliver",
        resource_type="signal_import",
        resource_id=import_row.id,
        at=now,
        detail={"created": report.created, "rejected": report.rejected},
    )
    return Imported(row=import_row, report=report)


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def _earlier_import(session: Session, code: str, file_sha256: str) -> uuid.UUID | None:
    """The first completed import of the same bytes: the file is reported as imported before."""
    return session.exec(
        select(SignalImport.id)
        .where(
            SignalImport.municipality_code == code,
            SignalImport.file_sha256 == file_sha256,
            SignalImport.status == "completed",
        )
        .order_by(col(SignalImport.created_at))
    ).first()


def _reporting(rows: Iterable[ParsedRow], progress: Callable[[], None]) -> Iterator[ParsedRow]:
    for count, row in enumerate(rows, 1):
        if count % PROGRESS_EVERY == 0:
            progress()
        yield row
    progress()


def _warnings(
    session: Session, code: str, report: IntakeReport, unknown_columns: list[str], previous: uuid.UUID | None
) -> dict[str, Any]:
    missing = service.missing_agreements(session, code=code, creditors=report.creditors)
    warnings = []
    if missing:
        warnings.append(f"{len(missing)} creditor(s) in this file are not in the register of agreements.")
    if unknown_columns:
        warnings.append(f"Columns ignored: {', '.join(unknown_columns)}.")
    if previous is not None:
        warnings.append("This file was imported before; its signals are reported as duplicates.")
    return {
        "unknown_columns": unknown_columns,
        "warnings": warnings,
        "creditors_without_agreement": missing,
        "duplicate_of": str(previous) if previous else None,
    }


def recent(session: Session, principal: Principal) -> list[SignalImport]:
    """The municipality's latest imports, newest first; a partner sees only its own."""
    query = select(SignalImport).where(SignalImport.municipality_code == principal.municipality_code)
    if principal.kind == "partner":
        query = query.where(SignalImport.created_by == principal.actor_id)
    return list(session.exec(query.order_by(col(SignalImport.created_at).desc()).limit(RECENT)).all())


def visible(session: Session, principal: Principal, import_id: uuid.UUID) -> SignalImport:
    """One import of the principal's municipality (a partner's own only); 404 otherwise."""
    row = owned(session, SignalImport, import_id, principal)
    if principal.kind == "partner" and row.created_by != principal.actor_id:
        raise NotFound("No such signalimport.")
    return row


_QUARANTINE = tables.quarantined_row


def write_quarantine(session: Session, import_row: SignalImport, vault: BsnVault | None, out: IO[bytes]) -> int:
    """Write the quarantined rows of an import to `out` as CSV (`;`, a header of canonical names,
    then each row with its errors), read a thousand at a time; returns how many rows. BSNs are
    decrypted with `vault`, left empty without it."""
    rows = session.execute(
        sa.select(_QUARANTINE.c.line, _QUARANTINE.c.raw, _QUARANTINE.c.errors)
        .where(_QUARANTINE.c.import_id == import_row.id)
        .order_by(_QUARANTINE.c.line)
        .execution_options(yield_per=1000)
    )
    count = 0
    with text_to(out) as text:
        writer = csv.writer(text, delimiter=";")
        writer.writerow(["line", *CANONICAL, "errors"])
        for row in rows:
            count += 1
            errors = " | ".join(f"{e.get('column') or 'row'}: {e.get('reason')}" for e in row.errors)
            values = dict(row.raw)
            if values.get("bsn"):
                values["bsn"] = (
                    vault.decrypt(values["bsn"], municipality_code=import_row.municipality_code) if vault else ""
                )
            writer.writerow([row.line, *(safe_cell(values.get(name) or "") for name in CANONICAL), safe_cell(errors)])
    return count
