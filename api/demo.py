"""Demo data: municipality 0363 with staff, a partner and realistic synthetic signals grouped into cases."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from api.auth import service as auth
from api.auth.principal import Principal
from api.auth.safety import DEMO_PARTNER, DEMO_PASSWORD
from api.cases import service as cases
from api.cases import trajectory
from api.cases.rules import dutch_date
from api.models import Case, CreditorAgreement, Municipality, Signal, StaffUser
from api.municipality.policy import MunicipalitySettings
from api.platform.sequence import start_sequence
from api.signals.bsn import BsnVault
from api.signals.parsing import normalise_row
from api.signals.rules import is_valid_bsn
from api.signals.service import finish_import, intake, new_import

DEMO_CODE = "0363"
DEMO_STAFF = (
    ("worker1", "Fatima el Amrani", "worker"),
    ("worker2", "Joost de Wit", "worker"),
    ("office", "Annelies Verbeek", "backoffice"),
    ("admin", "Ruud Kramer", "admin"),
)
DEMO_SCOPES = ["signals:write", "cases:read", "feedback:read", "reports:read"]

_STREETS = (
    ("Bos en Lommerweg", "1055"),
    ("Kinkerstraat", "1053"),
    ("Javastraat", "1094"),
    ("Dapperstraat", "1093"),
    ("Osdorpplein", "1068"),
    ("Bijlmerdreef", "1103"),
    ("Meeuwenlaan", "1021"),
    ("Van Woustraat", "1073"),
    ("Admiraal de Ruijterweg", "1056"),
    ("Purmerweg", "1023"),
    ("Pieter Calandlaan", "1065"),
    ("Ganzenhoef", "1103"),
)
_SURNAMES = (
    ("", "Jansen"),
    ("de", "Vries"),
    ("", "Bakker"),
    ("", "Yilmaz"),
    ("el", "Idrissi"),
    ("van", "Dijk"),
    ("", "Kaya"),
    ("", "Baldewsingh"),
    ("de", "Boer"),
    ("", "Mulder"),
    ("", "Asante"),
    ("van der", "Berg"),
    ("", "Smit"),
    ("", "Koç"),
    ("", "Visser"),
    ("", "Pinas"),
)
# Mix of partner types as reported for H1 2024: health insurance 41%, rent 20%, energy 20%, water 18%.
_CREDITORS = (
    ("Zorg", "Zilveren Kruis", 41),
    ("Huur", "Ymere", 12),
    ("Huur", "Stadgenoot", 8),
    ("Energie", "Vattenfall", 12),
    ("Energie", "Eneco", 8),
    ("Water", "Waternet", 18),
    ("Overige", "Gemeente", 1),
)


@dataclass(frozen=True)
class DemoResult:
    created: bool
    signals: int
    cases: int


def load_demo(session: Session, *, vault: BsnVault, now: datetime) -> DemoResult:
    """Idempotent: when the demo municipality exists, nothing is written again."""
    if session.get(Municipality, DEMO_CODE) is not None:
        return DemoResult(created=False, signals=0, cases=0)
    settings = MunicipalitySettings()
    municipality = Municipality(
        code=DEMO_CODE, name="Amsterdam", settings=settings.model_dump(mode="json"), created_at=now
    )
    session.add(municipality)
    start_sequence(session, DEMO_CODE)
    session.flush()
    workers: list[StaffUser] = []
    for username, display_name, role in DEMO_STAFF:
        user = auth.create_user(
            session,
            municipality_code=DEMO_CODE,
            username=username,
            display_name=display_name,
            role=role,
            password=DEMO_PASSWORD,
            now=now,
        )
        if role == "worker":
            workers.append(user)
    partner = auth.create_partner(
        session,
        municipality_code=DEMO_CODE,
        client_id=DEMO_PARTNER[0],
        name="Demo creditor platform",
        secret=DEMO_PARTNER[1],
        scopes=DEMO_SCOPES,
        now=now,
    )
    session.flush()
    # The demo platform delivers for every demo creditor, so it can send signals and read feedback.
    session.add_all(
        CreditorAgreement(
            municipality_code=DEMO_CODE,
            name=creditor,
            partner_type=partner_type,
            agreement_date=date(2025, 1, 1),
            platform="API",
            partner_client_id=partner.id,
            created_at=now,
        )
        for partner_type, creditor, _ in _CREDITORS
    )
    signals, cases = _signals_and_cases(session, municipality, vault, workers, now=now)
    office = session.exec(select(StaffUser).where(StaffUser.username == "office")).one()
    _help_accepted_and_a_trajectory(session, office, now=now)
    return DemoResult(created=True, signals=signals, cases=cases)


def _help_accepted_and_a_trajectory(session: Session, office: StaffUser, *, now: datetime) -> None:
    """Three unassigned cases whose resident was reached by phone and accepted help; the first
    also has its trajectory started, so `make run` shows the BKR worker deliver it. Through the
    real use cases, so the demo cannot do what the product would refuse."""
    principal = Principal.staff(office.id, DEMO_CODE, "backoffice")
    candidates = session.exec(
        select(Case)
        .where(Case.municipality_code == DEMO_CODE, col(Case.assigned_worker_id).is_(None))
        .order_by(col(Case.first_contact_due_date).desc())
    ).all()
    accepted = 0
    for case in candidates:
        if len(session.exec(select(Signal.id).where(Signal.case_id == case.id)).all()) != 1:
            continue  # one named resident, so a trajectory needs no choice of person
        for kind, fields in (("phone_attempt", {"reached": True}), ("help_accepted", {})):
            cases.record_office_action(
                session,
                principal,
                case.id,
                action_id=uuid.uuid4(),
                kind=kind,
                occurred_at=now - timedelta(hours=2),
                base_version=None,
                fields=fields,
                now=now,
            )
        if accepted == 0:
            trajectory.start(
                session, principal, case.id, decision_date=dutch_date(now), signal_id=None, base_version=None, now=now
            )
        accepted += 1
        if accepted == 3:
            break


def _signals_and_cases(
    session: Session, municipality: Municipality, vault: BsnVault, workers: list[StaffUser], *, now: datetime
) -> tuple[int, int]:
    """Synthetic signals go through the real intake, so the demo's cases are grouped, classified
    and given deadlines exactly as an imported file would be."""
    rng = random.Random(363)
    today = now.date()
    addresses = []
    for index in range(26):
        street, pc4 = _STREETS[index % len(_STREETS)]
        letters = rng.choice("ABCDEHJKLMNPRSTVWX") + rng.choice("ABCDEHJKLMNPRSTVWX")
        addresses.append((street, f"{pc4} {letters}", rng.randint(1, 240), rng.choice(["", "", "", "H", "1", "2"])))
    weights = [weight for _, _, weight in _CREDITORS]
    rows = []
    for number in range(1, 43):
        # The first 26 signals give each household one; the rest make some multiple or consecutive.
        index = number - 1 if number <= 26 else rng.randrange(0, 12)
        street, postcode, house_number, addition = addresses[index]
        partner_type, creditor, _ = rng.choices(_CREDITORS, weights=weights)[0]
        prefix, surname = _SURNAMES[index % len(_SURNAMES)]
        signal_date = today - timedelta(days=rng.choice([2, 5, 9, 14, 20, 26, 33, 61, 95]))
        amount = rng.choice([185, 240, 312, 460, 675, 980, 1450, 2300]) + rng.choice([0, 0.5, 0.99])
        rows.append(
            normalise_row(
                {
                    "signal_id": f"VPS-{DEMO_CODE}-{number:06d}",
                    "partner_type": partner_type,
                    "creditor": creditor,
                    "amount": f"{amount:.2f}",
                    "signal_date": signal_date.isoformat(),
                    "arrears_since": (signal_date - timedelta(days=rng.choice([45, 60, 90, 120]))).isoformat(),
                    "crisis": partner_type in {"Huur", "Energie"} and rng.random() < 0.12,
                    "warm_handover": rng.random() < 0.1,
                    "bsn": _demo_bsn(rng) if rng.random() < 0.7 else None,
                    "initials": rng.choice(["A.", "M.", "J.", "S.", "F.", "R.K.", "H."]),
                    "prefix": prefix or None,
                    "surname": surname,
                    "birth_date": date(rng.randint(1950, 2003), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                    "gender": rng.choice(["M", "V", "O"]),
                    "street": street,
                    "house_number": house_number,
                    "house_number_addition": addition or None,
                    "postcode": postcode,
                    "town": "Amsterdam",
                    "phone": f"06{rng.randint(10000000, 99999999)}",
                },
                line=number,
            )
        )
    record = new_import(
        code=DEMO_CODE,
        source="file",
        mode="all-or-nothing",
        created_by="demo",
        now=now,
        filename="demo.csv",
        file_format="csv",
    )
    session.add(record)
    session.flush()
    report = intake(
        session, municipality=municipality, vault=vault, rows=rows, mode="all-or-nothing", import_id=record.id, now=now
    )
    if report.rejected:
        raise RuntimeError(f"demo data invalid: {report.errors}")
    finish_import(record, report, extra={"unknown_columns": [], "warnings": [], "creditors_without_agreement": []})
    cases = session.exec(
        select(Case).where(Case.municipality_code == DEMO_CODE).order_by(col(Case.first_contact_due_date))
    ).all()
    for position, case in enumerate(cases[:16]):
        case.assigned_worker_id = workers[position % 2].id
        case.state = "planned"
        session.add(case)
    session.flush()
    return report.created, len(cases)


def _demo_bsn(rng: random.Random) -> str:
    while not is_valid_bsn(bsn := f"{rng.randint(100_000_000, 999_999_999)}"):
        pass
    return bsn
