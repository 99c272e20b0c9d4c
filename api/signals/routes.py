"""HTTP surface of signal intake: file imports, the partner API, creditor agreements, BSN reveal."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import AwareDatetime
from sqlmodel import col, select

from api.audit.service import record
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.models import CreditorAgreement, Signal, SignalImport
from api.municipality.policy import settings_of
from api.platform.db import SessionDep
from api.platform.downloads import download, spool
from api.platform.pagination import decode_cursor, encode_cursor
from api.platform.problems import Forbidden, PayloadTooLarge, ProblemError, Unprocessable, problem_responses
from api.platform.tenancy import own_municipality, owned
from api.residents import correction
from api.residents.schemas import SignalCorrected, SignalCorrection
from api.signals import imports
from api.signals.limits import TOO_LARGE
from api.signals.parsing import FileRefused
from api.signals.partners import delivered as agreements_delivered
from api.signals.partners import feedback as creditor_feedback
from api.signals.partners import register, register_agreement
from api.signals.rules import is_valid_bsn
from api.signals.schemas import (
    AgreementIn,
    AgreementList,
    AgreementOut,
    BsnMatch,
    BsnMatches,
    BsnOut,
    BsnSearch,
    DeliveredCursor,
    DeliveredSignalPage,
    FeedbackCursor,
    FeedbackPage,
    ImportList,
    ImportMode,
    ImportReportOut,
    SignalBatch,
    SignalBatchResult,
    SignalResult,
)

router = APIRouter(prefix="/v1/signals", tags=["signals"], responses=problem_responses(401, 403, 422))
agreements_router = APIRouter(
    prefix="/v1/creditor-agreements", tags=["agreements"], responses=problem_responses(401, 403, 422)
)

Importer = Annotated[Principal, Depends(allow(roles=("backoffice", "admin"), scopes=("signals:write",)))]
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]
Admin = Annotated[Principal, Depends(allow(roles=("admin",)))]


class UnsupportedFileType(ProblemError):
    status, slug, title = 415, "unsupported-file-type", "Not a signal file"


def refused(exc: FileRefused) -> ProblemError:
    if exc.slug == "unsupported-file-type":
        return UnsupportedFileType(exc.reason)
    if exc.slug in TOO_LARGE:
        return PayloadTooLarge(exc.reason, slug=exc.slug, title="The file is over an import limit")
    return Unprocessable(exc.reason, slug=exc.slug, title="The file cannot be imported")


def _report_out(row: SignalImport, principal: Principal) -> ImportReportOut:
    report = row.report
    return ImportReportOut(
        id=row.id,
        source=row.source,
        filename=row.filename,
        format=row.file_format,
        mode=row.mode,
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
        total_rows=row.total_rows,
        created=row.created_count,
        duplicates=row.duplicate_count,
        repeats=row.repeat_count,
        rejected=row.rejected_count,
        cases_opened=report.get("cases_opened", 0),
        cases_updated=report.get("cases_updated", 0),
        errors=report.get("errors", []),
        errors_truncated=report.get("errors_truncated", False),
        unknown_columns=report.get("unknown_columns", []),
        warnings=report.get("warnings", []),
        creditors_without_agreement=report.get("creditors_without_agreement", []),
        duplicate_of=report.get("duplicate_of"),
        below_threshold=None if principal.kind == "partner" else report.get("below_threshold", {}),
    )


@router.post(
    "/imports",
    name="import",
    status_code=201,
    response_model=ImportReportOut,
    summary="Import a platform file (CSV, XLSX or DDAS JSON)",
    description=(
        "The monthly download of VPS or RIS. `all-or-nothing` (default): any invalid row rejects the whole file "
        "and nothing is written (`status: rejected`, the report lists every error). `accept-valid`: valid rows "
        "land, invalid rows are reported and kept in a quarantine the back office can download. Signal ids "
        "already received are reported as duplicates; importing the same file again changes nothing. "
        "A file over an import limit is refused with 413 and nothing of it is kept; its `type` says which: "
        "`too-many-rows`, `too-large-unpacked` (XLSX), `too-large-shared-strings` (XLSX), `too-large-json` "
        "(DDAS JSON), `too-long-line` (CSV), or `payload-too-large` for the upload itself. A value longer than "
        "its column allows is an error of its row, kept cut to that length."
    ),
    responses=problem_responses(413, 415),
)
def import_file(
    request: Request,
    session: SessionDep,
    principal: Importer,
    at: Now,
    file: Annotated[UploadFile, File(description="CSV (; or ,), XLSX (first sheet) or DDAS JSON.")],
    mode: Annotated[ImportMode, Form()] = "all-or-nothing",
) -> ImportReportOut:
    try:
        imported = imports.import_file(
            session,
            municipality=own_municipality(session, principal),
            stream=file.file,
            filename=file.filename or "",
            mode=mode,
            actor=principal,
            vault=request.app.state.vault,
            limits=request.app.state.settings.import_limits(),
            now=at,
        )
    except FileRefused as exc:  # before or while streaming, e.g. broken encoding halfway: nothing is kept
        raise refused(exc) from exc
    return _report_out(imported.row, principal)


@router.get("/imports", name="list-imports", response_model=ImportList, summary="Recent imports and their reports")
def list_imports(session: SessionDep, principal: Importer) -> ImportList:
    return ImportList(items=[_report_out(row, principal) for row in imports.recent(session, principal)])


@router.get(
    "/imports/{import_id}",
    name="get-import",
    response_model=ImportReportOut,
    summary="The stored report of an import",
    responses=problem_responses(404),
)
def get_import(session: SessionDep, principal: Importer, import_id: uuid.UUID) -> ImportReportOut:
    return _report_out(imports.visible(session, principal, import_id), principal)


@router.get(
    "/imports/{import_id}/quarantine",
    name="quarantine",
    summary="The rejected rows of an accept-valid import, as CSV to correct and re-import",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **problem_responses(404),
    },
)
def download_quarantine(
    request: Request, session: SessionDep, principal: Office, at: Now, import_id: uuid.UUID
) -> Response:
    import_row = imports.visible(session, principal, import_id)
    settings = settings_of(own_municipality(session, principal))
    vault = request.app.state.vault if principal.role in settings.bsn_visible_to else None
    file = spool()
    count = imports.write_quarantine(session, import_row, vault, file)
    record(
        session,
        principal,
        action="signals.quarantine-download",
        resource_type="signal_import",
        resource_id=import_row.id,
        at=at,
        detail={"rows": count},
    )
    return download(file, media_type="text/csv", filename=f"quarantine-{import_row.id}.csv")


@router.post(
    "",
    name="deliver",
    response_model=SignalBatchResult,
    summary="Deliver signals (partner API, up to 1,000 per call)",
    description=(
        "One result per signal: `created`, `duplicate` (the signal id was received before) or `rejected` with "
        "the reason. Valid signals land even when others in the batch are rejected. A partner client delivers "
        "only under its agreements on record: a signal whose partner type and creditor no agreement of the "
        "partner covers is rejected (without any agreement, 403 `no-agreement`)."
    ),
    responses=problem_responses(413),
)
def deliver(
    request: Request, session: SessionDep, principal: Importer, at: Now, batch: SignalBatch
) -> SignalBatchResult:
    stored = imports.deliver(
        session,
        municipality=own_municipality(session, principal),
        signals=[signal.model_dump(exclude_none=True) for signal in batch.signals],
        actor=principal,
        vault=request.app.state.vault,
        now=at,
    )
    return SignalBatchResult(
        import_id=stored.row.id,
        results=[
            SignalResult(index=o.line - 1, signal_id=o.external_id, result=o.outcome, reason=o.reason)
            for o in sorted(stored.report.outcomes, key=lambda o: o.line)
        ],
    )


PartnerReader = Annotated[Principal, Depends(allow(scopes=("cases:read",)))]


@router.get(
    "",
    name="delivered",
    response_model=DeliveredSignalPage,
    summary="The partner view: your own signals and whether each was picked up",
    description=(
        "For integration partners with scope `cases:read`: the signals this partner delivered (by API or file), "
        "oldest first, each with whether the municipality picked it up (`Nog niet opgepakt`, `Opgepakt`, "
        "`Niet opgepakt`) and never why not. The municipality's cases, other creditors' signals, the field's "
        "visits and notes and any debt-relief trajectory stay with the municipality."
    ),
)
def delivered(
    session: SessionDep,
    principal: PartnerReader,
    at: Now,
    since: Annotated[datetime | None, Query(description="Only signals received at or after this moment.")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveredSignalPage:
    position = decode_cursor(cursor, DeliveredCursor)
    rows = agreements_delivered(
        session,
        principal,
        since=since,
        limit=limit + 1,
        after=(position.received_at, position.id) if position else None,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    record(
        session, principal, action="signals.delivered-read", resource_type="signal", at=at, detail={"count": len(rows)}
    )
    next_cursor = (
        encode_cursor({"received_at": rows[-1][1].received_at.isoformat(), "id": str(rows[-1][0])}) if more else None
    )
    return DeliveredSignalPage(items=[item for _, item in rows], next_cursor=next_cursor)


FeedbackReader = Annotated[Principal, Depends(allow(scopes=("feedback:read",)))]


@router.get(
    "/feedback",
    name="feedback",
    response_model=FeedbackPage,
    summary="Feedback to the creditor: the status of your signals and whether debt help started",
    description=(
        "For integration partners with scope `feedback:read` and an agreement on record: for each signal this "
        "partner delivered, only what the law lets a creditor know — its DDAS status (a status that tells of the "
        "resident rather than the signal is given as `Niet opgepakt: andere reden`), when that last changed, and "
        "whether a debt-help trajectory started (`in_debt_help`). Ordered by `changed_at`; pass the last "
        "`changed_at` you saw as `since` to get what changed after it. Every request is audited."
    ),
)
def feedback(
    session: SessionDep,
    principal: FeedbackReader,
    at: Now,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only signals whose feedback changed at or after this moment (with a time zone)."),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FeedbackPage:
    position = decode_cursor(cursor, FeedbackCursor)
    rows = creditor_feedback(
        session, principal, since=since, limit=limit + 1, after=(position.changed_at, position.id) if position else None
    )
    more = len(rows) > limit
    rows = rows[:limit]
    record(
        session,
        principal,
        action="signals.feedback-read",
        resource_type="signal",
        at=at,
        detail={"count": len(rows), "since": since.isoformat() if since else None},
    )
    next_cursor = (
        encode_cursor({"changed_at": rows[-1][1].changed_at.isoformat(), "id": str(rows[-1][0])}) if more else None
    )
    return FeedbackPage(items=[item for _, item in rows], next_cursor=next_cursor)


@router.post(
    "/search",
    name="search-bsn",
    response_model=BsnMatches,
    summary="Find the signals of a BSN (audited)",
    description="Looks the BSN up through its keyed hash; the BSN itself is never stored in the clear.",
)
def search_bsn(request: Request, session: SessionDep, principal: Office, at: Now, body: BsnSearch) -> BsnMatches:
    settings = settings_of(own_municipality(session, principal))
    if principal.role not in settings.bsn_visible_to:
        raise Forbidden("Your role may not search by BSN in this municipality.")
    bsn = body.bsn.strip().zfill(9)
    if not is_valid_bsn(bsn):
        raise Unprocessable("This is not a valid BSN (elfproef).", slug="invalid-bsn")
    digest = request.app.state.vault.digest(bsn, municipality_code=principal.municipality_code)
    signals = session.exec(
        select(Signal)
        .where(Signal.municipality_code == principal.municipality_code, Signal.bsn_digest == digest)
        .order_by(col(Signal.signal_date))
    ).all()
    # One entry per person's record found, so the data protection officer sees whose data was read.
    for signal in signals:
        record(
            session,
            principal,
            action="signals.search-bsn",
            resource_type="signal",
            resource_id=signal.id,
            case_id=signal.case_id,
            at=at,
        )
    if not signals:
        record(session, principal, action="signals.search-bsn", resource_type="signal", at=at, detail={"matches": 0})
    return BsnMatches(
        items=[
            BsnMatch(
                signal_id=s.id,
                external_id=s.external_id,
                case_id=s.case_id,
                signal_date=s.signal_date,
                partner_type=s.partner_type,
                below_threshold=s.below_threshold,
            )
            for s in signals
        ]
    )


@router.get(
    "/{signal_id}/bsn",
    name="reveal-bsn",
    response_model=BsnOut,
    summary="Reveal the BSN of a signal (audited; roles per municipality setting)",
    responses=problem_responses(404),
)
def reveal_bsn(request: Request, session: SessionDep, principal: Office, at: Now, signal_id: uuid.UUID) -> BsnOut:
    signal = owned(session, Signal, signal_id, principal)
    settings = settings_of(own_municipality(session, principal))
    if principal.role not in settings.bsn_visible_to:
        raise Forbidden("Your role may not see BSNs in this municipality.")
    bsn = (
        request.app.state.vault.decrypt(signal.bsn_ciphertext, municipality_code=signal.municipality_code)
        if signal.bsn_ciphertext
        else None
    )
    record(
        session,
        principal,
        action="signals.reveal-bsn",
        resource_type="signal",
        resource_id=signal.id,
        case_id=signal.case_id,
        at=at,
    )
    return BsnOut(signal_id=signal.id, bsn=bsn)


@router.patch(
    "/{signal_id}",
    name="correct",
    response_model=SignalCorrected,
    responses=problem_responses(404, 409),
    summary="Correct a signal's personal fields (rectificatie, AVG art. 16; admins, audited with the reason)",
    description=(
        "Name, initials, birth date, gender and address, named as `POST /v1/signals` names them; only the fields "
        "sent change, null clears one, unknown fields are refused. The old values are kept in the audit trail and "
        "nowhere else. A corrected address moves the signal to the household of the new address and regroups its "
        "case as intake does (classification re-assessed); devices holding a changed case get it on their next pull, "
        "or `removed` once it closed. A BKR registration not sent yet goes out corrected; one BKR holds gets a "
        "correction message through the outbox. 409 `erased` for a signal whose personal data was erased."
    ),
)
def correct(
    request: Request, session: SessionDep, principal: Admin, at: Now, signal_id: uuid.UUID, body: SignalCorrection
) -> SignalCorrected:
    return correction.correct(session, principal, request.app.state.vault, signal_id, body, now=at)


# --- creditor agreements ------------------------------------------------------------------


def _agreement_out(agreement: CreditorAgreement, client_id: str | None) -> AgreementOut:
    return AgreementOut(
        id=agreement.id,
        name=agreement.name,
        partner_type=agreement.partner_type,
        agreement_date=agreement.agreement_date,
        platform=agreement.platform,
        partner_client_id=client_id,
    )


@agreements_router.get("", name="list", response_model=AgreementList, summary="The register of signed agreements")
def list_agreements(session: SessionDep, principal: Office) -> AgreementList:
    return AgreementList(
        items=[_agreement_out(row, client_id) for row, client_id in register(session, principal.municipality_code)]
    )


@agreements_router.post(
    "",
    name="create",
    status_code=201,
    response_model=AgreementOut,
    summary="Register a signed agreement",
    responses=problem_responses(409),
)
def create_agreement(session: SessionDep, principal: Office, at: Now, body: AgreementIn) -> AgreementOut:
    agreement = register_agreement(
        session,
        municipality_code=principal.municipality_code,
        name=body.name,
        partner_type=body.partner_type,
        agreement_date=body.agreement_date,
        platform=body.platform,
        partner_client_id=body.partner_client_id,
        now=at,
    )
    record(
        session,
        principal,
        action="agreements.create",
        resource_type="creditor_agreement",
        resource_id=agreement.id,
        at=at,
    )
    return _agreement_out(agreement, body.partner_client_id)


@agreements_router.delete(
    "/{agreement_id}",
    name="delete",
    status_code=204,
    summary="Remove an agreement from the register",
    responses=problem_responses(404),
)
def delete_agreement(session: SessionDep, principal: Office, at: Now, agreement_id: uuid.UUID) -> Response:
    agreement = owned(session, CreditorAgreement, agreement_id, principal)
    session.delete(agreement)
    record(
        session,
        principal,
        action="agreements.delete",
        resource_type="creditor_agreement",
        resource_id=agreement_id,
        at=at,
    )
    return Response(status_code=204)
