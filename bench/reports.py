"""Benchmark: the monitor report and the case export the case export and the DDAS delivery, on SQLite and PostgreSQL.

Loads the cases (with signals, 0–3 attempts each and some trajectories) straight into a
fresh database *without* refreshing the planner's statistics, the worst case right after a
large delivery, and prints the best of three in-process requests with how much each grew the
process's memory. Targets: the monitor well under a second; a year of a large municipality
(`--cases 50000`) exported, as DDAS and as cases, in under 10 s with RSS under 300 MB.

    .venv/bin/python bench/reports.py [--cases 10000] [--pg postgresql+psycopg://…/a_scratch_database]

The PostgreSQL database given is wiped.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import Session  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth.keys import generate_signing_key  # noqa: E402
from api.models import Case, Household, Signal, Trajectory, VisitEvent  # noqa: E402
from api.platform.db import make_engine, migrate  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.signals.bsn import generate_data_key  # noqa: E402
from tests.conftest import FakeClock, _reset_postgres  # noqa: E402
from tests.factories import login, make_municipality, make_user  # noqa: E402

RESULTS = ["Definitief geen contact kunnen krijgen", "Vervolghulp en/of verwijzing", "Inwoner is overleden"]
KINDS = ["visit_attempt", "phone_attempt", "letter_sent", "card_left"]
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def load(url: str, cases: int) -> None:
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


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class RssPeak:
    """The process's resident memory, sampled every 5 ms while the block runs: how much the
    request grew it beyond what the process already held (the export's own memory), and the peak."""

    def __enter__(self) -> RssPeak:
        self.start = self.peak = _rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


def measure(url: str, cases: int) -> None:
    if url.startswith("postgresql"):
        _reset_postgres(url)
    migrate(url)
    load(url, cases)
    settings = Settings(
        demo=False,
        database_url=url,
        jwt_signing_keys=[generate_signing_key(kid_prefix="bench-")],
        var_dir=Path(tempfile.mkdtemp()),
        bsn_encryption_keys=[generate_data_key("bench")],
        bsn_hmac_key=base64.b64encode(b"b" * 32).decode(),
    )
    engine = make_engine(url)
    requests = (
        ("monitor, JSON, 5 months", "/v1/reports/monitor", {"from": "2026-01-01", "to": "2026-05-31"}, {}),
        ("monitor, CSV", "/v1/reports/monitor", {"from": "2026-01-01", "to": "2026-05-31"}, {"Accept": "text/csv"}),
        ("case export, CSV", "/v1/cases/export", {}, {}),
        ("case export, XLSX", "/v1/cases/export", {"format": "xlsx"}, {}),
        ("DDAS, a year", "/v1/reports/ddas", {"from": "2026-01-01", "to": "2026-12-31"}, {}),
    )
    with TestClient(create_app(settings, engine=engine, clock=FakeClock(NOW))) as client:
        headers = login(client, "bench-office", password="correct horse battery staple")
        print(f"\n{engine.dialect.name}, {cases:,} cases")
        for label, path, params, extra in requests:
            best, peak = float("inf"), 0
            for _ in range(3):
                with RssPeak() as rss:
                    started = time.perf_counter()
                    response = client.get(path, params=params, headers={**headers, **extra})
                    best = min(best, time.perf_counter() - started)
                peak = max(peak, rss.growth)
                assert response.status_code == 200, response.text
            print(
                f"  {label:<26} {best * 1000:>7,.0f} ms  {len(response.content) / 1024:>7,.0f} KiB"
                f"  RSS +{peak / 2**20:,.0f} MiB (to {rss.peak / 2**20:,.0f} MiB)"
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--pg", help="a PostgreSQL database to wipe and use")
    args = parser.parse_args()
    measure(f"sqlite:///{tempfile.mkdtemp()}/reports.db", args.cases)
    if args.pg:
        measure(args.pg, args.cases)


if __name__ == "__main__":
    main()
