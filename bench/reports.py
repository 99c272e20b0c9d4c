"""Benchmark: the monitor report, the case export (CSV, XLSX) and the DDAS delivery, on SQLite and PostgreSQL.

Loads the cases (with signals, 0–3 attempts each and some trajectories) straight into a
fresh database *without* refreshing the planner's statistics, the worst case right after a
large delivery. Each request then runs in a process of its own (the app in Starlette's
TestClient, nothing else loaded): three times, the best and the slowest printed, with the
process's peak resident memory during the requests (VmHWM, counted afresh after signing in;
the whole process: interpreter, app, the response body the test client holds) beside the
target. Beside each export its floor: reading the same rows without writing a file. Targets (issue 19): the monitor under a
second; a year of a large municipality (`--cases 50000`) exported, as DDAS and as cases, in
under 10 s with a peak RSS under 300 MB.

    .venv/bin/python bench/reports.py [--cases 50000] [--pg postgresql+psycopg://…/a_scratch_database]

The PostgreSQL database given is dropped and created again.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth.keys import generate_signing_key  # noqa: E402
from api.models import Case, Household, Signal, Trajectory, VisitEvent  # noqa: E402
from api.platform.db import make_engine, migrate  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.signals.bsn import generate_data_key  # noqa: E402
from bench.import_signals import fresh_postgres  # noqa: E402

RESULTS = ["Definitief geen contact kunnen krijgen", "Vervolghulp en/of verwijzing", "Inwoner is overleden"]
KINDS = ["visit_attempt", "phone_attempt", "letter_sent", "card_left"]
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def load(url: str, cases: int) -> None:
    from tests.factories import make_municipality, make_user  # not in a measured process: pytest and more

    rng = random.Random(1)
    engine = make_engine(url)
    with Session(engine) as session:
        make_municipality(session)
        worker = make_user(session, role="worker", username="bench-worker")
        make_user(session, role="backoffice", username="bench-office")
        rows: dict[type, list[dict]] = {Household: [], Case: [], Signal: [], VisitEvent: [], Trajectory: []}
        for index in range(cases):
            household_id, case_id = uuid.uuid4(), uuid.uuid4()
            opened = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(150 * 24 * 60))
            closed = rng.random() < 0.4
            rows[Household].append(
                dict(
                    id=household_id,
                    municipality_code="0363",
                    address_key=f"bench|{index}",
                    postcode="1053KL",
                    house_number=index,
                    street="Kinkerstraat",
                    town="Amsterdam",
                    created_at=opened,
                )
            )
            rows[Case].append(
                dict(
                    id=case_id,
                    municipality_code="0363",
                    household_id=household_id,
                    state="closed" if closed else "new",
                    classification="single",
                    crisis=False,
                    opened_at=opened,
                    first_contact_due_date=opened.date() + timedelta(days=28),
                    result=rng.choice(RESULTS) if closed else None,
                    closed_at=opened + timedelta(days=20) if closed else None,
                    version=1,
                    change_seq=0,
                )
            )
            rows[Signal].append(
                dict(
                    id=uuid.uuid4(),
                    municipality_code="0363",
                    external_id=f"B{index}",
                    household_id=household_id,
                    case_id=case_id,
                    partner_type="Huur",
                    signal_date=opened.date(),
                    received_at=opened,
                    crisis=False,
                    warm_handover=False,
                    is_repeat=False,
                    status="Opgepakt",
                    classification="single",
                    created_at=opened,
                )
            )
            for number in range(rng.randrange(4)):
                moment = opened + timedelta(days=number * 12)
                rows[VisitEvent].append(
                    dict(
                        id=uuid.uuid4(),
                        municipality_code="0363",
                        case_id=case_id,
                        author_id=worker.id,
                        kind=rng.choice(KINDS),
                        occurred_at=moment,
                        received_at=moment,
                        base_version=1,
                        payload={"reached": rng.random() < 0.3},
                        outcome="applied",
                        change_seq=0,
                        clock_skew=False,
                        body_hash="",
                    )
                )
            if index % 20 == 0:
                rows[Trajectory].append(
                    dict(
                        id=uuid.uuid4(),
                        municipality_code="0363",
                        case_id=case_id,
                        decision_date=opened.date() + timedelta(days=30),
                        started_by=worker.id,
                        created_at=opened,
                    )
                )
        for table, values in rows.items():
            session.execute(table.__table__.insert(), values)
        session.commit()
    engine.dispose()


PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}
# label: (path, query, extra headers, target seconds, target peak RSS in MB or None)
REQUESTS: dict[str, tuple[str, dict[str, str], dict[str, str], float, int | None]] = {
    "monitor, JSON, 5 months": ("/v1/reports/monitor", {"from": "2026-01-01", "to": "2026-05-31"}, {}, 1.0, None),
    "monitor, CSV": (
        "/v1/reports/monitor",
        {"from": "2026-01-01", "to": "2026-05-31"},
        {"Accept": "text/csv"},
        1.0,
        None,
    ),
    "case export, CSV": ("/v1/cases/export", {}, {}, 10.0, 300),
    "case export, XLSX": ("/v1/cases/export", {"format": "xlsx"}, {}, 10.0, 300),
    "DDAS, a year": ("/v1/reports/ddas", PERIOD, {}, 10.0, 300),
}


def _runs() -> int:
    return int(os.environ.get("REPORTS_BENCH_RUNS", "3"))


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _settings(url: str) -> Settings:
    return Settings(
        demo=False,
        database_url=url,
        jwt_signing_keys=[generate_signing_key(kid_prefix="bench-")],
        var_dir=Path(tempfile.mkdtemp()),
        bsn_encryption_keys=[generate_data_key("bench")],
        bsn_hmac_key=base64.b64encode(b"b" * 32).decode(),
    )


def _floor(engine, label: str) -> float:
    """Reading the export's rows from the database without writing anything: what the export cannot beat."""
    from api.reports.case_export.service import exported_cases
    from api.reports.ddas import service as ddas
    from api.reports.ddas.document import Period

    with Session(engine) as session:
        started = time.perf_counter()
        if label.startswith("case export"):
            for _ in exported_cases(
                session,
                municipality_code="0363",
                state=None,
                opened_from=None,
                opened_to=None,
                limit=100_001,
                today=NOW.date(),
            ):
                pass
        else:
            period = Period(datetime(2026, 1, 1).date(), datetime(2026, 12, 31).date())
            start, end = ddas._moment(period.start), ddas._moment(period.end + timedelta(days=1))
            counts = ddas.DeliveryCounts()
            municipality = session.get(ddas.Municipality, "0363")
            for _ in ddas._signals(session, municipality=municipality, start=start, end=end, now=NOW, counts=counts):
                pass
            for _ in ddas._cases(session, municipality_code="0363", start=start, end=end, counts=counts):
                pass
        return time.perf_counter() - started


def _reset_peak() -> None:
    """Start the kernel's count of the peak resident memory (VmHWM) afresh: signing in hashed a
    password with Argon2, whose memory is not the export's."""
    Path("/proc/self/clear_refs").write_text("5")


def child(url: str, label: str) -> None:
    """One request, `--runs` times, in this fresh process; prints its figures as JSON."""
    path, params, extra, _, target_mb = REQUESTS[label]
    engine = make_engine(url)
    figures: dict[str, object] = {"peak_rss": 0}
    with TestClient(create_app(_settings(url), engine=engine, clock=lambda: NOW)) as client:
        token = client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": "bench-office", "password": "correct horse battery staple"},
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        figures["rss_before"] = _vm("VmRSS")
        seconds = []
        for _ in range(_runs()):
            _reset_peak()
            started = time.perf_counter()
            response = client.get(path, params=params, headers={**headers, **extra})
            seconds.append(time.perf_counter() - started)
            figures["peak_rss"] = max(figures["peak_rss"], _vm("VmHWM"))
            assert response.status_code == 200, response.text
            figures["bytes"] = len(response.content)
            del response
        figures["seconds"] = seconds
    if target_mb is not None:
        figures["floor"] = min(_floor(engine, label) for _ in range(2))
    engine.dispose()
    print(json.dumps(figures))


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def measure(url: str, cases: int, *, fresh: bool = True) -> list[dict[str, object]]:
    if fresh:
        if url.startswith("postgresql"):
            fresh_postgres(url)
        migrate(url)
        load(url, cases)
    name = make_url(url).get_backend_name()
    print(f"\n{name}, {cases:,} cases (each in a process of its own; best and slowest of {_runs()})")
    results = []
    for label, (_, _, _, target_s, target_mb) in REQUESTS.items():
        done = subprocess.run(
            [sys.executable, __file__, "--child", url, label], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print(f"  {label:<24} failed: {done.stderr[-2000:]}")
            results.append({"database": name, "label": label, "failed": True})
            continue
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        best, worst = min(figures["seconds"]), max(figures["seconds"])
        peak_mb = figures["peak_rss"] / 2**20
        line = f"  {label:<24} {best:6.2f}–{worst:6.2f} s (< {target_s:g} s: {_met(best < target_s)})"
        if target_mb is not None:
            line += (
                f"  peak RSS {peak_mb:4.0f} MB (< {target_mb} MB: {_met(peak_mb < target_mb)}),"
                f" {figures['rss_before'] / 2**20:.0f} MB before"
            )
        line += f"  {figures['bytes'] / 2**20:6.1f} MB"
        if "floor" in figures:
            line += f"  floor (rows read, no file) {figures['floor']:.2f} s"
        print(line, flush=True)
        results.append({"database": name, "label": label, **figures})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--pg", help="a PostgreSQL database to drop, create and use")
    parser.add_argument("--sqlite", type=Path, help="the SQLite file to use (default: a new temporary one)")
    parser.add_argument("--runs", type=int, default=3, help="requests per export")
    parser.add_argument("--again", action="store_true", help="measure the databases a previous run loaded")
    parser.add_argument("--child", nargs=2, metavar=("URL", "LABEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    os.environ["REPORTS_BENCH_RUNS"] = str(args.runs)  # for the measuring processes
    sqlite = args.sqlite or Path(tempfile.mkdtemp()) / "reports.db"
    if not args.again:
        sqlite.unlink(missing_ok=True)
    results = measure(f"sqlite:///{sqlite}", args.cases, fresh=not args.again)
    if args.pg:
        results += measure(args.pg, args.cases, fresh=not args.again)
    if any(result.get("failed") for result in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
