"""Residents' rights (AVG art. 15, 17, 21): find the person, tell them what is held and who saw
it, erase what the law does not keep. Each step is audited; what a request found is fixed in a
`ResidentRequest`, so the report and the erasure act on exactly what the admin saw."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.audit.activities import activity_for
from api.audit.service import record, record_case_reads
from api.auth.principal import Principal
from api.cases import service as cases
from api.cases.retention import PERSONAL_SIGNAL_FIELDS, erase
from api.cases.rules import ATTEMPT_CHANNELS, dutch_date
from api.console.labels import LABELS
from api.models import (
    AuditEntry,
    BkrRegistration,
    Case,
    ErasedSubject,
    Household,
    Municipality,
    PartnerClient,
    QuarantinedRow,
    ResidentRequest,
    Signal,
    StaffUser,
    Trajectory,
    VisitEvent,
)
from api.municipality.policy import settings_of
from api.platform.problems import Conflict, NotFound, Unprocessable
from api.residents.rules import (
    CaseFacts,
    Erasure,
    erasure_of,
    mask_bsn,
    name_forms,
    name_key,
    name_matches,
    names_the_person,
)
from api.residents.schemas import (
    AccessEntry,
    ErasureRequest,
    ErasureResult,
    FoundCase,
    FoundHousehold,
    FoundSignal,
    KeptCase,
    PersonHeld,
    ReportBkr,
    ReportCase,
    ReportEvent,
    ReportTrajectory,
    ResidentFound,
    ResidentReport,
    ResidentSearch,
)
from api.signals.bsn import BsnVault
from api.signals.rules import STATUS_OTHER_REASON, address_key

KEPT_ALWAYS = (
    "Of every erased case the dates, classification, partner types, amounts, attempts (without what they "
    "recorded) and result stay, naming no one: the municipality accounts for them to CBS (DDAS) and in "
    "its monitor."
)
_ROLES = {"worker": "buitendienstmedewerker", "backoffice": "medewerker backoffice", "admin": "beheerder"}
_SYSTEM = {"retention": "Doorstep (bewaartermijn)", "sign-in": "Doorstep (aanmelden)", "cli": "Doorstep (beheer)"}
_RECORDED = ("text", "reason", "note", "location", "result", "appointment_at")


# --- 1. find the person ---------------------------------------------------------------------------


def search(
    session: Session, principal: Principal, vault: BsnVault, body: ResidentSearch, *, now: datetime
) -> ResidentFound:
    """The signals, cases and households that concern the person, over the municipality's whole
    history: erased ones through the keyed hashes kept of them."""
    code = principal.municipality_code
    digest = vault.digester(code)
    signals: list[Signal] = []
    household_ids: set[uuid.UUID] = set()
    if body.bsn is not None:
        erased_key = digest(body.bsn)
        signals = list(
            session.exec(select(Signal).where(Signal.municipality_code == code, Signal.bsn_digest == erased_key))
        )
    elif body.surname is not None and body.birth_date is not None:
        born = session.exec(
            select(Signal).where(Signal.municipality_code == code, Signal.birth_date == body.birth_date)
        )
        signals = [s for s in born if name_matches(body.surname, prefix=s.prefix, surname=s.surname)]
        erased_key = digest(name_key(body.surname, body.birth_date))
    else:
        key = address_key(postcode=body.postcode, house_number=body.house_number, addition=body.house_number_addition)
        erased_key = digest(f"address|{key}")
        household_ids = set(
            session.exec(select(Household.id).where(Household.municipality_code == code, Household.address_key == key))
        )
        signals = list(session.exec(select(Signal).where(col(Signal.household_id).in_(household_ids))))
    erased = list(
        session.exec(
            select(ErasedSubject).where(ErasedSubject.municipality_code == code, ErasedSubject.digest == erased_key)
        )
    )
    signal_ids = {s.id for s in signals} | {e.signal_id for e in erased if e.signal_id is not None}
    case_ids = {s.case_id for s in signals if s.case_id} | {e.case_id for e in erased if e.case_id is not None}
    if household_ids:
        case_ids |= set(session.exec(select(Case.id).where(col(Case.household_id).in_(household_ids))))
    household_ids |= {s.household_id for s in signals}
    request = ResidentRequest(
        municipality_code=code,
        criterion=body.criterion,
        reason=body.reason.strip(),
        created_by=principal.actor_id,
        signal_ids=sorted(map(str, signal_ids)),
        case_ids=sorted(map(str, case_ids)),
        household_ids=sorted(map(str, household_ids)),
        created_at=now,
    )
    session.add(request)
    session.flush()
    record(
        session,
        principal,
        action="residents.search",
        resource_type="resident_request",
        resource_id=request.id,
        at=now,
        detail={"criterion": body.criterion, "signals": len(signal_ids), "cases": len(case_ids)},
    )
    record_case_reads(session, principal, case_ids=sorted(case_ids), action="residents.search", at=now)
    found = _found(session, request)
    return ResidentFound(
        ref=request.id,
        criterion=body.criterion,
        signals=found.signals,
        cases=found.cases,
        households=found.households,
        erased_before=found.erased_before,
    )


class _Found:
    def __init__(
        self,
        signals: list[FoundSignal],
        cases: list[FoundCase],
        households: list[FoundHousehold],
        erased_before: list[datetime],
        rows: tuple[list[Signal], list[Case], list[Household]],
    ) -> None:
        self.signals, self.cases, self.households, self.erased_before = signals, cases, households, erased_before
        self.signal_rows, self.case_rows, self.household_rows = rows


def _ids(values: Iterable[str]) -> list[uuid.UUID]:
    return [uuid.UUID(value) for value in values]


def _found(session: Session, request: ResidentRequest) -> _Found:
    signal_rows = list(
        session.exec(
            select(Signal)
            .where(col(Signal.id).in_(_ids(request.signal_ids)))
            .order_by(col(Signal.received_at), col(Signal.id))
        )
    )
    case_rows = list(
        session.exec(
            select(Case).where(col(Case.id).in_(_ids(request.case_ids))).order_by(col(Case.opened_at), col(Case.id))
        )
    )
    household_rows = list(session.exec(select(Household).where(col(Household.id).in_(_ids(request.household_ids)))))
    erased_at = sorted(
        set(
            session.exec(
                select(ErasedSubject.erased_at).where(
                    sa.or_(
                        col(ErasedSubject.signal_id).in_(_ids(request.signal_ids)),
                        col(ErasedSubject.case_id).in_(_ids(request.case_ids)),
                    )
                )
            )
        )
    )
    return _Found(
        signals=[
            FoundSignal(
                id=s.id,
                external_id=s.external_id,
                partner_type=s.partner_type,
                creditor=s.creditor_name,
                amount_cents=s.amount_cents,
                arrears_since_date=s.arrears_since_date,
                signal_date=s.signal_date,
                received_at=s.received_at,
                status=s.status,
                case_id=s.case_id,
                erased=_erased(s),
            )
            for s in signal_rows
        ],
        cases=[
            FoundCase(
                id=c.id,
                state=c.state,
                opened_at=c.opened_at,
                first_contact_due_date=c.first_contact_due_date,
                closed_at=c.closed_at,
                result=c.result,
                purged_at=c.purged_at,
            )
            for c in case_rows
        ],
        households=[FoundHousehold(id=h.id, address=_address(h)) for h in household_rows],
        erased_before=erased_at,
        rows=(signal_rows, case_rows, household_rows),
    )


def _address(household: Household) -> str | None:
    if household.postcode is None:
        return None
    number = f"{household.house_number}{household.house_number_addition or ''}"
    return ", ".join(
        part
        for part in (
            f"{household.street or ''} {number}".strip(),
            f"{household.postcode} {household.town or ''}".strip(),
        )
        if part
    )


def _request(session: Session, principal: Principal, ref: uuid.UUID) -> ResidentRequest:
    request = session.get(ResidentRequest, ref)
    if request is None or request.municipality_code != principal.municipality_code:
        raise NotFound("No such resident request.")
    return request


def signal_of_request(session: Session, principal: Principal, ref: uuid.UUID, signal_id: str | None) -> uuid.UUID:
    """A signal the request found (what the console's correction form may choose from)."""
    request = _request(session, principal, ref)
    if signal_id is None or signal_id not in request.signal_ids:
        raise Unprocessable(
            "Choose one of the signals this request found.",
            errors=[{"pointer": "/signal_id", "detail": "not a signal of this request", "code": "choice"}],
        )
    return uuid.UUID(signal_id)


# --- 2. access (inzage) ----------------------------------------------------------------------------


def report(session: Session, principal: Principal, vault: BsnVault, ref: uuid.UUID, *, now: datetime) -> ResidentReport:
    """Everything held about the person and who read or changed it, under which activity."""
    request = _request(session, principal, ref)
    municipality = session.get(Municipality, principal.municipality_code)
    assert municipality is not None
    settings = settings_of(municipality)
    found = _found(session, request)
    case_ids = [c.id for c in found.case_rows]
    events = list(
        session.exec(
            select(VisitEvent)
            .where(col(VisitEvent.case_id).in_(case_ids))
            .order_by(col(VisitEvent.occurred_at), col(VisitEvent.id))
        )
    )
    trajectories = {t.case_id: t for t in session.exec(select(Trajectory).where(col(Trajectory.case_id).in_(case_ids)))}
    registrations = list(
        session.exec(
            select(BkrRegistration)
            .where(col(BkrRegistration.trajectory_id).in_([t.id for t in trajectories.values()]))
            .order_by(col(BkrRegistration.created_at))
        )
    )
    log = list(
        session.exec(
            select(AuditEntry)
            .where(
                AuditEntry.municipality_code == principal.municipality_code,
                sa.or_(
                    col(AuditEntry.case_id).in_(case_ids),
                    sa.and_(
                        col(AuditEntry.resource_type) == "signal", col(AuditEntry.resource_id).in_(request.signal_ids)
                    ),
                    sa.and_(
                        col(AuditEntry.resource_type) == "resident_request",
                        col(AuditEntry.resource_id) == str(request.id),
                    ),
                ),
            )
            .order_by(col(AuditEntry.id))
        )
    )
    who = _Who(session, municipality, names=settings.access_report_names_staff)

    def event_of(e: VisitEvent) -> ReportEvent:
        return ReportEvent(
            kind=e.kind,
            label=LABELS["event"].get(e.kind, e.kind),
            on=dutch_date(e.occurred_at),
            attempt=e.kind in ATTEMPT_CHANNELS,
            reached=e.payload.get("reached"),
            recorded={key: e.payload[key] for key in _RECORDED if e.payload.get(key) is not None},
            by=who.staff(str(e.author_id), device=e.device_id is not None),
        )

    report_cases = []
    for case in found.case_rows:
        trajectory = trajectories.get(case.id)
        report_cases.append(
            ReportCase(
                **FoundCase.model_validate(case, from_attributes=True).model_dump(),
                classification=case.classification,
                events=[event_of(e) for e in events if e.case_id == case.id],
                trajectory=None
                if trajectory is None
                else ReportTrajectory(
                    decision_date=trajectory.decision_date,
                    end_date=trajectory.end_date,
                    outcome=trajectory.outcome,
                    bkr=[
                        ReportBkr(
                            action=r.action,
                            start_date=r.start_date,
                            end_date=r.end_date,
                            removal_date=r.removal_date,
                            status=r.status,
                            delivered_at=r.delivered_at,
                        )
                        for r in registrations
                        if r.trajectory_id == trajectory.id
                    ],
                ),
            )
        )
    record(
        session,
        principal,
        action="residents.report",
        resource_type="resident_request",
        resource_id=request.id,
        at=now,
        detail={"signals": len(found.signal_rows), "cases": len(case_ids)},
    )
    record_case_reads(session, principal, case_ids=case_ids, action="residents.report", at=now)
    return ResidentReport(
        ref=request.id,
        municipality=municipality.name,
        generated_at=now,
        person=_person(found.signal_rows, vault),
        signals=found.signals,
        cases=report_cases,
        households=found.households,
        erased_before=found.erased_before,
        access_log=[_access_entry(entry, who) for entry in log],
    )


def _access_entry(entry: AuditEntry, who: _Who) -> AccessEntry:
    activity = activity_for(entry.action)
    return AccessEntry(
        at=entry.at, action=entry.action, activity=activity.name, legal_basis=activity.legal_basis, by=who.actor(entry)
    )


def _person(signals: Sequence[Signal], vault: BsnVault) -> PersonHeld:
    def unique(values: Iterable[str | None]) -> list[str]:
        return sorted({value for value in values if value})

    bsns = []
    for signal in signals:
        if signal.bsn_ciphertext:
            try:
                bsns.append(mask_bsn(vault.decrypt(signal.bsn_ciphertext, municipality_code=signal.municipality_code)))
            except ValueError:
                bsns.append("*********")  # held, but not readable with the configured keys
    return PersonHeld(
        names=unique(
            " ".join(part for part in (s.initials, s.prefix, s.surname) if part) if s.surname else None for s in signals
        ),
        birth_dates=sorted({s.birth_date for s in signals if s.birth_date}),
        bsn=unique(bsns),
        phones=unique(s.phone for s in signals),
        emails=unique(s.email for s in signals),
    )


class _Who:
    """Who acted, as a report to a resident names them: role and organisation."""

    def __init__(self, session: Session, municipality: Municipality, *, names: bool) -> None:
        self.session, self.organisation, self.names = session, f"Gemeente {municipality.name}", names
        self.users: dict[str, StaffUser | None] = {}
        self.partners: dict[str, str] = {}  # client id → name: a log holds the same few actors many times

    def staff(self, actor_id: str, *, device: bool = False) -> str:
        if actor_id not in self.users:
            try:
                self.users[actor_id] = self.session.get(StaffUser, uuid.UUID(actor_id))
            except ValueError:
                self.users[actor_id] = None
        user = self.users[actor_id]
        role = _ROLES.get(user.role, user.role) if user else "medewerker"
        name = f" ({user.display_name})" if self.names and user else ""
        return f"{role}{name}{' in het veld' if device else ''}, {self.organisation}"

    def actor(self, entry: AuditEntry) -> str:
        if entry.actor_type == "staff":
            return self.staff(entry.actor_id)
        if entry.actor_type == "partner":
            if entry.actor_id not in self.partners:
                partner = self.session.exec(
                    select(PartnerClient).where(PartnerClient.client_id == entry.actor_id)
                ).first()
                self.partners[entry.actor_id] = partner.name if partner else entry.actor_id
            return f"signaalpartner {self.partners[entry.actor_id]}"
        return _SYSTEM.get(entry.actor_id, "Doorstep")


# --- 4. objection and erasure ---------------------------------------------------------------------


def erasure(
    session: Session, principal: Principal, vault: BsnVault, ref: uuid.UUID, body: ErasureRequest, *, now: datetime
) -> ErasureResult:
    """Erase what the law does not keep: closed cases at once, open ones closed as *Niet opgepakt:
    andere reden* first; a running trajectory or BKR registration stays, with the reason. A case
    that also names other residents keeps theirs: only this person's signals are erased."""
    request = _request(session, principal, ref)
    found = _found(session, request)
    mine = {s.id for s in found.signal_rows}
    today = dutch_date(now)
    trajectories = {
        t.case_id: t
        for t in session.exec(select(Trajectory).where(col(Trajectory.case_id).in_([c.id for c in found.case_rows])))
    }
    removal = dict(
        session.exec(
            select(BkrRegistration.trajectory_id, sa.func.max(BkrRegistration.removal_date))
            .where(col(BkrRegistration.trajectory_id).in_([t.id for t in trajectories.values()]))
            .group_by(col(BkrRegistration.trajectory_id))
        ).all()
    )
    if request.criterion == "address" and len({_person_key(s) for s in found.signal_rows if not _erased(s)}) > 1:
        raise Conflict(
            "The address names more than one resident: search for this person by BSN or by name and "
            "birth date, so an erasure takes only theirs.",
            slug="resident-ambiguous",
        )
    others = {
        case_id
        for (case_id,) in session.execute(
            sa.select(col(Signal.case_id))
            .where(
                col(Signal.case_id).in_([c.id for c in found.case_rows]),
                col(Signal.id).not_in(mine),
                sa.or_(*(getattr(Signal, name).is_not(None) for name in PERSONAL_SIGNAL_FIELDS)),
            )
            .distinct()
        )
    }
    whole: list[Case] = []
    closed_first: list[uuid.UUID] = []
    kept: list[KeptCase] = []
    held_by_law: set[uuid.UUID] = set()
    for case in found.case_rows:
        trajectory = trajectories.get(case.id)
        decision = erasure_of(
            CaseFacts(
                closed=case.state == "closed",
                purged=case.purged_at is not None,
                trajectory_started=trajectory is not None,
                trajectory_ended_on=trajectory.end_date if trajectory else None,
                bkr_removal_on=removal.get(trajectory.id) if trajectory else None,
            ),
            today=today,
        )
        if decision.erasure is Erasure.KEEP:
            kept.append(KeptCase(case_id=case.id, reason=decision.reason or ""))
            held_by_law.add(case.id)
        elif decision.erasure is Erasure.ALREADY:
            continue
        elif case.id in others:
            kept.append(
                KeptCase(
                    case_id=case.id,
                    reason="The case concerns other residents of the household too: "
                    "only this person's signals were erased.",
                )
            )
        else:
            if decision.erasure is Erasure.CLOSE_AND_ERASE:
                cases.close(session, principal, case.id, result=STATUS_OTHER_REASON, base_version=None, now=now)
                record(
                    session,
                    principal,
                    action="cases.close",
                    resource_type="case",
                    resource_id=case.id,
                    case_id=case.id,
                    at=now,
                    detail={"result": STATUS_OTHER_REASON, "ground": body.ground},
                )
                closed_first.append(case.id)
            whole.append(case)
    whole_ids = {c.id for c in whole}
    loose = [
        s.id
        for s in found.signal_rows
        if s.case_id not in whole_ids and s.case_id not in held_by_law and not _erased(s)
    ]
    in_cases = sum(1 for s in found.signal_rows if s.case_id in whole_ids and not _erased(s))
    quarantined = (
        _quarantined_of(session, vault, [s for s in found.signal_rows if not _erased(s)], found.household_rows)
        if whole or loose
        else []
    )
    for row in quarantined:
        session.delete(row)
    erase(session, vault, cases=whole, caseless_signal_ids=loose, now=now, ground=body.ground)
    request.erasure_ground, request.erasure_reason, request.erased_at = body.ground, body.reason.strip(), now
    session.add(request)
    record(
        session,
        principal,
        action="residents.erasure",
        resource_type="resident_request",
        resource_id=request.id,
        at=now,
        detail={
            "ground": body.ground,
            "cases": len(whole),
            "signals": len(loose),
            "kept": len(kept),
            "quarantined_rows": len(quarantined),
        },
    )
    record_case_reads(session, principal, case_ids=[c.id for c in whole], action="residents.erasure", at=now)
    session.flush()
    return ErasureResult(
        ref=request.id,
        erased_cases=[c.id for c in whole],
        closed_then_erased=closed_first,
        erased_signals=len(loose) + in_cases,
        erased_quarantined_rows=len(quarantined),
        kept=kept,
        kept_always=KEPT_ALWAYS,
    )


def _quarantined_of(
    session: Session, vault: BsnVault, signals: Sequence[Signal], households: Sequence[Household]
) -> list[QuarantinedRow]:
    """The invalid lines of earlier imports that name the person (kept for the back office to
    correct; they hold the line as it came in, so they go with the person's data)."""
    if not signals:
        return []
    bsns = set()
    for signal in signals:
        if signal.bsn_ciphertext:
            with contextlib.suppress(ValueError):
                bsns.add(vault.decrypt(signal.bsn_ciphertext, municipality_code=signal.municipality_code))
    names = {form for s in signals if s.surname for form in name_forms(prefix=s.prefix, surname=s.surname)}
    birth_dates = {s.birth_date for s in signals if s.birth_date}
    postcodes = {h.postcode for h in households if h.postcode}
    rows = session.exec(select(QuarantinedRow).where(QuarantinedRow.municipality_code == signals[0].municipality_code))
    return [
        row
        for row in rows
        if names_the_person(row.raw, names=names, birth_dates=birth_dates, postcodes=postcodes, bsns=bsns)
    ]


def _erased(signal: Signal) -> bool:
    return all(getattr(signal, name) is None for name in PERSONAL_SIGNAL_FIELDS)


def _person_key(signal: Signal) -> tuple[str, ...]:
    """Who a signal names, as far as it tells: its BSN, else its name with birth date."""
    if signal.bsn_digest:
        return ("bsn", signal.bsn_digest)
    return ("name", *name_forms(prefix=signal.prefix, surname=signal.surname or ""), str(signal.birth_date))
