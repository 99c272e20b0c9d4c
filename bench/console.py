"""Benchmark: the time the server takes to render each console screen over 10,000 cases, against 300 ms.

Seeds a municipality the way `bench/reports.py` does (10,000 cases with signals, attempts and
trajectories), adds a few open conflicts, devices, signal imports and BKR registrations so every
screen has something to show, signs in through the console's own form, and renders every screen
of `SCREENS` 20 times (after one warm-up). Measured in-process: the app runs in Starlette's
TestClient, so a figure is the app's time for the request with no network or browser in it.
A screen that is not built yet answers 404 and is listed as missing. No assertions: figures only.

    .venv/bin/python bench/console.py [--cases 10000] [--renders 20] [--pg postgresql+psycopg://…/a_scratch_database]

The PostgreSQL database given is wiped.
"""

from __future__ import annotations

import argparse
import base64
import math
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth.keys import generate_signing_key  # noqa: E402
from api.models import (  # noqa: E402
    BkrAttempt,
    BkrRegistration,
    Case,
    Conflict,
    Device,
    SignalImport,
    StaffUser,
    Trajectory,
    VisitEvent,
)
from api.platform.db import make_engine, migrate  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.signals.bsn import generate_data_key  # noqa: E402
from bench.reports import NOW, load  # noqa: E402
from tests.conftest import FakeClock, _reset_postgres  # noqa: E402
from tests.console.helpers import browser, sign_in  # noqa: E402

TARGET_MS = 300
# Every console screen, in menu order: (name, path). `{case_id}`: the seeded case with the most on its page.
SCREENS = (
    ("Vandaag", "/console"),
    ("Zaken", "/console/zaken"),
    ("Zaak", "/console/zaken/{case_id}"),
    ("Conflicten", "/console/conflicten"),
    ("Planning", "/console/planning"),
    ("Planning (voorstel)", "/console/planning?datum=2026-11-27&bezoeken=8&medewerker={worker_id}"),
    ("Signalen", "/console/signalen"),
    ("Apparaten", "/console/apparaten"),
    ("BKR", "/console/bkr"),
    ("Rapportages (jan–mei)", "/console/rapportages?from=2026-01-01&to=2026-05-31"),
)
CONFLICTS, DEVICES, IMPORTS = 25, 6, 12


def extras(url: str) -> uuid.UUID:
    """Conflicts, devices, imports and BKR registrations on top of `load`; returns the case to open."""
    engine = make_engine(url)
    with Session(engine) as session:
        worker = session.exec(select(StaffUser).where(StaffUser.username == "bench-worker")).one()
        office = session.exec(select(StaffUser).where(StaffUser.username == "bench-office")).one()
        devices = [
            Device(
                municipality_code="0363",
                worker_id=worker.id,
                label=f"Telefoon {number + 1}",
                public_jwk={"kty": "EC", "crv": "P-256", "x": "bench", "y": "bench"},
                key_thumbprint=f"{number:064x}",
                enrolled_at=NOW - timedelta(days=90),
                last_pull_at=NOW - timedelta(hours=number * 10),
                last_push_at=NOW - timedelta(hours=number * 10),
                last_push_event_count=number * 3,
                revoked_at=NOW - timedelta(days=2) if number == DEVICES - 1 else None,
                revoked_by=office.id if number == DEVICES - 1 else None,
            )
            for number in range(DEVICES)
        ]
        session.add_all(devices)
        session.flush()
        open_cases = session.exec(
            select(Case).where(Case.state != "closed").order_by(Case.opened_at).limit(CONFLICTS)
        ).all()
        for number, case in enumerate(open_cases):
            sides = []
            for minutes, kind in ((0, "help_accepted"), (30, "help_declined")):
                event = VisitEvent(
                    id=uuid.uuid4(),
                    municipality_code="0363",
                    case_id=case.id,
                    device_id=devices[number % 2].id,
                    author_id=worker.id,
                    kind=kind,
                    occurred_at=NOW - timedelta(days=1, minutes=-minutes),
                    received_at=NOW - timedelta(hours=12),
                    base_version=case.version,
                    payload={},
                    outcome="conflict",
                    change_seq=0,
                )
                session.add(event)
                sides.append(
                    {
                        "event_id": str(event.id),
                        "device_id": str(event.device_id),
                        "author_id": str(worker.id),
                        "kind": kind,
                        "occurred_at": event.occurred_at.isoformat(),
                        "base_version": event.base_version,
                        "payload": {},
                    }
                )
            resolved = number % 5 == 4
            session.add(
                Conflict(
                    municipality_code="0363",
                    case_id=case.id,
                    kind="accepted-and-declined",
                    sides=sides,
                    opened_at=NOW - timedelta(hours=12),
                    resolved_at=NOW - timedelta(hours=1) if resolved else None,
                    resolved_by=office.id if resolved else None,
                    resolution={"decision": "help_accepted", "note": None, "event_ids": [s["event_id"] for s in sides]}
                    if resolved
                    else None,
                )
            )
        for number in range(IMPORTS):
            created = NOW - timedelta(days=12 * (IMPORTS - number))
            session.add(
                SignalImport(
                    municipality_code="0363",
                    source="file",
                    filename=f"vps-{created.date().isoformat()}.csv",
                    file_format="csv",
                    file_sha256=f"{number:064x}",
                    mode="accept-valid",
                    status="rejected" if number == 3 else "completed",
                    created_by=str(office.id),
                    created_at=created,
                    total_rows=850,
                    created_count=0 if number == 3 else 830,
                    duplicate_count=5,
                    repeat_count=10,
                    rejected_count=850 if number == 3 else 5,
                    report={"errors": [], "errors_truncated": False, "cases_opened": 800, "cases_updated": 30},
                )
            )
        statuses = ("delivered",) * 7 + ("pending", "pending", "failed")
        for number, trajectory in enumerate(session.exec(select(Trajectory).order_by(Trajectory.decision_date))):
            status = statuses[number % len(statuses)]
            registration = BkrRegistration(
                municipality_code="0363",
                trajectory_id=trajectory.id,
                action="register",
                start_date=trajectory.decision_date,
                subject={} if status == "delivered" else {"postcode": "1053KL"},
                status=status,
                attempts=0 if status == "pending" else (3 if status == "failed" else 1),
                next_attempt_at=NOW,
                delivered_at=NOW - timedelta(days=1) if status == "delivered" else None,
                bkr_reference=f"SH{number:08d}" if status == "delivered" else None,
                last_error="BKR answered 422" if status == "failed" else None,
                created_at=NOW - timedelta(days=2),
            )
            session.add(registration)
            session.flush()
            for attempt in range(registration.attempts):
                session.add(
                    BkrAttempt(
                        municipality_code="0363",
                        registration_id=registration.id,
                        number=attempt + 1,
                        started_at=NOW - timedelta(days=1, minutes=-attempt),
                        finished_at=NOW - timedelta(days=1),
                        outcome="delivered" if status == "delivered" else "rejected",
                        http_status=201 if status == "delivered" else 422,
                    )
                )
        session.commit()
        events = VisitEvent.__table__.c
        busiest = session.execute(
            sa.select(events.case_id).group_by(events.case_id).order_by(sa.func.count().desc(), events.case_id).limit(1)
        ).scalar_one()
    engine.dispose()
    return busiest


def p95(samples: list[float]) -> float:
    """Nearest rank: of 20 renders, the 19th fastest."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure(url: str, cases: int, renders: int) -> None:
    if url.startswith("postgresql"):
        _reset_postgres(url)
    migrate(url)
    load(url, cases)
    case_id = extras(url)
    settings = Settings(
        demo=False,
        database_url=url,
        jwt_signing_keys=[generate_signing_key(kid_prefix="bench-")],
        var_dir=Path(tempfile.mkdtemp()),
        bsn_encryption_keys=[generate_data_key("bench")],
        bsn_hmac_key=base64.b64encode(b"b" * 32).decode(),
    )
    engine = make_engine(url)
    with browser(create_app(settings, engine=engine, clock=FakeClock(NOW))) as client:
        signed = sign_in(client, "bench-office")
        with Session(engine) as session:
            worker_id = session.exec(select(StaffUser.id).where(StaffUser.username == "bench-worker")).one()
        assert signed.status_code == 303, signed.text
        print(
            f"\n{engine.dialect.name}, {cases:,} cases; in-process (Starlette TestClient), "
            f"{renders} renders per screen after one warm-up; target {TARGET_MS} ms"
        )
        print(f"  {'screen':<23} {'median':>8} {'p95':>8} {'median/target':>14} {'p95/target':>11} {'KiB':>6}")
        for name, path in SCREENS:
            path = path.format(case_id=case_id, worker_id=worker_id)
            first = client.get(path)
            if first.status_code == 404:
                print(f"  {name:<23} {'missing (404: not built yet)':>52}")
                continue
            if first.status_code != 200:
                print(f"  {name:<23} {f'answered {first.status_code}, not measured':>52}")
                continue
            samples = []
            for _ in range(renders):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
            median, slow = statistics.median(samples), p95(samples)
            print(
                f"  {name:<23} {median:>5,.0f} ms {slow:>5,.0f} ms {median / TARGET_MS:>13.2f}x "
                f"{slow / TARGET_MS:>10.2f}x {len(response.content) / 1024:>6,.0f}"
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--pg", help="a PostgreSQL database to wipe and use")
    args = parser.parse_args()
    measure(f"sqlite:///{tempfile.mkdtemp()}/console.db", args.cases, args.renders)
    if args.pg:
        measure(args.pg, args.cases, args.renders)


if __name__ == "__main__":
    main()
