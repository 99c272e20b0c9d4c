"""Demo data: municipality 0363 with staff, a partner and realistic synthetic signals grouped into cases."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from api.auth import service as auth
from api.cases.rules import first_contact_deadline
from api.models import Case, Household, Municipality, Signal, StaffUser
from api.policy import MunicipalitySettings
from api.safety import DEMO_PARTNER, DEMO_PASSWORD
from api.sequence import next_change_seq, start_sequence
from api.signals.rules import SignalOnAddress, classify

DEMO_CODE = "0363"
DEMO_STAFF = (
    ("worker1", "Fatima el Amrani", "worker"),
    ("worker2", "Joost de Wit", "worker"),
    ("office", "Annelies Verbeek", "backoffice"),
    ("admin", "Ruud Kramer", "admin"),
)
DEMO_SCOPES = ["signals:write", "cases:read", "reports:read"]

_STREETS = (
    ("Bos en Lommerweg", "1055"), ("Kinkerstraat", "1053"), ("Javastraat", "1094"), ("Dapperstraat", "1093"),
    ("Osdorpplein", "1068"), ("Bijlmerdreef", "1103"), ("Meeuwenlaan", "1021"), ("Van Woustraat", "1073"),
    ("Admiraal de Ruijterweg", "1056"), ("Purmerweg", "1023"), ("Pieter Calandlaan", "1065"), ("Ganzenhoef", "1103"),
)
_SURNAMES = (
    ("", "Jansen"), ("de", "Vries"), ("", "Bakker"), ("", "Yilmaz"), ("el", "Idrissi"), ("van", "Dijk"),
    ("", "Kaya"), ("", "Baldewsingh"), ("de", "Boer"), ("", "Mulder"), ("", "Asante"), ("van der", "Berg"),
    ("", "Smit"), ("", "Koç"), ("", "Visser"), ("", "Pinas"),
)
# Mix of partner types as reported for H1 2024: health insurance 41%, rent 20%, energy 20%, water 18%.
_CREDITORS = (
    ("Zorg", "Zilveren Kruis", 41), ("Huur", "Ymere", 12), ("Huur", "Stadgenoot", 8),
    ("Energie", "Vattenfall", 12), ("Energie", "Eneco", 8), ("Water", "Waternet", 18), ("Overige", "Gemeente", 1),
)


@dataclass(frozen=True)
class DemoResult:
    created: bool
    signals: int
    cases: int


def load_demo(session: Session, *, now: datetime) -> DemoResult:
    """Idempotent: when the demo municipality exists, nothing is written again."""
    if session.get(Municipality, DEMO_CODE) is not None:
        return DemoResult(created=False, signals=0, cases=0)
    settings = MunicipalitySettings()
    session.add(Municipality(code=DEMO_CODE, name="Amsterdam", settings=settings.model_dump(), created_at=now))
    start_sequence(session, DEMO_CODE)
    session.flush()
    workers: list[StaffUser] = []
    for username, display_name, role in DEMO_STAFF:
        user = auth.create_user(
            session, municipality_code=DEMO_CODE, username=username, display_name=display_name, role=role,
            password=DEMO_PASSWORD, now=now,
        )
        if role == "worker":
            workers.append(user)
    auth.create_partner(
        session, municipality_code=DEMO_CODE, client_id=DEMO_PARTNER[0], name="Demo creditor platform",
        secret=DEMO_PARTNER[1], scopes=DEMO_SCOPES, now=now,
    )
    signals, cases = _signals_and_cases(session, settings, workers, now=now)
    return DemoResult(created=True, signals=signals, cases=cases)


def _signals_and_cases(
    session: Session, settings: MunicipalitySettings, workers: list[StaffUser], *, now: datetime
) -> tuple[int, int]:
    rng = random.Random(363)
    today = now.date()
    households: list[Household] = []
    for index in range(26):
        street, pc4 = _STREETS[index % len(_STREETS)]
        number = rng.randint(1, 240)
        addition = rng.choice([None, None, None, "H", "1", "2", "3-hoog"])
        postcode = f"{pc4}{rng.choice('ABCDEHJKLMNPRSTVWX')}{rng.choice('ABCDEHJKLMNPRSTVWX')}"
        households.append(
            Household(
                municipality_code=DEMO_CODE, address_key=f"{postcode}|{number}|{(addition or '').upper()}",
                postcode=postcode, house_number=number, house_number_addition=addition, street=street,
                town="Amsterdam", created_at=now,
            )
        )
    session.add_all(households)
    session.flush()

    weights = [weight for _, _, weight in _CREDITORS]
    by_household: dict[int, list[Signal]] = defaultdict(list)
    for number in range(1, 43):
        # The first 26 signals give each household one; the rest make some multiple or consecutive.
        household_index = number - 1 if number <= 26 else rng.randrange(0, 12)
        household = households[household_index]
        partner_type, creditor, _ = rng.choices(_CREDITORS, weights=weights)[0]
        prefix, surname = _SURNAMES[household_index % len(_SURNAMES)]
        signal_date = today - timedelta(days=rng.choice([2, 5, 9, 14, 20, 26, 33, 61, 95]))
        received_at = datetime.combine(signal_date + timedelta(days=1), time(7, 30), UTC)
        amount = rng.choice([185, 240, 312, 460, 675, 980, 1450, 2300]) * 100 + rng.choice([0, 50, 99])
        signal = Signal(
            municipality_code=DEMO_CODE, external_id=f"VPS-{DEMO_CODE}-{number:06d}", household_id=household.id,
            partner_type=partner_type, creditor_name=creditor, amount_cents=amount,
            arrears_since_date=signal_date - timedelta(days=rng.choice([45, 60, 90, 120])), signal_date=signal_date,
            received_at=received_at, crisis=partner_type in {"Huur", "Energie"} and rng.random() < 0.12,
            warm_handover=rng.random() < 0.1, initials=rng.choice(["A.", "M.", "J.", "S.", "F.", "R.K.", "H."]),
            prefix=prefix or None, surname=surname, birth_date=date(rng.randint(1950, 2003), rng.randint(1, 12), rng.randint(1, 28)),
            gender=rng.choice(["M", "V", "O"]), phone=f"06{rng.randint(10000000, 99999999)}",
            email=None, created_at=now,
        )
        by_household[household_index].append(signal)

    case_count = 0
    for household_index, signals in sorted(by_household.items()):
        household = households[household_index]
        signals.sort(key=lambda s: s.signal_date)
        latest = signals[-1]
        kind = classify(
            [SignalOnAddress(s.signal_date) for s in signals], month=latest.signal_date,
            lookback_months=settings.lookback_months,
        )
        crisis = any(s.crisis for s in signals)
        first_received = min(s.received_at for s in signals)
        case = Case(
            municipality_code=DEMO_CODE, household_id=household.id, classification=kind.value, crisis=crisis,
            opened_at=first_received,
            deadline_date=first_contact_deadline(
                first_received.date(), crisis=crisis, first_contact_days=settings.first_contact_days,
                crisis_working_days=settings.crisis_first_contact_working_days,
            ),
            assigned_worker_id=workers[household_index % 2].id if household_index < 16 else None,
            change_seq=next_change_seq(session, DEMO_CODE),
        )
        session.add(case)
        session.flush()
        for signal in signals:
            signal.case_id = case.id
            session.add(signal)
        case_count += 1
    session.flush()
    return sum(len(s) for s in by_household.values()), case_count
